"""The layout's one rule: what runs inside the host application (the facade and
``_internal``) never imports the offline tools."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

PACKAGE = "opentelemetry.instrumentation.flujo"
SOURCE = ROOT / "src" / Path(*PACKAGE.split("."))
TOOLS = PACKAGE + ".tools"


def in_app_modules() -> list[Path]:
    facade = list(SOURCE.glob("*.py"))
    return sorted(facade + list((SOURCE / "_internal").rglob("*.py")))


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in it (function-local imports too)."""
    package = ".".join((PACKAGE, *path.relative_to(SOURCE).parent.parts))
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def test_no_in_app_module_imports_the_tools() -> None:
    modules = in_app_modules()
    assert len(modules) > 30  # the scan found the package
    offenders = {str(path.relative_to(SOURCE)): sorted(m for m in imported(path)
                                                       if m == TOOLS or m.startswith(TOOLS + "."))
                 for path in modules}
    assert {path: names for path, names in offenders.items() if names} == {}


def test_importing_every_in_app_module_loads_no_tool() -> None:
    names = [".".join((PACKAGE, *path.relative_to(SOURCE).with_suffix("").parts))
             .removesuffix(".__init__") for path in in_app_modules()]
    names = [name for name in names if not name.endswith(".auto")]  # auto instruments on import
    code = ("import importlib, sys\n"
            f"for name in {names!r}:\n    importlib.import_module(name)\n"
            f"print(sorted(m for m in sys.modules if m.startswith({TOOLS!r})))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=True)
    assert result.stdout.strip() == "[]"
