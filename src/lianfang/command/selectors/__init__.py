"""The command layer's reads, each taking the actor."""
