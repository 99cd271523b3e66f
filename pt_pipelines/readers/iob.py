"""Read CoNLL/IOB column files: `token [POS CHUNK ...] TAG`, one token per line, split by tabs when the line has one,
else by spaces (the middle columns are not used). Blank lines end sentences, `-DOCSTART-` lines start documents. The
tag scheme is detected per file or set with ReadOptions.tag_scheme; labels are kept as they are."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from spacy.tokens import Doc
from spacy.vocab import Vocab

from pt_pipelines.readers import ReadOptions, decode_spans, decoded_documents, scheme_of
from pt_pipelines.readers.tags import TagError, parse_tag, spans_to_tags
from pt_pipelines.textio import CorpusError, blocks

DOCSTART = "-DOCSTART-"


@dataclass
class TaggedSentence:
    lines: list[int]
    words: list[str]
    tags: list[str]
    newdoc: bool
    raw: str


def split_columns(line: str) -> list[str]:
    return line.split("\t") if "\t" in line else line.split()


def read_sentences(path: Path | str, options: ReadOptions) -> Iterator[TaggedSentence]:
    """Yield the sentences of a column file; malformed ones go to options.on_error."""
    path = Path(path)
    n_columns, newdoc, found = 0, False, 0  # n_columns: the first token line's, once read
    for block in blocks(path):
        rows = [(lineno, split_columns(line)) for lineno, line in block]
        newdoc = newdoc or any(cols[0] == DOCSTART for _, cols in rows)
        rows = [(lineno, cols) for lineno, cols in rows if cols[0] != DOCSTART]
        if not rows:
            continue
        raw = "\n".join(line for _, line in block)
        try:
            for lineno, cols in rows:
                if len(cols) < 2:
                    raise CorpusError(path, lineno, f"expected a token and a tag, found {len(cols)} column",
                        "write 'token TAG' (more columns are allowed; the tag is the last)")
                if not cols[0].strip():
                    raise CorpusError(path, lineno, "empty token", "write the token in the first column (or remove the line)")
                n_columns = n_columns or len(cols)
                if len(cols) != n_columns:
                    raise CorpusError(path, lineno,
                        f"{len(cols)} columns where the file's first token line has {n_columns}",
                        "give every token line the same columns (a token with a space inside needs tabs)")
                try:
                    parse_tag(cols[-1], bare=True)
                except TagError as e:
                    raise CorpusError(path, lineno, e.problem, e.fix) from None
        except CorpusError as e:
            options.on_error(e, raw)
            continue
        found += 1
        yield TaggedSentence([n for n, _ in rows], [c[0] for _, c in rows], [c[-1] for _, c in rows], newdoc, raw)
        newdoc = False
    if found == 0:
        raise CorpusError(path, 1, "no tagged tokens found",
            "write one 'token TAG' per line, a blank line between sentences")


def read_docs(path: Path | str, vocab: Vocab,
        options: ReadOptions = ReadOptions()) -> Generator[Doc, None, Optional[str]]:
    """Yield one Doc per document (by -DOCSTART-, else every options.n_sents sentences); the generator's return
    value is the tag scheme detected when the options say `auto`, else None."""
    sentences = list(read_sentences(path, options))
    scheme, sentences = scheme_of(path, sentences, lambda s: s.tags, lambda s, t: s.lines[t], options)
    decode = lambda s: decode_spans(s.tags, scheme, options, Path(path), lambda i: s.lines[i])  # noqa: E731
    for kept in decoded_documents(sentences, options.n_sents, decode, options.on_error):
        yield Doc(vocab, words=[w for sent, _ in kept for w in sent.words],
            sent_starts=[k == 0 for sent, _ in kept for k in range(len(sent.words))],
            ents=[tag for sent, spans in kept for tag in spans_to_tags(spans, len(sent.words), "iob2")])
    return scheme if options.tag_scheme == "auto" else None
