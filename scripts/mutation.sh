#!/usr/bin/env bash
# Mutation testing of the money and access modules with mutmut (configured in pyproject.toml,
# [tool.mutmut]); not part of CI: it takes long. mutmut copies the code into mutants/ (ignored by
# git), changes one thing at a time (a `<` to `<=`, an `and` to `or`, a constant) and runs the
# tests that reach the changed function: a mutant the tests catch is "killed", one they miss
# "survived". Prints the share killed per module; `mutmut results`, `mutmut show NAME` and
# `mutmut browse` (in this folder) tell which survived and how.
#
#   scripts/mutation.sh                       # every module of [tool.mutmut] only_mutate
#   scripts/mutation.sh program/access.py     # one or more of them
#   SAMPLE=20 scripts/mutation.sh billing/services.py   # every 20th mutant: a quicker estimate
#
# Mutants run one at a time (--max-children 1) against one reused test database (pytest-django's
# --reuse-db). Not two at a time: the SQLite test database is a file whose name
# config/test_settings.py picks when the settings are imported, and mutmut's fork server imports
# them once before forking every mutant's test run, so parallel mutants would share that file
# (and flush each other's rows). rm -rf mutants/ to start over.
source "$(dirname "$0")/env.sh"
MUTMUT="$ROOT/.venv/bin/mutmut"

patterns=()
for module in "$@"; do
  module="${module%.py}"
  patterns+=("${module//\//.}.*")
done

if [ -n "${SAMPLE:-}" ]; then
  # Make the mutants without running them (a run limited to a name that matches none stops
  # right after making them), then pick every SAMPLE-th of each module as mutmut lists them.
  "$MUTMUT" run --max-children 1 "no-such-mutant" >/dev/null 2>&1 || true
  pick='
import fnmatch
import re
import sys

every, patterns = int(sys.argv[1]), sys.argv[2:] or ["*"]
seen = {}
for line in sys.stdin:
    name = line.strip().split(":")[0]
    if not name or not any(fnmatch.fnmatch(name, p) for p in patterns):
        continue
    module = re.sub(r"\.x[ǁ_].*$", "", name)
    seen[module] = seen.get(module, -1) + 1
    if seen[module] % every == 0:
        print(name)
'
  mapfile -t picked < <("$MUTMUT" results --all true | "$VENV_PY" -c "$pick" "$SAMPLE" "${patterns[@]}")
  echo "Sample: ${#picked[@]} mutants (every ${SAMPLE}th of each module)"
  patterns=("${picked[@]}")
fi

"$MUTMUT" run --max-children 1 "${patterns[@]}"

echo
echo "Killed per module (timeouts count as killed; 'no tests' mutants are in the total):"
summary='
import fnmatch
import re
import sys
from collections import Counter, defaultdict

patterns = sys.argv[1:] or ["*"]
by_module = defaultdict(Counter)
for line in sys.stdin:
    if ":" not in line:
        continue
    name, status = (part.strip() for part in line.rsplit(":", 1))
    if status == "not checked" or not any(fnmatch.fnmatch(name, p) for p in patterns):
        continue
    module = re.sub(r"\.x[ǁ_].*$", "", name)
    by_module[module][status] += 1
for module, counts in sorted(by_module.items()):
    total = sum(counts.values())
    killed = counts["killed"] + counts["timeout"]
    rest = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()) if s not in ("killed",))
    print(f"  {module}: {killed}/{total} killed ({100 * killed / total:.0f} %)" + (f"; {rest}" if rest else ""))
'
"$MUTMUT" results --all true | "$VENV_PY" -c "$summary" "${patterns[@]}"
