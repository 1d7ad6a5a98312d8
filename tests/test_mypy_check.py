"""scripts/mypy_check.py: mypy's errors may only shrink against mypy-baseline.txt (mypy itself runs
in scripts/test.sh; here its output is given, so the rule is checked without running it)."""

import importlib.util
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def check(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("mypy_check", ROOT / "scripts" / "mypy_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "BASELINE", tmp_path / "mypy-baseline.txt")
    monkeypatch.setattr(sys, "argv", ["mypy_check.py"])
    return module


def _mypy_says(check, monkeypatch, *lines):
    found = Counter()
    for line in lines:
        match = check.ERROR.match(line)
        found[check.normalise(match["path"], match["code"], match["message"])] += 1
    monkeypatch.setattr(check, "run_mypy", lambda: (found, list(lines), 1 if lines else 0))


OLD = 'a/b.py:10: error: Item "None" has no attribute "x" (defined on line 3)  [union-attr]'
MOVED = 'a/b.py:42: error: Item "None" has no attribute "x" (defined on line 9)  [union-attr]'
OTHER = "a/c.py:5: error: Missing return statement  [return]"


def test_an_error_of_the_baseline_that_moved_passes_and_a_new_one_fails(check, monkeypatch, capsys):
    _mypy_says(check, monkeypatch, OLD)
    monkeypatch.setattr(sys, "argv", ["mypy_check.py", "--write"])
    assert check.main() == 0
    assert 'a/b.py:union-attr: Item "None" has no attribute "x" (defined on line N)' in (
        check.BASELINE.read_text().splitlines()
    )
    monkeypatch.setattr(sys, "argv", ["mypy_check.py"])
    _mypy_says(check, monkeypatch, MOVED)
    assert check.main() == 0
    # The same error twice, or one in another file, is new.
    _mypy_says(check, monkeypatch, MOVED, OLD)
    assert check.main() == 1
    _mypy_says(check, monkeypatch, OLD, OTHER)
    assert check.main() == 1
    assert OTHER in capsys.readouterr().err


def test_shrink_drops_fixed_errors_and_never_adds(check, monkeypatch, capsys):
    check.write_baseline(Counter({"a/b.py:misc: one": 1, "a/b.py:misc: two": 1}))
    _mypy_says(check, monkeypatch, "a/b.py:3: error: one", "a/c.py:1: error: three  [misc]")
    monkeypatch.setattr(sys, "argv", ["mypy_check.py", "--shrink"])
    assert check.main() == 1  # "three" is new: it fails, and is not written down
    assert check.read_baseline() == Counter({"a/b.py:misc: one": 1})
