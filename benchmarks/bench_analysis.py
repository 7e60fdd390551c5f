"""The analysis of a Security log export: events per second, and memory as the file grows.

The file is a rootless sequence of ``<Event>`` elements as ``wevtutil qe Security
/f:xml`` prints them (main mode failures and successes, quick mode failures, driver
drops, logons among them). The reference is the least any reader must do: a bare
iterative parse of the same file with the same defused parser (defusedxml's
``iterparse``, each event cleared), in the same run. Goal: within 1.5x of it. The C
parser of the standard library is shown too: it is faster, but defusedxml's protections
(DTDs, entities refused) are built on the Python parser. Memory: the peak of the analysis of
the file and of a file four times its size, each in its own process (flat: the same).

    python -m benchmarks.bench_analysis [--events 100000] [--runs N] [--gigabyte]

``--gigabyte`` also writes a 1 GB export and reports the peak memory of its analysis.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from defusedxml.ElementTree import iterparse

from benchmarks.common import ROOT, best, figure, parser

T = "2026-12-01T09:{:02d}:{:02d}.000Z"


def write_export(path: Path, events: int) -> int:
    sys.path.insert(0, str(ROOT))
    from tests.helpers import evidence_events as ev

    kinds = [
        lambda i: ev.mm_failure(T.format(i % 60, i % 59), f"10.20.{i % 7}.{i % 250}",
                                "Negotiation timed out", record=i),
        lambda i: ev.mm_established(T.format(i % 60, 0), f"10.20.{i % 7}.{i % 250}"),
        lambda i: ev.qm_failure(T.format(i % 60, 1), f"10.21.0.{i % 250}",
                                "No policy configured"),
        lambda i: ev.logon(T.format(i % 60, 2)),
        lambda i: ev.driver(4965, T.format(i % 60, 3), "10.22.0.1"),
    ]
    with open(path, "w", encoding="utf-8") as fh:
        batch = []
        for i in range(events):
            batch.append(kinds[i % len(kinds)](i))
            if len(batch) == 1000:
                fh.write("\n".join(batch) + "\n")
                batch = []
        fh.write("\n".join(batch) + "\n")
    return path.stat().st_size


def bare_parse(path: Path, defused: bool = True) -> int:
    """Events counted by a bare iterative parse of the same bytes (given a root): with
    defusedxml's parser (the one the analysis must use), or the C-accelerated one of the
    standard library (which defusedxml cannot use)."""
    class Stream:
        def __init__(self, fh: object) -> None:
            self.fh = fh
            self.head, self.tail = b"<r>", b"</r>"

        def read(self, n: int) -> bytes:
            if self.head:
                out, self.head = self.head, b""
                return out
            chunk = self.fh.read(n)  # type: ignore[attr-defined]
            if not chunk:
                out, self.tail = self.tail, b""
                return out
            return bytes(chunk)

    count = 0
    with open(path, "rb") as fh:
        parse = iterparse if defused else ET.iterparse
        for _, elem in parse(Stream(fh), events=("end",)):  # type: ignore[arg-type]
            if elem.tag.endswith("}Event"):
                count += 1
                elem.clear()
    return count


def peak_memory(path: Path) -> tuple[int, float]:
    """(events read, peak resident MiB) of the analysis of ``path``, in a new process."""
    code = ("import resource, sys; from pathlib import Path; "
            "from wizard.evidence.analysis import analyze; "
            "r = analyze([Path(sys.argv[1])]); "
            "print(r.events, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, str(path)], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.split()
    return int(out[0]), int(out[1]) / 1024


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--events", type=int, default=100_000)
    p.add_argument("--gigabyte", action="store_true")
    args = p.parse_args()
    from wizard.evidence.analysis import analyze

    events = 2_000 if args.tiny else args.events
    runs = 1 if args.tiny else args.runs
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "Security.xml"
        size = write_export(path, events)
        report = analyze([path])
        assert report.events == events and report.findings, report.notes

        def ours() -> None:
            analyze([path])

        def reference() -> None:
            assert bare_parse(path) == events

        def c_parse() -> None:
            assert bare_parse(path, defused=False) == events

        t_ours, t_ref, t_c = best(ours, runs), best(reference, runs), best(c_parse, runs)
        figure(f"analysis, {events} events ({size // 2**20} MiB)", t_ours, t_ref,
               "bare defusedxml iterparse", "within 1.5x")
        figure("  the same, against the C parser", t_ours, t_c, "bare C iterparse, "
               "not defused")
        print(f"  events per second: ours {events / t_ours:,.0f}, bare defusedxml parse "
              f"{events / t_ref:,.0f}, bare C parse {events / t_c:,.0f}", flush=True)
        big = Path(tmp) / "Security-4x.xml"
        write_export(big, events * 4)
        small_events, small_mib = peak_memory(path)
        big_events, big_mib = peak_memory(big)
        print(f"  peak memory: {small_mib:.0f} MiB for {small_events} events, "
              f"{big_mib:.0f} MiB for {big_events} events (flat in the file's size)",
              flush=True)
        big.unlink()
        if args.gigabyte and not args.tiny:
            giga = Path(tmp) / "Security-1GB.xml"
            per_event = size / events
            write_export(giga, int(2**30 / per_event))
            n, mib = peak_memory(giga)
            print(f"  1 GB export ({giga.stat().st_size // 2**20} MiB, {n} events): peak "
                  f"memory {mib:.0f} MiB", flush=True)


if __name__ == "__main__":
    main()
