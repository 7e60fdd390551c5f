"""What a call leaves behind: its tickets (``ticket``; ``ending`` writes them before the
end is recorded), the database call store under Alembic migrations (``store``,
``migrations``) and the call classification report (``report``).

May import everything below it (:mod:`wizard.calls` and down); never a front end.
"""
