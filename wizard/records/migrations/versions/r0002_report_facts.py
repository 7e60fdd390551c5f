"""What reports count in the database: practice calls, the flowchart versions a call
went through, sensitive requests, its known issues one row each, its steps with the
time spent on each (row format 3).

Existing rows: practice when replayed from an answers file; flowchart versions from
the charts of their answers; known issues from their JSON list. Steps are not in a
format-2 row: ``sync`` stores again, with steps, every call whose journal it has.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BATCH = 1000


def _versions(flowcharts: Any, answers: Any, terminal: Any) -> str:
    try:
        charts = json.loads(flowcharts or "{}")
        keys = list(json.loads(answers or "{}"))
    except ValueError:
        return ""
    if not isinstance(charts, dict):
        return ""
    used = {str(k).split(".", 1)[0] for k in keys}
    if terminal:
        used.add(str(terminal).split(".", 1)[0])
    return ", ".join(f"{c} {str(charts[c]).split(' (', 1)[0]}"  # the version, no digest
                     for c in sorted(used) if c in charts)[:200]


def upgrade() -> None:
    op.add_column("calls", sa.Column("practice", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.add_column("calls", sa.Column("flowchart_version", sa.String(200)))
    op.add_column("calls", sa.Column("sensitive_requests", sa.Integer(), nullable=False,
                                      server_default="0"))
    op.create_index("ix_calls_practice_started", "calls", ["practice", "started"])
    op.create_index("ix_calls_staffer", "calls", ["staffer"])
    op.create_table(
        "call_steps",
        sa.Column("call_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("step", sa.String(200), nullable=False),
        sa.Column("seconds", sa.Integer()),
        sa.Column("final", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_call_steps_step", "call_steps", ["step", "seconds"])
    op.create_table(
        "call_known_issues",
        sa.Column("call_id", sa.String(64), primary_key=True),
        sa.Column("issue", sa.String(200), primary_key=True),
    )
    op.create_index("ix_call_known_issues_issue", "call_known_issues", ["issue"])

    bind = op.get_bind()
    calls = sa.table("calls", sa.column("call_id"), sa.column("flowcharts"),
                     sa.column("answers"), sa.column("terminal"), sa.column("mode"),
                     sa.column("known_issues"), sa.column("practice"),
                     sa.column("flowchart_version"))
    issues = sa.table("call_known_issues", sa.column("call_id"), sa.column("issue"))
    bind.execute(calls.update().where(calls.c.mode == "answers_file")
                 .values(practice=sa.true()))
    rows = bind.execute(sa.select(calls.c.call_id, calls.c.flowcharts, calls.c.answers,
                                  calls.c.terminal, calls.c.known_issues)).all()
    versions, found = [], []
    for call_id, flowcharts, answers, terminal, known in rows:
        versions.append({"id": call_id, "v": _versions(flowcharts, answers, terminal)})
        try:
            listed = json.loads(known or "[]")
        except ValueError:
            listed = []
        for issue in dict.fromkeys(str(i)[:200] for i in listed if i) if isinstance(
                listed, list) else ():
            found.append({"call_id": call_id, "issue": issue})
    update = (calls.update().where(calls.c.call_id == sa.bindparam("id"))
              .values(flowchart_version=sa.bindparam("v")))
    for i in range(0, len(versions), BATCH):
        bind.execute(update, versions[i:i + BATCH])
    for i in range(0, len(found), BATCH):
        bind.execute(issues.insert(), found[i:i + BATCH])
