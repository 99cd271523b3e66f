"""Code shape rules of the template: short functions, or a reason written next to a long one."""

from __future__ import annotations

import ast

import pytest

from conftest import ROOT

LONG = 60
FILES = sorted([*(ROOT / "scripts").glob("*.py"), *(ROOT / "pt_pipelines").rglob("*.py")])


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_long_functions_say_why(path):
    source = path.read_text(encoding="utf8")
    lines = source.splitlines()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > LONG:
            head = "\n".join(lines[node.lineno - 1 : node.body[0].end_lineno + 1])
            assert "# long:" in head, f"{path.name}:{node.lineno} {node.name} is over {LONG} lines: split it or say why"
