#!/usr/bin/env bash
# Runs ruff (lint and format check), mypy (scripts/mypy_check.py) and the whole test suite on pytest-xdist workers
# (set DATABASE_URL=postgres://... to run it on PostgreSQL).
# Installs Debian's Chromium for the browser tests when it is missing and we may install it.
source "$(dirname "$0")/env.sh"

if ! command -v chromium >/dev/null 2>&1 || ! command -v ffmpeg >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian's chromium and ffmpeg for the browser and media tests ..."
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium ffmpeg >/dev/null
  else
    echo "chromium or ffmpeg is missing: install Debian's 'chromium' and 'ffmpeg' packages." >&2
    exit 1
  fi
fi

# axe-core (pinned in tools/axe, from the npm registry) for the browser tests' accessibility checks.
if [ ! -f tools/axe/node_modules/axe-core/axe.min.js ]; then
  if command -v npm >/dev/null 2>&1; then
    npm ci --silent --no-audit --no-fund --prefix tools/axe >/dev/null
  else
    echo "npm is missing: the accessibility (axe) browser tests will be skipped." >&2
  fi
fi

"$VENV_PY" -m ruff check --quiet .
"$VENV_PY" -m ruff format --check --quiet .
# mypy against its baseline (mypy-baseline.txt may only shrink); cached in .mypy_cache.
# SKIP_MYPY=1 leaves it out of a quick loop on a few tests.
if [ -z "${SKIP_MYPY:-}" ]; then "$VENV_PY" scripts/mypy_check.py; fi

# pytest-xdist workers: two per core (four on CI's two cores), at most eight. Much of the suite
# waits (browsers, a minute of throttled playback, subprocesses, the stand-ins), so more workers
# than cores keep both cores busy: on two cores the suite took 275-290 s with 2 workers and
# 135-215 s with 4 (5 and 6 were no faster, and busier). TEST_WORKERS=N chooses, 0 runs serially
# in one process. `loadgroup` keeps each group of browser journeys and the PostgreSQL concurrency
# tests on one worker, one after another (tests/conftest.py makes the groups). A later `-n` wins.
CORES="$(nproc 2>/dev/null || echo 1)"
DEFAULT_WORKERS=$((CORES * 2))
if [ "$DEFAULT_WORKERS" -gt 8 ]; then DEFAULT_WORKERS=8; fi
WORKERS="${TEST_WORKERS:-$DEFAULT_WORKERS}"
PARALLEL=()
if [ "$WORKERS" -ge 2 ]; then PARALLEL=(-n "$WORKERS" --dist loadgroup); fi
exec "$VENV_PY" -m pytest "${PARALLEL[@]}" "$@"
