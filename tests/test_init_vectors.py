"""init-vectors: static vectors from a text file, a floret file or a pipeline; located errors; what reruns."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy
import pytest
import spacy
import srsly

from conftest import run_all
from pt_pipelines.files import checksum
from pt_pipelines.textio import CorpusError
from scripts.init_vectors import init_vectors

WORDS = "a casa o de que em Ana mora no Porto Lisboa Rui vive cidade rio mar sol lua dia noite".split()


def vec_file(path: Path, n: int = 50, dim: int = 8, header: bool = True, seed: int = 0) -> Path:
    """A word2vec text file of n words (the sample's words first) with random dim-wide vectors."""
    rng = numpy.random.default_rng(seed)
    words = (WORDS + [f"palavra{i}" for i in range(n)])[:n]
    lines = [f"{n} {dim}"] if header else []
    lines += [w + " " + " ".join(f"{x:.4f}" for x in rng.normal(size=dim)) for w in words]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf8")
    return path


def test_a_vec_file_becomes_a_vectors_pipeline_and_is_rebuilt_only_when_it_changes(tmp_path):
    src = vec_file(tmp_path / "tiny.vec")
    out = tmp_path / "vectors"
    first = init_vectors(source=str(src), output_dir=out)
    assert first["changed"] and first["summary"]["rows"] == 50 and first["summary"]["dim"] == 8
    nlp = spacy.load(out / "nlp")
    assert nlp.vocab.vectors.shape == (50, 8) and nlp.vocab["casa"].has_vector
    assert not init_vectors(source=str(src), output_dir=out)["changed"]
    vec_file(src, seed=1)
    assert init_vectors(source=str(src), output_dir=out)["changed"]
    assert init_vectors(source=str(src), output_dir=out, prune=10)["changed"]
    assert spacy.load(out / "nlp").vocab.vectors.shape[0] == 10


def test_glove_without_header_gzip_and_a_pipeline_folder(tmp_path):
    glove = vec_file(tmp_path / "glove.txt", n=20, header=False)
    with gzip.open(tmp_path / "glove.txt.gz", "wb") as f:
        f.write(glove.read_bytes())
    out = tmp_path / "vectors"
    assert init_vectors(source=str(tmp_path / "glove.txt.gz"), output_dir=out)["summary"]["rows"] == 20
    # a pipeline with a vectors table: its vectors are taken over
    assert init_vectors(source=str(out / "nlp"), output_dir=tmp_path / "v2")["summary"]["dim"] == 8
    assert init_vectors(source="", output_dir=tmp_path / "none")["vectors"] is None


def test_floret_file_is_detected_by_its_header(tmp_path):
    rows = [f"{i} " + " ".join(["0.1"] * 4) for i in range(10)]
    src = tmp_path / "tiny.floret"
    src.write_text("10 4 3 5 2 2166136261 < >\n" + "\n".join(rows) + "\n", encoding="utf8")
    manifest = init_vectors(source=str(src), output_dir=tmp_path / "vectors")
    assert manifest["summary"]["mode"] == "floret"
    assert spacy.load(tmp_path / "vectors" / "nlp").vocab["qualquer"].has_vector  # floret: every word has one


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("dims.vec", b"2 3\na 0.1 0.2 0.3\nb 0.1 0.2\n", "dims.vec:3: 2 numbers where the file has 3"),
        ("latin1.vec", "2 2\na 0.1 0.2\nçã 0.1 0.2\n".encode("latin-1"), "latin1.vec:3: not UTF-8"),
        ("nan.vec", b"1 2\na 0.1 x\n", "nan.vec:2: a value is not a number"),
        ("empty.vec", b"", "empty.vec \\(file\\): no vectors in it"),
    ],
)
def test_bad_vectors_files_are_located_and_leave_the_old_output(tmp_path, name, content, message):
    out = tmp_path / "vectors"
    init_vectors(source=str(vec_file(tmp_path / "good.vec")), output_dir=out)
    (tmp_path / name).write_bytes(content)
    with pytest.raises(CorpusError, match=message):
        init_vectors(source=str(tmp_path / name), output_dir=out)
    assert srsly.read_json(out / "vectors.json")["settings"]["source"].endswith("good.vec")


def test_a_missing_package_and_a_pipeline_without_vectors_are_clear_errors(tmp_path):
    with pytest.raises(CorpusError, match="no such file, folder or installed spaCy package.*pip install"):
        init_vectors(source="pt_core_news_nonexistent", output_dir=tmp_path / "v")
    spacy.blank("pt").to_disk(tmp_path / "blank")
    with pytest.raises(CorpusError, match="the pipeline has no vectors"):
        init_vectors(source=str(tmp_path / "blank"), output_dir=tmp_path / "v")
    (tmp_path / "folder").mkdir()
    with pytest.raises(CorpusError, match="not a spaCy pipeline"):
        init_vectors(source=str(tmp_path / "folder"), output_dir=tmp_path / "v")


@pytest.mark.slow
def test_vectors_reach_the_trained_and_packaged_pipeline_and_only_what_depends_on_them_reruns(sample_run, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(sample_run.path, project)
    src = vec_file(tmp_path / "outside" / "tiny.vec")
    fast = {"vars.max_steps": 20, "vars.vectors": str(src)}
    ran = run_all(project, fast)
    assert "convert" not in ran and {"init-vectors", "train", "evaluate"} <= set(ran)
    model = spacy.load(project / "training" / "model-best")
    assert model.vocab.vectors.shape == (50, 8)
    assert srsly.read_json(project / "training" / "train-summary.json")["vectors"]["source"] == str(src)
    run_id = srsly.read_json(project / "training" / "train-summary.json")["run_id"]
    record = srsly.read_json(project / "metrics" / "runs" / f"sample-full-{run_id}.json")
    assert record["vectors"] == {"source": "tiny.vec", "kind": "file", "md5": checksum(src), "prune": -1, "truncate": 0}
    assert record["config"].endswith(", vectors tiny.vec"), record["config"]
    assert run_all(project, fast) == []
    (without,) = (sample_run.path / "metrics" / "runs").glob("sample-full-*.json")
    without = srsly.read_json(without)
    assert "vectors" not in without and "vectors" not in without["config"], "a run without vectors names none"
    assert without["run_id"] != run_id, "with and without vectors are two runs, two records"
    other = vec_file(tmp_path / "outside" / "tiny2.vec", seed=3)  # a new table under a new name
    fast = {**fast, "vars.vectors": str(other)}
    ran = run_all(project, fast)
    assert "convert" not in ran and {"init-vectors", "train"} <= set(ran)
    run_all(project, {**fast, "vars.package_name": "vectest"}, workflow="package")
    wheels = list((project / "packages").rglob("*.whl"))
    assert wheels, "package built no wheel"
    import zipfile

    names = zipfile.ZipFile(wheels[0]).namelist()
    assert any(name.endswith("vocab/vectors") for name in names), "the packaged pipeline carries the vectors"


def test_a_floret_table_built_by_init_weights_names_its_raw_text(tmp_path):
    """A table from the recipe (init_weights vectors --output TABLE, then --vars.vectors TABLE/vectors): the
    init.json beside it says which raw text it learned from, and records name that text by md5 and word count."""
    init_vectors(source=str(vec_file(tmp_path / "tiny.vec")), output_dir=tmp_path / "table" / "vectors-build")
    shutil.move(str(tmp_path / "table" / "vectors-build" / "nlp"), str(tmp_path / "table" / "vectors"))
    raw = {"md5": "0123abcd", "words": 74005131, "texts": 3, "held_out": {"files": ["/x/dev.spacy"], "removed": 2}}
    srsly.write_json(tmp_path / "table" / "init.json", {"init": "vectors", "raw_text": raw})
    built = init_vectors(source=str(tmp_path / "table" / "vectors"), output_dir=tmp_path / "out")
    assert built["raw_text"] == raw
    (tmp_path / "link").symlink_to(tmp_path / "table" / "vectors", target_is_directory=True)
    assert init_vectors(source=str(tmp_path / "link"), output_dir=tmp_path / "out3")["raw_text"] == raw
    srsly.write_json(tmp_path / "table" / "init.json", {"init": "vectors"})  # no raw text named: nothing claimed
    assert init_vectors(source=str(tmp_path / "table" / "vectors"), output_dir=tmp_path / "out2")["raw_text"] is None
