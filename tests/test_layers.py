"""Dependencies run one way: core <- accounts <- program <- {billing, comments, help,
announcements} <- members <- demo. A module may import its own app and any app to its left, never
one to its right or beside it; config and tests may import anything, and no app imports them.

Every module of every app is read with ast, imports inside functions included, and so are the
dotted paths handed to import_string / import_module as literal strings.

Templates follow the same order: a template belongs to the app named by its first path segment
(templates/billing/... to billing; <app>/templates/<name>/... by <name> too, as Django looks it up),
and its `{% include %}` / `{% extends %}` of a literal name, and its `{% load %}` of a tag library
from an app's templatetags, may only reach its own app or one to its left. Templates outside the
apps' folders (base.html, account/, admin/) belong to the site, like config, and are not checked;
an app's page shows a piece from an app to its right through program.panels (a variable include).
"""

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = [
    {"core"},
    {"accounts"},
    {"program"},
    {"billing", "comments", "help", "announcements"},
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


# A literal template name after include/extends; `{% include added.template %}` is a variable.
TEMPLATE_REFERENCE = re.compile(r"""{%\s*(include|extends)\s+(["'])([^"']+)\2""")
TEMPLATE_LOAD = re.compile(r"{%\s*load\s+([^%]+?)\s*%}")
VERB = {"include": "includes", "extends": "extends", "load": "loads"}


def _template_files():
    """(owning app or None, path) for every template we wrote; the owner comes from the name
    Django looks it up by."""
    roots = [ROOT / "templates"] + [ROOT / app / "templates" for app in sorted(RANK)]
    for root in roots:
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix in {".html", ".txt", ".xml"}:
                yield _template_owner(path.relative_to(root).as_posix()), path


def _template_owner(name: str) -> str | None:
    first = name.split("/")[0]
    return first if first in RANK else None


def _tag_libraries() -> dict[str, str]:
    """Tag library name -> the app whose templatetags package defines it."""
    found = {}
    for app in sorted(RANK):
        folder = ROOT / app / "templatetags"
        if folder.is_dir():
            for path in folder.glob("*.py"):
                if path.stem != "__init__":
                    found[path.stem] = app
    return found


def template_violations() -> list[str]:
    found = []
    libraries = _tag_libraries()
    for app, path in _template_files():
        if app is None:
            continue
        text = path.read_text()
        references = [
            (
                text.count("\n", 0, m.start()) + 1,
                m.group(1),
                m.group(3),
                _template_owner(m.group(3)),
            )
            for m in TEMPLATE_REFERENCE.finditer(text)
        ]
        for m in TEMPLATE_LOAD.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            words = m.group(1).split()
            # `{% load a b %}` loads libraries; `{% load x y from lib %}` loads from one.
            names = words[-1:] if "from" in words else words
            references += [(line, "load", lib, libraries.get(lib)) for lib in names]
        for line, verb, target, owner in references:
            if owner is None or owner == app or RANK[owner] < RANK[app]:
                continue
            where = path.relative_to(ROOT)
            found.append(f"{where}:{line} {VERB[verb]} {target} ({app} may not depend on {owner})")
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


def test_no_template_includes_extends_or_loads_against_the_layer_order():
    found = template_violations()
    assert not found, "\n".join(["Templates against the layer order:", *found])


def test_the_template_walk_sees_includes_extends_and_tag_libraries(tmp_path, monkeypatch):
    """The rule on a made-up tree: site templates and variable includes are not checked."""
    pages = tmp_path / "templates" / "program"
    pages.mkdir(parents=True)
    (pages / "page.html").write_text(
        '{% extends "base.html" %}{% load static shop_tags %}\n'
        "{% include 'program/bit.html' %}{% include panel.template %}\n"
        '{% include "billing/includes/buy.html" with x=1 %}\n'
        '{% extends "members/frame.html" %}{% load money from shop_tags %}\n'
    )
    (tmp_path / "templates" / "base.html").write_text('{% include "members/menu.html" %}')
    local = tmp_path / "accounts" / "templates" / "accounts"
    local.mkdir(parents=True)
    (local / "mail.txt").write_text('{% include "program/email/footer.txt" %}')
    (tmp_path / "billing" / "templatetags").mkdir(parents=True)
    (tmp_path / "billing" / "templatetags" / "shop_tags.py").write_text("")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert template_violations() == [
        "templates/program/page.html:3 includes billing/includes/buy.html"
        " (program may not depend on billing)",
        "templates/program/page.html:4 extends members/frame.html"
        " (program may not depend on members)",
        "templates/program/page.html:1 loads shop_tags (program may not depend on billing)",
        "templates/program/page.html:4 loads shop_tags (program may not depend on billing)",
        "accounts/templates/accounts/mail.txt:1 includes program/email/footer.txt"
        " (accounts may not depend on program)",
    ]
