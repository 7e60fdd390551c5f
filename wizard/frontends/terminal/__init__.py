"""The terminal front end: the ``ipsec-triage`` command line (``cli``: argument parsing,
dispatch, printing; ``reporting``: the report, sync and store commands), the
questionary wizard of a live call (``prompts``) and what a run gets from outside
(``environment``)."""
