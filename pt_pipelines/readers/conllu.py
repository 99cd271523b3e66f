"""Read and validate CoNLL-U (every problem a located `CorpusError`), and turn its sentences into spaCy Docs.

Multiword tokens (Portuguese "do" = "de" + "o") are merged into one token by default, with the attributes
`spacy convert --converter conllu --merge-subtokens` gives them, so that training data is tokenized the way
spaCy's tokenizer will see text."""

from __future__ import annotations

import re
import sys
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from spacy.parts_of_speech import IDS as POS_IDS
from spacy.tokens import Doc
from spacy.vocab import Vocab

from pt_pipelines.readers import ReadOptions, decode_spans, decoded_documents, scheme_of
from pt_pipelines.readers.tags import spans_to_tags
from pt_pipelines.textio import CorpusError, OnError, blocks, raise_error

N_COLUMNS = 10
# ASCII digits only: str.isdigit() also accepts "²" and other digits that int() then rejects
NUMBER = re.compile(r"^[0-9]+$")
EMPTY_NODE = re.compile(r"^[0-9]+\.[0-9]+$")
FEATURE = re.compile(r"^[^=|\s]+=[^=|\s]+$")


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
    raw: str = ""  # the block as read, for reject files
    spaces: list[bool] = field(default_factory=list)  # space after each surface token


def parse_block(path: Path | str, block: list[tuple[int, str]]) -> Optional[Sentence]:
    """Parse and validate one blank-line-separated block; None for a comment-only block."""
    sent = Sentence(path=str(path), line=block[0][0], raw="\n".join(line for _, line in block))
    for lineno, line in block:
        if line.startswith("#"):
            key, _, value = map(str.strip, line[1:].partition("="))
            if key in ("text", "sent_id"):
                setattr(sent, key, value)
            elif key.startswith("newdoc"):
                if sent.words:
                    raise CorpusError(path, lineno, "'# newdoc' comment inside a sentence",
                        "put it before the sentence's first line")
                sent.newdoc = True
            continue
        _add_line(sent, Path(path), lineno, line)
    if not sent.words:
        if sent.multiword:
            raise CorpusError(path, sent.line, "sentence has a multiword token but no words",
                "add the word lines that the range covers")
        return None
    _check_sentence(sent)
    sent.spaces = _surface_spaces(sent)
    return sent


def read_conllu(path: Path | str, on_error: OnError = raise_error) -> Iterator[Sentence]:
    """Yield the validated sentences of a CoNLL-U file; bad ones go to `on_error`."""
    path, n_sents, newdoc_pending = Path(path), 0, False
    for block in blocks(path):
        try:
            sent = parse_block(path, block)
        except CorpusError as e:
            on_error(e, "\n".join(line for _, line in block))
            sent = None
        if sent is None:  # a skipped sentence still ends its document
            newdoc_pending = newdoc_pending or any(line[1:].strip().startswith("newdoc") for _, line in block)
            continue
        sent.newdoc, newdoc_pending = sent.newdoc or newdoc_pending, False
        n_sents += 1
        yield sent
    if n_sents == 0:
        raise CorpusError(path, 1, "no sentences found",
            "check that this is a CoNLL-U file (10 tab-separated columns per word)")


def _add_line(sent: Sentence, path: Path, lineno: int, line: str) -> None:
    """Validate one word or multiword-token line and add it to the sentence."""
    cols = line.split("\t")
    if len(cols) != N_COLUMNS:
        hint = " (the columns look space-separated)" if len(cols) == 1 and len(line.split()) >= N_COLUMNS else ""
        raise CorpusError(path, lineno, f"expected {N_COLUMNS} tab-separated columns, found {len(cols)}{hint}",
            "CoNLL-U needs ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC separated by tabs")
    id_, form, lemma, upos, xpos, feats, head, deprel, _deps, misc = cols
    if EMPTY_NODE.match(id_):
        return  # empty nodes belong to enhanced dependencies, which spaCy does not train
    if problem := _column_problem(sent, id_, form, upos, feats, head):
        raise CorpusError(path, lineno, *problem)
    if "-" in id_:
        start, end = map(int, id_.split("-"))
        sent.multiword.append(MultiwordToken(start, end, form, misc, lineno))
    else:
        head_id = None if head == "_" else int(head)
        sent.words.append(Word(int(id_), form, lemma, upos, xpos, feats, head_id, deprel, misc, lineno))


def _column_problem(sent: Sentence, id_: str, form: str, upos: str, feats: str, head: str) -> Optional[tuple[str, str]]:
    """(problem, fix) of the first column of a word line that is not valid CoNLL-U, or None."""
    expected = len(sent.words) + 1
    if not form:
        return "empty FORM", "write the word in the second column ('_' if it is unknown)"
    if "-" in id_:
        start, _, end = id_.partition("-")
        previous = sent.multiword[-1] if sent.multiword else None
        if not (NUMBER.match(start) and NUMBER.match(end)):
            return f"bad multiword token ID {id_!r}", "use a range such as 3-4"
        if int(start) != expected or int(end) <= int(start):
            return (f"multiword token {id_} out of order (next word is {expected})",
                    "a range must start at the next word's ID and cover at least two words")
        if previous is not None and int(start) <= previous.end:
            # the words would be spelled twice, and the Doc's text would no longer match '# text'
            return (f"multiword token {id_} overlaps {previous.start}-{previous.end}",
                    "a word belongs to at most one multiword token: fix the ranges")
        return None
    checks = [
        (upos != "_" and upos not in POS_IDS, f"UPOS {upos!r} is not a Universal Dependencies tag",
         "use one of ADJ ADP ADV AUX CCONJ DET INTJ NOUN NUM PART PRON PROPN PUNCT SCONJ SYM VERB X, or '_' "
         "(language-specific tags go in XPOS)"),
        (feats != "_" and not all(FEATURE.match(f) for f in feats.split("|")),
         f"FEATS {feats!r} is not Feature=Value pairs separated by '|'",
         "write features like Gender=Fem|Number=Sing, or '_' for none"),
        (not NUMBER.match(id_), f"word ID {id_!r} is not an integer", "number words 1, 2, 3, ... per sentence"),
        (NUMBER.match(id_) and int(id_) != expected, f"word ID {id_} out of order (expected {expected})",
         "number words 1, 2, 3, ... per sentence and separate sentences by a blank line"),
        (head != "_" and not NUMBER.match(head), f"HEAD {head!r} is not an integer",
         "HEAD is the ID of the head word, 0 for the root"),
    ]
    return next(((problem, fix) for failed, problem, fix in checks if failed), None)


def _check_sentence(sent: Sentence) -> None:
    """Check the sentence-level constraints: MWT ranges, heads, one root, no cycles."""
    n = len(sent.words)
    for mwt in sent.multiword:
        if mwt.end > n:
            raise CorpusError(sent.path, mwt.line,
                f"multiword token {mwt.start}-{mwt.end} ends after the last word ({n})",
                "fix the range or add the missing word lines")
    if all(w.head is None for w in sent.words):
        return
    missing = next((w for w in sent.words if w.head is None), None)
    if missing is not None:
        raise CorpusError(sent.path, missing.line, "HEAD is '_' while other words of the sentence have heads",
            "give every word of the sentence a head, or none")
    for w in sent.words:
        if w.head > n or w.head == w.id:  # type: ignore[operator]
            raise CorpusError(sent.path, w.line,
                f"HEAD {w.head} of word {w.id} is not another word of this {n}-word sentence",
                "point HEAD at a word ID of the same sentence, or 0 for the root")
    roots = [w for w in sent.words if w.head == 0]
    if len(roots) != 1:
        where = roots[1].line if roots else sent.line
        raise CorpusError(sent.path, where, f"sentence has {len(roots)} roots (words with HEAD 0)",
            "exactly one word per sentence must have HEAD 0")
    for w in sent.words:
        seen, cur = set(), w.id
        while cur != 0:
            if cur in seen:
                raise CorpusError(sent.path, w.line,
                    f"word {w.id} is in a cycle of heads ({' -> '.join(map(str, sorted(seen)))})",
                    "every chain of HEADs must reach the root")
            seen.add(cur)
            cur = sent.words[cur - 1].head  # type: ignore[assignment]


def _space_after(misc: str) -> bool:
    return "SpaceAfter=No" not in misc.split("|")


def _ne_tag(word: Word) -> str:
    return next((v for k, sep, v in (p.partition("=") for p in word.misc.split("|")) if sep and k in ("NE", "name")), "O")


def _word_tag(word: Word) -> str:
    tag = word.upos if word.xpos == "_" else word.xpos
    return "" if tag == "_" else tag


def _lemma(words: list[Word]) -> str:
    """The token's lemma; "" (missing) when a word's LEMMA is '_', which UD uses for "unspecified". A missing lemma
    is skipped by the lemmatizer's loss and by the scorer; the literal lemma "_" would be learnt and scored as if it
    were gold. Only the word '_' itself has the lemma '_'."""
    return "" if any(w.lemma == "_" and w.form != "_" for w in words) else " ".join(w.lemma for w in words)


def _merged_morph(words: list[Word]) -> str:
    values: dict[str, set[str]] = {}
    for feat in (f for w in words if w.feats != "_" for f in w.feats.split("|")):
        key, _, vals = feat.partition("=")
        values.setdefault(key, set()).update(vals.split(","))
    return "|".join(sorted(f"{k}={','.join(sorted(v))}" for k, v in values.items()))


def _span_root(words: list[Word], sent: Sentence) -> Word:
    """The word of a multiword token that spaCy's Span.root picks."""
    ids = {w.id for w in words}

    def depth(word: Word) -> int:  # arcs from the word up to the root: 0 for the root itself
        n, cur = 0, word.head
        while cur:
            n, cur = n + 1, sent.words[cur - 1].head or 0
        return n

    # the word whose head lies outside the token and is closest to the root; the first of equals
    return min((w for w in words if w.head is not None and w.head not in ids), key=depth, default=words[0])


def sentence_entities(sent: Sentence, scheme: str, options: ReadOptions = ReadOptions()) -> list[tuple[int, int, str]]:
    """Entities of a sentence as (first word index, end word index, label) from the MISC NE tags."""
    spans = decode_spans([_ne_tag(w) for w in sent.words], scheme, options, sent.path, lambda i: sent.words[i].line)
    inside = {i for m in sent.multiword for i in range(m.start, m.end)}  # word IDs followed by a word of their token
    for start, end, label in spans:
        if start in inside or end in inside:  # the word before the entity, or its last word
            raise CorpusError(sent.path, sent.words[start].line,
                f"entity {label} starts or ends inside a multiword token",
                "tag the whole contraction (all its words) or none of it")
    return spans


def _units(sent: Sentence, merge_multiword: bool) -> list[tuple[list[Word], Optional[MultiwordToken]]]:
    """The sentence's tokens: each a list of words, with the multiword token they make up when merged."""
    units: list[tuple[list[Word], Optional[MultiwordToken]]] = []
    mwts = {m.start: m for m in sent.multiword} if merge_multiword else {}
    i = 0
    while i < len(sent.words):
        mwt = mwts.get(i + 1)
        end = mwt.end if mwt else i + 1
        units.append((sent.words[i:end], mwt))
        i = end
    return units


def _surface_spaces(sent: Sentence) -> list[bool]:
    """Space after each surface token (multiword token or word), from '# text' when present, else MISC."""
    surface = [mwt or ws[0] for ws, mwt in _units(sent, True)]
    if sent.text is None:
        return [_space_after(token.misc) for token in surface]
    text, pos, spaces = sent.text, 0, []
    for token in surface:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if not text.startswith(token.form, pos):
            raise CorpusError(sent.path, token.line,
                f"FORM {token.form!r} does not match '# text' at character {pos} ({text[pos : pos + 20]!r})",
                "fix the FORM or the '# text' comment of this sentence")
        pos += len(token.form)
        spaces.append(pos < len(text) and text[pos].isspace())
    spaces[-1] = _space_after(surface[-1].misc)  # the text ends here, so only MISC can tell
    return spaces


def _add_sentence(layers: dict[str, list], sent: Sentence, merge_multiword: bool, has_heads: bool) -> dict[int, int]:
    """Append the sentence's tokens to each layer of the document; return the token index of each word ID."""
    units = _units(sent, merge_multiword)
    token_of = {w.id: idx for idx, (ws, _) in enumerate(units, start=len(layers["words"])) for w in ws}
    surface_spaces = iter(sent.spaces)
    layers["sent_starts"].extend([True] + [False] * (len(units) - 1))
    for ws, mwt in units:
        root = _span_root(ws, sent) if len(ws) > 1 else ws[0]
        # a word of a split multiword token but its last has no surface space of its own
        inside_split_mwt = any(m.start <= ws[-1].id < m.end for m in sent.multiword)
        word_tags = [_word_tag(w) for w in ws]
        layers["words"].append(mwt.form if len(ws) > 1 else ws[0].form)
        layers["spaces"].append(False if inside_split_mwt else next(surface_spaces))
        layers["tags"].append("_".join(word_tags) if any(word_tags) else "")
        layers["pos"].append(root.upos if root.upos != "_" else "")
        layers["morphs"].append(_merged_morph(ws))
        layers["lemmas"].append(_lemma(ws))
        if has_heads:
            layers["heads"].append(token_of[root.head] if root.head else token_of[root.id])
            layers["deps"].append("ROOT" if root.head == 0 else root.deprel)
    return token_of


def sentences_to_doc(vocab: Vocab, sentences: list[Sentence], merge_multiword: bool = True,
        entities: Optional[list[list[tuple[int, int, str]]]] = None) -> Doc:
    """Build one Doc (one document) from validated sentences. `entities` holds each sentence's entities in word
    indices (checked by sentence_entities not to cut a multiword token); None leaves NER missing."""
    has_heads = all(w.head is not None for s in sentences for w in s.words)
    if not has_heads and any(w.head is not None for s in sentences for w in s.words):
        print(f"⚠ {sentences[0].path}:{sentences[0].line}: this document mixes sentences with and without heads; "
              "its dependencies are left out (spaCy needs heads for all sentences of a document or none)", file=sys.stderr)
    layers: dict[str, list] = {k: [] for k in "words spaces tags pos morphs lemmas heads deps sent_starts".split()}
    ents: list[tuple[int, int, str]] = []
    for k, sent in enumerate(sentences):
        token_of = _add_sentence(layers, sent, merge_multiword, has_heads)
        if k + 1 < len(sentences):
            layers["spaces"][-1] = True  # sentences of one document are separated by a space
        for start, end, label in entities[k] if entities is not None else []:
            ents.append((token_of[sent.words[start].id], token_of[sent.words[end - 1].id] + 1, label))
    for unused in ("sent_starts",) if has_heads else ("heads", "deps"):
        del layers[unused]
    return Doc(vocab, **layers, ents=None if entities is None else spans_to_tags(ents, len(layers["words"]), "iob2"))


def read_docs(path: Path | str, vocab: Vocab,
        options: ReadOptions = ReadOptions()) -> Generator[Doc, None, Optional[str]]:
    """Yield one Doc per document of a CoNLL-U file; bad sentences go to options.on_error. Returns (as the
    generator's value) the tag scheme detected when the options say `auto`, else None."""
    sentences = list(read_conllu(path, options.on_error))
    # NER is annotated when any word has an NE tag in MISC: then untagged words are O, else NER is missing
    ner = any(_ne_tag(w) != "O" or "NE=O" in w.misc.split("|") for s in sentences for w in s.words)
    scheme, sentences = scheme_of(path, sentences, lambda s: [_ne_tag(w) for w in s.words],
        lambda s, t: s.words[t].line, options) if ner else (None, sentences)
    decode = (lambda s: sentence_entities(s, scheme, options)) if ner else (lambda s: None)
    for kept in decoded_documents(sentences, options.n_sents, decode, options.on_error):
        entities = [e for _, e in kept] if ner else None
        yield sentences_to_doc(vocab, [s for s, _ in kept], options.merge_multiword, entities)
    return scheme if options.tag_scheme == "auto" else None
