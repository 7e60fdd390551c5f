#!/bin/sh
# Run every benchmark: concurrent checks, start-up times, reports over stored calls.
#   benchmarks/run.sh [--runs N]      (the same as: python -m benchmarks)
set -e
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
exec "$PY" -m benchmarks "$@"
