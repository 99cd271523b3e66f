"""Read unlabelled plain text, one document per line or per blank-line-separated block, for batch annotation and
pretraining: the Docs carry tokens and sentence boundaries (from options.segmenter) and no annotation, so nothing is
trained on them as if they were gold."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc

from pt_pipelines.readers import ReadOptions
from pt_pipelines.readers.span_json import segment
from pt_pipelines.textio import CorpusError, blocks, check_length, read_lines

UNITS = ("auto", "line", "block")


def iter_texts(path: Path | str, unit: str = "auto") -> Iterator[tuple[int, str]]:
    """Yield (first line number, text) per document."""
    if unit not in UNITS:
        raise ValueError(f"unknown text unit {unit!r}: use one of {', '.join(UNITS)}")
    if unit == "auto":  # blocks when blank lines separate blocks of which some span several lines
        sizes = [len(b) for b in blocks(path)]
        unit = "block" if len(sizes) > 1 and max(sizes) > 1 else "line"
    if unit == "line":
        yield from ((lineno, line.strip()) for lineno, line in read_lines(path) if line.strip())
    else:
        yield from ((block[0][0], " ".join(line.strip() for _, line in block)) for block in blocks(path))


def read_docs(path: Path | str, nlp: Language, options: ReadOptions = ReadOptions()) -> Iterator[Doc]:
    """Yield one unannotated Doc per document of a text file."""
    found = 0
    for lineno, text in iter_texts(path, options.text_unit):
        found += 1
        try:
            check_length(nlp, text, path, lineno)
        except CorpusError as e:
            options.on_error(e, text)
            continue
        yield segment(nlp.make_doc(text), options)
    if found == 0:
        raise CorpusError(path, 1, "the file has no text",
            "write one document per line (or per blank-line-separated block)")
