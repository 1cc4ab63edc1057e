"""Plumbing every app uses, free of domain models: database helpers, times, the tabular reader,
the import summary and its reason registry, the division-code algebra, the plugin registry."""
