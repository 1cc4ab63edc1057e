"""The command layer's writes."""
