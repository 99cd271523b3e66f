"""The corpus formats convert reads, detection of a file's format, and one entry point to read any."""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Callable, Optional

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from pt_pipelines.readers import conllu, iob, plaintext, span_json
from pt_pipelines.readers.tags import TAG
from pt_pipelines.textio import CorpusError, ReadOptions, read_lines

FORMATS = ("conllu", "iob", "json", "text")
BY_EXTENSION = {".conllu": "conllu", ".json": "json", ".jsonl": "json"}
CONLLU_ID = re.compile(r"^\d+(?:[-.]\d+)?$")


def sniff(path: Path | str) -> str:
    """Guess the format from the first lines of a file (for .conll, .txt, .tsv, .iob, ...)."""
    lines = [line for _, line in islice(read_lines(path), 200) if line.strip() and not line.startswith("#")]
    if not lines:
        raise CorpusError(path, 1, "the file is empty", "check the path, or export the data again")
    if lines[0].lstrip()[:1] in ("[", "{"):
        return "json"
    if all(len(cols := line.split("\t")) == 10 and CONLLU_ID.match(cols[0]) for line in lines):
        return "conllu"
    tagged = sum(1 for line in lines if len(cols := line.split()) >= 2 and TAG.match(cols[-1]))
    return "iob" if tagged >= 0.9 * len(lines) else "text"


def detect_format(path: Path | str, fmt: str = "auto") -> str:
    """The format to read `path` with: `fmt` itself, or for `auto` by extension, then by content."""
    if fmt != "auto":
        if fmt not in FORMATS:
            raise CorpusError(path, "format", f"unknown format {fmt!r}", f"use one of: auto, {', '.join(FORMATS)}")
        return fmt
    return BY_EXTENSION.get(Path(path).suffix.lower()) or sniff(path)


def read_docs(path: Path | str, fmt: str, nlp: Language, options: Optional[ReadOptions] = None) -> Iterator[Doc]:
    """Read a corpus file of format `fmt` (already detected) into Docs."""
    readers: dict[str, Callable[..., Iterator[Doc]]] = {
        "conllu": lambda: conllu.read_docs(path, nlp.vocab, options),
        "iob": lambda: iob.read_docs(path, nlp.vocab, options),
        "json": lambda: span_json.read_docs(path, nlp, options),
        "text": lambda: plaintext.read_docs(path, nlp, options),
    }
    return readers[fmt]()


def make_segmenter(spec: str, lang: str) -> Optional[Callable[[Doc], Doc]]:
    """A Doc -> Doc sentence splitter: "sentencizer" (rules), a trained pipeline's path (its senter or
    parser, copying only the boundaries), or "none"."""
    if spec == "none":
        return None
    if spec == "sentencizer":
        return spacy.blank(lang).add_pipe("sentencizer")
    trained = spacy.load(spec)
    names = [n for n in ("senter", "parser") if n in trained.pipe_names]
    if not names:
        raise CorpusError(
            spec,
            "sentencizer",
            "the pipeline has neither a senter nor a parser",
            "pass a pipeline that sets sentence boundaries, or --vars.sentencizer sentencizer",
        )
    keep = {names[0], *(n for n in ("tok2vec",) if n in trained.pipe_names)}

    def split(doc: Doc) -> Doc:
        with trained.select_pipes(enable=[n for n in trained.pipe_names if n in keep]):
            predicted = trained(
                Doc(trained.vocab, words=[t.text for t in doc], spaces=[bool(t.whitespace_) for t in doc])
            )
        for token, pred in zip(doc, predicted):
            token.is_sent_start = pred.is_sent_start
        return doc

    return split
