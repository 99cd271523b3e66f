"""benchmark_speed: bounded by a time budget, with progress, whatever the size of the test set."""

from __future__ import annotations

import time

import pytest
import spacy
from spacy.tokens import DocBin


def test_spacy_benchmark_is_sized_to_the_budget():
    from scripts.benchmark_speed import SPACY_MIN_BATCHES, spacy_bench_batch_size

    # 1000 words/s, 100 words a text: 120 s hold 1200 texts, 40 per batch
    size = spacy_bench_batch_size(words_per_s=1000, words_per_doc=100, budget_s=120, batch_size=256)
    assert size == 40 and size * SPACY_MIN_BATCHES * 100 / 1000 <= 120
    assert spacy_bench_batch_size(words_per_s=1e9, words_per_doc=10, budget_s=120, batch_size=256) == 256
    assert spacy_bench_batch_size(words_per_s=1, words_per_doc=500, budget_s=1, batch_size=256) == 1


def test_benchmark_prints_progress_and_keeps_to_its_budget(tmp_path, capsys):
    from scripts.benchmark_speed import benchmark

    nlp = spacy.blank("pt")
    nlp.add_pipe("sentencizer")
    nlp.to_disk(tmp_path / "model")
    texts = [f"A frase número {i} fala de Lisboa e do Porto, onde a Ana mora." for i in range(120)]
    DocBin(docs=[nlp.make_doc(t) for t in texts]).to_disk(tmp_path / "test.spacy")
    started = time.perf_counter()
    result = benchmark({"blank": tmp_path / "model"}, "blank", tmp_path / "test.spacy", repeats=3, budget_s=5)
    assert time.perf_counter() - started < 60
    out = capsys.readouterr().out
    assert "pass 1/3 blank" in out and "spacy benchmark speed blank: 30 batches" in out
    entry = result["pipelines"]["blank"]
    assert "words/s" in entry["spacy_benchmark_speed"].lower() and entry["spacy_benchmark_batch_size"] <= 256


def test_a_path_that_is_not_a_pipeline_is_one_line_naming_the_pipeline_inside(tmp_path):
    import subprocess
    import sys

    from conftest import ROOT

    nlp = spacy.blank("pt")
    (tmp_path / "models" / "run").mkdir(parents=True)
    nlp.to_disk(tmp_path / "models" / "run" / "model-best")
    DocBin(docs=[nlp("Olá mundo.")]).to_disk(tmp_path / "test.spacy")
    for path, hint in ((tmp_path / "models" / "run", "model-best"), (tmp_path / "missing", "train it first")):
        proc = subprocess.run(
            [sys.executable, "-m", "scripts.benchmark_speed", str(path), "--data", str(tmp_path / "test.spacy")],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert "not a spaCy pipeline folder" in proc.stderr and hint in proc.stderr, proc.stderr


def test_the_baseline_is_a_pipeline_or_the_name_of_one_listed(tmp_path):
    from scripts.benchmark_speed import pipeline_paths

    for name in ("a", "b"):
        spacy.blank("pt").to_disk(tmp_path / name)
    a, b = f"a={tmp_path / 'a'}", f"b={tmp_path / 'b'}"
    assert pipeline_paths([a, b], "b") == ({"a": tmp_path / "a", "b": tmp_path / "b"}, "b")
    assert pipeline_paths([a], b) == ({"a": tmp_path / "a", "b": tmp_path / "b"}, "b")
    assert pipeline_paths([str(tmp_path / "a")], None) == ({str(tmp_path / "a"): tmp_path / "a"}, None)
    with pytest.raises(ValueError, match=r"^c: not a spaCy pipeline folder \(no config.cfg\) nor a config file, nor the name of one of a, b"):
        pipeline_paths([a, b], "c")


def _tagger_config(tmp_path):
    """A complete tagger config whose [paths] name a tiny training set the test writes."""
    from spacy.cli.init_config import init_config
    from spacy.tokens import Doc

    vocab = spacy.blank("pt").vocab
    docs = [Doc(vocab, words=["A", "Ana", "mora", "em", "Lisboa", "."], tags=["DET", "PROPN", "VERB", "ADP", "PROPN", "PUNCT"]),
            Doc(vocab, words=["O", "Rui", "lê", "."], tags=["DET", "PROPN", "VERB", "PUNCT"])]
    DocBin(docs=docs).to_disk(tmp_path / "train.spacy")
    config = init_config(lang="pt", pipeline=["tagger"], optimize="efficiency")
    config["paths"].update(train=str(tmp_path / "train.spacy"), dev=str(tmp_path / "train.spacy"))
    config.to_disk(tmp_path / "config.cfg")
    return tmp_path / "config.cfg"


def test_a_config_is_measured_untrained_with_the_labels_of_its_training_data(tmp_path):
    from scripts.benchmark_speed import benchmark, pipeline_paths

    config = _tagger_config(tmp_path)
    nlp = spacy.blank("pt")
    nlp.add_pipe("sentencizer")
    nlp.to_disk(tmp_path / "blank")
    DocBin(docs=[nlp.make_doc("A Ana mora em Lisboa.") for _ in range(20)]).to_disk(tmp_path / "test.spacy")
    named, base = pipeline_paths([f"tagger={config}"], f"blank={tmp_path / 'blank'}")
    assert named == {"tagger": config, "blank": tmp_path / "blank"} and base == "blank"
    result = benchmark(named, base, tmp_path / "test.spacy", repeats=2, budget_s=3)
    tagger, blank = result["pipelines"]["tagger"], result["pipelines"]["blank"]
    assert tagger["untrained"] and not blank["untrained"]
    assert tagger["model"] == str(config) and tagger["components"] == ["tok2vec", "tagger"]
    assert tagger["words_per_s"] > 0 and "words/s" in tagger["spacy_benchmark_speed"].lower()
    assert blank["ratio_to_baseline"] == 1.0
    quick = benchmark(named, base, tmp_path / "test.spacy", repeats=2, budget_s=3, spacy_benchmark=False)
    assert quick["pipelines"]["tagger"]["spacy_benchmark_speed"].startswith("not run")
    assert "spacy_benchmark_batch_size" not in quick["pipelines"]["tagger"] and quick["pipelines"]["tagger"]["untrained"]


def test_untrained_pipeline_has_the_configs_labels_and_a_missing_corpus_is_one_line(tmp_path):
    import subprocess
    import sys

    from conftest import ROOT
    from scripts.benchmark_speed import untrained_pipeline

    config = _tagger_config(tmp_path)
    nlp = spacy.load(untrained_pipeline(config, tmp_path / "untrained"))
    assert set(nlp.get_pipe("tagger").labels) == {"DET", "PROPN", "VERB", "ADP", "PUNCT"}
    (tmp_path / "train.spacy").unlink()
    DocBin(docs=[nlp.make_doc("Olá mundo.")]).to_disk(tmp_path / "test.spacy")
    proc = subprocess.run([sys.executable, "-m", "scripts.benchmark_speed", str(config), "--data", str(tmp_path / "test.spacy"),
                           "--output", str(tmp_path / "speed.json")], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert f"{config}: cannot build the pipeline it describes" in proc.stderr, proc.stderr
    assert not (tmp_path / "speed.json").exists()
