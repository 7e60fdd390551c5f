"""The report as one self-contained HTML page: inline SVG charts, each with its table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from wizard.flows.vocabulary import HANDOFF_LABELS, HANDOFF_STATUSES, STATUS_LABELS, STATUSES
from wizard.records.report.model import (
    COLORS,
    DEFAULT_TOP,
    DIMENSIONS,
    FORMATS,
    HANDOFF_COLORS,
    SERIES,
    TIMED,
    Group,
    HandoffRow,
    Report,
)
from wizard.records.report.text import (
    HANDOFF_HEADS,
    _duration,
    _handoff_cells,
    _minutes,
    _pct,
    filters_text,
    handoff_rows,
    handoff_text,
    period_text,
    shown_rows,
    summary_lines,
    to_csv,
    to_json,
    to_text,
    trend_text,
)

# Jinja is imported by the function that uses it:
# this package is loaded with the command line, and the first question must not wait.


# -- HTML -----------------------------------------------------------------------------------

HTML_TEMPLATE = "report.html.j2"


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


@dataclass
class Chart:
    """An SVG chart as shapes for the template: its title and description are what a
    screen reader says; the table after it has every number."""

    id: str
    title: str
    desc: str
    width: int
    height: int
    shapes: list[dict[str, Any]] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)


def column_chart(cid: str, title: str, desc: str, labels: Sequence[str],
                 series: Sequence[tuple[str, str, Sequence[int]]],
                 line: Sequence[float | None] | None = None) -> Chart:
    """Stacked columns over time (``series``: label, colour, values), with an optional
    line (the trend)."""
    n = max(len(labels), 1)
    plot_h, base, left = 200.0, 230.0, 48.0
    step = max(6.0, min(72.0, 860 / n))
    totals = [sum(s[2][i] for s in series) for i in range(len(labels))]
    top = max([*totals, *(v for v in (line or []) if v is not None), 1])
    width = int(left + step * n + 20)
    chart = Chart(cid, title, desc, width, int(base + 60),
                  legend=[(label, colour) for label, colour, _v in series])
    shapes = chart.shapes
    shapes.append({"kind": "line", "x1": left, "y1": base, "x2": left + step * n, "y2": base,
                   "stroke": "#666"})
    for value in (top, top / 2):
        y = base - plot_h * value / top
        shapes.append({"kind": "line", "x1": left, "y1": y, "x2": left + step * n, "y2": y,
                       "stroke": "#e4e4e4"})
        shapes.append({"kind": "text", "x": left - 6, "y": y + 4, "anchor": "end",
                       "text": f"{value:g}" if value == int(value) else f"{value:.1f}"})
    every = max(1, int(90 // step) + 1)
    for i, label in enumerate(labels):
        x = left + i * step + step * 0.12
        y = base
        for name, colour, values in series:
            h = plot_h * values[i] / top
            if values[i]:
                y -= h
                shapes.append({"kind": "rect", "x": x, "y": y, "w": step * 0.76,
                               "h": max(h, 0.6), "fill": colour,
                               "tip": f"{label}: {values[i]} {name}"})
        if i % every == 0:
            shapes.append({"kind": "text", "x": x, "y": base + 16, "anchor": "start",
                           "text": _short(label.split(" ")[0], 12)})
    if line and any(v is not None for v in line):
        points = " ".join(f"{left + i * step + step / 2:.1f},{base - plot_h * v / top:.1f}"
                          for i, v in enumerate(line) if v is not None)
        shapes.append({"kind": "polyline", "points": points, "stroke": "#222"})
        chart.legend.append(("Trend (least squares)", "#222"))
    return chart


def bar_chart(cid: str, title: str, desc: str,
              rows: Sequence[tuple[str, Sequence[tuple[str, str, int]]]]) -> Chart:
    """Horizontal bars, one per row (label, segments: name, colour, value). Long labels
    are shortened on the chart (the full text is in the tooltip and the table)."""
    row_h, label_w, bar_w = 24, 300, 520
    totals = [sum(v for _n, _c, v in segs) for _l, segs in rows]
    top = max([*totals, 1])
    chart = Chart(cid, title, desc, label_w + bar_w + 70, row_h * len(rows) + 8)
    for i, ((label, segments), total) in enumerate(zip(rows, totals, strict=True)):
        y = i * row_h + 4
        chart.shapes.append({"kind": "text", "x": label_w - 8, "y": y + 15, "anchor": "end",
                             "text": _short(label, 44), "tip": label})
        x = float(label_w)
        for name, colour, value in segments:
            if not value:
                continue
            w = bar_w * value / top
            chart.shapes.append({"kind": "rect", "x": x, "y": y + 2, "w": max(w, 0.6),
                                 "h": row_h - 8, "fill": colour,
                                 "tip": f"{label}: {value} {name}"})
            x += w
        chart.shapes.append({"kind": "text", "x": x + 6, "y": y + 15, "anchor": "start",
                             "text": str(total)})
    seen: dict[str, str] = {}
    for _l, segments in rows:
        for name, colour, _v in segments:
            seen.setdefault(name, colour)
    chart.legend = list(seen.items())
    return chart


@dataclass
class HtmlTable:
    caption: str
    heads: list[str]
    rows: list[list[str]]
    folded: bool = False
    """Shown folded (a long table): the chart shows its first rows."""


@dataclass
class Section:
    id: str
    title: str
    text: str = ""
    chart: Chart | None = None
    table: HtmlTable | None = None
    note: str = ""


def _status_segments(g: Group) -> list[tuple[str, str, int]]:
    segs = [(STATUS_LABELS[s], COLORS[s], g.count(s)) for s in STATUSES]
    if g.other:
        segs.append(("Other status", COLORS["other"], g.other))
    return segs


def _group_table(caption: str, first: str, groups: Sequence[Group], timed: bool,
                 folded: bool = False) -> HtmlTable:
    heads = [first, "Calls", "Share", *(STATUS_LABELS[s] for s in STATUSES), "Escalated",
             "Escalation rate"] + (["Median min", "90th percentile min"] if timed else [])
    rows = [[g.label, str(g.calls), _pct(g.share), *(str(g.count(s)) for s in STATUSES),
             str(g.escalated), _pct(g.escalation_rate)]
            + ([_minutes(g.median_s), _minutes(g.p90_s)] if timed else []) for g in groups]
    return HtmlTable(caption, heads, rows, folded)


def html_sections(report: Report, top: int = DEFAULT_TOP) -> list[Section]:
    """The sections of the HTML page, each a chart and its table."""
    out: list[Section] = []
    weeks = report.weeks
    labels = [w.label for w in weeks]
    out.append(Section(
        "volume", "Calls per week", f"Trend: {trend_text(report)}.",
        column_chart("c-volume", "Calls per week by status, with the trend",
                     f"{len(weeks)} weeks from {period_text(report)}; {trend_text(report)}",
                     labels, [(STATUS_LABELS[s], COLORS[s], [w.group.count(s) for w in weeks])
                              for s in STATUSES],
                     [w.trend for w in weeks]),
        HtmlTable("Calls per week", ["Week", "Calls", *(STATUS_LABELS[s] for s in STATUSES),
                                     "Escalated", "Trend"],
                  [[w.label, str(w.group.calls), *(str(w.group.count(s)) for s in STATUSES),
                    str(w.group.escalated), "-" if w.trend is None else f"{w.trend:.1f}"]
                   for w in weeks], folded=len(weeks) > 20)))
    versions = report.versions
    colours = {v: SERIES[i % len(SERIES)] for i, v in enumerate(versions)}
    out.append(Section(
        "versions", "Calls per week by flowchart version",
        "A flowchart version per set of isolation changes: a rollout shows as a change in "
        "the curve.",
        column_chart("c-versions", "Calls per week by flowchart version",
                     f"{len(versions)} flowchart version(s) over {len(weeks)} weeks", labels,
                     [(v, colours[v], [w.versions.get(v, 0) for w in weeks])
                      for v in versions]),
        HtmlTable("Calls per week by flowchart version", ["Week", *versions],
                  [[w.label, *(str(w.versions.get(v, 0)) for v in versions)] for w in weeks],
                  folded=len(weeks) > 20)))
    t = report.total
    out.append(Section(
        "outcomes", "Outcomes",
        f"Escalated to Tier 2: {t.escalated} of {t.with_outcome} calls with an outcome "
        f"({_pct(t.escalation_rate)}). Handling time: median {_minutes(t.median_s)} min, "
        f"90th percentile {_minutes(t.p90_s)} min.",
        bar_chart("c-outcomes", "Calls by outcome",
                  ", ".join(f"{STATUS_LABELS[s]} {t.count(s)}" for s in STATUSES),
                  [(STATUS_LABELS[s], [(STATUS_LABELS[s], COLORS[s], t.count(s))])
                   for s in STATUSES]),
        _group_table("Calls by outcome", "Status", report.groups.get("status", []), False)))
    for dim, groups in report.groups.items():
        if dim == "status" or not groups:
            continue
        shown = shown_rows(dim, groups, top)
        rest = groups[len(shown):]
        name = DIMENSIONS[dim]
        out.append(Section(
            f"by-{dim}", f"By {name.lower()}",
            "Every flowchart exit, with its count." if dim == "terminal" else "",
            bar_chart(f"c-{dim}", f"Calls by {name.lower()}, split by status",
                      f"{len(groups)} groups; the largest: " + ", ".join(
                          f"{g.label} {g.calls}" for g in shown[:3]),
                      [(g.label, _status_segments(g)) for g in shown]),
            _group_table(f"Calls by {name.lower()}" + (" (all of them)" if rest else ""),
                         name, groups, dim in TIMED, folded=len(groups) > 25),
            f"The chart shows the {len(shown)} largest; {len(rest)} more with "
            f"{sum(g.calls for g in rest)} calls are in the table." if rest else ""))
    steps = report.steps
    shown_steps = steps[:top * 2] if top else steps
    out.append(Section(
        "dropoff", "Drop-off per step",
        "For each step: the calls that reached it, those abandoned or still open there, "
        "and the median time spent on it.",
        bar_chart("c-dropoff", "Calls that reached each step",
                  f"{len(steps)} steps; abandoned calls: "
                  f"{sum(s.abandoned for s in steps)}",
                  [(s.label, [("Went on", SERIES[0], s.reached - s.abandoned - s.open),
                              ("Abandoned here", COLORS["abandoned"], s.abandoned),
                              ("Still open here", COLORS["open"], s.open)])
                   for s in shown_steps]),
        HtmlTable("Drop-off per step", ["Step", "Reached", "Abandoned here", "Still open here",
                                        "Median time on the step"],
                  [[s.label, str(s.reached), str(s.abandoned), str(s.open),
                    _duration(s.median_s)] for s in steps], folded=len(steps) > 25),
        f"The chart shows the {len(shown_steps)} steps reached most; all {len(steps)} are "
        "in the table." if len(shown_steps) < len(steps) else ""))
    issues = report.known_issues
    issue_colours = {k: SERIES[i % len(SERIES)] for i, k in enumerate(issues)}
    out.append(Section(
        "safety", "Known issues and social-engineering attempts per week",
        f"Known issues matched: {sum(sum(w.known_issues.values()) for w in weeks)}; "
        f"social-engineering attempts logged: {sum(w.sensitive_requests for w in weeks)}.",
        column_chart("c-safety", "Known issues matched and social-engineering attempts "
                     "per week", f"{len(issues)} known issue(s) over {len(weeks)} weeks",
                     labels,
                     [(report.issue_labels.get(k, k), issue_colours[k],
                       [w.known_issues.get(k, 0) for w in weeks]) for k in issues]
                     + [("Social-engineering attempts", COLORS["not_fixed"],
                         [w.sensitive_requests for w in weeks])]),
        HtmlTable("Known issues and social-engineering attempts per week",
                  ["Week", *(report.issue_labels.get(k, k) for k in issues),
                   "Social-engineering attempts"],
                  [[w.label, *(str(w.known_issues.get(k, 0)) for k in issues),
                    str(w.sensitive_requests)] for w in weeks], folded=len(weeks) > 20)))
    out.append(handoff_section(report))
    return out


def _handoff_segments(r: HandoffRow) -> list[tuple[str, str, int]]:
    segs = [(HANDOFF_LABELS[s], HANDOFF_COLORS[s], r.count(s)) for s in HANDOFF_STATUSES]
    if r.other:
        segs.append(("Other status", HANDOFF_COLORS["other"], r.other))
    return segs


def handoff_section(report: Report) -> Section:
    """Hand-offs to Tier 2: the escalated calls by kind of destination, split by
    hand-off status (sent, waiting in the outbox, failed, not sent)."""
    return Section(
        "handoffs", "Hand-offs to Tier 2",
        handoff_text(report) + " Sent: a ticket was opened or updated (or the e-mail "
        "sent); waiting: in the outbox, retried by 'ipsec-triage sync'; failed: not "
        "retried (check the destination's settings).",
        bar_chart("c-handoffs", "Escalated calls by destination, split by hand-off status",
                  handoff_text(report),
                  [(r.label, _handoff_segments(r))
                   for r in report.handoffs or [report.handoff_total]]),
        HtmlTable("Hand-offs to Tier 2 by destination",
                  [h.replace("\n", " ") for h in HANDOFF_HEADS],
                  [_handoff_cells(r) for r in handoff_rows(report)]))


def html_context(report: Report, top: int = DEFAULT_TOP,
                 title: str = "IPsec calls: classification report") -> dict[str, Any]:
    """What the HTML report shows (``templates/report_parts.html.j2``): the title,
    period, filters, summary cards and lines, and a chart and its table per section."""
    t = report.total
    cards = [("Calls", str(t.calls)),
             ("Escalated to Tier 2", f"{t.escalated} ({_pct(t.escalation_rate)})"),
             ("Median handling time", f"{_minutes(t.median_s)} min"),
             ("90th percentile", f"{_minutes(t.p90_s)} min"),
             *((STATUS_LABELS[s], str(t.count(s))) for s in STATUSES)]
    return {"title": title, "period": period_text(report), "filters": filters_text(report),
            "generated": report.generated, "cards": cards, "summary": summary_lines(report),
            "sections": html_sections(report, top) if report.calls else [],
            "empty": not report.calls}


def to_html(report: Report, top: int = DEFAULT_TOP,
            title: str = "IPsec calls: classification report") -> str:
    """One self-contained page (from ``templates/report.html.j2``): the period and
    filters at the top, the summary, then a chart and its table per section. Nothing
    is loaded from elsewhere (no scripts, fonts, images or links)."""
    import jinja2

    from wizard.base.resources import builtin_dir

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(builtin_dir("templates")),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    return env.get_template(HTML_TEMPLATE).render(r=html_context(report, top, title))


def render(report: Report, fmt: str, top: int = DEFAULT_TOP) -> str:
    """The report as text in one of :data:`FORMATS` (``table``: plain text)."""
    if fmt == "table":
        return to_text(report, top)
    if fmt == "csv":
        return to_csv(report)
    if fmt == "json":
        return to_json(report)
    if fmt == "html":
        return to_html(report, top)
    raise ValueError(f"unknown report format {fmt!r}; one of: {', '.join(FORMATS)}")
