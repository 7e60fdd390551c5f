"""Call classification reports: the volume and nature of the IPsec calls.

The chapter asks for "a call classification system so that help desk personnel can
provide clear reports about the volume and nature of IPsec-related problems". From the
stored calls: calls by category, status (Fixed understood / Fixed unclear / Not fixed),
scope, severity, kind of call, target, staffer, flowchart exit (terminal node), known
issue, escalation group, week and day; for each group its statuses, escalation rate and
median time to outcome (start to end of the call).

Renderers: a terminal table (rich), CSV, JSON, and one self-contained HTML page with bar
charts as inline SVG (no scripts, no external files, no network).

Commands (registered by :mod:`wizard.cli`): :func:`add_report_arguments`,
:func:`cmd_report`, :func:`cmd_sync`.
"""

from __future__ import annotations

import argparse
import io
import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from .journal import now_iso
from .nodes import Category, ChoiceNode, Status
from .safetext import markup, plain
from .status import ExitStatus

# statistics, csv, html and rich's tables are imported by the functions that use them:
# this module is loaded with the command line, and the first question must not wait.
if TYPE_CHECKING:  # the store (and SQLAlchemy) is imported when a report is made
    from .callstore import SqlStore, StoredCall
    from .environment import Environment
    from .nodes import Flowchart

FORMATS = ("table", "csv", "json", "html")
STATUS_LABELS = {s.value: s.label.split(" (", 1)[0] for s in Status}
"""fixed_understood -> Fixed understood, ..., not_fixed -> Not fixed."""

DIMENSIONS: dict[str, str] = {
    "category": "Category",
    "status": "Status",
    "scope": "Scope (who is affected)",
    "severity": "Severity",
    "call_type": "Kind of call",
    "target": "Target computer",
    "staffer": "Staffer",
    "terminal": "Flowchart exit (terminal node)",
    "known_issue": "Known issue shown",
    "tier2_group": "Escalated to",
    "week": "Week",
    "day": "Day",
}
"""Every breakdown a report can have, with its heading."""
DEFAULT_GROUPS: tuple[str, ...] = tuple(DIMENSIONS)
TIME_DIMENSIONS = frozenset({"week", "day"})
DEFAULT_TOP = 10

STATUS_ORDER = ("fixed_understood", "fixed_unclear", "not_fixed")
_FIXED_ORDER: dict[str, tuple[str, ...]] = {
    "status": STATUS_ORDER,
    "severity": ("critical", "high", "medium", "low"),
    "scope": ("caller", "several_users", "site", "everyone"),
}
_EMPTY_LABEL = {"tier2_group": "(not escalated)", "known_issue": "(none)"}
COLORS = {"fixed_understood": "#2e7d32", "fixed_unclear": "#e0a000", "not_fixed": "#c62828",
          "other": "#9e9e9e"}


@dataclass
class Group:
    """The calls of one group (one category, one target, one week...)."""

    key: str
    label: str
    calls: int = 0
    fixed_understood: int = 0
    fixed_unclear: int = 0
    not_fixed: int = 0
    escalated: int = 0
    median_minutes: float | None = None
    """Median time from the start of a call to its outcome, in minutes."""
    share: float = 0.0
    """This group's part of all calls in the report (0..1)."""

    @property
    def escalation_rate(self) -> float:
        return self.escalated / self.calls if self.calls else 0.0

    @property
    def other(self) -> int:
        """Calls with a status this version does not know (from a newer one)."""
        return self.calls - self.fixed_understood - self.fixed_unclear - self.not_fixed

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "calls": self.calls,
                "share": round(self.share, 4), "fixed_understood": self.fixed_understood,
                "fixed_unclear": self.fixed_unclear, "not_fixed": self.not_fixed,
                "escalated": self.escalated,
                "escalation_rate": round(self.escalation_rate, 4),
                "median_minutes": self.median_minutes}


@dataclass
class Report:
    total: Group
    groups: dict[str, list[Group]]
    """Breakdown name -> its groups, in report order (largest first; time in order)."""
    first_day: str | None = None
    last_day: str | None = None
    filters: dict[str, str] = field(default_factory=dict)
    generated: str = ""

    @property
    def calls(self) -> int:
        return self.total.calls

    @property
    def escalation_rate(self) -> float:
        return self.total.escalation_rate

    @property
    def median_minutes(self) -> float | None:
        return self.total.median_minutes

    def group(self, dimension: str) -> dict[str, Group]:
        """One breakdown as key -> group."""
        return {g.key: g for g in self.groups.get(dimension, [])}

    def to_dict(self) -> dict[str, Any]:
        t = self.total
        return {
            "generated": self.generated, "filters": self.filters,
            "period": {"first_day": self.first_day, "last_day": self.last_day},
            "calls": t.calls, "escalated": t.escalated,
            "escalation_rate": round(t.escalation_rate, 4),
            "median_minutes_to_outcome": t.median_minutes,
            "status": {"fixed_understood": t.fixed_understood,
                       "fixed_unclear": t.fixed_unclear, "not_fixed": t.not_fixed},
            "by": {dim: [g.to_dict() for g in groups] for dim, groups in self.groups.items()},
        }


# -- counting ---------------------------------------------------------------------------


_OUTCOME = {s: i for i, s in enumerate(STATUS_ORDER)}


@dataclass
class _Column:
    """One breakdown's key for every call (a call may have several: known issues), with
    the call's outcome code (status index + 4 if escalated) and duration."""

    keys: list[str]
    codes: list[int]
    durations: list[float | None]


def _label(dim: str, key: str, labels: Mapping[str, Mapping[str, str]]) -> str:
    if not key:
        return _EMPTY_LABEL.get(dim, "(none)")
    named = labels.get(dim, {}).get(key)
    if named:
        return named
    if dim == "status":
        return STATUS_LABELS.get(key, key)
    if dim == "category":
        try:
            return Category(key).label
        except ValueError:
            return key
    return key


def _weeks(days: Iterable[str]) -> dict[str, str]:
    """ISO week (2026-W47) of each distinct day."""
    out: dict[str, str] = {}
    for day in set(days):
        try:
            year, number, _ = date.fromisoformat(day).isocalendar()
            out[day] = f"{year}-W{number:02d}"
        except ValueError:
            out[day] = ""
    return out


def _column(dim: str, rows: list[StoredCall], codes: list[int],
            durations: list[float | None], days: list[str]) -> _Column:
    if dim == "known_issue":  # several per call, or none
        keys: list[str] = []
        index: list[int] = []
        for i, call in enumerate(rows):
            for key in call.known_issues or ("",):
                keys.append(key)
                index.append(i)
        return _Column(keys, [codes[i] for i in index], [durations[i] for i in index])
    if dim == "day":
        keys = days
    elif dim == "week":
        weeks = _weeks(days)
        keys = [weeks[d] for d in days]
    elif dim == "target":
        keys = [c.target.lower() for c in rows]
    elif dim == "tier2_group":
        keys = [(c.tier2_group or "(group not named)") if c.tier2 else "" for c in rows]
    else:
        keys = list(map(attrgetter(dim), rows))
    return _Column(keys, codes, durations)


def _groups(dim: str, col: _Column, total: int,
            labels: Mapping[str, Mapping[str, str]]) -> list[Group]:
    counts: dict[str, list[int]] = {}
    for (key, code), n in Counter(zip(col.keys, col.codes, strict=True)).items():
        per = counts.get(key)
        if per is None:
            per = counts[key] = [0] * 8
        per[code] = n
    durations: defaultdict[str, list[float]] = defaultdict(list)
    for key, seconds in zip(col.keys, col.durations, strict=True):
        if seconds is not None:
            durations[key].append(seconds)
    out = []
    for key, c in counts.items():
        n = sum(c)
        out.append(Group(key=key, label=_label(dim, key, labels), calls=n,
                         fixed_understood=c[0] + c[4], fixed_unclear=c[1] + c[5],
                         not_fixed=c[2] + c[6], escalated=c[4] + c[5] + c[6] + c[7],
                         median_minutes=_median_minutes(durations.get(key, [])),
                         share=n / total if total else 0.0))
    return out


def _median_minutes(durations: list[float]) -> float | None:
    import statistics

    return round(statistics.median(durations) / 60, 1) if durations else None


def _order(dim: str, groups: list[Group]) -> list[Group]:
    if dim in TIME_DIMENSIONS:
        return sorted(groups, key=lambda g: g.key)
    fixed = _FIXED_ORDER.get(dim)
    if fixed:
        rank = {k: i for i, k in enumerate(fixed)}
        return sorted(groups, key=lambda g: (rank.get(g.key, len(rank)), -g.calls, g.key))
    return sorted(groups, key=lambda g: (-g.calls, g.key))


def build_report(calls: Iterable[StoredCall | Mapping[str, Any]],
                 group_by: Sequence[str] = DEFAULT_GROUPS, *,
                 filters: Mapping[str, str] | None = None,
                 labels: Mapping[str, Mapping[str, str]] | None = None) -> Report:
    """Count stored calls (StoredCall, or dicts of store columns) by each breakdown in
    ``group_by`` (names from :data:`DIMENSIONS`; ValueError for others).

    ``labels``: breakdown -> stored value -> what to show (see :func:`choice_labels`);
    statuses and categories have their labels already."""
    dims = tuple(dict.fromkeys(group_by))
    unknown = [d for d in dims if d not in DIMENSIONS]
    if unknown:
        raise ValueError(f"unknown breakdown {', '.join(unknown)}; "
                         f"one of: {', '.join(DIMENSIONS)}")
    from .callstore import gc_paused, stored_calls

    with gc_paused():
        return _count(stored_calls(calls), dims, filters, labels)


def _count(rows: list[StoredCall], dims: Sequence[str], filters: Mapping[str, str] | None,
           labels: Mapping[str, Mapping[str, str]] | None) -> Report:
    outcome = _OUTCOME
    codes = [outcome.get(c.status, 3) + (4 if c.tier2 else 0) for c in rows]
    durations = [c.duration_s for c in rows]
    days = [c.started[:10] for c in rows]
    names = labels or {}
    n = len(rows)
    everything = _groups("all", _Column(["all"] * n, codes, durations), n, names)
    total = everything[0] if everything else Group("all", "all")
    groups = {dim: _order(dim, _groups(dim, _column(dim, rows, codes, durations, days), n,
                                       names))
              for dim in dims}
    return Report(total=total, groups=groups, first_day=min(days, default=None),
                  last_day=max(days, default=None), filters=dict(filters or {}),
                  generated=now_iso())


def choice_labels(charts: Iterable[Flowchart]) -> dict[str, dict[str, str]]:
    """Labels of the choices that set a reported variable (scope, severity, extent,
    call_type): variable -> value -> label ("Critical: many users..." -> "Critical")."""
    out: dict[str, dict[str, str]] = {}
    for chart in charts:
        for node in chart.nodes.values():
            if isinstance(node, ChoiceNode) and node.var in DIMENSIONS:
                names = out.setdefault(node.var, {})
                for option in node.options:
                    names.setdefault(option.value, option.label.split(":", 1)[0].strip())
    return out


def _intake_labels(args: argparse.Namespace, env: Environment) -> dict[str, dict[str, str]]:
    """Choice labels from the entry flowchart (intake.yaml); none if it cannot be read."""
    from .flowset import FlowchartError, load_chart
    from .resources import builtin_dir
    from .yamlio import DocumentError

    given = getattr(args, "flowcharts", None) or env.environ.get("IPSEC_TRIAGE_FLOWCHARTS")
    folder = Path(given).expanduser() if given else builtin_dir("flowcharts")
    try:
        chart, _data, _digest = load_chart(folder / "intake.yaml")
    except (FlowchartError, DocumentError, OSError):
        return {}
    return choice_labels([chart])


# -- renderers --------------------------------------------------------------------------


def _pct(x: float) -> str:
    if 0 < x < 0.005:
        return "<1%"
    return f"{x:.0%}"


def _minutes(m: float | None) -> str:
    return "-" if m is None else f"{m:.1f}"


def _period(report: Report) -> str:
    if not report.first_day:
        return "no calls"
    if report.first_day == report.last_day:
        return report.first_day
    return f"{report.first_day} to {report.last_day}"


def _filters(report: Report) -> str:
    return ", ".join(f"{k} {v}" for k, v in report.filters.items()) or "none"


def _shown(dim: str, groups: list[Group], top: int) -> list[Group]:
    if not top or len(groups) <= top:
        return groups
    return groups[-top:] if dim in TIME_DIMENSIONS else groups[:top]


def _summary(report: Report) -> str:
    t = report.total
    return (f"{t.calls} calls, {t.escalated} escalated to Tier 2 "
            f"({_pct(t.escalation_rate)}), median time to outcome "
            f"{_minutes(t.median_minutes)} min; Fixed understood {t.fixed_understood}, "
            f"Fixed unclear {t.fixed_unclear}, Not fixed {t.not_fixed}")


def to_table(report: Report, console: Console, top: int = DEFAULT_TOP) -> None:
    """Print the report as terminal tables; ``top`` rows per breakdown (0: all; the
    latest ones for weeks and days)."""
    from rich import box
    from rich.table import Table

    console.print(markup("[bold]IPsec calls[/bold] · {} · filters: {}", _period(report),
                         _filters(report)))
    console.print(plain(_summary(report)))
    if not report.calls:
        console.print("No stored calls match.")
        return
    for dim, groups in report.groups.items():
        shown = _shown(dim, groups, top)
        table = Table(title=f"by {DIMENSIONS[dim].lower()}", title_justify="left",
                      title_style="bold", box=box.SIMPLE_HEAD, show_edge=False)
        rows = [(f"{g.calls} ({_pct(g.share)})", str(g.fixed_understood),
                 str(g.fixed_unclear), str(g.not_fixed), _pct(g.escalation_rate),
                 _minutes(g.median_minutes)) for g in shown]
        table.add_column(DIMENSIONS[dim], overflow="fold")
        headers = ("Calls\n(share)", "Fixed\nunderstood", "Fixed\nunclear", "Not\nfixed",
                   "Escalated", "Median\nmin")
        for i, name in enumerate(headers):  # numbers keep their width; the names wrap
            width = max([len(w) for w in name.split("\n")] + [len(r[i]) for r in rows])
            table.add_column(name, justify="right", width=width)
        for g, row in zip(shown, rows, strict=True):
            table.add_row(plain(g.label), *row)
        if len(shown) < len(groups):
            which = "earlier" if dim in TIME_DIMENSIONS else "more"
            table.caption = f"{len(groups) - len(shown)} {which} not shown (--top 0: all)"
            table.caption_justify = "left"
        console.print(table)


def to_text(report: Report, top: int = DEFAULT_TOP, width: int = 120) -> str:
    """The terminal tables as plain text (for a file)."""
    out = io.StringIO()
    to_table(report, Console(file=out, width=width, color_system=None, highlight=False,
                             soft_wrap=False, force_terminal=False), top)
    return out.getvalue()


def to_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"


CSV_COLUMNS = ("dimension", "key", "label", "calls", "share", "fixed_understood",
               "fixed_unclear", "not_fixed", "escalated", "escalation_rate",
               "median_minutes")


def _cell(text: str) -> str:
    """Text a spreadsheet will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(report: Report) -> str:
    """One row per group of every breakdown (the first row: all calls)."""
    import csv

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    rows = [("all", report.total)] + [(dim, g) for dim, groups in report.groups.items()
                                      for g in groups]
    for dim, g in rows:
        d = g.to_dict()
        writer.writerow([dim, _cell(g.key), _cell(g.label)]
                        + ["" if d[c] is None else d[c] for c in CSV_COLUMNS[3:]])
    return out.getvalue()


# -- HTML ---------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em auto;
max-width:1000px;color:#222;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.15em;margin:1.8em 0 .4em}
.meta{color:#555;margin-top:0}
.cards{display:flex;flex-wrap:wrap;gap:.8em;margin:1em 0}
.card{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;min-width:9em}
.card b{display:block;font-size:1.5em}
.legend span{display:inline-block;margin-right:1.2em}
.sw{display:inline-block;width:.9em;height:.9em;border-radius:2px;margin-right:.3em;
vertical-align:-.1em}
svg{display:block;max-width:100%;height:auto}svg text{font-size:12px;fill:#222}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
th,td{padding:.2em .7em;border-bottom:1px solid #eee;text-align:right}
th:first-child,td:first-child{text-align:left}
details summary{cursor:pointer;color:#444;margin:.3em 0}
.more{color:#666;font-size:.9em}
"""

_SEGMENTS = (("fixed_understood", "Fixed understood"), ("fixed_unclear", "Fixed unclear"),
             ("not_fixed", "Not fixed"), ("other", "Other status"))


def _e(text: object) -> str:
    import html

    return html.escape(str(text), quote=True)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _segments(g: Group) -> list[tuple[str, str, int]]:
    return [(key, label, getattr(g, key)) for key, label in _SEGMENTS
            if getattr(g, key) > 0]


def _hbars(dim: str, groups: list[Group]) -> str:
    """Horizontal bars, one per group, split by status."""
    row_h, label_w, bar_w = 24, 250, 560
    top = max(g.calls for g in groups) or 1
    height = row_h * len(groups) + 6
    parts = [f'<svg viewBox="0 0 {label_w + bar_w + 70} {height}" width="{label_w + bar_w + 70}"'
             f' height="{height}" role="img" aria-label="Calls by {_e(DIMENSIONS[dim])}">']
    for n, g in enumerate(groups):
        y = n * row_h + 3
        parts.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">'
                     f'<title>{_e(g.label)}</title>{_e(_short(g.label, 36))}</text>')
        x = float(label_w)
        for key, label, count in _segments(g):
            w = bar_w * count / top
            parts.append(f'<rect x="{x:.1f}" y="{y + 2}" width="{max(w, 0.5):.1f}" '
                         f'height="{row_h - 8}" fill="{COLORS[key]}"><title>{_e(g.label)}: '
                         f'{count} {_e(label)}</title></rect>')
            x += w
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 15}">{g.calls}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _columns(dim: str, groups: list[Group]) -> str:
    """Vertical bars over time (weeks or days), split by status."""
    plot_h, base, left = 180, 200, 40
    n = len(groups)
    step = max(2.0, min(36.0, 900 / max(n, 1)))
    label_w = 7 * max(len(g.label) for g in groups) + 10  # about, at 12px
    every = max(1, math.ceil(label_w / step))  # x labels that do not overlap
    width = int(left + step * n + label_w)
    top = max(g.calls for g in groups) or 1
    parts = [f'<svg viewBox="0 0 {width} {base + 40}" width="{width}" height="{base + 40}" '
             f'role="img" aria-label="Calls by {_e(DIMENSIONS[dim])}">',
             f'<line x1="{left}" y1="{base}" x2="{left + step * n:.1f}" y2="{base}" '
             'stroke="#999"/>',
             f'<text x="{left - 6}" y="{base - plot_h + 4}" text-anchor="end">{top}</text>',
             f'<text x="{left - 6}" y="{base + 4}" text-anchor="end">0</text>']
    for i, g in enumerate(groups):
        x = left + i * step + step * 0.1
        y = float(base)
        for key, label, count in _segments(g):
            h = plot_h * count / top
            y -= h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.8:.1f}" '
                         f'height="{max(h, 0.5):.1f}" fill="{COLORS[key]}"><title>'
                         f'{_e(g.label)}: {count} {_e(label)}</title></rect>')
        if i % every == 0:
            parts.append(f'<line x1="{x:.1f}" y1="{base}" x2="{x:.1f}" y2="{base + 5}" '
                         f'stroke="#999"/><text x="{x:.1f}" y="{base + 18}">{_e(g.label)}'
                         '</text>')
    parts.append("</svg>")
    return "".join(parts)


def _html_table(dim: str, groups: list[Group]) -> str:
    head = "".join(f"<th>{h}</th>" for h in (
        _e(DIMENSIONS[dim]), "Calls", "Share", "Fixed understood", "Fixed unclear",
        "Not fixed", "Escalated", "Median min"))
    rows = "".join(
        f"<tr><td>{_e(g.label)}</td><td>{g.calls}</td><td>{_pct(g.share)}</td>"
        f"<td>{g.fixed_understood}</td><td>{g.fixed_unclear}</td><td>{g.not_fixed}</td>"
        f"<td>{g.escalated} ({_pct(g.escalation_rate)})</td>"
        f"<td>{_minutes(g.median_minutes)}</td></tr>" for g in groups)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def to_html(report: Report, top: int = DEFAULT_TOP,
            title: str = "IPsec calls: classification report") -> str:
    """One self-contained page: summary, then a chart and a table per breakdown.
    Nothing is loaded from elsewhere (no scripts, fonts, images or links)."""
    t = report.total
    cards = [("Calls", str(t.calls)),
             ("Escalated to Tier 2", f"{t.escalated} ({_pct(t.escalation_rate)})"),
             ("Median time to outcome", f"{_minutes(t.median_minutes)} min"),
             ("Fixed understood", str(t.fixed_understood)),
             ("Fixed unclear", str(t.fixed_unclear)), ("Not fixed", str(t.not_fixed))]
    legend = "".join(f'<span><i class="sw" style="background:{COLORS[k]}"></i>{_e(lbl)}</span>'
                     for k, lbl in _SEGMENTS[:3])
    body = [f"<h1>{_e(title)}</h1>",
            f'<p class="meta">Period: {_e(_period(report))} · filters: '
            f'{_e(_filters(report))} · generated {_e(report.generated)}</p>',
            '<div class="cards">' + "".join(f'<div class="card">{_e(k)}<b>{_e(v)}</b></div>'
                                            for k, v in cards) + "</div>",
            f'<p class="legend">{legend}</p>']
    if not t.calls:
        body.append("<p>No stored calls match.</p>")
    for dim, groups in report.groups.items():
        if not groups:
            continue
        body.append(f"<section><h2>Calls by {_e(DIMENSIONS[dim].lower())}</h2>")
        if dim in TIME_DIMENSIONS:
            body.append(_columns(dim, groups[-400:]))
            body.append(f"<details><summary>Table ({len(groups)} rows)</summary>"
                        f"{_html_table(dim, groups)}</details>")
        else:
            shown = _shown(dim, groups, top)
            body.append(_hbars(dim, shown))
            body.append(f"<details open><summary>Table</summary>{_html_table(dim, shown)}"
                        "</details>")
            if len(shown) < len(groups):
                rest = groups[len(shown):]
                body.append(f'<p class="more">{len(rest)} more, with '
                            f'{sum(g.calls for g in rest)} calls, not shown.</p>')
        body.append("</section>")
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
            + "\n".join(body) + "\n</body></html>\n")


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


# -- commands -----------------------------------------------------------------------------


def _date_arg(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _dims_arg(text: str) -> list[str]:
    dims = [d.strip() for d in text.split(",") if d.strip()]
    unknown = [d for d in dims if d not in DIMENSIONS]
    if unknown or not dims:
        raise argparse.ArgumentTypeError(
            f"unknown breakdown {', '.join(unknown) or repr(text)}; "
            f"one of: {', '.join(DIMENSIONS)}")
    return dims


def _top_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of rows (0: all)")
    return value


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``ipsec-triage report``."""
    parser.add_argument("--format", choices=FORMATS, default="table",
                        help="table (default), csv, json, or html (one page with charts)")
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead")
    parser.add_argument("--since", metavar="DATE", type=_date_arg,
                        help="calls started on or after this day (YYYY-MM-DD)")
    parser.add_argument("--until", metavar="DATE", type=_date_arg,
                        help="calls started on or before this day (YYYY-MM-DD)")
    parser.add_argument("--category", choices=[c.value for c in Category],
                        help="only calls of this category")
    parser.add_argument("--status", choices=[s.value for s in Status],
                        help="only calls that ended with this status")
    parser.add_argument("--target", metavar="HOST",
                        help="only calls about this destination computer")
    parser.add_argument("--staffer", metavar="NAME", help="only calls taken by NAME")
    parser.add_argument("--practice", action="store_true",
                        help="include practice calls ('start --practice', replayed answers "
                             "files); left out by default")
    parser.add_argument("--by", metavar="LIST", type=_dims_arg, default=None,
                        help="only these breakdowns, comma-separated: "
                             f"{', '.join(DIMENSIONS)} (default: all)")
    parser.add_argument("--top", metavar="N", type=_top_arg, default=DEFAULT_TOP,
                        help=f"rows per breakdown in the table and the HTML page "
                             f"(default {DEFAULT_TOP}; 0: all; weeks and days: the latest)")
    parser.add_argument("--no-sync", action="store_true",
                        help="do not first store this computer's ended calls that the "
                             "store does not have yet")


def _store_for(args: argparse.Namespace, env: Environment, data_dir: Path) -> SqlStore:
    """The store of $IPSEC_TRIAGE_STORE, else of the organization file, else SQLite."""
    from .callstore import StoreError, open_store, resolve_url
    from .cli import UserError
    from .orgconfig import OrgConfigError, load_org_config

    configured = None
    if not (env.environ.get("IPSEC_TRIAGE_STORE") or "").strip():
        path = env.org_file(getattr(args, "org", None), data_dir)
        if path is not None:
            try:
                configured = load_org_config(path).store_url
            except OrgConfigError as exc:
                raise UserError(str(exc), ExitStatus.CONFIG) from None
    try:
        return open_store(data_dir, resolve_url(data_dir, environ=env.environ,
                                                configured=configured))
    except StoreError as exc:
        raise UserError(str(exc), ExitStatus.CONFIG) from None


def _console(env: Environment) -> Console:
    width = None if env.interactive else 160
    return Console(file=env.stdout, force_terminal=env.interactive or None,
                   highlight=False, soft_wrap=False, width=width)


def store_exit(exc: Exception) -> ExitStatus:
    """Exit code for a store error: its own code (8) when the store cannot be reached."""
    return ExitStatus.STORE if " unreachable: " in str(exc) else ExitStatus.NOT_FOUND


def cmd_sync(args: argparse.Namespace, env: Environment) -> ExitStatus:
    """``ipsec-triage sync``: store this computer's ended calls the store lacks."""
    from .callstore import StoreError
    from .cli import UserError

    data_dir = env.data_dir(getattr(args, "data_dir", None))
    with _store_for(args, env, data_dir) as store:
        try:
            result = store.sync(data_dir)
        except StoreError as exc:
            raise UserError(f"{exc}; the calls stay here, nothing is lost",
                            store_exit(exc)) from None
        env.stdout.write(f"{result.saved} call(s) stored, {result.already} already there, "
                         f"{result.failed} failed ({store.safe_url})\n")
        if result.failed:
            env.warn(f"{result.failed} call(s) not stored: {store.last_error}")
            return ExitStatus.STORE
    return ExitStatus.OK


def add_store_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``ipsec-triage store``."""
    parser.add_argument("action", choices=("revision", "upgrade"),
                        help="revision: show the schema revision of the store and the one "
                             "this version needs; upgrade: bring the store to it (safe to "
                             "run again, and while staff store calls)")


def cmd_store(args: argparse.Namespace, env: Environment) -> ExitStatus:
    """``ipsec-triage store revision|upgrade``."""
    from .callstore import REVISION, StoreError
    from .cli import UserError

    data_dir = env.data_dir(getattr(args, "data_dir", None))
    with _store_for(args, env, data_dir) as store:
        try:
            if args.action == "revision":
                have = store.revision()
                state = "up to date" if have == REVISION else (
                    "run 'ipsec-triage store upgrade'" if have != "none"
                    else "created at the first use")
                env.stdout.write(f"call store {store.safe_url}: revision {have}; this "
                                 f"version needs {REVISION} ({state})\n")
                return ExitStatus.OK
            before, after = store.upgrade()
        except StoreError as exc:
            raise UserError(str(exc), store_exit(exc)) from None
    if before == after:
        env.stdout.write(f"call store {store.safe_url}: already at revision {after}\n")
    else:
        env.stdout.write(f"call store {store.safe_url}: upgraded from revision {before} to "
                         f"{after}\n")
    return ExitStatus.OK


def cmd_report(args: argparse.Namespace, env: Environment) -> ExitStatus:
    """``ipsec-triage report``: the call classification report."""
    from .callstore import CallFilter, StoreError
    from .cli import UserError
    from .journal import atomic_write

    since: date | None = getattr(args, "since", None)
    until: date | None = getattr(args, "until", None)
    if since and until and since > until:
        raise UserError(f"--since {since} is after --until {until}", ExitStatus.USAGE)
    filters = CallFilter(since=since, until=until, category=getattr(args, "category", None),
                         target=getattr(args, "target", None),
                         staffer=getattr(args, "staffer", None),
                         status=getattr(args, "status", None),
                         practice=bool(getattr(args, "practice", False)))
    data_dir = env.data_dir(getattr(args, "data_dir", None))
    with _store_for(args, env, data_dir) as store:
        try:
            if not getattr(args, "no_sync", False):
                synced = store.sync(data_dir)  # this computer's calls not stored yet
                if synced.failed:
                    env.warn(f"{synced.failed} call(s) of this computer are not in the "
                             f"report: {store.last_error}")
            calls = store.query(filters, details=False)
        except StoreError as exc:
            raise UserError(str(exc), store_exit(exc)) from None
    data = build_report(calls, getattr(args, "by", None) or DEFAULT_GROUPS,
                        filters=filters.describe(), labels=_intake_labels(args, env))
    fmt = getattr(args, "format", "table")
    top = getattr(args, "top", DEFAULT_TOP)
    output = getattr(args, "output", None)
    if fmt == "table" and not output:
        to_table(data, _console(env), top)
        return ExitStatus.OK
    text = render(data, fmt, top)
    if not output:
        env.stdout.write(text)
        return ExitStatus.OK
    try:
        atomic_write(Path(output), text)
    except OSError as exc:
        raise UserError(f"{output}: cannot write the report: {exc.strerror or exc}",
                        ExitStatus.USAGE) from None
    env.stdout.write(f"Report written to {output} ({data.calls} calls)\n")
    return ExitStatus.OK
