"""project.yml rules: help texts, portable commands, complete deps, loud failure on missing outputs."""

from __future__ import annotations

import re

import pytest
from weasel.util import load_project_config

from conftest import ROOT

CONFIG = load_project_config(ROOT)
COMMANDS = {c["name"]: c for c in CONFIG["commands"]}
SHELL_ONLY = {"rm", "mv", "cp", "mkdir", "touch", "cat", "ln", "wget", "curl", "sed", "find"}
OUR_SCRIPTS = {
    "convert.py",
    "fetch_assets.py",
    "train.py",
    "evaluate.py",
    "clean.py",
    "report.py",
    "package.py",
    "annotate.py",
    "export_dvc.py",
    "sweep.py",
    "save_model.py",
    "benchmark_speed.py",
    "raw_text.py",
    "init_weights.py",
}


@pytest.mark.parametrize("name", COMMANDS)
def test_command_is_documented_and_portable(name):
    cmd = COMMANDS[name]
    assert cmd.get("help"), f"{name}: no help"
    for line in cmd["script"]:
        assert line.split()[0] not in SHELL_ONLY, f"{name}: {line}"
        assert not re.search(r"[|<>*;]|&&", line), f"{name}: shell syntax in {line}"


def first_party_imports(script, seen=None) -> set[str]:
    """The modules under scripts/ that `script` imports, directly or through each other."""
    seen = set() if seen is None else seen
    for found in re.findall(r"^from (\w+) import|^import (\w+)", script.read_text(), flags=re.M):
        module = next(m for m in found if m)
        path = ROOT / "scripts" / f"{module}.py"
        if path.exists() and module not in seen:
            seen.add(module)
            first_party_imports(path, seen)
    return seen


@pytest.mark.parametrize("name", COMMANDS)
def test_every_script_and_module_a_command_runs_is_a_dep(name):
    cmd = COMMANDS[name]
    if not cmd.get("outputs"):
        return  # commands without outputs always run, so their deps do not matter
    deps = set(cmd.get("deps", []))
    for line in cmd["script"]:
        for word in line.split():
            if word.startswith("scripts/") and word.endswith(".py"):
                assert word in deps, f"{name}: runs {word} without listing it in deps"
                for module in first_party_imports(ROOT / word):
                    assert f"scripts/{module}.py" in deps, f"{name}: {word} imports {module} (not in deps)"
        if "configs/" in line:
            for word in line.split():
                if word.startswith("configs/") and word not in cmd.get("outputs", []):
                    assert word in deps, f"{name}: reads {word} without listing it in deps"


@pytest.mark.parametrize("name", COMMANDS)
def test_missing_outputs_fail_the_step(name):
    """Our scripts write their outputs or exit non-zero; spaCy CLI steps end with check_outputs."""
    cmd = COMMANDS[name]
    if not cmd.get("outputs"):
        return
    last = cmd["script"][-1].split()
    if last[:2] == ["python", "scripts/check_outputs.py"]:
        assert last[2:] == cmd["outputs"], f"{name}: check_outputs must list exactly the outputs"
    else:
        assert last[0] == "python" and last[1].split("/")[-1] in OUR_SCRIPTS, f"{name}: {cmd['script'][-1]}"


def test_all_workflow_is_the_training_pipeline():
    assert CONFIG["workflows"]["all"] == [
        "assets",
        "convert",
        "fill-config",
        "raw-text",
        "init-weights",
        "train",
        "evaluate",
        "report",
    ]
    assert "corpus/test.spacy" in COMMANDS["evaluate"]["deps"], "evaluate on the held-out test split"
    assert "corpus/dev.spacy" not in COMMANDS["evaluate"]["deps"]


def test_var_interface():
    for var in ("corpus", "train_file", "dev_file", "test_file", "format", "gpu_id", "seed", "max_steps"):
        assert var in CONFIG["vars"], var
    assert CONFIG["vars"]["corpus"] == "sample" and CONFIG["vars"]["gpu_id"] == -1


def test_no_confection_joined_paths():
    """Adjacent "${vars...}" list items get joined into one string; no dep or output may contain ', '."""
    for cmd in CONFIG["commands"]:
        for key in ("deps", "outputs", "outputs_no_cache"):
            for path in cmd.get(key, []):
                assert ", " not in path, f"{cmd['name']}.{key}: {path!r}"


def test_readme_tables_are_generated_from_project_yml(tmp_path):
    """README's command/workflow/asset tables are `weasel document` output, current with project.yml."""
    from weasel.cli.document import project_document

    readme = (ROOT / "README.md").read_text(encoding="utf8")
    copy = tmp_path / "README.md"
    copy.write_text(readme, encoding="utf8")
    project_document(ROOT, copy)
    assert copy.read_text(encoding="utf8") == readme, "run: python -m weasel document . --output README.md"
