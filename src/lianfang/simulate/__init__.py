"""The synthetic city: a deterministic Quanzhou population and a screening round's files for it.

Without Django: ``generator`` (``generate_population``, built from ``divisions``, ``dwellings``,
``names`` and the column helpers in ``arrays``) and ``screening_files`` (``write_files``, the
input files of a city-wide round, for ``bench/screening.py``). With Django: ``services`` and
``screening`` load the city and a round in progress into the database for the demo.
"""
