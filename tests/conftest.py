"""Shared test helpers: the project root and small CoNLL-U builders."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def conllu_line(
    i: int | str,
    form: str,
    lemma: str = "_",
    upos: str = "NOUN",
    feats: str = "_",
    head: int | str = 0,
    deprel: str = "root",
    misc: str = "_",
) -> str:
    """One CoNLL-U word line; columns not given get plausible defaults."""
    return "\t".join([str(i), form, lemma, upos, "_", feats, str(head), deprel, "_", misc])


# "Ana mora no Porto." with the contraction no = em + o as a multiword token
ANA_SENTENCE = "\n".join(
    [
        "# sent_id = 1",
        "# text = Ana mora no Porto.",
        conllu_line(1, "Ana", "Ana", "PROPN", "Gender=Fem|Number=Sing", 2, "nsubj", "NE=B-PER"),
        conllu_line(2, "mora", "morar", "VERB", "Mood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin", 0, "root"),
        "3-4\tno\t_\t_\t_\t_\t_\t_\t_\t_",
        conllu_line(3, "em", "em", "ADP", "_", 5, "case"),
        conllu_line(4, "o", "o", "DET", "Definite=Def|Gender=Masc|Number=Sing|PronType=Art", 5, "det"),
        conllu_line(5, "Porto", "Porto", "PROPN", "Gender=Masc|Number=Sing", 2, "obl", "NE=B-LOC|SpaceAfter=No"),
        conllu_line(6, ".", ".", "PUNCT", "_", 2, "punct"),
    ]
)


@pytest.fixture
def write(tmp_path: Path):
    """Write text to a file under tmp_path and return its path."""

    def _write(name: str, text: str, encoding: str = "utf8") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode(encoding))
        return path

    return _write


def sentences(n: int, start: int = 0) -> str:
    """n distinct two-word sentences ("Casa0 caiu." ...) as CoNLL-U text."""
    out = []
    for k in range(start, start + n):
        out.append(
            "\n".join(
                [
                    conllu_line(1, f"Casa{k}", f"casa{k}", "NOUN", "_", 2, "nsubj"),
                    conllu_line(2, "caiu", "cair", "VERB", "_", 0, "root"),
                ]
            )
        )
    return "\n\n".join(out) + "\n\n"
