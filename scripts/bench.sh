#!/usr/bin/env bash
# Benchmark the site under gunicorn on PostgreSQL with wrk (see scripts/bench.py for what it does).
#   ./scripts/bench.sh [--duration 10] [--threads 2] [--connections 8] [--workers N]
# Needs PostgreSQL on 127.0.0.1:5432 (BENCH_PG to change) and wrk (installed with apt if missing).
source "$(dirname "$0")/env.sh"
if ! command -v wrk >/dev/null 2>&1; then
  echo "Installing wrk from Debian ..."
  apt-get install -y -qq wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
fi
exec "$VENV_PY" scripts/bench.py "$@"
