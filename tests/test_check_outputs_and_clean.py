"""check_outputs fails on missing outputs; clean removes generated outputs only."""

from __future__ import annotations

import shutil
import subprocess
import sys

from conftest import GENERATED, ROOT
from scripts.check_outputs import missing_outputs
from scripts.clean import generated_outputs


def test_missing_and_empty_outputs_are_reported(tmp_path):
    (tmp_path / "file").write_text("x")
    (tmp_path / "empty_dir").mkdir()
    paths = [tmp_path / "file", tmp_path / "empty_dir", tmp_path / "absent"]
    assert missing_outputs(paths) == [tmp_path / "empty_dir", tmp_path / "absent"]
    result = subprocess.run(
        [sys.executable, "-m", "scripts.check_outputs", *map(str, paths)], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "declared output was not produced" in result.stderr and "absent" in result.stderr


def test_clean_removes_outputs_never_assets(tmp_path):
    project = tmp_path / "p"
    shutil.copytree(
        ROOT, project, ignore=shutil.ignore_patterns(*GENERATED, "*.lock")
    )
    for rel in ("corpus/train.spacy", "metrics/scores.json", "training/model-best/meta.json"):
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        (project / rel).write_text("x")
    sample = sorted(p.name for p in (project / "assets/sample").iterdir())
    assert {p.relative_to(project).as_posix() for p in generated_outputs(project)} == {
        "corpus/train.spacy",
        "metrics/scores.json",
        "training/model-best",
    }
    dry = subprocess.run([sys.executable, "-m", "scripts.clean", "--dry"], cwd=project, capture_output=True, text=True)
    assert "would remove corpus/train.spacy" in dry.stdout and (project / "corpus/train.spacy").exists()
    subprocess.run([sys.executable, "-m", "scripts.clean"], cwd=project, check=True, capture_output=True)
    assert not (project / "corpus/train.spacy").exists() and not (project / "training/model-best").exists()
    assert sorted(p.name for p in (project / "assets/sample").iterdir()) == sample


def test_clean_removes_links_never_what_they_point_to(tmp_path):
    project = tmp_path / "p"
    shutil.copytree(
        ROOT, project, ignore=shutil.ignore_patterns(*GENERATED, "*.lock")
    )
    data = project / "data"
    (data / "model").mkdir(parents=True)
    (data / "train.spacy").write_text("the user's corpus")
    (data / "model" / "meta.json").write_text("the user's model")
    (project / "corpus").mkdir()
    (project / "training").mkdir()
    (project / "corpus/train.spacy").symlink_to("../data/train.spacy")
    (project / "training/model-best").symlink_to("../data/model", target_is_directory=True)
    planned = {p.relative_to(project).as_posix() for p in generated_outputs(project)}
    assert planned == {"corpus/train.spacy", "training/model-best"}
    subprocess.run([sys.executable, "-m", "scripts.clean"], cwd=project, check=True, capture_output=True)
    assert not (project / "corpus/train.spacy").is_symlink() and not (project / "training/model-best").is_symlink()
    assert (data / "train.spacy").read_text() == "the user's corpus"
    assert (data / "model" / "meta.json").read_text() == "the user's model"
