"""The import graph the README describes: app → web → schema → resolvers → loaders →
datasources, each layer using only layers below it; domain, settings, logs, auth and telemetry
are leaves anyone may use; cli, seed and migrations are entry points nothing imports
(except cli, which runs seed). Storage imports form a DAG without tricks."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ["app", "web", "schema", "resolvers", "loaders", "datasources"]
LEAVES = {"domain", "settings", "logs", "auth", "telemetry"}
ENTRY_POINTS = {"cli", "seed", "migrations"}
UNITS = {*LAYERS, *LEAVES, *ENTRY_POINTS}


def unit_of(path: Path) -> str:
    return path.relative_to(ROOT).parts[0].removesuffix(".py")


def sources() -> list[Path]:
    found = []
    for unit in sorted(UNITS):
        package = ROOT / unit
        found += sorted(package.rglob("*.py")) if package.is_dir() else [ROOT / f"{unit}.py"]
    return [path for path in found if path.exists()]


def imported_units(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names & UNITS


def allowed(importer: str, imported: str) -> bool:
    if imported == importer:
        return True
    if importer in LEAVES:
        return imported == "logs"  # the lowest leaf: the others may log
    if imported in LEAVES:
        return True
    if importer == "cli":
        return imported != "app"
    if importer in ENTRY_POINTS:
        return imported in LAYERS and imported != "app"
    if imported in ENTRY_POINTS:
        return False
    return LAYERS.index(imported) > LAYERS.index(importer)


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down_the_layers(path: Path) -> None:
    importer = unit_of(path)
    tree = ast.parse(path.read_text(), str(path))
    upward = sorted(u for u in imported_units(tree) if not allowed(importer, u))
    assert not upward, f"{path.relative_to(ROOT)} ({importer}) imports {upward}"


@pytest.mark.parametrize(
    "path",
    sorted((ROOT / "datasources").rglob("*.py")),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_storage_imports_need_no_cycle_dodging(path: Path) -> None:
    """No import inside a function and no `if TYPE_CHECKING:` import in datasources/."""
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            local = [n for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom)]
            assert not local, f"{path.name}:{local[0].lineno} imports inside {node.name}()"
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            raise AssertionError(f"{path.name}:{node.lineno} imports under TYPE_CHECKING")
