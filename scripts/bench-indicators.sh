#!/usr/bin/env bash
# Issue 4's measurements, outside CI (minutes, gigabytes): the quality-2017 evaluation over a
# national-scale data set (500,000 schools, 2,800 counties) and its import, then the same
# evaluation as one DuckDB query on the same CSV. DuckDB is installed into a throw-away venv
# under target/ from PyPI; it is never a dependency of taizhang.
#
#   scripts/bench-indicators.sh [SCHOOLS] [COUNTIES]
set -euo pipefail
cd "$(dirname "$0")/.."
SCHOOLS=${1:-500000}
COUNTIES=${2:-2800}
OUT=target/bench-indicators
cargo build --release -p taizhang-cli
target/release/taizhang bench indicators --schools "$SCHOOLS" --counties "$COUNTIES" --runs 5 --out "$OUT"
if [ ! -x target/bench-venv/bin/python ]; then
  python3 -m venv target/bench-venv
  target/bench-venv/bin/pip install -q duckdb
fi
target/bench-venv/bin/python scripts/bench_duckdb.py "$OUT/schools.csv" --runs 5 --threads 2
