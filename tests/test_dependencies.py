"""Dependencies run one way: core <- accounts <- program <- {billing, comments, help} <- members
<- demo. An app imports only apps on a lower level (by import statement, or by a dotted path
given to import_string); migrations are history and are left out."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LEVELS = {
    "core": 0,
    "accounts": 1,
    "program": 2,
    "billing": 3,
    "comments": 3,
    "help": 3,
    "members": 4,
    "demo": 5,
}


def _imported(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", "")) == "import_string"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            yield node.args[0].value


def test_no_app_imports_an_app_on_its_own_level_or_above():
    wrong = []
    for app, level in LEVELS.items():
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for name in _imported(ast.parse(path.read_text(), filename=str(path))):
                other = name.split(".")[0]
                if other != app and LEVELS.get(other, -1) >= level:
                    wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not wrong, "\n".join(wrong)
