"""Journal replay: a call record of 10,000 events read back into a call's state.

The reference is the least any reader must do: ``json.loads`` of every line.

    python -m benchmarks.bench_journal [--events 10000] [--runs N]
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from benchmarks.common import best, figure, parser


def write_journal(path: Path, events: int) -> None:
    """A journal as the program writes it, one JSON line per event (written directly:
    the figure is the reading)."""
    with open(path, "w", encoding="utf-8") as journal:
        journal.write(json.dumps({"event": "start", "t": "2026-01-05T09:00:00+01:00",
                                      "call_id": path.stem, "staffer": "ann",
                                      "flowcharts": {"intake": "1 (abc)"}}) + "\n")
        for i in range(events - 1):
            kind = i % 10
            if kind == 9:
                record = {"event": "note", "key": f"fig7_1.step{i % 97}",
                          "text": f"caller says it worked yesterday ({i})"}
            elif kind == 8:
                record = {"event": "probe", "key": f"fig7_1.step{i % 97}",
                          "args": {"host": "fs01"},
                          "result": {"probe": "ping", "status": "fail", "summary": "no reply",
                                     "evidence": "Request timed out.", "data": {},
                                     "duration": 1.0}}
            else:
                record = {"event": "answer", "key": f"fig7_1.step{i % 97}",
                          "value": "yes" if i % 2 else "no", "source": "staffer"}
            record["t"] = "2026-01-05T09:00:01+01:00"
            journal.write(json.dumps(record, sort_keys=True) + "\n")


def main() -> None:
    args = parser(__doc__).parse_args()
    from wizard.calls.journal import read_events, replay

    events = 200 if args.tiny else 10_000
    runs = 1 if args.tiny else args.runs
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "20260105-090000-abcd.jsonl"
        write_journal(path, events)

        def ours() -> None:
            evs, damaged = read_events(path)
            state = replay(path.stem, evs, damaged)
            assert state.answers and not damaged

        def reference() -> None:
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    json.loads(line)

        figure(f"journal replay, {events} events", best(ours, runs), best(reference, runs),
               "json.loads per line", "linear, about 1.4x")


if __name__ == "__main__":
    main()
