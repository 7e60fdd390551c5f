"""Alembic migrations of the call store (SQLite and PostgreSQL).

Applied by ``ipsec-triage store upgrade`` (:func:`wizard.records.store.DatabaseStore.upgrade`);
a new, empty store is created at the newest revision by the first write. Each revision
file lists the operations themselves (never the current table definitions), so an old
store is brought forward the same way whichever version of the code runs it.
"""
