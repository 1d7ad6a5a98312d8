"""Dependencies run one way: core <- accounts <- program <- {billing, comments, help} <- members
<- demo. A module may import its own app and any app to its left, never one to its right or beside
it; config and tests may import anything, and no app imports them.

Every module of every app is read with ast, imports inside functions included, and so are the
dotted paths handed to import_string / import_module as literal strings."""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = [
    {"core"},
    {"accounts"},
    {"program"},
    {"billing", "comments", "help"},
    {"members"},
    {"demo"},
]
RANK = {app: rank for rank, apps in enumerate(LAYERS) for app in apps}
# Ours but no app: apps never import these.
OUTSIDE = {"config", "tests", "scripts"}
DYNAMIC_IMPORTERS = {"import_string", "import_module"}


def _app_modules():
    for app in sorted(RANK):
        folder = ROOT / app
        if folder.is_dir():
            for path in sorted(folder.rglob("*.py")):
                if ".venv" not in path.parts:
                    yield app, path


def _package_of(path: Path) -> list[str]:
    # a/b.py and a/__init__.py both sit in package a.
    return list(path.relative_to(ROOT).parts[:-1])


def _imported(path: Path):
    """(line, dotted name) for every import in the module, relative ones resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = _package_of(path)
                base = package[: len(package) - (node.level - 1)]
                yield node.lineno, ".".join([*base, *([node.module] if node.module else [])])
            elif node.module:
                yield node.lineno, node.module
        elif isinstance(node, ast.Call):
            func = node.func
            name = getattr(func, "id", None) or getattr(func, "attr", None)
            if name in DYNAMIC_IMPORTERS and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    yield node.lineno, first.value


def violations() -> list[str]:
    found = []
    for app, path in _app_modules():
        for line, name in _imported(path):
            target = name.split(".")[0]
            if target == app or (target in RANK and RANK[target] < RANK[app]):
                continue
            if target in RANK or target in OUTSIDE:
                where = path.relative_to(ROOT)
                found.append(f"{where}:{line} imports {name} ({app} may not depend on {target})")
    return found


def test_no_module_imports_against_the_layer_order():
    found = violations()
    assert not found, "\n".join(["Imports against the layer order:", *found])


def test_the_walk_sees_function_level_and_relative_imports(tmp_path, monkeypatch):
    """The rule itself, on a made-up tree: a deferred import in a function still counts."""
    (tmp_path / "accounts").mkdir()
    (tmp_path / "accounts" / "__init__.py").write_text("")
    (tmp_path / "accounts" / "things.py").write_text(
        "from . import other\n"
        "from core.money import money_format\n"
        "def f():\n"
        "    from billing.models import Purchase\n"
        "    import_string('members.views.x')\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert violations() == [
        "accounts/things.py:4 imports billing.models (accounts may not depend on billing)",
        "accounts/things.py:5 imports members.views.x (accounts may not depend on members)",
    ]
