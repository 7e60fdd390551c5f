"""The help desk in the browser: the same wizard for a whole team, behind a login.

A Starlette application (``app``) over the operations of :mod:`wizard.service`; the
accounts of the team (``accounts``); the command bodies of ``ipsec-triage serve`` and
``ipsec-triage users`` (``commands``). Plain HTML forms, no JavaScript needed. May import
:mod:`wizard.service` and the core; never another front end.
"""
