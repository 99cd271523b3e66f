"""Per-label, per-tag and per-relation scores, confusion matrices and error picks for the report. Predicted and gold
docs are compared through spaCy's `Example` alignment, as `spacy evaluate` does: entities match by character offsets
and label, tokens only where the alignment is one-to-one.
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from spacy.training import Example

# the scores a person reads first, in the order the report and a package's description show them
HEADLINE = {"token_acc": "Tokens", "pos_acc": "POS", "morph_acc": "Morphology", "lemma_acc": "Lemma", "dep_uas": "UAS"}
HEADLINE |= {"dep_las": "LAS", "sents_f": "Sentences F", "ents_p": "NER P", "ents_r": "NER R", "ents_f": "NER F"}
MISSED = "(missed)"  # a gold entity with no predicted entity over the same characters
SPURIOUS = "(spurious)"  # a predicted entity with no gold entity over the same characters


def _char_ents(doc) -> dict[tuple[int, int], str]:
    return {(e.start_char, e.end_char): e.label_ for e in doc.ents}


@dataclass
class LabelScore:
    label: str
    p: float
    r: float
    f: float
    support: int  # gold count
    tp: int
    fp: int
    fn: int


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def ner_per_label(examples: Iterable[Example]) -> list[LabelScore]:
    """Precision, recall, F1 and gold support per entity label, worst F1 first."""
    tp, fp, fn = Counter(), Counter(), Counter()
    for (gold, pred), n in ner_confusion(examples).items():
        if gold == pred:
            tp[gold] += n
        else:  # a wrong label is a miss of the gold label and a false alarm of the predicted one
            fn[gold] += n
            fp[pred] += n
    labels = (set(tp) | set(fp) | set(fn)) - {MISSED, SPURIOUS}
    scores = [LabelScore(lab, *prf(tp[lab], fp[lab], fn[lab]), tp[lab] + fn[lab], tp[lab], fp[lab], fn[lab])
              for lab in labels]
    return sorted(scores, key=lambda s: (s.f, -s.support, s.label))


def ner_confusion(examples: Iterable[Example]) -> Counter:
    """Counts of (gold label, predicted label), with MISSED and SPURIOUS for unmatched spans."""
    counts: Counter = Counter()
    for eg in examples:
        gold, pred = _char_ents(eg.reference), _char_ents(eg.predicted)
        for span, label in gold.items():
            counts[(label, pred.get(span, MISSED))] += 1
        for span, label in pred.items():
            if span not in gold:
                counts[(SPURIOUS, label)] += 1
    return counts


def _one_to_one(eg: Example) -> dict[int, int]:
    """Reference token index -> predicted token index, where the alignment is one-to-one."""
    y2x, x2y = eg.alignment.y2x, eg.alignment.x2y
    firsts = {i: int(y2x[i][0]) for i, n in enumerate(y2x.lengths) if n == 1}
    return {i: j for i, j in firsts.items() if x2y.lengths[j] == 1}


def pos_per_tag(examples: Iterable[Example]) -> tuple[dict[str, tuple[float, int]], Counter]:
    """Accuracy and support per gold UPOS, and the (gold, predicted) confusion counts."""
    confusion: Counter = Counter()
    for eg in examples:
        if not eg.reference.has_annotation("POS"):
            continue
        mapping = _one_to_one(eg)
        for token in eg.reference:
            confusion[(token.pos_, eg.predicted[mapping[token.i]].pos_ if token.i in mapping else MISSED)] += 1
    totals = Counter()
    for (gold, _), n in confusion.items():
        totals[gold] += n
    per_tag = {tag: (confusion[(tag, tag)] / totals[tag], totals[tag]) for tag in totals}
    return dict(sorted(per_tag.items(), key=lambda kv: (kv[1][0], -kv[1][1]))), confusion


def _arcs(eg: Example) -> list[bool]:
    """Per reference token: whether its predicted token has the gold head and label (a labelled attachment)."""
    mapping = _one_to_one(eg)
    back = {j: i for i, j in mapping.items()}
    preds = [eg.predicted[mapping[token.i]] if token.i in mapping else None for token in eg.reference]
    return [pred is not None and back.get(pred.head.i) == token.head.i and pred.dep_.lower() == token.dep_.lower()
            for token, pred in zip(eg.reference, preds)]


def las_per_deprel(examples: Iterable[Example]) -> dict[str, tuple[float, int]]:
    """Labelled attachment accuracy and support per gold dependency relation, worst first."""
    totals, correct = Counter(), Counter()
    for eg in examples:
        if not eg.reference.has_annotation("DEP"):
            continue
        for token, las_ok in zip(eg.reference, _arcs(eg)):
            totals[token.dep_] += 1
            correct[token.dep_] += las_ok
    per = {dep: (correct[dep] / totals[dep], totals[dep]) for dep in totals}
    return dict(sorted(per.items(), key=lambda kv: (kv[1][0], -kv[1][1])))


@dataclass
class SentenceError:
    example: int  # index of the example
    start: int  # reference token span of the sentence
    end: int
    errors: int
    las: float


def entity_errors(examples: list[Example], limit: int) -> list[SentenceError]:
    """Sentences whose predicted entities differ from the gold ones, most errors first (ties: corpus order)."""
    found = []
    for k, eg in enumerate(examples):
        differ = set(_char_ents(eg.reference).items()) ^ set(_char_ents(eg.predicted).items())
        for sent in eg.reference.sents:
            if n := sum(sent.start_char <= start < sent.end_char for (start, _), _ in differ):
                found.append(SentenceError(k, sent.start, sent.end, n, 0.0))
    return sorted(found, key=lambda e: (-e.errors, e.example, e.start))[:limit]


def worst_parses(examples: list[Example], limit: int, min_tokens: int = 4) -> list[SentenceError]:
    """Sentences with the lowest LAS (ties: longer first, then corpus order)."""
    found = []
    for k, eg in enumerate(examples):
        if not eg.reference.has_annotation("DEP"):
            continue
        arcs = _arcs(eg)
        for sent in eg.reference.sents:
            if len(sent) < min_tokens:
                continue
            ok = sum(arcs[sent.start : sent.end])
            found.append(SentenceError(k, sent.start, sent.end, len(sent) - ok, ok / len(sent)))
    return sorted(found, key=lambda e: (e.las, -(e.end - e.start), e.example, e.start))[:limit]


def confusion_matrix(counts: Counter) -> tuple[list[str], list[str], list[list[int]]]:
    """Rows (gold), columns (predicted) and the count matrix of a confusion Counter, MISSED and SPURIOUS last."""
    last = lambda name: (name in (MISSED, SPURIOUS), name)  # noqa: E731
    rows, cols = (sorted({pair[i] for pair in counts}, key=last) for i in (0, 1))
    return rows, cols, [[counts[(r, c)] for c in cols] for r in rows]
