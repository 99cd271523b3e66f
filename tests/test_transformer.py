"""Transformer pipelines (configs/trf_*_base_config.cfg): the configs, train's --transformer, and end to end.

The end-to-end test builds a tiny random BERT (WordPiece vocabulary from the sample's words) in a temp folder,
runs `all` with it on CPU, packages the pipeline and loads the installed package offline. Nothing comes from
the network or ../shared. spacy-transformers is optional: without it these tests skip (except those that do
not need it); CI installs requirements-trf.txt and sets REQUIRE_TRF=1, so that a broken install fails instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import spacy
from spacy import util
from spacy.tokens import Doc, DocBin

from conftest import ALL_STEPS, GENERATED, ROOT, benchmark_module, run_all, venv_on_this_environment
from pt_pipelines.configs import ConfigError, Settings, fill

BERTIMBAU = "neuralmind/bert-base-portuguese-cased"
# its tiny_bert builds the random BERT of the end-to-end test, as it does for the GPU check
gpu_check = benchmark_module("gpu_check")
# each transformer config next to its CPU counterpart (ud_base_config.cfg etc.)
TRF_CONFIGS = {
    "trf_base_config.cfg": "base_config.cfg",
    "trf_ud_base_config.cfg": "ud_base_config.cfg",
    "trf_ner_base_config.cfg": "ner_base_config.cfg",
}


def need_trf() -> None:
    """Skip without spacy-transformers; under REQUIRE_TRF=1 (CI, which installs it) fail instead."""
    if os.environ.get("REQUIRE_TRF") == "1":
        import spacy_transformers  # noqa: F401

        return
    pytest.importorskip(
        "spacy_transformers", reason="spacy-transformers is not installed (pip install -r requirements-trf.txt)"
    )


# ---- the configs -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TRF_CONFIGS)
def test_trf_config_mirrors_its_cpu_counterpart(name):
    trf = util.load_config(ROOT / "configs" / name, interpolate=False)
    cpu = util.load_config(ROOT / "configs" / TRF_CONFIGS[name], interpolate=False)
    assert trf["nlp"]["pipeline"] == ["transformer"] + cpu["nlp"]["pipeline"][1:]
    assert cpu["nlp"]["pipeline"][0] == "tok2vec"
    assert trf["training"]["logger"] == cpu["training"]["logger"]  # train.py needs its output_file
    model = trf["components"]["transformer"]["model"]
    assert model["name"] == BERTIMBAU and model["mixed_precision"] is True and model["grad_scaler_config"]
    assert model["get_spans"] == {"@span_getters": "spacy-transformers.strided_spans.v1", "window": 128, "stride": 96}
    assert trf["training"]["batcher"]["@batchers"] == "spacy.batch_by_padded.v1"
    assert trf["training"]["batcher"]["size"] == 2000 and trf["training"]["batcher"]["buffer"] == 256
    assert trf["training"]["optimizer"]["learn_rate"]["initial_rate"] == 5e-5
    for component in trf["nlp"]["pipeline"][1:]:
        trf_block, cpu_block = dict(trf["components"][component]), dict(cpu["components"][component])
        trf_model, cpu_model = trf_block.pop("model"), cpu_block.pop("model")
        assert trf_block == cpu_block, component
        assert trf_model.pop("tok2vec")["@architectures"] == "spacy-transformers.TransformerListener.v1"
        cpu_model.pop("tok2vec")
        # the quickstart drops the parsers' upper layer on a transformer (use_upper = false)
        assert {k: v for k, v in trf_model.items() if k != "use_upper"} == {
            k: v for k, v in cpu_model.items() if k != "use_upper"
        }, component


@pytest.mark.parametrize("name", TRF_CONFIGS)
def test_trf_config_fills_with_pretraining_and_validates(name, tmp_path):
    need_trf()
    from spacy.cli.init_config import fill_config
    from spacy.schemas import ConfigSchemaTraining

    filled = tmp_path / "config.cfg"
    fill_config(filled, ROOT / "configs" / name, pretraining=True, silent=True)  # what fill-config runs
    config = util.load_config(filled, overrides={"paths.train": str(filled), "paths.dev": str(filled)})
    assert config["pretraining"]["component"] == "tok2vec"  # unused: init_tok2vec stays null
    nlp = util.load_model_from_config(config, auto_fill=False, validate=True)  # loads no weights: offline
    assert nlp.pipe_names[0] == "transformer"
    training = util.registry.resolve(config.interpolate()["training"], schema=ConfigSchemaTraining)
    assert training["logger"] and config["components"]["transformer"]["model"]["name"] == BERTIMBAU


def test_init_on_a_transformer_config_stops_in_fill_config(tmp_path, monkeypatch):
    need_trf()
    monkeypatch.chdir(ROOT)
    train = ner_docbin(tmp_path)
    for init in ("vectors", "pretrain"):
        with pytest.raises(ConfigError, match="init none"):
            fill(ROOT / "configs/trf_ner_base_config.cfg", Settings(train=train, max_steps=10, init=init))


# ---- the transformer var -----------------------------------------------------------------------------------------


def test_the_transformer_var_names_the_model_and_cpu_turns_mixed_precision_off(tmp_path, monkeypatch):
    """fill-config writes the transformer's name into a config that has one (and only there); mixed precision
    needs CUDA (thinc's grad scaler fails on CPU): off on CPU, as configured on a GPU."""
    need_trf()
    monkeypatch.chdir(ROOT)
    train = ner_docbin(tmp_path)
    trf = ROOT / "configs/trf_ner_base_config.cfg"
    for cpu in ("base_config.cfg", "ner_base_config.cfg"):
        assert "transformer" not in fill(ROOT / "configs" / cpu, Settings(train=train, transformer="x"))["components"]
    model = fill(trf, Settings(train=train, max_steps=20, transformer="models/tiny"))["components"]["transformer"]["model"]
    assert model["name"] == "models/tiny" and model["mixed_precision"] is False
    model = fill(trf, Settings(train=train, max_steps=20, gpu_id=0))["components"]["transformer"]["model"]
    assert model["name"] == BERTIMBAU and model["mixed_precision"] is True


def ner_docbin(tmp_path: Path) -> str:
    nlp = spacy.blank("pt")
    doc = Doc(nlp.vocab, words=["Ana", "mora", "em", "Lisboa"], ents=["O", "O", "O", "B-LOC"])
    DocBin(docs=[doc]).to_disk(tmp_path / "train.spacy")
    return str(tmp_path / "train.spacy")


def test_project_passes_the_transformer_var_to_both_trainings():
    from weasel.util import load_project_config

    config = load_project_config(ROOT)
    assert config["vars"]["transformer"] == BERTIMBAU
    commands = {c["name"]: c for c in config["commands"]}
    for name in ("fill-config", "train-baseline"):
        assert f'--transformer "{BERTIMBAU}"' in commands[name]["script"][0], name


# ---- end to end --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trf_run(tmp_path_factory):
    """A copy of the project after `all` with the full transformer config and a tiny local BERT."""
    need_trf()
    root = tmp_path_factory.mktemp("trf")
    tiny = gpu_check.tiny_bert(root / "tiny-bert")
    project = root / "project"
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(*GENERATED))
    overrides = {
        "vars.base_config": "configs/trf_base_config.cfg",
        "vars.pipeline": "full-trf",
        "vars.transformer": str(tiny),
        "vars.max_steps": 6,
    }
    return project, tiny, overrides, run_all(project, overrides)


@pytest.mark.slow
def test_all_trains_the_transformer_pipeline_from_a_local_model(trf_run):
    project, tiny, _, ran = trf_run
    assert ran == ALL_STEPS
    best = util.load_config(project / "training/model-best/config.cfg")
    assert best["nlp"]["pipeline"] == ["transformer", "morphologizer", "trainable_lemmatizer", "parser", "ner"]
    assert best["components"]["transformer"]["model"]["name"] == str(tiny)
    assert best["components"]["transformer"]["model"]["mixed_precision"] is False  # trained on CPU
    # the filled config says what trained: the var's model, mixed precision off on CPU
    model = util.load_config(project / "configs/config.cfg")["components"]["transformer"]["model"]
    assert model["name"] == str(tiny) and model["mixed_precision"] is False
    summary = json.loads((project / "training/train-summary.json").read_text(encoding="utf8"))
    # fill-config's eval_frequency divides max_steps: step 6, the last, is evaluated
    assert summary["transformer"] == str(tiny) and summary["max_steps"] == 6 and summary["last_eval_step"] == 6
    scores = json.loads((project / "metrics/scores.json").read_text(encoding="utf8"))
    for key in ("pos_acc", "morph_acc", "lemma_acc", "dep_las", "ents_f"):
        assert 0 <= scores[key] <= 1, key
    assert (project / f"metrics/runs/sample-full-trf-{summary['run_id']}.json").exists()
    assert (project / "metrics/report.md").exists()


@pytest.mark.slow
def test_packaged_transformer_pipeline_installs_and_loads_offline(trf_run, tmp_path):
    project, tiny, overrides, _ = trf_run
    assert run_all(project, {**overrides, "vars.package_name": "trf_test"}, workflow="package") == ["package"]
    (wheel,) = (project / "packages/pt_trf_test-0.1.0/dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(archive.read(n).decode() for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
    requires = [line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert any(r.startswith("spacy-transformers") for r in requires), requires
    # spaCy, spacy-transformers and torch come from this environment: pip installs the wheel only if every
    # requirement it declares is met there
    python = venv_on_this_environment(tmp_path / "venv")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-index", str(wheel)], check=True)
    code = (
        "import json, spacy; nlp = spacy.load('pt_trf_test'); doc = nlp('A Ana Silva mora em Lisboa desde 2010.');"
        "print(json.dumps({'pipe': nlp.pipe_names, 'pos': [t.pos_ for t in doc], 'lemma': [t.lemma_ for t in doc],"
        "'heads': [t.head.i for t in doc], 'trf': doc._.trf_data is not None}))"
    )
    # the package carries the transformer's weights and tokenizer: it loads with the source folder gone, offline
    moved = tiny.with_name("tiny-bert-away")
    tiny.rename(moved)
    try:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        result = subprocess.run([str(python), "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env)
    finally:
        moved.rename(tiny)
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["pipe"] == ["transformer", "morphologizer", "trainable_lemmatizer", "parser", "ner"]
    assert len(loaded["pos"]) == 9 and all(loaded["lemma"]) and loaded["trf"]


# ---- benchmarks/gpu_check.py -------------------------------------------------------------------------------------


def test_gpu_check_without_a_gpu_says_so_and_exits_0():
    status = gpu_check.gpu_status()
    if status["torch_cuda"] or status["cupy_devices"]:
        pytest.skip("a GPU is present: run benchmarks/gpu_check.py itself")
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/gpu_check.py")], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert "no GPU here" in result.stdout and "nothing to check" in result.stdout
