"""What reports count of the hand-off to Tier 2 (row format 4): the hand-off status of a
call (sent, queued in the outbox, failed, none), the kind of destination (email,
servicenow, jira, zendesk, webhook), the Tier 2 ticket number and its link, when the
newest hand-off happened, and a digest of the journal's hand-off events (a call handed
off after it was stored differs from its row, so ``sync`` stores it again).

Existing rows: status ``none`` (the store never held hand-offs before); ``sync`` stores
again every call whose journal it has (row format 4), with its hand-offs.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("calls", sa.Column("handoff_status", sa.String(20), nullable=False,
                                      server_default="none"))
    op.add_column("calls", sa.Column("handoff_kind", sa.String(20)))
    op.add_column("calls", sa.Column("handoff_number", sa.String(200)))
    op.add_column("calls", sa.Column("handoff_url", sa.String(1000)))
    op.add_column("calls", sa.Column("handoff_at", sa.String(40)))
    op.add_column("calls", sa.Column("handoff_digest", sa.String(64)))
    op.create_index("ix_calls_handoff", "calls", ["handoff_status", "handoff_kind"])
