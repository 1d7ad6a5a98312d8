"""mypy with a baseline that may only shrink (mypy has none of its own).

Runs mypy as configured in pyproject.toml ([tool.mypy]: django-stubs, strict on core and
program.access) and compares its errors with mypy-baseline.txt, one `file:code: message` per
line, without line numbers, so moving code does not count as a new error:

- an error that is not in the baseline (or more of one than it lists) fails, printed in full;
- an error of the baseline that is gone passes, with a reminder to shrink the baseline:
  `scripts/mypy_check.py --shrink` drops what is fixed and never adds anything.

scripts/test.sh runs it before pytest. `--write` rewrites the baseline from scratch (only when
the configuration changes, reviewed like code).
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "mypy-baseline.txt"
# path:line: error: message  [code]   (columns off: mypy's default)
ERROR = re.compile(
    r"^(?P<path>[^:]+):(?P<line>\d+): error: (?P<message>.*?)(?:  \[(?P<code>[a-z-]+)\])?$"
)
HEADER = (
    "# mypy errors allowed for now, one per line as file:code: message (scripts/mypy_check.py).\n"
    "# It may only shrink: fix an error, then run scripts/mypy_check.py --shrink.\n"
)


def normalise(path: str, code: str | None, message: str) -> str:
    # Line numbers inside a message ("defined on line 12") move with the code around them.
    message = re.sub(r"\bline \d+\b", "line N", message)
    return f"{path}:{code or 'misc'}: {message}"


MYPY_OPTIONS = ["--no-error-summary", "--no-pretty", "--no-color-output"]


def run_mypy() -> tuple[Counter[str], list[str], int]:
    """(errors as normalised lines, mypy's own error lines, mypy's exit status)."""
    # django-stubs imports config.test_settings, which makes a temporary media folder that its
    # exit handler removes; mypy ends with os._exit, so the folder goes into one removed here.
    with tempfile.TemporaryDirectory(prefix="si-mypy-") as scratch:
        result = subprocess.run(
            [sys.executable, "-m", "mypy", *MYPY_OPTIONS],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={**os.environ, "TMPDIR": scratch},
        )
    found: Counter[str] = Counter()
    raw = []
    for line in result.stdout.splitlines():
        match = ERROR.match(line)
        if match:
            found[normalise(match["path"], match["code"], match["message"])] += 1
            raw.append(line)
    if result.returncode not in (0, 1) or (result.returncode == 1 and not raw):
        # mypy itself failed (a crash, a configuration error): say so rather than pass.
        sys.stderr.write(result.stdout + result.stderr)
        sys.exit(f"mypy did not run (exit status {result.returncode})")
    return found, raw, result.returncode


def read_baseline() -> Counter[str]:
    if not BASELINE.exists():
        return Counter()
    lines = BASELINE.read_text().splitlines()
    return Counter(line for line in lines if line.strip() and not line.startswith("#"))


def write_baseline(errors: Counter[str]) -> None:
    BASELINE.write_text(HEADER + "".join(f"{line}\n" for line in sorted(errors.elements())))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--shrink", action="store_true", help="drop fixed errors from the baseline")
    group.add_argument("--write", action="store_true", help="rewrite the baseline from scratch")
    args = parser.parse_args()

    found, raw, _ = run_mypy()
    baseline = read_baseline()
    if args.write:
        write_baseline(found)
        print(f"mypy-baseline.txt: {sum(found.values())} errors")
        return 0

    new = found - baseline
    fixed = baseline - found
    if args.shrink:
        write_baseline(baseline & found)
        print(f"mypy-baseline.txt: {sum(fixed.values())} fixed errors dropped")
    if new:
        print(f"mypy: {sum(new.values())} new errors (not in mypy-baseline.txt):", file=sys.stderr)
        for line in raw:
            match = ERROR.match(line)
            assert match
            if new[normalise(match["path"], match["code"], match["message"])] > 0:
                print(f"  {line}", file=sys.stderr)
        return 1
    if fixed and not args.shrink:
        print(
            f"mypy: {sum(fixed.values())} errors of mypy-baseline.txt are fixed; "
            "run scripts/mypy_check.py --shrink to keep them fixed."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
