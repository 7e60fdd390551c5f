"""Flowcharts as data: the file schema (``schema``), the plain records the engine walks
(``nodes``), loading, linking and ``lint`` (``flowset``), the checked set's cache
(``cache``), the known-issue catalogue (``catalogue``), the rules an answer must follow
(``answer_rules``) and the Mermaid drawing (``mermaid``).

Owns what a flowchart means; knows nothing of a call in progress. May import
:mod:`wizard.base` and :mod:`wizard.checks` (to know the probes a node names).
"""
