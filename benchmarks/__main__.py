"""Run every benchmark: ``python -m benchmarks [--runs N]`` (or ``benchmarks/run.sh``).

Everything runs on this machine against loopback only.
"""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

extra = sys.argv[1:]
for script in ("bench_probes.py", "bench_first_question.py"):
    print(f"== {script}", flush=True)
    subprocess.run([sys.executable, str(HERE / script), *extra], check=True)
print("== bench_report.py", flush=True)
subprocess.run([sys.executable, str(HERE / "bench_report.py")], check=True)
