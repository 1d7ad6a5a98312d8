#!/usr/bin/env bash
# Runs the whole test suite (set DATABASE_URL=postgres://... to run it on PostgreSQL).
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

"$VENV_PY" -m ruff check --quiet .
exec "$VENV_PY" -m pytest "$@"
