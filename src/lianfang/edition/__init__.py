"""The protocol edition in force (``p9``, ``p8``, ``community-2022``): a setting, switched on a
page or from the command line by a city-wide commander, each switch kept and audited."""
