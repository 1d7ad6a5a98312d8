# Sourced by scripts/run.sh and scripts/test.sh: finds Python >= 3.12, gets uv, installs the
# locked dependencies into .venv. Never downloads an interpreter.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export UV_PYTHON_DOWNLOADS=never
# Bytecode is written (into __pycache__, ignored by git): without it every Python process, and
# the tests that start manage.py or a server, compiled Django and the stripe library again.
unset PYTHONDONTWRITEBYTECODE

python_ok() {
  # True when "$1" runs and is CPython >= 3.12 (pyenv shims for absent versions fail here).
  "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1
}

find_python() {
  if [ -n "${PYTHON:-}" ] && python_ok "$PYTHON"; then echo "$PYTHON"; return 0; fi
  local candidate
  for candidate in python3.13 python3.12 python3.14 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && python_ok "$(command -v "$candidate")"; then
      command -v "$candidate"; return 0
    fi
  done
  local roots=()
  if command -v pyenv >/dev/null 2>&1; then roots+=("$(pyenv root)/versions"); fi
  roots+=("$HOME/.pyenv/versions" /usr/local/bin /opt/python)
  local root
  for root in "${roots[@]}"; do
    [ -d "$root" ] || continue
    for candidate in $(ls -d "$root"/3.1[3-9]*/bin/python3 "$root"/3.12*/bin/python3 2>/dev/null | sort -rV); do
      if python_ok "$candidate"; then echo "$candidate"; return 0; fi
    done
  done
  return 1
}

if ! PY="$(find_python)"; then
  cat >&2 <<'MSG'
No Python 3.12 or newer was found (looked on PATH and under pyenv's versions).
Install one, for example:  sudo apt-get install python3.12   or   pyenv install 3.13
then run this command again (or point PYTHON=/path/to/python3.12 at it).
MSG
  exit 1
fi
export PY

if command -v uv >/dev/null 2>&1; then
  UV="$(command -v uv)"
else
  # uv is not on PATH: install it from PyPI into a private tool environment.
  if [ ! -x .tools/bin/uv ]; then
    echo "Installing uv into .tools/ ..."
    "$PY" -m venv .tools
    .tools/bin/pip install --quiet --disable-pip-version-check uv
  fi
  UV="$ROOT/.tools/bin/uv"
fi
export UV

"$UV" sync --quiet --locked --python "$PY"
export VENV_PY="$ROOT/.venv/bin/python"

# --- PDF reports (WeasyPrint) --------------------------------------------------------------
# WeasyPrint draws text with Debian's Pango and needs at least one font. Installed as root with
# apt-get when missing; otherwise we say what to install (the site runs, only the PDF fails).
# (Read into variables first: with pipefail, `grep -q` closing a pipe early would look like a miss.)
pdf_libs="$("$(command -v ldconfig || echo /sbin/ldconfig)" -p 2>/dev/null || true)"
pdf_fonts="$(fc-list 2>/dev/null || true)"
if [[ "$pdf_libs" != *libpangoft2-1.0.so.0* ]] || [ -z "$pdf_fonts" ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian's Pango and fonts for the PDF progress report ..."
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      libpango-1.0-0 libpangoft2-1.0-0 fontconfig fonts-dejavu-core >/dev/null
  else
    echo "PDF reports need Debian's libpango-1.0-0, libpangoft2-1.0-0 and fonts-dejavu-core." >&2
  fi
fi
# --- end PDF reports ------------------------------------------------------------------------
