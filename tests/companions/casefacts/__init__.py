"""A throwaway app stating the ``cases_as_of`` fact, as the tracing app will (tests/companions)."""
