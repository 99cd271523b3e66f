"""project.yml rules: help texts, portable commands, complete deps, loud failure on missing outputs."""

from __future__ import annotations

import re

import pytest
from weasel.util import load_project_config, split_command

from conftest import ROOT
from deps import code_deps, imported_files

CONFIG = load_project_config(ROOT)
COMMANDS = {c["name"]: c for c in CONFIG["commands"]}
SHELL_ONLY = {"rm", "mv", "cp", "mkdir", "touch", "cat", "ln", "wget", "curl", "sed", "find"}


@pytest.mark.parametrize("name", COMMANDS)
def test_command_is_documented_and_portable(name):
    cmd = COMMANDS[name]
    assert cmd.get("help"), f"{name}: no help"
    for line in cmd["script"]:
        assert line.split()[0] not in SHELL_ONLY, f"{name}: {line}"
        assert not re.search(r"[|<>*;]|&&", line), f"{name}: shell syntax in {line}"


# vars that name a file or folder: a user's may hold spaces ("My Documents/corpus")
PATH_VARS = ["train_file", "dev_file", "test_file", "extra_train", "base_config", "baseline_config", "raw_text",
             "vectors", "transformer", "asset_mirror", "package_model", "annotate_input", "annotate_output",
             "sweep_space"]


def test_a_path_with_spaces_reaches_each_step_as_one_argument():
    overrides = {f"vars.{var}": f"my files/{var}.x" for var in PATH_VARS}
    config = load_project_config(ROOT, overrides=overrides)
    for cmd in config["commands"]:
        for line in cmd["script"]:
            words = split_command(line)
            for var in PATH_VARS:
                value = f"my files/{var}.x"
                if value in line:
                    assert any(value in word for word in words), f"{cmd['name']}: quote ${{vars.{var}}} in {line}"


def step_modules(cmd: dict) -> list[str]:
    """The scripts.<name> modules a command runs."""
    return [m for line in cmd["script"] for m in re.findall(r"python -m (scripts\.\w+)", line)]


@pytest.mark.parametrize("name", COMMANDS)
def test_deps_list_exactly_the_code_a_step_imports(name):
    """No module a step imports is missing from its deps (edits must rerun it), and no other module of ours is
    listed (an unrelated edit must not rerun it: editing the floret code must not rerun train)."""
    cmd = COMMANDS[name]
    files = set()
    for module in step_modules(cmd):
        files |= imported_files(ROOT / (module.replace(".", "/") + ".py"))
    listed = {d for d in cmd.get("deps", []) if d.startswith(("scripts/", "pt_pipelines/"))}
    if not cmd.get("outputs") and not listed:
        return  # commands without outputs always run, so their deps do not matter
    assert listed == code_deps(files), f"{name}: deps {sorted(listed)} but imports {sorted(code_deps(files))}"
    for line in cmd["script"]:
        if "configs/" in line:
            for word in (w.strip("\"'") for w in line.split()):
                if word.startswith("configs/") and word not in cmd.get("outputs", []):
                    assert word in cmd["deps"], f"{name}: reads {word} without listing it in deps"


def test_every_step_script_is_run_by_project_yml_and_library_code_is_not():
    run = {m for cmd in COMMANDS.values() for m in step_modules(cmd)}
    steps = {f"scripts.{p.stem}" for p in (ROOT / "scripts").glob("*.py") if p.name != "__init__.py"}
    assert steps == run, f"not run by project.yml: {sorted(steps - run)}; missing: {sorted(run - steps)}"
    for line in (line for cmd in COMMANDS.values() for line in cmd["script"]):
        assert "pt_pipelines" not in line and "scripts/" not in line, f"run steps as python -m scripts.<name>: {line}"


@pytest.mark.parametrize("name", COMMANDS)
def test_missing_outputs_fail_the_step(name):
    """Our scripts write their outputs or exit non-zero; spaCy CLI steps end with check_outputs."""
    cmd = COMMANDS[name]
    if not cmd.get("outputs"):
        return
    last = cmd["script"][-1].split()
    if last[:3] == ["python", "-m", "scripts.check_outputs"]:
        assert last[3:] == cmd["outputs"], f"{name}: check_outputs must list exactly the outputs"
    else:
        assert last[:2] == ["python", "-m"] and last[2].startswith("scripts."), f"{name}: {cmd['script'][-1]}"


def test_all_workflow_is_the_training_pipeline():
    assert CONFIG["workflows"]["all"] == [
        "assets",
        "convert",
        "fill-config",
        "raw-text",
        "init-vectors",
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
