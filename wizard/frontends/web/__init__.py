"""The help desk in the browser: the same wizard for a whole team, behind a login.

A Starlette application over the operations of :mod:`wizard.service`, by concern: the
application and its route table (``app``), the state its pages share (``desk``), who is
asking (``auth``), the call pages (``call_pages``), the record pages (``records``), the
lead's report (``report``), CSRF, the login limit and the audit log (``security``), the
middleware around every request (``guards``), and the application for an ASGI server of
one's own (``asgi``). Plain HTML forms, no JavaScript needed. May import
:mod:`wizard.service` and the core; never another front end.
"""
