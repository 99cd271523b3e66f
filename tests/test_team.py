"""Team workflows: clone from git, push/pull, package install, annotate (incl. resume), DVC export."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import srsly
from weasel.cli.clone import project_clone
from weasel.cli.pull import project_pull
from weasel.cli.push import project_push
from weasel.util import load_project_config

from conftest import GENERATED, ROOT, run_all, venv_on_this_environment
from scripts.export_dvc import dvc_stages

FAST = {"vars.max_steps": 40}
GIT = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "init.defaultBranch=main"]


def bare_repo(tmp_path: Path, subfolder: str = "") -> str:
    """A bare git repo holding the template at its root or under `subfolder`; returns its file:// URL."""
    work = tmp_path / "work"
    shutil.copytree(ROOT, work / subfolder, ignore=shutil.ignore_patterns(*GENERATED, "annotations", "dvc.yaml"))
    subprocess.run([*GIT, "init", "-q", "-b", "main", str(work)], check=True)
    subprocess.run([*GIT, "-C", str(work), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(work), "commit", "-q", "-m", "template"], check=True)
    subprocess.run([*GIT, "clone", "-q", "--bare", str(work), str(tmp_path / "repo.git")], check=True)
    return (tmp_path / "repo.git").as_uri()


@pytest.mark.slow
@pytest.mark.parametrize("subfolder", ["", "templates/pt_pipelines"], ids=["at-root", "under-a-folder"])
def test_clone_from_git_then_run_all(tmp_path, subfolder):
    url = bare_repo(tmp_path, subfolder)
    dest = tmp_path / "clone"
    project_clone(subfolder or ".", dest, repo=url, branch="main")
    assert (dest / "project.yml").exists() and (dest / "assets/sample/pt_sample-ud-train.conllu").exists()
    assert run_all(dest, FAST) == load_project_config(dest)["workflows"]["all"]
    assert (dest / "metrics/scores.json").exists()


@pytest.mark.slow
def test_push_then_pull_into_a_fresh_clone_runs_no_step(sample_run, tmp_path):
    remote = tmp_path / "remote"
    pushed = list(project_push(sample_run.path, str(remote)))
    pushed_paths = {path for path, _ in pushed}
    assert {"corpus/train.spacy", "training/model-best", "metrics/scores.json"} <= pushed_paths
    assert not pushed_paths & {"training/model-last", "metrics/history.json", "assets/sample"}, (
        "outputs_no_cache stay local"
    )
    fresh = tmp_path / "fresh"
    shutil.copytree(ROOT, fresh, ignore=shutil.ignore_patterns(*GENERATED, "annotations", "dvc.yaml"))
    list(project_pull(fresh, str(remote)))
    assert run_all(fresh) == []  # every output pulled, every dep the same: nothing to run
    assert (fresh / "metrics/scores.json").read_bytes() == (sample_run.path / "metrics/scores.json").read_bytes()


def test_remote_is_a_var_with_a_local_default():
    config = load_project_config(ROOT)
    assert config["remotes"]["default"] == config["vars"]["remote"] == "../pt-pipelines-remote"
    assert load_project_config(ROOT, overrides={"vars.remote": "s3://b/p"})["remotes"]["default"] == "s3://b/p"


@pytest.mark.slow
def test_package_installs_in_a_fresh_venv_and_annotates(sample_run, tmp_path):
    out = tmp_path / "packages"
    subprocess.run(
        [
            sys.executable,
            "-m", "scripts.package",
            str(sample_run.path / "training/model-best"),
            str(out),
            "--name",
            "team_test",
            "--version",
            "1.2.3",
            "--meta-template",
            str(ROOT / "configs/meta-template.json"),
            "--author",
            "Equipa Teste",
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = (out / "pt_team_test-1.2.3/dist").glob("*.whl")
    assert list((out / "pt_team_test-1.2.3/dist").glob("*.tar.gz"))
    # spaCy itself comes from this environment; the package is installed for real by pip, with no index
    python = venv_on_this_environment(tmp_path / "venv")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True)
    code = (
        "import json, spacy; nlp = spacy.load('pt_team_test'); doc = nlp('A Ana Silva mora em Lisboa desde 2010.');"
        "print(json.dumps({'meta': [nlp.meta['name'], nlp.meta['version'], nlp.meta['author']], 'pos': [t.pos_ for t in doc],"
        "'lemma': [t.lemma_ for t in doc], 'sents': len(list(doc.sents)), 'pipe': nlp.pipe_names}))"
    )
    result = json.loads(subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout)
    assert result["meta"] == ["team_test", "1.2.3", "Equipa Teste"]
    assert all(result["pos"]) and all(result["lemma"]) and result["sents"] >= 1
    assert result["pipe"] == ["tok2vec", "morphologizer", "trainable_lemmatizer", "parser", "ner"]


# ---- annotate ------------------------------------------------------------------------------------------------------


def annotate(model, *args, check=True):
    return subprocess.run(
        [sys.executable, "-m", "scripts.annotate", str(model), *map(str, args)],
        capture_output=True,
        text=True,
        check=check,
    )


@pytest.mark.slow
def test_annotate_jsonl_keeps_metadata_and_rejects_bad_records(sample_run, tmp_path):
    model = sample_run.path / "training/model-best"
    lines = [
        json.dumps({"id": "a", "text": "A Ana mora em Lisboa.", "source": "x"}),
        "{not json",
        "",
        json.dumps({"id": "b", "body": "sem texto"}),
        json.dumps({"id": "c", "text": "O Porto venceu."}),
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines) + "\n")
    result = annotate(model, src, tmp_path / "out.jsonl")
    assert "2 records written" in result.stdout and "2 rejected" in result.stdout
    assert f"{src}:2: invalid JSON" in result.stderr
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [(r["id"], r["spacy"]["line"]) for r in out] == [("a", 1), ("c", 5)] and out[0]["source"] == "x"
    tok = out[0]["spacy"]["tokens"][1]
    assert tok["text"] == "Ana" and tok["start"] == 2 and tok["pos"] and tok["lemma"] and tok["dep"]
    assert out[0]["spacy"]["sents"] == [[0, 21]]
    assert all(set(e) == {"start", "end", "label", "text"} for e in out[0]["spacy"]["ents"])
    rejects = [json.loads(line) for line in (tmp_path / "out.jsonl.rejects.jsonl").read_text().splitlines()]
    assert [r["reject"]["line"] for r in rejects] == [2, 4] and rejects[1]["record"] == lines[3]
    again = annotate(model, src, tmp_path / "out.jsonl")
    assert "0 records written" in again.stdout and "4 already done" in again.stdout
    src.write_text("\n".join(lines) + "\n" + json.dumps({"id": "d", "text": "Mais um."}) + "\n")
    changed = annotate(model, src, tmp_path / "out.jsonl")
    assert "starting over" in changed.stderr and "3 records written" in changed.stdout


@pytest.mark.slow
def test_annotate_text_and_spacy_formats_and_two_processes(sample_run, tmp_path):
    model = sample_run.path / "training/model-best"
    src = tmp_path / "in.txt"
    src.write_text("Primeira frase aqui.\n\nSegunda frase, em Coimbra.\n")
    annotate(model, src, tmp_path / "one.jsonl")
    annotate(model, src, tmp_path / "two.jsonl", "--n-process", "2", "--batch-size", "1")
    assert (tmp_path / "one.jsonl").read_text() == (tmp_path / "two.jsonl").read_text()
    annotate(model, src, tmp_path / "out.spacy")
    annotate(model, tmp_path / "out.spacy", tmp_path / "from_spacy.jsonl")
    texts = [json.loads(line)["text"] for line in (tmp_path / "from_spacy.jsonl").read_text().splitlines()]
    assert texts == ["Primeira frase aqui.", "Segunda frase, em Coimbra."]
    refused = annotate(model, src, src, check=False)
    assert refused.returncode == 2 and "would overwrite the input" in refused.stderr


@pytest.mark.slow
def test_annotate_resumes_after_being_killed_without_duplicates_or_gaps(sample_run, tmp_path):
    model = sample_run.path / "training/model-best"
    sentences = (ROOT / "assets/examples/pt_news.txt").read_text().splitlines()
    records = []
    for i in range(3000):
        records.append("{broken" if i % 97 == 13 else json.dumps({"n": i, "text": sentences[i % len(sentences)]}))
    src = tmp_path / "big.jsonl"
    src.write_text("\n".join(records) + "\n")
    annotate(model, src, tmp_path / "reference.jsonl", "--batch-size", "16")
    out = tmp_path / "out.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "scripts.annotate", str(model), str(src), str(out), "--batch-size", "16"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    while time.time() < deadline and (not out.exists() or out.stat().st_size < 200_000):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = out.read_text().count("\n")
    assert 0 < partial < 3000 - 31, "killed mid-run"
    resumed = annotate(model, src, out, "--batch-size", "16")
    assert "already done" in resumed.stdout
    assert out.read_text() == (tmp_path / "reference.jsonl").read_text()
    assert (tmp_path / "out.jsonl.rejects.jsonl").read_text() == (
        tmp_path / "reference.jsonl.rejects.jsonl"
    ).read_text()


def test_annotate_cuts_a_torn_last_line_and_refuses_foreign_output(tmp_path):
    from pt_pipelines.textio import CorpusError
    from scripts.annotate import last_written_line

    out = tmp_path / "o.jsonl"
    out.write_text(json.dumps({"spacy": {"line": 3}}) + "\n" + '{"spacy": {"li')
    assert last_written_line(out, "spacy") == 3 and out.read_text().count("\n") == 1
    out.write_text("hello\n")
    with pytest.raises(CorpusError, match="o.jsonl:1: .* was not written by annotate"):
        last_written_line(out, "spacy")


# ---- DVC -----------------------------------------------------------------------------------------------------------


def test_dvc_export_mirrors_the_all_workflow(tmp_path):
    stages = dvc_stages(ROOT)["stages"]
    config = load_project_config(ROOT)
    commands = {c["name"]: c for c in config["commands"]}
    assert list(stages) == config["workflows"]["all"]
    for name, stage in stages.items():
        assert stage["cmd"] == f"python -m weasel run {name} ."
        assert stage.get("deps", []) == list(dict.fromkeys(commands[name].get("deps", [])))
        cached = [o for o in stage.get("outs", []) if isinstance(o, str)]
        uncached = [next(iter(o)) for o in stage.get("outs", []) if isinstance(o, dict)]
        assert cached == commands[name].get("outputs", []) and uncached == commands[name].get("outputs_no_cache", [])
    out = tmp_path / "dvc.yaml"
    subprocess.run(
        [sys.executable, "-m", "scripts.export_dvc", "--project-dir", str(ROOT), "--output", str(out)],
        check=True,
    )
    assert srsly.yaml_loads(out.read_text())["stages"] == stages


@pytest.mark.skipif(
    shutil.which("dvc") is None, reason="dvc is optional: pip install dvc to check dvc.yaml with DVC itself"
)
def test_dvc_accepts_the_exported_pipeline(tmp_path):
    project = tmp_path / "p"
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(*GENERATED, "annotations", "dvc.yaml"))
    subprocess.run(["dvc", "init", "--no-scm", "-q"], cwd=project, check=True)
    subprocess.run([sys.executable, "-m", "scripts.export_dvc"], cwd=project, check=True)
    dag = subprocess.run(["dvc", "dag"], cwd=project, capture_output=True, text=True)
    assert dag.returncode == 0, dag.stderr
    assert "evaluate" in dag.stdout and "train" in dag.stdout
