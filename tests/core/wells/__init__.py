"""A throwaway app for tests/core/test_plugins.py: it declares one importer, one reason, one
CLI subcommand, one page and one navigation entry, and touches no other app."""
