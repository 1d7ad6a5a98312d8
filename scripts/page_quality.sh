#!/usr/bin/env bash
# Lighthouse (mobile) and axe-core scores for the home, outline, a lesson and sign-in pages.
# See scripts/page_quality.py. Needs node/npm and Debian's chromium (CHROME_PATH).
source "$(dirname "$0")/env.sh"
exec "$VENV_PY" scripts/page_quality.py "$@"
