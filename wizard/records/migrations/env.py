"""Alembic environment: migrations run on the connection the store hands over, inside
the transaction (and lock) it holds, never on a URL of their own."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
