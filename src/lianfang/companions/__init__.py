"""时空伴随 glue: ``lianfang trace companions`` over the Django-free ``lianfang.analytics.companions``.

The cases come from whichever installed app states the ``cases_as_of`` fact (the tracing app), read
through ``core.plugins.provider``: this app never imports tracing, and says so when it is missing.
"""
