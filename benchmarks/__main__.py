"""Run every benchmark: ``python -m benchmarks``."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

for script in ("bench_probes.py", "bench_first_question.py", "bench_report.py"):
    print(f"== {script}", flush=True)
    subprocess.run([sys.executable, str(HERE / script)], check=True)
