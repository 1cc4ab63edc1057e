"""A test-only stand-in for the tracing app: it states ``cases_as_of`` and ``plans_as_of`` from
lists a test fills (custody reads them by fact name, never by import)."""
