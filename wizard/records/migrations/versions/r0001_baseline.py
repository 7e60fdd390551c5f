"""The calls table as release 0.1.0 left it (row format 2).

A store made by 0.1.0 (or by the first version, with fewer columns) has this table but
no revision: its missing columns and indexes are added. A new store gets the table.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

COLUMNS = (
    ("call_id", sa.String(64)), ("started", sa.String(40)), ("ended", sa.String(40)),
    ("duration_s", sa.Float()), ("staffer", sa.String(200)),
    ("caller_machine", sa.String(255)), ("target", sa.String(255)),
    ("status", sa.String(40)), ("category", sa.String(40)), ("scope", sa.String(40)),
    ("severity", sa.String(40)), ("terminal", sa.String(200)), ("tier2", sa.Boolean()),
    ("tier2_group", sa.String(200)), ("flowcharts", sa.Text()), ("answers", sa.Text()),
    ("call_type", sa.String(40)), ("extent", sa.String(40)), ("known_issues", sa.Text()),
    ("notes", sa.Text()), ("mode", sa.String(20)), ("runs_on", sa.String(20)),
    ("resumed", sa.Integer()), ("stored_at", sa.String(40)), ("row_format", sa.Integer()),
)
NOT_NULL = {"call_id", "started", "ended", "status", "category"}
INDEXES = (("ix_calls_started", "started"), ("ix_calls_category", "category"),
           ("ix_calls_target", "target"))


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table("calls"):
        op.create_table("calls", *[
            sa.Column(name, kind, primary_key=name == "call_id", nullable=name not in NOT_NULL)
            for name, kind in COLUMNS])
        have_indexes: set[str] = set()
    else:
        have = {c["name"] for c in inspector.get_columns("calls")}
        for name, kind in COLUMNS:
            if name not in have:
                op.add_column("calls", sa.Column(name, kind))
        have_indexes = {str(i["name"]) for i in inspector.get_indexes("calls")}
    for name, column in INDEXES:
        if name not in have_indexes:
            op.create_index(name, "calls", [column])
