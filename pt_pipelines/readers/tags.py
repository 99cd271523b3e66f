"""Token-level entity tags (IOB1, IOB2, BILUO/BIOES, IO) to spans and back.

Spans are (start, end, label) in token indices, end exclusive.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

SCHEMES = ("iob1", "iob2", "biluo", "io")
TAG = re.compile(r"^(?:O|([BIELSU])-(\S+))$")
Span = tuple[int, int, str]


class TagError(ValueError):
    """An invalid tag or sequence at token `index`; `fix` says what to do."""

    def __init__(self, index: int, problem: str, fix: str) -> None:
        self.index, self.problem, self.fix = index, problem, fix
        super().__init__(f"{problem}: {fix}")


def parse_tag(tag: str, index: int = 0) -> tuple[str, str]:
    """Split a tag into (prefix, label); O is ("O", "")."""
    m = TAG.match(tag)
    if not m:
        raise TagError(index, f"malformed entity tag {tag!r}", "use O or PREFIX-LABEL with PREFIX one of B I E L S U")
    return (m.group(1), m.group(2)) if m.group(1) else ("O", "")


def detect_scheme(tags: Iterable[str]) -> str:
    """Guess the scheme of a tag sequence (a whole file's tags, for a reliable guess)."""
    prev_prefix, prev_label = "O", ""
    prefixes: set[str] = set()
    i_opens = False
    for i, tag in enumerate(tags):
        prefix, label = parse_tag(tag, i)
        prefixes.add(prefix)
        if prefix == "I" and (prev_prefix == "O" or prev_label != label):
            i_opens = True
        prev_prefix, prev_label = prefix, label
    if prefixes & {"E", "L", "S", "U"}:
        return "biluo"
    if "B" not in prefixes:
        return "io"
    return "iob1" if i_opens else "iob2"


def tags_to_spans(tags: Sequence[str], scheme: str, repair: bool = False) -> list[Span]:
    """Decode tags under `scheme`; with `repair`, an IOB2 I- that opens an entity is read as IOB1 does."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown tag scheme {scheme!r}: use one of {', '.join(SCHEMES)}")
    spans: list[Span] = []
    start, label = -1, ""

    def close(end: int) -> None:
        nonlocal start, label
        if start >= 0:
            spans.append((start, end, label))
        start, label = -1, ""

    for i, tag in enumerate(tags):
        prefix, lab = parse_tag(tag, i)
        if scheme == "biluo":
            prefix = {"E": "L", "S": "U"}.get(prefix, prefix)
            if prefix in ("I", "L") and (start < 0 or lab != label):
                if not repair:
                    raise TagError(
                        i, f"{tag} does not continue an entity", "open entities with B- (or U-/S- for one token)"
                    )
                close(i)
                start, label = i, lab
            elif prefix in ("B", "U", "O") and start >= 0:
                if not repair:
                    raise TagError(i, f"entity {label} opened by B- is not closed before {tag}", "end it with L-/E-")
                close(i)
            if prefix in ("B", "U"):
                start, label = i, lab
            if prefix in ("L", "U"):
                close(i + 1)
            continue
        if prefix in ("E", "L", "S", "U"):
            raise TagError(i, f"{tag} is a BILUO tag in a {scheme.upper()} file", "pass --vars.tag_scheme biluo")
        if prefix == "O":
            close(i)
        elif prefix == "B":
            close(i)
            start, label = i, lab
        elif start >= 0 and lab == label:
            continue  # I- continuing the open entity
        elif scheme == "iob2" and not repair:
            before = tags[i - 1] if i else "the sentence start"
            raise TagError(
                i,
                f"{tag} follows {before} (IOB2 opens every entity with B-)",
                "fix the tag, or pass --vars.tag_scheme iob1 or --vars.repair_tags true to read it as a new entity",
            )
        else:  # iob1/io (or repaired iob2): an I- with a new label opens an entity
            close(i)
            start, label = i, lab
    if scheme == "biluo" and start >= 0 and not repair:
        raise TagError(
            len(tags) - 1, f"entity {label} opened by B- is not closed at the end of the sentence", "end it with L-/E-"
        )
    close(len(tags))
    return spans


def spans_to_tags(spans: Iterable[Span], length: int, scheme: str) -> list[str]:
    """Encode non-overlapping spans as tags under `scheme` (IO cannot separate adjacent same-label spans)."""
    tags = ["O"] * length
    ordered = sorted(spans)
    prev_end, prev_label = -1, ""
    for start, end, label in ordered:
        for i in range(start, end):
            tags[i] = f"I-{label}"
        if scheme == "iob2" or (scheme == "iob1" and prev_end == start and prev_label == label):
            tags[start] = f"B-{label}"
        elif scheme == "biluo":
            if end - start == 1:
                tags[start] = f"U-{label}"
            else:
                tags[start], tags[end - 1] = f"B-{label}", f"L-{label}"
        prev_end, prev_label = end, label
    return tags
