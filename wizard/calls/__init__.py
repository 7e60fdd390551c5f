"""A call in progress: the pure engine (flowcharts + answers so far -> next step,
``engine``), the call that records every answer, check and note (``call``), its
append-only journal and the folder of journals (``journal``), known-issue matching
(``known_issues``) and the answers-file replay (``replay``).

May import :mod:`wizard.base`, :mod:`wizard.checks`, :mod:`wizard.flows` and
:mod:`wizard.config`; never the records, the evidence or a front end.
"""
