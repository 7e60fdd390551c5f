"""The terminal front end: the ``ipsec-triage`` command line (``cli``: the parser, ``main``
and a module per area of commands, each loaded when its command runs; ``reporting``: the
report, sync and store commands), the questionary wizard of a live call (``prompts``)
and what a run gets from outside (``environment``)."""
