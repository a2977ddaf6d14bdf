"""The package's layout: no module reaches into another module's private names.

A name that starts with an underscore belongs to its module. Another module that needs it
asks for a public name (``fairness.io.validation.read_matrix_unlogged``, not ``_read_matrix``),
so that what a module offers the others is visible in it, and a private helper can change
without breaking a module elsewhere. A private *module* (``fairness.stats._distributions``)
is fine to import: its public names are the package's own helpers.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "fairness"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(dotted: str) -> bool:
    path = PACKAGE.parent.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_imports(source: str, module: str) -> list[str]:
    """Where ``source`` (the text of ``module``) uses another fairness module's private name:
    ``from fairness.x import _name`` (``_name`` not a submodule), or ``alias._name`` where
    ``alias`` is a fairness module it imported."""
    found: list[str] = []
    modules: dict[str, str] = {}  # local name -> the fairness module it is bound to
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.split(".")[0] == "fairness":
            for alias in node.names:
                target = f"{node.module}.{alias.name}"
                if _is_module(target):
                    modules[alias.asname or alias.name] = target
                elif _private(alias.name) and node.module != module:
                    found.append(f"{module}:{node.lineno}: from {node.module} import {alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "fairness" and alias.asname:
                    modules[alias.asname] = alias.name
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules \
                and _private(node.attr) and modules[node.value.id] != module \
                and not _is_module(f"{modules[node.value.id]}.{node.attr}"):
            found.append(f"{module}:{node.lineno}: {node.value.id}.{node.attr} ({modules[node.value.id]})")
    return found


def test_no_module_imports_another_modules_private_name():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        found += private_imports(path.read_text(encoding="utf-8"), _module_name(path))
    assert found == []


def test_the_scan_sees_each_kind_of_private_use():
    # the three ways a module could reach a private name, and what stays allowed
    source = """
from fairness.io.validation import _read_matrix, read_matrix
from fairness.io import validation as v
from fairness.stats import _distributions as dist
import fairness.quarters as q

def f():
    from fairness.counts.duck import _open
    return v._shown(1), q._naive([]), dist.binom_sf(1, 2, 0.5), v.read_matrix, _open
"""
    found = private_imports(source, "fairness.example")
    assert found == [
        "fairness.example:2: from fairness.io.validation import _read_matrix",
        "fairness.example:8: from fairness.counts.duck import _open",
        "fairness.example:9: v._shown (fairness.io.validation)",
        "fairness.example:9: q._naive (fairness.quarters)",
    ]
    # a module's own private names are its own
    assert private_imports("from fairness.quarters import _naive\n", "fairness.quarters") == []
