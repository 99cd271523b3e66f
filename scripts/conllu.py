"""Read and validate CoNLL-U, and turn its sentences into spaCy Docs.

Every problem is raised as a `CorpusError` that names the file and line, says
what is wrong and what to do about it. Multiword tokens (Portuguese "do" =
"de" + "o") are merged into one token by default, with the same attributes
spaCy's `spacy convert --converter conllu --merge-subtokens` gives them, so
that training data is tokenized the way spaCy's tokenizer will see text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from spacy.tokens import Doc, Span
from spacy.vocab import Vocab

N_COLUMNS = 10
NE_TAG = re.compile(r"^(?:NE|name)=(?:([BIELSU])-(.+)|O)$")


class CorpusError(ValueError):
    """A problem in an input file, located by file and line (or record)."""

    def __init__(self, path: Path | str, where: int | str, problem: str, fix: str) -> None:
        self.path, self.where, self.problem, self.fix = str(path), where, problem, fix
        loc = f"{path}:{where}" if isinstance(where, int) else f"{path} ({where})"
        super().__init__(f"{loc}: {problem}: {fix}")


@dataclass
class Word:
    id: int
    form: str
    lemma: str
    upos: str
    xpos: str
    feats: str
    head: Optional[int]
    deprel: str
    misc: str
    line: int


@dataclass
class MultiwordToken:
    start: int
    end: int
    form: str
    misc: str
    line: int


@dataclass
class Sentence:
    path: str
    line: int
    words: list[Word] = field(default_factory=list)
    multiword: list[MultiwordToken] = field(default_factory=list)
    text: Optional[str] = None
    sent_id: Optional[str] = None
    newdoc: bool = False


def _open_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield (line number, line) with BOM and CRLF removed; bad encoding is a CorpusError."""
    lineno = 0
    try:
        with path.open(encoding="utf-8-sig", newline=None) as f:
            for lineno, line in enumerate(f, start=1):
                yield lineno, line.rstrip("\n")
    except UnicodeDecodeError as e:
        raise CorpusError(
            path,
            lineno + 1,
            f"not valid UTF-8 ({e.reason} at byte {e.start} of the file)",
            "save the file as UTF-8 (a BOM and CRLF line ends are fine)",
        ) from None


def read_conllu(path: Path | str) -> Iterator[Sentence]:
    """Yield the validated sentences of a CoNLL-U file."""
    path = Path(path)
    sent: Optional[Sentence] = None
    newdoc_pending = False
    n_sents = 0
    for lineno, line in _open_lines(path):
        if not line.strip():
            if sent is not None and sent.words:
                _check_sentence(sent)
                n_sents += 1
                yield sent
            elif sent is not None and sent.multiword:
                raise CorpusError(
                    path,
                    sent.line,
                    "sentence has a multiword token but no words",
                    "add the word lines that the range covers",
                )
            sent = None
            continue
        if sent is None:
            sent = Sentence(path=str(path), line=lineno, newdoc=newdoc_pending)
            newdoc_pending = False
        if line.startswith("#"):
            key, _, value = line[1:].partition("=")
            key = key.strip()
            if key == "text":
                sent.text = value.strip()
            elif key == "sent_id":
                sent.sent_id = value.strip()
            elif key.startswith("newdoc"):
                if sent.words:
                    raise CorpusError(
                        path, lineno, "'# newdoc' comment inside a sentence", "put it before the sentence's first line"
                    )
                sent.newdoc = True
            continue
        _add_line(sent, path, lineno, line)
    if sent is not None and sent.words:
        _check_sentence(sent)
        n_sents += 1
        yield sent
    if n_sents == 0:
        raise CorpusError(
            path, 1, "no sentences found", "check that this is a CoNLL-U file (10 tab-separated columns per word)"
        )


def _add_line(sent: Sentence, path: Path, lineno: int, line: str) -> None:
    cols = line.split("\t")
    if len(cols) != N_COLUMNS:
        hint = " (the columns look space-separated)" if len(cols) == 1 and len(line.split()) >= N_COLUMNS else ""
        raise CorpusError(
            path,
            lineno,
            f"expected {N_COLUMNS} tab-separated columns, found {len(cols)}{hint}",
            "CoNLL-U needs ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC separated by tabs",
        )
    id_, form, lemma, upos, xpos, feats, head, deprel, _deps, misc = cols
    if "." in id_:
        return  # empty nodes belong to enhanced dependencies, which spaCy does not train
    expected = len(sent.words) + 1
    if "-" in id_:
        start_s, _, end_s = id_.partition("-")
        if not (start_s.isdigit() and end_s.isdigit()):
            raise CorpusError(path, lineno, f"bad multiword token ID {id_!r}", "use a range such as 3-4")
        start, end = int(start_s), int(end_s)
        if start != expected or end <= start:
            raise CorpusError(
                path,
                lineno,
                f"multiword token {id_} out of order (next word is {expected})",
                "a range must start at the next word's ID and cover at least two words",
            )
        sent.multiword.append(MultiwordToken(start, end, form, misc, lineno))
        return
    if not id_.isdigit():
        raise CorpusError(path, lineno, f"word ID {id_!r} is not an integer", "number words 1, 2, 3, ... per sentence")
    if int(id_) != expected:
        raise CorpusError(
            path,
            lineno,
            f"word ID {id_} out of order (expected {expected})",
            "number words 1, 2, 3, ... per sentence and separate sentences by a blank line",
        )
    if head == "_":
        head_id = None
    elif head.isdigit():
        head_id = int(head)
    else:
        raise CorpusError(
            path, lineno, f"HEAD {head!r} is not an integer", "HEAD is the ID of the head word, 0 for the root"
        )
    sent.words.append(Word(int(id_), form, lemma, upos, xpos, feats, head_id, deprel, misc, lineno))


def _check_sentence(sent: Sentence) -> None:
    """Check the sentence-level constraints: MWT ranges, heads, one root, no cycles."""
    n = len(sent.words)
    for mwt in sent.multiword:
        if mwt.end > n:
            raise CorpusError(
                sent.path,
                mwt.line,
                f"multiword token {mwt.start}-{mwt.end} ends after the last word ({n})",
                "fix the range or add the missing word lines",
            )
    heads = [w.head for w in sent.words]
    if all(h is None for h in heads):
        return
    missing = next((w for w in sent.words if w.head is None), None)
    if missing is not None:
        raise CorpusError(
            sent.path,
            missing.line,
            "HEAD is '_' while other words of the sentence have heads",
            "give every word of the sentence a head, or none",
        )
    for w in sent.words:
        if w.head > n or w.head == w.id:  # type: ignore[operator]
            raise CorpusError(
                sent.path,
                w.line,
                f"HEAD {w.head} of word {w.id} is not another word of this {n}-word sentence",
                "point HEAD at a word ID of the same sentence, or 0 for the root",
            )
    roots = [w for w in sent.words if w.head == 0]
    if len(roots) != 1:
        where = roots[1].line if roots else sent.line
        raise CorpusError(
            sent.path,
            where,
            f"sentence has {len(roots)} roots (words with HEAD 0)",
            "exactly one word per sentence must have HEAD 0",
        )
    for w in sent.words:
        seen, cur = set(), w.id
        while cur != 0:
            if cur in seen:
                raise CorpusError(
                    sent.path,
                    w.line,
                    f"word {w.id} is in a cycle of heads ({' -> '.join(map(str, sorted(seen)))})",
                    "every chain of HEADs must reach the root",
                )
            seen.add(cur)
            cur = sent.words[cur - 1].head  # type: ignore[assignment]


def group_sentences(sentences: Iterable[Sentence], n_sents: int = 10) -> Iterator[list[Sentence]]:
    """Group sentences into documents: by '# newdoc' when the file has them, else every n_sents."""
    group: list[Sentence] = []
    by_newdoc: Optional[bool] = None
    for sent in sentences:
        if by_newdoc is None:
            by_newdoc = sent.newdoc
        boundary = sent.newdoc if by_newdoc else len(group) >= n_sents
        if boundary and group:
            yield group
            group = []
        group.append(sent)
    if group:
        yield group


def _space_after(misc: str) -> bool:
    return "SpaceAfter=No" not in misc.split("|")


def _ne_tag(word: Word) -> str:
    for part in word.misc.split("|"):
        m = NE_TAG.match(part)
        if m:
            return f"{m.group(1)}-{m.group(2)}" if m.group(1) else "O"
    return "O"


def _word_tag(word: Word) -> str:
    return word.upos if word.xpos == "_" else word.xpos


def _merged_morph(words: list[Word]) -> str:
    values: dict[str, set[str]] = {}
    for w in words:
        if w.feats == "_":
            continue
        for feat in w.feats.split("|"):
            key, _, vals = feat.partition("=")
            values.setdefault(key, set()).update(vals.split(","))
    return "|".join(sorted(f"{k}={','.join(sorted(v))}" for k, v in values.items()))


def _span_root(words: list[Word], sent: Sentence) -> Word:
    """The word of a multiword token that spaCy's Span.root picks."""
    ids = {w.id for w in words}
    for w in words:
        if w.head == 0:
            return w
    best, best_depth = words[0], None
    for w in words:
        if w.head is None or w.head in ids:
            continue
        depth, cur = 0, w.head
        while cur:
            depth += 1
            cur = sent.words[cur - 1].head or 0
        if best_depth is None or depth < best_depth:
            best, best_depth = w, depth
    return best


def has_ner(sentences: Iterable[Sentence]) -> bool:
    """Whether any word carries an NE tag in MISC (then untagged words are O, else NER is missing)."""
    return any(NE_TAG.match(part) for s in sentences for w in s.words for part in w.misc.split("|"))


def sentences_to_doc(vocab: Vocab, sentences: list[Sentence], merge_multiword: bool = True, ner: bool = True) -> Doc:
    """Build one Doc (one document) from validated sentences; `ner=False` leaves entities missing."""
    words, spaces, tags, pos, morphs, lemmas, heads, deps, ne_tags = ([] for _ in range(9))
    sent_starts: list[bool] = []
    has_heads = all(w.head is not None for s in sentences for w in s.words)
    for sent in sentences:
        offset = len(words)
        # map each CoNLL-U word id to its token index in the doc
        token_of: dict[int, int] = {}
        units: list[tuple[list[Word], Optional[MultiwordToken]]] = []
        mwts = {m.start: m for m in sent.multiword}
        i = 0
        while i < len(sent.words):
            mwt = mwts.get(i + 1)
            if mwt is not None and merge_multiword:
                units.append((sent.words[i : mwt.end], mwt))
                i = mwt.end
            elif mwt is not None:
                for j, w in enumerate(sent.words[i : mwt.end]):
                    last = i + j + 1 == mwt.end
                    units.append(([w], mwt if last else None))
                i = mwt.end
            else:
                units.append(([sent.words[i]], None))
                i += 1
        for idx, (ws, _mwt) in enumerate(units):
            for w in ws:
                token_of[w.id] = offset + idx
        sent_starts.extend([True] + [False] * (len(units) - 1))
        for ws, mwt in units:
            root = _span_root(ws, sent) if len(ws) > 1 else ws[0]
            words.append(mwt.form if len(ws) > 1 else ws[0].form)
            if mwt is not None:
                spaces.append(_space_after(mwt.misc))
            elif len(ws) == 1 and any(m.start <= ws[0].id < m.end for m in sent.multiword):
                spaces.append(False)  # inside an unmerged multiword token
            else:
                spaces.append(_space_after(ws[0].misc))
            tags.append("_".join(_word_tag(w) for w in ws))
            pos.append(root.upos if root.upos != "_" else "")
            morphs.append(_merged_morph(ws))
            lemmas.append(" ".join(w.lemma for w in ws))
            if has_heads:
                heads.append(token_of[root.head] if root.head else token_of[root.id])
                deps.append("ROOT" if root.head == 0 else root.deprel)
            ne_tags.append(_ne_tag(ws[0]) if len(ws) == 1 else _merged_ne(ws, sent))
        if sent is not sentences[-1]:
            spaces[-1] = True  # sentences of one document are separated by a space
    doc = Doc(
        vocab,
        words=words,
        spaces=spaces,
        tags=tags,
        pos=pos,
        morphs=morphs,
        lemmas=lemmas,
        heads=heads if has_heads else None,
        deps=deps if has_heads else None,
        sent_starts=None if has_heads else sent_starts,
    )
    if ner:
        doc.ents = _iob_to_spans(doc, ne_tags, sentences)
    return doc


def _merged_ne(words: list[Word], sent: Sentence) -> str:
    tags = [_ne_tag(w) for w in words]
    first = tags[0]
    if first == "O" and any(t != "O" for t in tags):
        w = next(w for w, t in zip(words, tags) if t != "O")
        raise CorpusError(
            sent.path,
            w.line,
            "an entity starts inside a multiword token",
            "tag the whole contraction (all its words) or none of it",
        )
    return first


def _iob_to_spans(doc: Doc, tags: list[str], sentences: list[Sentence]) -> list[Span]:
    spans: list[Span] = []
    start, label = None, None
    for i, tag in enumerate(tags + ["O"]):
        prefix, _, lab = tag.partition("-")
        if start is not None and (prefix in ("O", "B", "U", "S") or lab != label):
            spans.append(Span(doc, start, i, label=label))
            start, label = None, None
        if prefix in ("B", "U", "S"):
            start, label = i, lab
        elif prefix in ("I", "L", "E") and start is None:
            sent, word = _locate(sentences, doc, i)
            raise CorpusError(
                sent.path,
                word.line if word else sent.line,
                f"entity tag {tag} follows {tags[i - 1] if i else 'the start'} (no B- tag opens it)",
                "start every entity with B-; or re-tag the file as IOB2",
            )
        if prefix in ("L", "E", "U", "S") and start is not None:
            spans.append(Span(doc, start, i + 1, label=label))
            start, label = None, None
    return spans


def _locate(sentences: list[Sentence], doc: Doc, token_i: int) -> tuple[Sentence, Optional[Word]]:
    """Find the sentence (and word, approximately) a doc token came from, for error messages."""
    for sent_span, sent in zip(doc.sents, sentences):
        if sent_span.start <= token_i < sent_span.end:
            k = token_i - sent_span.start
            return sent, sent.words[k] if k < len(sent.words) else None
    return sentences[-1], None


def read_docs(path: Path | str, vocab: Vocab, n_sents: int = 10, merge_multiword: bool = True) -> Iterator[Doc]:
    """Yield one Doc per document of a CoNLL-U file."""
    sentences = list(read_conllu(path))
    ner = has_ner(sentences)
    for group in group_sentences(sentences, n_sents=n_sents):
        yield sentences_to_doc(vocab, group, merge_multiword=merge_multiword, ner=ner)
