"""Readers that turn annotation files into spaCy Docs, one module per format; formats.py detects and dispatches.
Readers never write into their `ReadOptions`: what they find (the tag scheme `auto` detected, the rejected records)
comes back from `formats.read` as a `Read`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate, groupby
from typing import Any, Callable, Optional

from pt_pipelines.readers.tags import TagError, analyse_scheme, tags_to_spans
from pt_pipelines.textio import CorpusError, OnError, Where, raise_error

UNKNOWN_LABEL_FIX = "fix the label, or add it to --vars.labels"


@dataclass(frozen=True)
class ReadOptions:
    """How to read a corpus file; every reader takes the fields that apply to its format."""

    n_sents: int = 10  # sentences per document when the file marks no documents
    merge_multiword: bool = True  # CoNLL-U: "do" = "de" + "o" becomes one token
    tag_scheme: str = "auto"  # iob1, iob2, biluo, io, or auto (detected per file)
    repair_tags: bool = False  # read an IOB2 I- that opens an entity as IOB1 does
    alignment_mode: str = "strict"  # char spans to tokens: strict, split (cut tokens at span edges), contract, expand
    labels: Optional[frozenset[str]] = None  # accepted entity labels; None accepts any
    unknown_label_fix: str = UNKNOWN_LABEL_FIX  # what to do about a label outside `labels` (extra_train: map it)
    text_unit: str = "auto"  # plain text: line, block (blank-line separated) or auto
    segmenter: Optional[Callable[[Any], Any]] = None  # Doc -> Doc with sentence boundaries (sentencizer or senter)
    on_error: OnError = raise_error  # called with each bad record: raise to stop, return to skip it


def check_label(label: str, options: ReadOptions, path: Any, where: Where) -> None:
    """Raise a CorpusError when the options accept a set of labels that does not hold `label`."""
    if options.labels is not None and label not in options.labels:
        known = ", ".join(sorted(options.labels)) or "none"
        raise CorpusError(path, where, f"unknown label {label!r} (known: {known})", options.unknown_label_fix)


def scheme_of(path: Any, sentences: list, tags: Callable[[Any], list[str]], line: Callable[[Any, int], int],
        options: ReadOptions) -> tuple[str, list]:
    """The tag scheme to decode a file's sentences with, and the sentences kept. With `auto` one scheme is detected
    for the whole file, and a sentence with a tag that contradicts it goes to options.on_error (located at that tag's
    line); the next sentence kept starts its document for it."""
    if options.tag_scheme != "auto":
        return options.tag_scheme, sentences
    scheme, strays = analyse_scheme([tags(s) for s in sentences], options.repair_tags)
    bad: dict[int, CorpusError] = {}
    for s, t, problem, fix in strays:
        bad.setdefault(s, CorpusError(path, line(sentences[s], t), problem, fix))
    for k in sorted(bad):
        options.on_error(bad[k], sentences[k].raw)
        if k + 1 < len(sentences):  # its document start passes to the next sentence
            sentences[k + 1].newdoc |= sentences[k].newdoc
    return scheme, [sent for k, sent in enumerate(sentences) if k not in bad]


def decode_spans(tags: list[str], scheme: str, options: ReadOptions, path: Any,
        line: Callable[[int], int]) -> list[tuple[int, int, str]]:
    """One sentence's entities (start, end, label) in token indices, each label checked; a problem is located at
    the line of its tag."""
    try:
        spans = tags_to_spans(tags, scheme, options.repair_tags)
    except TagError as e:
        raise CorpusError(path, line(e.index), e.problem, e.fix) from None
    for start, _end, label in spans:
        check_label(label, options, path, line(start))
    return spans


def decoded_documents(sentences: list, n_sents: int, decode: Callable[[Any], Any],
        on_error: OnError) -> Iterator[list[tuple[Any, Any]]]:
    """Each document's sentences (by their newdoc marks when the file has them, else every n_sents) paired with what
    `decode` makes of them; a sentence that decode refuses with a CorpusError goes to on_error, and a document left
    empty is not yielded."""
    by_newdoc = any(sent.newdoc for sent in sentences)
    doc_ids = accumulate(int(sent.newdoc if by_newdoc else k % n_sents == 0) for k, sent in enumerate(sentences))
    for _, group in groupby(zip(doc_ids, sentences), key=lambda numbered: numbered[0]):
        kept = []
        for _, sent in group:
            try:
                kept.append((sent, decode(sent)))
            except CorpusError as e:
                on_error(e, sent.raw)
        if kept:
            yield kept
