"""Lint: time to load and check a flowchart set, by size, shape and node naming.

Synthetic charts (benchmarks/flowgen.py): ``deep`` is one long chain, ``wide`` a
balanced tree; ``plain`` names follow the walk, ``random`` ones do not; ``questions``
are yes/no questions only, ``checks`` and ``outcomes`` also hold TCP port checks shaped
like the shipped ones (quoted ports and yes/no, texts that say "port 445" in words),
written with plain names (random ones make a 50k-node file of them too big to load). "Ours" is
loading (YAML, schema) plus every lint check; the reference is reading the same file
with PyYAML's C loader alone, and, when the ``fast`` extra is installed, a second line
compares with yaml-rs's bare load (the parser the loader then uses, lines read again only
for a problem). Then the whole ``ipsec-triage lint`` command on the smallest deep set.

    python -m benchmarks.bench_lint [--sizes 10000,50000] [--runs N]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from benchmarks import flowgen
from benchmarks.common import ROOT, best, figure, fmt, parser

SHAPES = [(shape, names, "questions") for shape in ("deep", "wide")
          for names in ("plain", "random")] + [
    (shape, "plain", content) for content in ("checks", "outcomes") for shape in ("deep", "wide")]


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--sizes", default="10000,50000")
    args = p.parse_args()
    from wizard.base.yamlio import parse_plain
    from wizard.flows.flowset import lint, load_flowset, route_count

    try:
        import yaml_rs as fast
    except ImportError:
        fast = None

    sizes = [200] if args.tiny else [int(s) for s in args.sizes.split(",")]
    runs = 1 if args.tiny else min(args.runs, 3)
    goals = {10_000: "under 1 s", 50_000: "under 5 s"}
    timing: dict[tuple[int, str, str, str], float] = {}
    refs: dict[tuple[int, str, str, str], float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            for shape, names, content in SHAPES:
                d = flowgen.write(Path(tmp) / f"{n}-{shape}-{names}-{content}", n, shape,
                                  names, content)

                def ours(d: Path = d) -> None:
                    fs = load_flowset(d, check=False)
                    assert lint(fs) == []
                    route_count(fs)

                def reference(d: Path = d) -> None:
                    yaml.load((d / "main.yaml").read_text(encoding="utf-8"),
                              Loader=yaml.CSafeLoader)

                t = timing[n, shape, names, content] = best(ours, runs)
                r = refs[n, shape, names, content] = best(reference, runs)
                figure(f"lint {n} nodes, {shape}, {names} names, {content}", t, r,
                       "C YAML load only", goals.get(n, ""))
                if fast is not None:
                    text = (d / "main.yaml").read_text(encoding="utf-8")
                    path = "fast" if parse_plain(text) is not None else "PyYAML"
                    figure(f"  the same ({path} path)", t, best(lambda t=text: fast.loads(t), runs),
                           "yaml-rs load only")
            spread = max(v for k, v in timing.items() if k[0] == n) / min(
                v for k, v in timing.items() if k[0] == n)
            print(f"  {n} nodes: slowest shape/naming / fastest = {spread:.2f} "
                  "(1 = independent of shape and naming)")
        if len(sizes) > 1:
            a, b = sizes[0], sizes[-1]
            per = [timing[(b, *k)] / timing[(a, *k)] for k in SHAPES]
            grow = [refs[(b, *k)] / refs[(a, *k)] for k in SHAPES]
            print(f"  {b} / {a} nodes: time x{min(per):.1f}-{max(per):.1f} "
                  f"(linear: x{b / a:.0f}; the C YAML load of the same files: "
                  f"x{min(grow):.1f}-{max(grow):.1f})")
        n = sizes[0]
        d = Path(tmp) / f"{n}-deep-random-questions"
        env = dict(os.environ, PYTHONPATH=str(ROOT))

        def command(argv: list[str]) -> None:
            subprocess.run([sys.executable, *argv], check=True, env=env,
                           stdout=subprocess.DEVNULL)

        whole = best(lambda: command(["-m", "wizard", "lint", str(d)]), runs)
        bare = best(lambda: command(["-c", f"import yaml; yaml.load(open({str(d / 'main.yaml')!r}"
                                     ").read(), Loader=yaml.CSafeLoader)"]), runs)
        figure(f"'ipsec-triage lint', {n} nodes (process)", whole, bare,
               "python + C YAML load", goals.get(n, ""))
        print(f"  ({fmt(whole)} for the whole command, start-up included)")


if __name__ == "__main__":
    main()
