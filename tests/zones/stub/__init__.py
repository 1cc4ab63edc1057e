"""A throwaway app standing in for tracing: it states ``cases_as_of`` and ``plans_as_of`` from
lists a test fills (the lead adds the end-to-end test with the real tracing app)."""
