"""What a step really reads of this project's code: the modules under scripts/ and pt_pipelines/ it imports,
directly or through each other (package __init__ files hold no code and are left out)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("scripts", "pt_pipelines")


def module_file(name: str) -> Path | None:
    """The file of a dotted module name of ours, or None when it is not ours (or a package)."""
    if name.split(".")[0] not in PACKAGES:
        return None
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py") if path.with_suffix(".py").exists() else None


def imported_files(path: Path, seen: set[Path] | None = None) -> set[Path]:
    """The files of ours that `path` imports, transitively, itself included."""
    seen = set() if seen is None else seen
    if path in seen:
        return seen
    seen.add(path)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            file = module_file(name)
            if file is not None:
                imported_files(file, seen)
    return seen


def code_deps(files: set[Path]) -> set[str]:
    """The deps entries for these files: a folder of pt_pipelines when every module in it is read, else files."""
    deps = {f.relative_to(ROOT).as_posix() for f in files}
    for folder in sorted({f.parent for f in files}):
        modules = {m for m in folder.glob("*.py") if m.name != "__init__.py"}
        if folder.parent.name == "pt_pipelines" and modules and modules <= files:
            deps -= {m.relative_to(ROOT).as_posix() for m in modules}
            deps.add(folder.relative_to(ROOT).as_posix())
    return deps
