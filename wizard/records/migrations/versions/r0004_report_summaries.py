"""Summary tables the report counts from (so that a report over a million calls takes
seconds, not minutes): calls per day, practice or not, status, escalation and group of
each breakdown (``report_calls``); handling-time histograms per day and group
(``report_times``); steps reached per day with the time spent on each and where calls
were abandoned or are still open (``report_steps``); known issues matched per day
(``report_known_issues``). Every save of a call updates them in its own transaction.

Existing rows: the tables are filled from the stored calls, in the database.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from wizard.records.store import SUMMARY_TABLES, backfill_summaries

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    for table in SUMMARY_TABLES:
        op.create_table(table.name, *[
            sa.Column(col.name, col.type, primary_key=col.primary_key,
                      nullable=not col.primary_key and col.nullable)
            for col in table.columns])
    backfill_summaries(bind, totals=False)  # the rows of every day at once: 0005
