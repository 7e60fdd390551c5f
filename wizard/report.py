"""Call classification reports: the volume and nature of IPsec calls.

Counts by category, status, scope, severity, target, staffer, day and week; the
escalation rate; the median time to an outcome; the flowchart exits hit most. As a
terminal table, CSV, JSON, or one self-contained HTML page with bar charts (inline SVG).
"""

from __future__ import annotations

import csv
import html
import io
import json
import statistics
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

STATUS_LABELS = {"fixed_understood": "Fixed understood", "fixed_unclear": "Fixed unclear",
                 "not_fixed": "Not fixed"}
DIMENSIONS = ("category", "status", "scope", "severity", "target", "staffer", "day", "week",
              "terminal")


def _day(started: str) -> str:
    return started[:10]


def _week(started: str) -> str:
    try:
        year, week, _ = datetime.fromisoformat(started).isocalendar()
    except ValueError:
        return "?"
    return f"{year}-W{week:02d}"


def build_report(rows: Iterable[dict[str, Any]], top: int = 10) -> dict[str, Any]:
    rows = list(rows)
    counts: dict[str, Counter[str]] = {d: Counter() for d in DIMENSIONS}
    durations = []
    escalated = 0
    for r in rows:
        for dim in ("category", "scope", "severity", "target", "staffer", "terminal"):
            counts[dim][str(r.get(dim) or "(none)")] += 1
        counts["status"][STATUS_LABELS.get(str(r["status"]), str(r["status"]))] += 1
        counts["day"][_day(str(r["started"]))] += 1
        counts["week"][_week(str(r["started"]))] += 1
        if r.get("duration_s") is not None:
            durations.append(float(r["duration_s"]))
        escalated += bool(r.get("tier2"))
    total = len(rows)
    by: dict[str, list[tuple[str, int]]] = {}
    for dim, counter in counts.items():
        items = sorted(counter.items()) if dim in ("day", "week") else counter.most_common()
        by[dim] = items[:top] if dim in ("target", "terminal") else items
    return {
        "calls": total,
        "escalated": escalated,
        "escalation_rate": round(escalated / total, 4) if total else 0.0,
        "median_minutes_to_outcome": round(statistics.median(durations) / 60, 2)
        if durations else None,
        "by": {dim: [{"key": k, "calls": n} for k, n in items] for dim, items in by.items()},
    }


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def to_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["dimension", "key", "calls"])
    writer.writerow(["total", "calls", report["calls"]])
    writer.writerow(["total", "escalated", report["escalated"]])
    writer.writerow(["total", "escalation_rate", report["escalation_rate"]])
    writer.writerow(["total", "median_minutes_to_outcome", report["median_minutes_to_outcome"]])
    for dim, items in report["by"].items():
        for item in items:
            writer.writerow([dim, item["key"], item["calls"]])
    return out.getvalue()


def to_table(report: dict[str, Any], console: Console) -> None:
    median = report["median_minutes_to_outcome"]
    console.print(f"[bold]{report['calls']} calls[/bold], {report['escalated']} escalated "
                  f"({report['escalation_rate']:.0%}), median time to outcome "
                  f"{'-' if median is None else f'{median} min'}")
    for dim in ("category", "status", "scope", "severity", "week", "staffer", "target",
                "terminal"):
        table = Table(title=f"by {dim}", title_justify="left")
        table.add_column(dim)
        table.add_column("calls", justify="right")
        for item in report["by"][dim]:
            table.add_row(str(item["key"]), str(item["calls"]))
        console.print(table)


def _bars(title: str, items: list[dict[str, Any]]) -> str:
    if not items:
        return f"<h2>{html.escape(title)}</h2><p>No calls.</p>"
    top = max(i["calls"] for i in items) or 1
    row_h, label_w, bar_w = 22, 260, 420
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 60}" '
             f'height="{row_h * len(items) + 4}" role="img" aria-label="{html.escape(title)}">']
    for n, item in enumerate(items):
        y = n * row_h + 2
        width = max(1, round(bar_w * item["calls"] / top))
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">'
                     f'{html.escape(str(item["key"]))[:40]}</text>'
                     f'<rect x="{label_w}" y="{y + 3}" width="{width}" height="{row_h - 6}" '
                     f'fill="#4a78c2"/><text x="{label_w + width + 6}" y="{y + 15}">'
                     f'{item["calls"]}</text>')
    parts.append("</svg>")
    return f"<h2>{html.escape(title)}</h2>" + "".join(parts)


def to_html(report: dict[str, Any], title: str = "IPsec calls") -> str:
    median = report["median_minutes_to_outcome"]
    sections = "".join(_bars(f"Calls by {dim}", report["by"][dim]) for dim in
                       ("category", "status", "scope", "severity", "week", "day", "staffer",
                        "target", "terminal"))
    return (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title><style>body{{font-family:sans-serif;"
        "margin:2em}svg text{font-size:13px}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{report['calls']} calls, {report['escalated']} "
        f"escalated ({report['escalation_rate']:.0%}); median time to outcome: "
        f"{'-' if median is None else f'{median} minutes'}.</p>{sections}</body></html>\n"
    )
