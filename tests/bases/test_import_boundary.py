"""bases/ is the spine: it never imports webhooks/, history/ or views/ (issue 17).

Those apps subscribe to what bases does (records.dispatch, records.meta_events,
AppConfig.ready); an import the other way, at module level or inside a function, would tie the
spine to its listeners again. permissions/ announces its role changes the same way
(records.meta_events) and never imports views/ either.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BASES = ROOT / "bases"
FORBIDDEN = {"webhooks", "history", "views"}
PERMISSIONS = ROOT / "permissions"


def _imports(tree: ast.AST):
    """(line, module) of every import in the tree, lazy ones and import_module() included."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None))
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value


def boundary_violations(root: Path = BASES, forbidden=FORBIDDEN) -> list[str]:
    out = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, module in _imports(tree):
            if module.split(".")[0] in forbidden:
                out.append(f"{path.relative_to(root.parent)}:{line} imports {module}")
    return out


def test_bases_imports_no_listener_app():
    assert boundary_violations() == []


def test_permissions_imports_no_views():
    assert boundary_violations(PERMISSIONS, {"views"}) == []


def test_the_check_sees_lazy_and_dynamic_imports(tmp_path):
    pkg = tmp_path / "bases"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "ok.py").write_text("from bases import models\nimport viewsets\n")
    (pkg / "sub" / "lazy.py").write_text(
        "def f():\n    from history import services\n"
        "    import webhooks.events\n"
        "    importlib.import_module('views.models')\n"
    )
    assert boundary_violations(pkg) == [
        "bases/sub/lazy.py:2 imports history",
        "bases/sub/lazy.py:3 imports webhooks.events",
        "bases/sub/lazy.py:4 imports views.models",
    ]
