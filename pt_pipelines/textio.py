"""Reading corpus files (only reading): every problem is a `CorpusError` naming the file and the line (or record),
what is wrong and what to do about it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import IO, Any, Callable, Union

from pt_pipelines.errors import StepError

Where = Union[int, str]


class CorpusError(StepError, ValueError):
    """A problem in an input file, located by file and line (int) or record (str)."""

    def __init__(self, path: Path | str, where: Where, problem: str, fix: str) -> None:
        self.path, self.where, self.problem, self.fix = str(path), where, problem, fix
        loc = f"{path}:{where}" if isinstance(where, int) else f"{path} ({where})"
        super().__init__(f"{loc}: {problem}: {fix}")


@dataclass
class Reject:
    """A record skipped because of an error, kept verbatim for the reject file."""

    error: CorpusError
    record: str


# Called with each bad record: raise to stop (the default), or keep it and return to skip it.
OnError = Callable[[CorpusError, str], None]


def raise_error(error: CorpusError, record: str) -> None:
    raise error


def read_lines(path: Path | str) -> Iterator[tuple[int, str]]:
    """Yield (line number, line) without line ends; a UTF-8 BOM and CRLF are accepted."""
    with Path(path).open("rb") as f:
        yield from decode_lines(f, path)


def decode_lines(stream: IO[bytes], name: Path | str) -> Iterator[tuple[int, str]]:
    """read_lines over an open binary stream (a file, or bytes from object storage), named `name` in errors. Each
    line is decoded on its own, so an encoding error names the line it is on."""
    for lineno, raw in enumerate(stream, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise CorpusError(name, lineno, f"not valid UTF-8 ({e.reason}, byte 0x{e.object[e.start]:02x})",
                "save the file as UTF-8 (a BOM and CRLF line ends are fine)") from None
        if lineno == 1:
            line = line.removeprefix("\ufeff")
        yield lineno, line.removesuffix("\n").removesuffix("\r")


def blocks(path: Path | str) -> Iterator[list[tuple[int, str]]]:
    """Yield groups of non-blank numbered lines separated by blank lines."""
    for nonblank, block in groupby(read_lines(path), key=lambda numbered: bool(numbered[1].strip())):
        if nonblank:
            yield list(block)


def context(text: str, start: int, end: int, width: int = 25) -> str:
    """The text around [start, end) with the span in brackets, for error messages."""
    left = ("…" if start > width else "") + text[max(0, start - width) : start]
    right = text[end : end + width] + ("…" if end + width < len(text) else "")
    return f"«{left}[{text[start:end]}]{right}»".replace("\n", "⏎")


MAX_WORD = 1000  # characters without whitespace: spaCy's tokenizer takes quadratic time over such a run


def check_length(nlp: Any, text: str, path: Path | str, where: Where) -> None:
    """Raise a CorpusError for a text that nlp.make_doc would refuse (longer than nlp.max_length) or take
    minutes over (a run of punctuation 100,000 characters long takes the tokenizer about 20 minutes)."""
    if len(text) > nlp.max_length:
        raise CorpusError(path, where, f"the text has {len(text)} characters, more than nlp.max_length ({nlp.max_length})",
            "split it into smaller documents (paragraphs, or blank-line-separated blocks)")
    if len(longest := max(text.split(), key=len, default="")) > MAX_WORD:
        raise CorpusError(path, where, f"a run of {len(longest)} characters without whitespace ({longest[:20]!r}...)",
            f"this is not running text: remove it, or break it with spaces (at most {MAX_WORD} characters a word)")
