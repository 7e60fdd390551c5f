"""Call classification reports: the volume and nature of the IPsec calls.

The chapter asks for "a call classification system so that help desk personnel can
provide clear reports about the volume and nature of IPsec-related problems". From the
call store, counted in the database (GROUP BY; nothing reads the calls one by one into
Python), from the summary tables the store keeps as it stores calls (per day: exact for
a date range and practice calls), or from the calls themselves when a filter on category,
status, target or staffer asks (the same figures):

- volume over time: calls per week and per day with their status, the trend (a least-
  squares line over the weekly counts), and the weekly calls of each flowchart version;
- outcomes: Fixed understood / Fixed unclear / Not fixed / Abandoned / Still open, the
  escalation rate, median and 90th-percentile handling time (start to outcome);
- per staffer (calls, escalation rate, handling time), per target, per category, scope,
  severity, kind of call, escalation group and flowchart version;
- every flowchart exit with its count, and the drop-off per step (calls that reached
  it, that were abandoned or are still open there, the median time spent on it);
- known issues matched and social-engineering attempts logged, by week;
- hand-offs to Tier 2: the escalated calls by hand-off status (sent, waiting in the
  outbox, failed, not sent) and per kind of destination (no call is listed).

Practice calls are left out unless the filter asks for them (the report says how many).
Renderers: a terminal table (rich), CSV, JSON, and one self-contained HTML page from the
Jinja template ``templates/report.html.j2`` (inline SVG charts, each with its table).

The ``report`` command itself (its options, the store it reads, printing) is the
front end's: :mod:`wizard.service.reports` and :mod:`wizard.frontends.terminal.reporting`.

By concern: :mod:`.model` (what a report holds, the labels of stored values),
:mod:`.queries` (the SQL), :mod:`.assembly` (the report from the queries' rows),
:mod:`.text` (table, plain text, CSV, JSON) and :mod:`.html` (the page and its charts).
"""

from __future__ import annotations

from wizard.flows.vocabulary import (
    HANDOFF_LABELS,
    HANDOFF_STATUSES,
    OUTCOMES,
    STATUS_LABELS,
    STATUSES,
)
from wizard.records.report.assembly import (
    assemble,
    build_report,
)
from wizard.records.report.html import (
    HTML_TEMPLATE,
    Chart,
    HtmlTable,
    Section,
    bar_chart,
    column_chart,
    handoff_section,
    html_context,
    html_sections,
    render,
    to_html,
)
from wizard.records.report.model import (
    ALL_ROWS,
    COLORS,
    DEFAULT_GROUPS,
    DEFAULT_TOP,
    DIMENSIONS,
    FORMATS,
    HANDOFF_COLORS,
    SERIES,
    TIMED,
    Group,
    HandoffRow,
    Labels,
    Period,
    Report,
    StepRow,
    choice_labels,
    flowset_labels,
    node_title,
)
from wizard.records.report.queries import (
    GROUPED,
    SOURCES,
    calls_queries,
    report_queries,
    session_settings,
    split_results,
    summary_answers,
    summary_queries,
)
from wizard.records.report.text import (
    CSV_COLUMNS,
    HANDOFF_HEADS,
    STATUS_HEADS,
    filters_text,
    handoff_rows,
    handoff_text,
    period_text,
    shown_rows,
    summary_lines,
    to_csv,
    to_json,
    to_table,
    to_text,
    trend_text,
)

__all__ = [
    "ALL_ROWS",
    "COLORS",
    "CSV_COLUMNS",
    "Chart",
    "DEFAULT_GROUPS",
    "DEFAULT_TOP",
    "DIMENSIONS",
    "FORMATS",
    "GROUPED",
    "Group",
    "HANDOFF_COLORS",
    "HANDOFF_HEADS",
    "HANDOFF_LABELS",
    "HANDOFF_STATUSES",
    "HTML_TEMPLATE",
    "HandoffRow",
    "HtmlTable",
    "Labels",
    "OUTCOMES",
    "Period",
    "Report",
    "SERIES",
    "SOURCES",
    "STATUSES",
    "STATUS_HEADS",
    "STATUS_LABELS",
    "Section",
    "StepRow",
    "TIMED",
    "assemble",
    "bar_chart",
    "build_report",
    "calls_queries",
    "choice_labels",
    "column_chart",
    "filters_text",
    "flowset_labels",
    "handoff_rows",
    "handoff_section",
    "handoff_text",
    "html_context",
    "html_sections",
    "node_title",
    "period_text",
    "render",
    "report_queries",
    "session_settings",
    "shown_rows",
    "split_results",
    "summary_answers",
    "summary_lines",
    "summary_queries",
    "to_csv",
    "to_html",
    "to_json",
    "to_table",
    "to_text",
    "trend_text",
]
