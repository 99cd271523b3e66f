"""Token-level entity tags (IOB1, IOB2, BILUO/BIOES, IO) to spans and back; spans are (start, end, label) in token
indices, end exclusive."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

SCHEMES = ("iob1", "iob2", "biluo", "io")
TAG = re.compile(r"^(?:O|([BIELSU])-(\S+))$")
# IO files often carry bare labels (`Maria PESSOA`); no hyphen, so that a typo such as X-PER stays malformed
BARE = re.compile(r"^(?!O$)[^\W\d_][\w.:]*$")
Span = tuple[int, int, str]
# (sentence index, token index, problem, fix) of a tag that contradicts the rest of its file
Stray = tuple[int, int, str, str]


class TagError(ValueError):
    """An invalid tag or sequence at token `index`; `fix` says what to do."""

    def __init__(self, index: int, problem: str, fix: str) -> None:
        self.index, self.problem, self.fix = index, problem, fix
        super().__init__(f"{problem}: {fix}")


def parse_tag(tag: str, index: int = 0, bare: bool = False) -> tuple[str, str]:
    """Split a tag into (prefix, label); O is ("O", ""); with `bare`, a bare label is ("I", label) as in IO."""
    if TAG.match(tag):
        return _split(tag)
    if bare and BARE.match(tag):
        return "I", tag
    raise TagError(index, f"malformed entity tag {tag!r}", "use O or PREFIX-LABEL with PREFIX one of B I E L S U")


def _evidence(sentences: Sequence[Sequence[str]]) -> dict[str, list[tuple[int, int]]]:
    """(sentence, token) positions of what each scheme leaves behind, by kind of evidence."""
    kinds = ("bare", "prefixed", "biluo", "iob_ends", "i_opens", "b_opens")
    found: dict[str, list[tuple[int, int]]] = {k: [] for k in kinds}
    for s, tags in enumerate(sentences):
        parsed = [("bare", tag) if not TAG.match(tag) and BARE.match(tag) else _split(tag) for tag in tags]
        for t, (prev, (prefix, label), nxt) in enumerate(zip([("O", ""), *parsed], parsed, [*parsed[1:], ("O", "")])):
            continues = prev[0] in ("B", "I") and prev[1] == label
            kinds = {"bare": prefix == "bare", "prefixed": prefix not in ("O", "bare"),
                     "biluo": prefix in ("E", "L", "S", "U"),
                     "iob_ends": prefix in ("B", "I") and not (nxt[0] in ("I", "L", "E") and nxt[1] == label),
                     "i_opens": prefix == "I" and not continues, "b_opens": prefix == "B" and not continues}
            for kind in (k for k, yes in kinds.items() if yes):
                found[kind].append((s, t))
    return found


def _split(tag: str) -> tuple[str, str]:
    """(prefix, label) of a tag, O for what is not a tag at all (left to the decoder to report)."""
    m = TAG.match(tag)
    return (m.group(1) or "O", m.group(2) or "") if m else ("O", "")


def analyse_scheme(sentences: Sequence[Sequence[str]], repair: bool = False) -> tuple[str, list[Stray]]:
    """Guess the scheme of a whole file's tags (one list per sentence) and find the tags that contradict it. Each scheme
    leaves evidence that the others cannot: BILUO tags (E/L/S/U) against entities that end on B-/I-; an I- that opens an
    entity (IOB1, IO) against a B- that opens one after O (IOB2); bare labels against prefixed tags. The majority
    decides, so that one stray tag is reported at its line instead of silently switching how the whole file is read."""
    ev = _evidence(sentences)
    fix = "fix the tag, or pass --vars.tag_scheme to say how the file is tagged"

    def stray(kind: str, problem: str) -> list[Stray]:
        return [(s, t, problem.format(tag=sentences[s][t]), fix) for s, t in ev[kind]]

    if ev["bare"] and len(ev["bare"]) >= len(ev["prefixed"]):
        return "io", []  # prefixed tags read as IO too: I-X and B-X both mark X
    strays = stray("bare", "bare label {tag!r} among prefixed tags")
    if ev["biluo"] and len(ev["biluo"]) > len(ev["iob_ends"]):
        ends = [] if repair else stray("iob_ends", "{tag} ends an entity in a BILUO file (which ends them with L-/U-)")
        return "biluo", strays + ends
    strays += stray("biluo", "{tag} is a BILUO tag in a file of IOB tags")
    if not any(p == "B" for tags in sentences for p, _ in map(_split, tags)):
        return "io", strays
    # an I- that opens an entity in a mostly IOB2 file is left to the IOB2 decoder, which reports it at its line
    return ("iob1" if len(ev["i_opens"]) >= len(ev["b_opens"]) else "iob2"), strays


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
        prefix, lab = parse_tag(tag, i, bare=scheme == "io")
        if scheme != "biluo" and prefix in ("E", "L", "S", "U"):
            raise TagError(i, f"{tag} is a BILUO tag in a {scheme.upper()} file", "pass --vars.tag_scheme biluo")
        prefix = {"E": "L", "S": "U"}.get(prefix, prefix)
        continues = prefix in ("I", "L") and start >= 0 and lab == label
        opens_inside = prefix in ("I", "L") and not continues and not repair
        if opens_inside and scheme == "biluo":
            raise TagError(i, f"{tag} does not continue an entity", "open entities with B- (or U-/S- for one token)")
        if opens_inside and scheme == "iob2":
            before = tags[i - 1] if i else "the sentence start"
            raise TagError(i, f"{tag} follows {before} (IOB2 opens every entity with B-)",
                "fix the tag, or pass --vars.tag_scheme iob1 or --vars.repair_tags true to read it as a new entity")
        if scheme == "biluo" and prefix in ("B", "U", "O") and start >= 0 and not repair:
            raise TagError(i, f"entity {label} opened by B- is not closed before {tag}", "end it with L-/E-")
        if not continues:
            close(i)
            if prefix != "O":  # B-, U-, or an I- that opens an entity (IOB1, IO, or repaired)
                start, label = i, lab
        if prefix in ("L", "U"):
            close(i + 1)
    if scheme == "biluo" and start >= 0 and not repair:
        raise TagError(len(tags) - 1, f"entity {label} opened by B- is not closed at the end of the sentence",
            "end it with L-/E-")
    close(len(tags))
    return spans


def spans_to_tags(spans: Iterable[Span], length: int, scheme: str) -> list[str]:
    """Encode non-overlapping spans as tags under `scheme` (IO cannot separate adjacent same-label spans)."""
    tags = ["O"] * length
    prev_end, prev_label = -1, ""
    for start, end, label in sorted(spans):
        tags[start:end] = [f"I-{label}"] * (end - start)
        if scheme == "iob2" or (scheme == "iob1" and prev_end == start and prev_label == label):
            tags[start] = f"B-{label}"
        elif scheme == "biluo" and end - start == 1:
            tags[start] = f"U-{label}"
        elif scheme == "biluo":
            tags[start], tags[end - 1] = f"B-{label}", f"L-{label}"
        prev_end, prev_label = end, label
    return tags
