#!/usr/bin/env bash
# Sets everything up and runs the site with demo content at http://127.0.0.1:8000
# on the embedded defaults: SQLite, local files, console email, the local Stripe
# stand-in and the task worker. Ctrl-C stops all of it.
source "$(dirname "$0")/env.sh"

export DJANGO_DEBUG="${DJANGO_DEBUG:-1}"
PORT="${PORT:-8000}"
STANDIN_PORT="${STANDIN_PORT:-12111}"
export SITE_URL="${SITE_URL:-http://127.0.0.1:$PORT}"
if [ -z "${STRIPE_SECRET_KEY:-}" ]; then
  export STRIPE_API_BASE="${STRIPE_API_BASE:-http://127.0.0.1:$STANDIN_PORT}"
fi
DEMO_PASSWORD="${DEMO_PASSWORD:-demo-password-1}"
export DEMO_PASSWORD

mkdir -p var
"$VENV_PY" manage.py migrate --noinput

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

# The stand-in starts first (its state in var/ survives restarts), so seed_demo can give the demo
# member a real paid purchase through it.
if [ -z "${STRIPE_SECRET_KEY:-}" ] && "$VENV_PY" manage.py help stripe_standin >/dev/null 2>&1; then
  "$VENV_PY" manage.py stripe_standin --host 127.0.0.1 --port "$STANDIN_PORT" \
    --webhook-url "$SITE_URL/billing/stripe/webhook/" --state-file var/stripe-standin.json &
  standin_pid=$!
  pids+=("$standin_pid")
  health="http://127.0.0.1:$STANDIN_PORT/_standin/health"
  for _ in $(seq 120); do  # up to about 30 seconds (Django starts slowly on a busy machine)
    if "$VENV_PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
      "$health" >/dev/null 2>&1; then
      break
    fi
    if ! kill -0 "$standin_pid" 2>/dev/null; then
      echo "The Stripe stand-in stopped (is port $STANDIN_PORT in use? set STANDIN_PORT)." >&2
      pids=()  # the site still runs; payments need the stand-in
      break
    fi
    sleep 0.25
  done
fi
"$VENV_PY" manage.py seed_demo --password "$DEMO_PASSWORD"

"$VENV_PY" manage.py db_worker &
pids+=($!)
# Recurring jobs (Stripe reconciliation, reminders, retention) go on the queue when they are due.
"$VENV_PY" manage.py run_schedule &
pids+=($!)

cat <<MSG

  The site: $SITE_URL
  Demo logins (password: $DEMO_PASSWORD)
    admin@example.com   staff, admin at $SITE_URL/admin/
    member@example.com  has bought the program
    free@example.com    verified, has not bought
  Emails are printed in this terminal. Ctrl-C stops everything.

MSG
"$VENV_PY" manage.py runserver "127.0.0.1:$PORT" &
pids+=($!)
wait -n "${pids[@]}"
