"""End to end: `all` on the sample through weasel's API, then what a rerun skips and reruns.

The tests of this module run in order on one copy of the project.
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
import spacy
import srsly
import weasel.cli.run as weasel_run
from spacy.tokens import DocBin

from conftest import ALL_STEPS, run_all
from pt_pipelines.files import checksum

pytestmark = pytest.mark.slow
ALWAYS: list[str] = []  # no step is no_skip: a rerun with nothing changed runs nothing
FAST = {"vars.max_steps": 40}  # reruns only need to show which steps run, not a good model


@pytest.fixture(scope="module")
def project(sample_run, tmp_path_factory) -> Path:
    """A copy of the trained sample project (outputs and lock file included) that these tests may change."""
    dest = tmp_path_factory.mktemp("e2e") / "project"
    shutil.copytree(sample_run.path, dest)
    return dest


def docs(path: Path):
    return list(DocBin().from_disk(path).get_docs(spacy.blank("pt").vocab))


def majority_baselines(train: list, test: list) -> dict[str, float]:
    """Scores of predicting the most frequent class from train for every test token."""
    train_toks = [t for d in train for t in d]
    test_toks = [t for d in test for t in d]
    n = len(test_toks)
    top = lambda values: Counter(values).most_common(1)[0][0]  # noqa: E731
    pos, morph = top(t.pos_ for t in train_toks), top(str(t.morph) for t in train_toks)
    offset, dep = top(t.head.i - t.i for t in train_toks), top(t.dep_ for t in train_toks)
    uas = sum(t.head.i - t.i == offset for t in test_toks) / n
    return {
        "pos_acc": sum(t.pos_ == pos for t in test_toks) / n,
        "morph_acc": sum(str(t.morph) == morph for t in test_toks) / n,
        "lemma_acc": sum(t.lemma_ == t.text.lower() for t in test_toks) / n,
        "dep_uas": uas,
        "dep_las": sum(t.head.i - t.i == offset and t.dep_ == dep for t in test_toks) / n,
        "ents_f": 0.0,  # the majority class is O: no entity found
    }


def test_all_on_the_sample_trains_and_scores_above_baseline(sample_run, project):
    assert sample_run.ran == ALL_STEPS
    for path in (
        "corpus/train.spacy",
        "corpus/dev.spacy",
        "corpus/test.spacy",
        "corpus/stats.json",
        "configs/config.cfg",
        "training/model-best/meta.json",
        "training/model-last/meta.json",
        "training/log.jsonl",
        "training/train-summary.json",
        "corpus/rejects.jsonl",
        "metrics/scores.json",
        "metrics/report.html",
        "metrics/report.md",
        "metrics/report/learning_curves.png",
        "metrics/history.json",
    ):
        assert (project / path).exists(), path
    run_id = srsly.read_json(project / "training/train-summary.json")["run_id"]
    assert (project / f"metrics/runs/sample-full-{run_id}.json").exists(), "auto is named by what trained"
    scores = srsly.read_json(project / "metrics/scores.json")
    baseline = majority_baselines(docs(project / "corpus/train.spacy"), docs(project / "corpus/test.spacy"))
    for key, floor in baseline.items():
        assert scores[key] > floor + 0.05, f"{key}: {scores[key]:.3f} vs majority baseline {floor:.3f}"
    for key in ("ents_p", "ents_r", "pos_acc", "morph_acc", "lemma_acc", "dep_uas", "dep_las"):
        assert 0 < scores[key] <= 1, key
    log = [srsly.json_loads(line) for line in (project / "training/log.jsonl").read_text().splitlines()]
    assert log and log[-1]["step"] > 0 and "ents_f" in log[-1]["scores"]


def test_lock_file_records_every_step_with_real_checksums(project):
    lock = srsly.read_yaml(project / "project.lock")
    assert list(lock) == ALL_STEPS
    for name, entry in lock.items():
        for item in entry["deps"] + entry["outs"]:
            assert item["md5"] == checksum(project / item["path"]), (name, item["path"])
    assert [o["path"] for o in lock["evaluate"]["outs"]] == ["metrics/scores.json", "metrics/runs"]
    assert "corpus/test.spacy" in [d["path"] for d in lock["evaluate"]["deps"]]


def test_second_run_executes_no_step(project):
    before = (project / "metrics/scores.json").read_bytes()
    assert run_all(project) == ALWAYS
    assert (project / "metrics/scores.json").read_bytes() == before


def test_changing_a_var_reruns_the_steps_that_use_it(project):
    # max_steps is in the config: fill-config rewrites it, init-weights finds its inputs unchanged
    assert run_all(project, FAST) == ["fill-config", "init-weights", "train", "evaluate", "report"]
    assert run_all(project, FAST) == ALWAYS


def test_changing_the_base_config_reruns_fill_config_train_evaluate_report(project):
    base = project / "configs/base_config.cfg"
    base.write_text(base.read_text().replace("hidden_width = 64", "hidden_width = 48"))
    assert run_all(project, FAST) == ["fill-config", "init-weights", "train", "evaluate", "report"]


def test_changing_the_sample_reruns_convert_and_everything_after(project):
    train = project / "assets/sample/pt_sample-ud-train.conllu"
    old_md5 = checksum(train)
    # change every sentence, so the short training run sees the change in its first batch
    train.write_text(train.read_text(encoding="utf8").replace("\tNOUN\t", "\tPROPN\t"), encoding="utf8")
    # an edit without updating the declared checksum is refused by the assets step
    with pytest.raises(SystemExit) as exit_info:
        run_all(project, FAST)
    assert exit_info.value.code != 0
    yml = project / "project.yml"
    yml.write_text(yml.read_text().replace(old_md5, checksum(train)))
    # the text is unchanged, so raw-text writes the same file and init-weights does not rerun; the config
    # names the data by path, so it is unchanged too
    ran = run_all(project, FAST)
    assert ran == ["assets", "convert", "fill-config", "raw-text", "train", "evaluate", "report"]
    assert run_all(project, FAST) == ALWAYS


def test_debug_data_runs_spacy_debug_data_and_fails_on_its_errors(project, capfd):
    # the sample is, rightly, too small for spaCy's "enough examples for a new pipeline" check
    with pytest.raises(SystemExit) as exit_info:
        weasel_run.project_run(project, "debug-data")
    assert exit_info.value.code == 1
    assert "Low number of examples to train a new pipeline" in capfd.readouterr().out
