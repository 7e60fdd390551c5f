"""The report as a terminal table (rich), plain text, CSV and JSON."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console

from wizard.base.safetext import plain, spreadsheet_safe
from wizard.flows.vocabulary import HANDOFF_LABELS, HANDOFF_STATUSES, STATUS_LABELS, STATUSES
from wizard.records.report.model import (
    ALL_ROWS,
    DEFAULT_TOP,
    DIMENSIONS,
    TIMED,
    Group,
    HandoffRow,
    Report,
    _min,
)

# csv and rich's tables are imported by the functions that use them:
# this package is loaded with the command line, and the first question must not wait.

if TYPE_CHECKING:
    from rich.table import Table


# -- renderers ------------------------------------------------------------------------------


def _pct(x: float) -> str:
    if 0 < x < 0.005:
        return "<1%"
    return f"{x:.0%}"


def _minutes(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 60:.1f}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min"


def period_text(report: Report) -> str:
    if not report.first_day:
        return "no calls"
    if report.first_day == report.last_day:
        return report.first_day
    return f"{report.first_day} to {report.last_day}"


def filters_text(report: Report) -> str:
    shown = {k: v for k, v in report.filters.items() if k != "practice"}
    text = ", ".join(f"{k} {v}" for k, v in shown.items()) or "none"
    if report.filters.get("practice"):
        return text + "; practice calls included"
    if report.practice_left_out:
        return (text + f"; {report.practice_left_out} practice call(s) left out "
                "(--practice includes them)")
    return text + "; practice calls left out"


def trend_text(report: Report) -> str:
    if report.trend_per_week is None:
        return "not enough weeks for a trend"
    slope = report.trend_per_week
    mean = report.calls / len(report.weeks) if report.weeks else 0
    way = "rising" if slope > 0.05 * max(mean, 1) / 4 else (
        "falling" if slope < -0.05 * max(mean, 1) / 4 else "flat")
    return f"{way}, {slope:+.1f} calls per week (least-squares line over {len(report.weeks)} " \
           "weeks)"


def summary_lines(report: Report) -> list[str]:
    t = report.total
    statuses = ", ".join(f"{STATUS_LABELS[s]} {t.count(s)}" for s in STATUSES)
    return [
        f"{t.calls} calls: {statuses}",
        f"Escalated to Tier 2: {t.escalated} of {t.with_outcome} calls with an outcome "
        f"({_pct(t.escalation_rate)})",
        f"Handling time (start to outcome): median {_minutes(t.median_s)} min, 90th "
        f"percentile {_minutes(t.p90_s)} min",
        f"Trend: {trend_text(report)}",
    ]


STATUS_HEADS = {"fixed_understood": "Fixed\nunderstood", "fixed_unclear": "Fixed\nunclear",
                "not_fixed": "Not\nfixed", "abandoned": "Aban-\ndoned", "open": "Still\nopen"}


def _table(title: str, heads: Sequence[str], rows: Sequence[Sequence[str]],
           caption: str | None = None) -> Table:
    from rich import box
    from rich.table import Table

    table = Table(title=title, title_justify="left", title_style="bold",
                  box=box.SIMPLE_HEAD, show_edge=False)
    table.add_column(heads[0], overflow="fold", min_width=min(12, len(heads[0]) + 4),
                     max_width=60)
    for i, name in enumerate(heads[1:], start=1):  # numbers keep their width
        width = max([len(w) for w in name.split("\n")] + [len(r[i]) for r in rows])
        table.add_column(name, justify="right", width=width)
    for row in rows:
        table.add_row(plain(row[0]), *row[1:])  # typed text is text, never markup
    if caption:
        table.caption, table.caption_justify = caption, "left"
    return table


def _group_cells(g: Group, timed: bool) -> list[str]:
    cells = [f"{g.calls} ({_pct(g.share)})", *(str(g.count(s)) for s in STATUSES),
             f"{g.escalated} ({_pct(g.escalation_rate)})"]
    if timed:
        cells += [_minutes(g.median_s), _minutes(g.p90_s)]
    return cells


def _group_heads(first: str, timed: bool) -> list[str]:
    heads = [first, "Calls\n(share)", *STATUS_HEADS.values(), "Escalated"]
    return heads + (["Median\nmin", "90th pct\nmin"] if timed else [])


def shown_rows(dim: str, groups: list[Group], top: int) -> list[Group]:
    if not top or dim in ALL_ROWS or len(groups) <= top:
        return groups
    return groups[:top]


def to_table(report: Report, console: Console, top: int = DEFAULT_TOP) -> None:
    """Print the report as terminal tables; ``top`` rows per long breakdown (0: all);
    every exit, status, category and version is always listed."""
    console.print(plain(f"IPsec calls · {period_text(report)} · filters: "
                       f"{filters_text(report)}", style="bold"))
    for line in summary_lines(report):
        console.print(plain(line))
    if not report.calls:
        console.print("No stored calls match.")
        return
    weeks = report.weeks[-top:] if top else report.weeks
    rows = [[w.label, str(w.group.calls), *(str(w.group.count(s)) for s in STATUSES),
             str(w.group.escalated), "-" if w.trend is None else f"{w.trend:.1f}"]
            for w in weeks]
    earlier = len(report.weeks) - len(weeks)
    console.print(_table("Calls per week", ["Week", "Calls", *STATUS_HEADS.values(),
                                            "Escalated", "Trend"], rows,
                         f"{earlier} earlier week(s) not shown (--top 0: all)"
                         if earlier else None))
    rows = [[w.label, v, str(n)] for w in weeks for v, n in sorted(w.versions.items())]
    console.print(_table("Calls per week by flowchart version",
                         ["Week", "Flowchart versions the calls went through", "Calls"], rows))
    for dim, groups in report.groups.items():
        shown = shown_rows(dim, groups, top)
        timed = dim in TIMED
        rest = groups[len(shown):]
        caption = (f"{len(rest)} more with {sum(g.calls for g in rest)} calls not shown "
                   "(--top 0: all)") if rest else None
        console.print(_table(f"By {DIMENSIONS[dim].lower()}", _group_heads(DIMENSIONS[dim],
                                                                            timed),
                             [[g.label, *_group_cells(g, timed)] for g in shown], caption))
    steps = report.steps[:top] if top else report.steps
    rows = [[s.label, str(s.reached), str(s.abandoned), str(s.open), _duration(s.median_s)]
            for s in steps]
    more = len(report.steps) - len(steps)
    console.print(_table("Drop-off per step", ["Step", "Reached", "Abandoned\nhere",
                                               "Open\nhere", "Median\ntime"], rows,
                         f"{more} more step(s) not shown (--top 0: all)" if more else None))
    rows = [[w.label, str(sum(w.known_issues.values())),
             "; ".join(f"{report.issue_labels.get(k, k)} ×{n}"
                       for k, n in sorted(w.known_issues.items(), key=lambda i: -i[1])),
             str(w.sensitive_requests)] for w in weeks]
    console.print(_table("Known issues and social-engineering attempts per week",
                         ["Week", "Known\nissues", "Which", "Social-engineering\nattempts"],
                         rows))
    console.print(_table("Hand-offs to Tier 2", HANDOFF_HEADS,
                         [_handoff_cells(r) for r in handoff_rows(report)],
                         handoff_text(report)))


HANDOFF_HEADS = ["Destination", "Calls", "Sent", "Waiting in\nthe outbox", "Failed",
                 "Not sent"]


def handoff_rows(report: Report) -> list[HandoffRow]:
    """The hand-off table's rows: each kind of destination, then all (when several)."""
    rows = list(report.handoffs)
    return rows + [report.handoff_total] if len(rows) != 1 else rows


def _handoff_cells(r: HandoffRow) -> list[str]:
    return [r.label, str(r.calls), *(str(r.count(s)) for s in HANDOFF_STATUSES)]


def handoff_text(report: Report) -> str:
    t = report.handoff_total
    if not t.calls:
        return "No escalated calls."
    return (f"{t.calls} escalated call(s): " + ", ".join(
        f"{HANDOFF_LABELS[s].lower()} {t.count(s)}" for s in HANDOFF_STATUSES) + ".")


def to_text(report: Report, top: int = DEFAULT_TOP, width: int = 140) -> str:
    """The terminal tables as plain text (for a file)."""
    out = io.StringIO()
    to_table(report, Console(file=out, width=width, color_system=None, highlight=False,
                             soft_wrap=False, force_terminal=False), top)
    return out.getvalue()


def to_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"


CSV_COLUMNS = ("section", "key", "label", "calls", "share", *STATUSES, "escalated",
               "escalation_rate", "median_minutes", "p90_minutes")
"""One row per group. Sections: all, week, day, each breakdown, step (calls: reached;
abandoned, open: ended there; median_minutes: time on the step), week_version,
week_known_issue, week_sensitive_requests, handoff (key: all or a hand-off status) and
handoff_kind (key: kind|status) (calls: how many)."""


def _cell(text: str) -> str:
    """Text a spreadsheet will not run as a formula."""
    return spreadsheet_safe(text)


def to_csv(report: Report) -> str:
    """Every number of the report, one row per group (the first row: all calls)."""
    import csv

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)

    def group(section: str, g: Group) -> None:
        d = g.to_dict()
        writer.writerow([section, _cell(g.key), _cell(g.label)]
                        + ["" if d[c] is None else d[c] for c in CSV_COLUMNS[3:]])

    def count(section: str, key: str, label: str, n: int) -> None:
        writer.writerow([section, _cell(key), _cell(label), n]
                        + [""] * (len(CSV_COLUMNS) - 4))

    group("all", report.total)
    for section, periods in (("week", report.weeks), ("day", report.days)):
        for p in periods:
            p.group.label = p.label
            group(section, p.group)
    for dim, groups in report.groups.items():
        for g in groups:
            group(dim, g)
    for s in report.steps:
        row = {"section": "step", "key": s.key, "label": s.label, "calls": s.reached,
               "abandoned": s.abandoned, "open": s.open,
               "median_minutes": _min(s.median_s)}
        writer.writerow([_cell(str(row[c])) if c in ("key", "label") else
                         ("" if row.get(c) is None else row.get(c, "")) for c in CSV_COLUMNS])
    for w in report.weeks:
        for v, n in w.versions.items():
            count("week_version", f"{w.key}|{v}", v, n)
        for i, n in w.known_issues.items():
            count("week_known_issue", f"{w.key}|{i}", report.issue_labels.get(i, i), n)
        count("week_sensitive_requests", w.key, w.label, w.sensitive_requests)
    total = report.handoff_total
    count("handoff", "all", total.label, total.calls)
    for status in HANDOFF_STATUSES:
        count("handoff", status, HANDOFF_LABELS[status], total.count(status))
    for r in report.handoffs:
        for status in HANDOFF_STATUSES:
            if r.count(status):
                count("handoff_kind", f"{r.key}|{status}",
                      f"{r.label}: {HANDOFF_LABELS[status]}", r.count(status))
    return out.getvalue()
