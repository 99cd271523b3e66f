"""Held-out sentences: find and remove the evaluated dev and test sentences in other text. Two texts count as the
same sentence when their words agree after normalising case, spaces and punctuation (`normalise`). Raw collections
rarely split sentences where a treebank does, and re-detokenised text differs in spacing, so a raw sentence is also
removed when it contains a run of WINDOW consecutive words of a held-out sentence: stricter than exact matching, and
it catches a held-out sentence inside a longer line.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import spacy
from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab

from pt_pipelines.textio import CorpusError

WINDOW = 8  # words: long enough that a shared run is a copied sentence, not a common phrase
WORD = re.compile(r"[^\W_]+")
# a language tag glued to a token (`pt:Lisboa`), as some corpus exports write: not a word of the text
TOKEN_PREFIX = re.compile(r"^([a-z]{2,3}:)(?=\S)")
GLUED_PREFIX = re.compile(r"(?<!\S)[a-z]{2,3}:(?=[^\W\d_])")
SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def normalise(text: str) -> tuple[str, ...]:
    """The words of a text, lower-cased, without punctuation, spacing or a language tag glued to a word."""
    return tuple(WORD.findall(GLUED_PREFIX.sub("", text.lower())))


def split_sentences(text: str) -> list[str]:
    """A paragraph cut after sentence-final punctuation: cheap, and enough for matching by word runs."""
    return [part for part in SENTENCE_END.split(text) if part.strip()]


def doc_sentences(doc: Doc) -> Iterator[str]:
    """A doc's sentences: its own boundaries where it has them, else the punctuation split."""
    yield from (sent.text for sent in doc.sents) if doc.has_annotation("SENT_START") else split_sentences(doc.text)


def read_docbin(path: Path, vocab: Vocab, fix: str) -> list[Doc]:
    """The docs of a .spacy file; a file that is not a DocBin is a CorpusError saying `fix`."""
    try:
        return list(DocBin().from_disk(path).get_docs(vocab))
    except (ValueError, KeyError, TypeError, zlib.error) as e:
        raise CorpusError(path, "file", f"not a spaCy DocBin ({type(e).__name__})", fix) from None


def windows(words: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    yield from (words[i : i + WINDOW] for i in range(len(words) - WINDOW + 1))


class HeldOut:
    """The held-out sentences, kept as normalised sentences and word runs, and what was removed."""

    def __init__(self, sentences: Iterable[str] = ()) -> None:
        self.sentences: set[tuple[str, ...]] = {words for words in map(normalise, sentences) if words}
        self.runs: set[tuple[str, ...]] = {run for words in self.sentences for run in windows(words)}
        self.removed = 0

    @classmethod
    def from_docbins(cls, paths: Iterable[Path], lang: str = "pt") -> HeldOut:
        """The sentences of converted splits (.spacy files); a file that is not a DocBin is a located error."""
        vocab = spacy.blank(lang).vocab
        docs = (doc for path in paths for doc in read_docbin(path, vocab, "convert it first"))
        return cls(sentence for doc in docs for sentence in doc_sentences(doc))

    def contains(self, sentence: str) -> bool:
        words = normalise(sentence)
        return bool(words) and (words in self.sentences or any(run in self.runs for run in windows(words)))

    def remove(self, text: str) -> str:
        """The text without its held-out sentences (counted in self.removed); unchanged when none is there."""
        if not self.sentences:
            return text
        parts = split_sentences(text)
        kept = [part for part in parts if not self.contains(part)]
        if len(kept) == len(parts):
            return text
        self.removed += len(parts) - len(kept)
        return " ".join(part.strip() for part in kept).strip()

    def counts(self) -> dict[str, int]:
        return {"sentences": len(self.sentences), "removed": self.removed}
