"""The summary tables' rows of every day at once (``day`` "": a report without a date
range reads a handful of rows instead of one per day and group, so a million calls take
no longer to report than a thousand), and an index for the report's rows of one
grouping over every day (``report_calls`` by ``dim`` and ``day``: the calls per day and
per flowchart version).

Existing rows: the totals are counted from the stored calls, in the database.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

from wizard.records.store import backfill_summaries

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_report_calls_dim_day", "report_calls", ["dim", "day"])
    backfill_summaries(op.get_bind(), days=False)
