"""The help desk's operations, as functions every front end calls: the desk's settings
resolved by one rule (``desk``), starting, resuming, ending, listing and handing off
calls (``calls``), the flowcharts' lint and drawings (``flows``), the evidence packet
(``evidence``), the store and the report (``reports``).

They return data and raise the error family of :mod:`wizard.base.errors`; printing,
prompting and pages are the front ends'. May import every core layer; never a front end.
"""
