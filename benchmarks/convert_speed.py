"""Benchmark: this project's CoNLL-U converter vs spaCy's `spacy convert --converter conllu --merge-subtokens`.

Converts the same file with both (in-process, DocBin written to a temp dir, alternating runs), prints
median sentences/s and the ratio, and checks that both give identical token, tag, POS, morph, lemma,
dependency, sentence and entity annotations. One difference is by design and counted apart: a UD lemma `_`
("unspecified") is left missing by ours (docs/data.md), kept as the string "_" by spaCy. Writes
metrics/benchmark-convert.json.

    python benchmarks/convert_speed.py assets/bosque/pt_bosque-ud-train.conllu
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import spacy
import typer
from spacy.tokens import DocBin
from spacy.training.converters.conllu_to_docs import conllu_to_docs

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project root: scripts and pt_pipelines
from pt_pipelines.files import write_json  # noqa: E402
from pt_pipelines.readers import conllu  # noqa: E402


def ours(path: Path, out: Path) -> list:
    docs = list(conllu.read_docs(path, spacy.blank("pt").vocab))
    DocBin(docs=docs, store_user_data=False).to_disk(out)
    return docs


def theirs(path: Path, out: Path) -> list:
    # what `spacy convert FILE OUT --converter conllu --merge-subtokens` does, minus process start-up
    docs = list(conllu_to_docs(path.read_text(encoding="utf8"), n_sents=10, merge_subtokens=True, no_print=True))
    DocBin(docs=docs, store_user_data=False).to_disk(out)
    return docs


def token_rows(docs: list) -> list[tuple]:
    """Per token, everything both converters annotate; sentence-final whitespace is left out
    because the two group sentences into documents differently (# newdoc vs every 10)."""
    rows = []
    for doc in docs:
        for sent in doc.sents:
            for t in sent:
                space = t.whitespace_ if t.i + 1 < sent.end else None
                rows.append(
                    (
                        t.text,
                        space,
                        t.tag_,
                        t.pos_,
                        str(t.morph),
                        t.lemma_,
                        t.dep_,
                        t.head.i - sent.start,
                        t.i - sent.start,
                        t.ent_iob_ or "O",
                        t.ent_type_,
                    )
                )
    return rows


LEMMA = 5  # the lemma's place in a token row


def compare(ours: list[tuple], theirs: list[tuple]) -> tuple[int, int]:
    """(differing tokens, tokens that differ only by the missing-lemma policy) of two converters' rows."""
    diffs, policy = abs(len(ours) - len(theirs)), 0
    for a, b in zip(ours, theirs):
        if a == b:
            continue
        same_but_lemma = a[:LEMMA] + a[LEMMA + 1 :] == b[:LEMMA] + b[LEMMA + 1 :]
        if same_but_lemma and a[LEMMA] == "" and "_" in b[LEMMA].split(" "):
            policy += 1
        else:
            diffs += 1
    return diffs, policy


def main(
    path: Path = typer.Argument(..., exists=True, help="A CoNLL-U file, e.g. Bosque train"),
    repeats: int = typer.Option(5, min=1, help="Runs of each converter"),
    output: Path = typer.Option(Path("metrics/benchmark-convert.json"), help="Where the figures go"),
) -> None:
    """Print and record throughput of both converters and whether their annotations are identical."""
    n_sents = sum(1 for _ in conllu.read_conllu(path))
    times: dict[str, list[float]] = {"ours": [], "spacy": []}
    docs: dict[str, list] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeats):
            for name, fn in (("ours", ours), ("spacy", theirs)):
                start = time.perf_counter()
                docs[name] = fn(path, Path(tmp) / f"{name}.spacy")
                times[name].append(time.perf_counter() - start)
    a, b = token_rows(docs["ours"]), token_rows(docs["spacy"])
    diffs, policy = compare(a, b)
    result = {
        "file": str(path),
        "sentences": n_sents,
        "tokens": len(a),
        "repeats": repeats,
        "ours_sents_per_s": n_sents / statistics.median(times["ours"]),
        "spacy_sents_per_s": n_sents / statistics.median(times["spacy"]),
        "identical_annotations": diffs == 0,
        "differing_tokens": diffs,
        "missing_lemma_tokens": policy,
        "spacy_version": spacy.__version__,
    }
    result["ratio"] = result["ours_sents_per_s"] / result["spacy_sents_per_s"]
    write_json(output, result)
    print(f"{path.name}: {n_sents} sentences, {len(a)} tokens, median of {repeats} runs")
    print(f"  this project : {result['ours_sents_per_s']:8.0f} sentences/s")
    print(f"  spacy convert: {result['spacy_sents_per_s']:8.0f} sentences/s")
    print(
        f"  ratio        : {result['ratio']:.2f}x   identical annotations: {result['identical_annotations']} ({diffs} differing tokens)"
    )
    if policy:
        print(f"  {policy} tokens with the UD lemma `_` are missing in ours and the string '_' in spaCy's (by design)")
    if diffs:
        raise typer.Exit(1)


if __name__ == "__main__":
    typer.run(main)
