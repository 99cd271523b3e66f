"""The corpus formats convert reads, detection of a file's format, and one entry point to read any."""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Callable, Optional

import spacy
from spacy.language import Language
from spacy.tokens import Doc
from tqdm import tqdm

from pt_pipelines.readers import ReadOptions, conllu, iob, plaintext, span_json
from pt_pipelines.readers.tags import BARE, TAG
from pt_pipelines.textio import CorpusError, Reject, read_lines

FORMATS = ("conllu", "iob", "json", "text")
# .iob and .bio name their format; .conll and .tsv may be CoNLL-X or tagged columns, so their content decides
BY_EXTENSION = {".conllu": "conllu", ".json": "json", ".jsonl": "json", ".iob": "iob", ".bio": "iob"}
CONLLU_ID = re.compile(r"^\d+(?:[-.]\d+)?$")


def sniff(path: Path | str) -> str:
    """Guess the format from the first lines of a file (for .conll, .txt, .tsv, .iob, ...)."""
    lines = [line for _, line in _head(path)]
    if not lines:
        raise CorpusError(path, 1, "the file is empty", "check the path, or export the data again")
    if lines[0].lstrip()[:1] in ("[", "{"):
        return "json"
    if all(len(cols := line.split("\t")) == 10 and CONLLU_ID.match(cols[0]) for line in lines):
        return "conllu"
    return "iob" if _tagged_share(lines) >= 0.9 else "text"


def _head(path: Path | str) -> list[tuple[int, str]]:
    """The numbered lines among the first 200 of a file that are neither blank nor comments: what detection reads."""
    return [(n, line) for n, line in islice(read_lines(path), 200) if line.strip() and not line.startswith("#")]


def _tagged_share(lines: list[str]) -> float:
    """The share of lines that look like `token ... TAG`, when the file has O tags and consistent columns. Bare
    labels (`Maria PESSOA`) count as tags, so IO files with bare labels are not mistaken for text; the O tags and the
    constant column count keep ordinary text (whose lines end in any word) out."""
    rows = [iob.split_columns(line) for line in lines]
    tagged = [cols for cols in rows if len(cols) >= 2 and (TAG.match(cols[-1]) or BARE.match(cols[-1]))]
    has_o = any(cols[-1] == "O" or "-" in cols[-1] for cols in tagged)
    consistent = Counter(len(cols) for cols in rows).most_common(1)[0][1] >= 0.9 * len(rows)
    return len(tagged) / len(rows) if has_o and consistent else 0.0


def looks_tagged(path: Path | str) -> Optional[int]:
    """The line of the first entity-tagged token when the file looks like a tagged column file, else None."""
    numbered = _head(path)
    if not numbered or _tagged_share([line for _, line in numbered]) < 0.9:
        return None
    return next((n for n, line in numbered if iob.split_columns(line)[-1] != "O"), None)


def detect_format(path: Path | str, fmt: str = "auto") -> str:
    """The format to read `path` with: `fmt` itself, or for `auto` by extension, then by content."""
    if fmt == "auto":
        return BY_EXTENSION.get(Path(path).suffix.lower()) or sniff(path)
    if fmt not in FORMATS:
        raise CorpusError(path, "format", f"unknown format {fmt!r}", f"use one of: auto, {', '.join(FORMATS)}")
    return fmt


@dataclass
class Read:
    """What reading one file found: its format, its Docs, the tag scheme `auto` detected (None when the scheme
    was given or the file has no entity tags) and the records skipped (only with skip_bad: else they raise)."""

    fmt: str
    docs: list[Doc]
    scheme: Optional[str] = None
    rejects: list[Reject] = field(default_factory=list)


def read(path: Path | str, fmt: str, nlp: Language, options: ReadOptions = ReadOptions(), skip_bad: bool = False,
        sentencizer: str = "sentencizer") -> Read:
    """Read one corpus file of format `fmt` (or `auto`); JSON and text are split into sentences by the options'
    segmenter, or when it has none by make_segmenter(sentencizer). A file that looks like tagged columns is never
    read as text: that would train the tags as words and find no entities."""
    found = detect_format(path, fmt)
    if found == "text" and (line := looks_tagged(path)) is not None:
        raise CorpusError(path, line, "the file looks tagged (a token and a tag per line) but was read as text",
            "pass --vars.format iob (or auto), or remove the tag column")
    if found in ("json", "text") and options.segmenter is None:
        options = replace(options, segmenter=make_segmenter(sentencizer, nlp.lang))
    rejects: list[Reject] = []
    if skip_bad:
        options = replace(options, on_error=lambda error, record: rejects.append(Reject(error, record)))
    module = {"conllu": conllu, "iob": iob, "json": span_json, "text": plaintext}[found]
    scheme = None

    def docs() -> Iterator[Doc]:  # the readers return the detected scheme as their generator's value
        nonlocal scheme
        scheme = yield from module.read_docs(path, nlp.vocab if found in ("conllu", "iob") else nlp, options)

    out = list(tqdm(docs(), desc=Path(path).name, unit=" docs", leave=False, disable=not sys.stderr.isatty()))
    if found == "iob" and out and not any(doc.ents for doc in out) and (line := looks_tagged(path)) is not None:
        raise CorpusError(path, line, "the file looks tagged but no entities were read", "check the tag column")
    return Read(found, out, scheme, rejects)


@lru_cache(maxsize=4)  # a trained pipeline is loaded once for all the files of a convert
def make_segmenter(spec: str, lang: str) -> Optional[Callable[[Doc], Doc]]:
    """A Doc -> Doc sentence splitter: "sentencizer" (rules), a trained pipeline's path (its senter or
    parser, copying only the boundaries), or "none"."""
    if spec == "none":
        return None
    if spec == "sentencizer":
        return spacy.blank(lang).add_pipe("sentencizer")
    try:
        trained = spacy.load(spec)
    except (OSError, ValueError, ImportError, KeyError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CorpusError(spec, "sentencizer", f"not a spaCy pipeline ({first[:200]})",
            "pass a trained pipeline's folder, sentencizer or none as --vars.sentencizer") from None
    names = [n for n in ("senter", "parser") if n in trained.pipe_names]
    if not names:
        raise CorpusError(spec, "sentencizer", "the pipeline has neither a senter nor a parser",
            "pass a pipeline that sets sentence boundaries, or --vars.sentencizer sentencizer")
    keep = [n for n in trained.pipe_names if n in (names[0], "tok2vec")]

    def split(doc: Doc) -> Doc:
        with trained.select_pipes(enable=keep):
            predicted = trained(
                Doc(trained.vocab, words=[t.text for t in doc], spaces=[bool(t.whitespace_) for t in doc]))
        for token, pred in zip(doc, predicted):
            token.is_sent_start = pred.is_sent_start
        return doc

    return split
