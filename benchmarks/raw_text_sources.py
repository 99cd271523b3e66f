"""Rebuild the 61M words of extra raw Portuguese text (docs/corpora.md, *More raw text*) from public repositories.

Each source is one GitHub repository read at a pinned commit from a clone (its git directory; a bare clone is
enough), and becomes one UTF-8 text file, one paragraph per line, cleaned alike (`clean`: markup stripped,
entities unescaped, NFC, control characters removed, spaces collapsed; `is_portuguese`: a stopword filter;
exact repeats dropped). The md5 and word count of each result are in docs/corpora.md.

    git clone --bare https://github.com/transparenciahackday/datasets dar.git
    python benchmarks/raw_text_sources.py dar dar.git pt_parlamento_dar_1976_2009.txt
    split -n l/4 -d --additional-suffix=.txt pt_parlamento_dar_1976_2009.txt pt_parlamento_dar_1976_2009.part
    xz -k pt_parlamento_dar_1976_2009.part02.txt  # parts 02 and 03 are used; raw-text reads .txt.xz as it is
"""

from __future__ import annotations

import ast
import hashlib
import html
import re
import subprocess
import sys
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path

import typer

TAG = re.compile(r"<[^>]{0,400}>")
SPACE = re.compile(r"\s+")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\ufeff]")
LETTERS = re.compile(r"[a-záàâãéêíóôõúüç]+", re.I)
PT = set(
    "de que não o a e do da em para com os as um uma se por no na é ao dos das mais como mas foi pelo pela são "
    "também ou seu sua já está ser muito quando isso este esta nos nas à às sobre ter há entre até ainda pode sem "
    "porque depois essa esse ele ela eles elas quem onde foram tem têm sido lhe pelos pelas num numa deste desta "
    "nesta neste aos".split()
)
EN = set(
    "the and of to is in that it for with was on as are be this by at from have not which or an his her they you".split()
)
ES = set("el los las y del con una es lo por para pero su sus fue muy también está esto esta".split()) - PT


def clean(text: str) -> str:
    """Markup and entities removed, NFC, control and zero-width characters to spaces, spaces collapsed."""
    if "<" in text and ">" in text:
        text = TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    text = CONTROL.sub(" ", unicodedata.normalize("NFC", text))
    return SPACE.sub(" ", text).strip()


def is_portuguese(text: str) -> bool:
    """At least 3 words, a Portuguese stopword among them, no more English or Spanish stopwords than
    Portuguese ones, and (from 10 words on) at least 8% Portuguese stopwords."""
    words = [w.lower() for w in LETTERS.findall(text)]
    pt = sum(w in PT for w in words)
    if len(words) < 3 or not pt or sum(w in EN for w in words) > pt or sum(w in ES for w in words) > pt:
        return False
    return len(words) < 10 or pt / len(words) >= 0.08


class Writer:
    """One output file: each paragraph cleaned, kept if Portuguese and not a repeat."""

    def __init__(self, path: Path) -> None:
        self.file = path.open("w", encoding="utf-8")
        self.seen: set[bytes] = set()
        self.kept = self.not_pt = self.repeats = 0

    def add(self, text: str) -> None:
        text = clean(text)
        if not text:
            return
        if not is_portuguese(text):
            self.not_pt += 1
            return
        digest = hashlib.md5(text.encode("utf-8")).digest()[:12]
        if digest in self.seen:
            self.repeats += 1
            return
        self.seen.add(digest)
        self.kept += 1
        self.file.write(text + "\n")

    def close(self) -> None:
        self.file.close()
        print(f"kept={self.kept} dropped_nonpt={self.not_pt} dup={self.repeats}", file=sys.stderr)


# ---- TEI novels: the text of p/l/head/item/ab inside <text>, without notes, page breaks or running heads ----
EMIT = {"p", "l", "head", "item", "ab"}
SKIP = {"note", "teiHeader", "fw", "pb", "figure"}


def local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def tei_paragraphs(data: bytes) -> list[str]:
    """The paragraphs (p, l, head, item, ab) of a TEI document's <text> (the whole document if it has none)."""

    def text_of(el: ET.Element, top: bool = True) -> str:
        if not top and local(el.tag) in SKIP:
            return el.tail or ""
        inner = (el.text or "") + "".join(text_of(child, False) for child in el)
        return inner if top else inner + (el.tail or "")

    found: list[str] = []

    def walk(el: ET.Element) -> None:
        if local(el.tag) in SKIP:
            return
        if local(el.tag) in EMIT:
            found.append(text_of(el))
            return
        for child in el:
            walk(child)

    root = ET.fromstring(data)
    walk(next((el for el in root.iter() if local(el.tag) == "text"), root))
    return found


# ---- Câmara speech summaries: the `Sumario` cells of the search result pages, double-encoded UTF-8 repaired ----
SUMMARY = re.compile(r'class="Sumario">(.*?)</td>', re.S)


def decode(data: bytes, encodings: tuple[str, ...] = ("utf-8", "cp1252", "latin-1")) -> str:
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode(encodings[-1], "replace")


def camara_paragraphs(data: bytes) -> Iterator[str]:
    for match in SUMMARY.finditer(decode(data)):
        text = match.group(1)
        try:
            text = text.encode("latin-1").decode("utf-8")  # UTF-8 read as Latin-1 once: undo it
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
        if len(text.split()) >= 5:
            yield text


# ---- Python docs in pt-BR: the msgstr values of the .po files, reST markup reduced to text ----
ROLE = re.compile(r":[a-z:+-]+:`(?:[^`<]*<)?([^`>]*)>?`")
LINK = re.compile(r"`([^`<]+?)\s*<[^>]+>`_{1,2}")


def rst_text(text: str) -> str:
    text = ROLE.sub(lambda m: m.group(1).lstrip("~!."), LINK.sub(r"\1", text))
    text = text.replace("``", "").replace("**", "")
    text = re.sub(r"(?<!\w)\*([^*\s][^*]*?)\*(?!\w)", r"\1", text)
    text = re.sub(r"`([^`]+)`_?", r"\1", text)
    return re.sub(r"\|[\w-]+\|", " ", text)


def po_messages(text: str) -> list[str]:
    """The msgstr values of a .po file, in order (the header's empty msgid's included)."""
    messages: list[str] = []
    current: list[str] | None = None
    for line in text.split("\n") + [""]:
        if line.startswith("msgstr "):
            current = [line[7:]]
        elif line.startswith('"') and current is not None:
            current.append(line)
        else:
            if current is not None:
                messages.append("".join(unquote(part) for part in current))
            current = None
    return messages


def unquote(literal: str) -> str:
    try:
        return ast.literal_eval(literal)
    except (ValueError, SyntaxError):
        return ""


def pydocs_paragraphs(data: bytes) -> Iterator[str]:
    for message in po_messages(data.decode("utf-8", "replace"))[1:]:  # the first is the header
        for paragraph in message.split("\n\n"):
            paragraph = rst_text(paragraph.replace("\n", " "))
            if len(paragraph.split()) >= 4:
                yield paragraph


def dar_paragraphs(data: bytes) -> Iterator[str]:
    yield from decode(data, ("utf-8", "cp1252")).splitlines()


# name: (repository, commit, folder, file suffix, paragraphs of one file)
SOURCES: dict[str, tuple[str, str, str, str, Callable[[bytes], Iterator[str] | list[str]]]] = {
    "dar": ("transparenciahackday/datasets", "a6c6ce2fe2685b739616178a326ba0c4fa8853bc",
            "parlamento/transcricoes/txt", ".txt", dar_paragraphs),
    "camara": ("dfalbel/camara-discursos", "6e2cd390cbf3815908ad09fc1f547752cde6e400", "data-raw/listas",
               ".html", camara_paragraphs),
    "cligs": ("cligs/textbox", "1b91e940475c8a7e866457a3953fed5edb0a29f1", "portuguese/romances19/tei", ".xml",
              tei_paragraphs),
    "pydocs": ("python/python-docs-pt-br", "d60168178b78c20c963786dcbfda30678e630626", "", ".po",
               pydocs_paragraphs),
}  # fmt: skip


def blobs(git_dir: Path, commit: str, folder: str, suffix: str) -> Iterator[bytes]:
    """The files under folder (with the suffix) at commit, in path order, read with one `git cat-file --batch`."""
    git = ["git", f"--git-dir={git_dir}"]
    listing = subprocess.run([*git, "ls-tree", "-r", "--name-only", commit, *(["--", folder] if folder else [])],
                             check=True, capture_output=True, text=True).stdout.split("\n")  # fmt: skip
    with subprocess.Popen([*git, "cat-file", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE) as cat:
        assert cat.stdin and cat.stdout
        for path in sorted(p for p in listing if p.endswith(suffix)):
            cat.stdin.write(f"{commit}:{path}\n".encode())
            cat.stdin.flush()
            size = int(cat.stdout.readline().split()[2])
            yield cat.stdout.read(size)
            cat.stdout.read(1)
        cat.stdin.close()


def main(
    source: str = typer.Argument(..., help=f"one of {', '.join(SOURCES)}"),
    git_dir: Path = typer.Argument(..., exists=True, help="the git directory of a clone of the source's repository"),
    output: Path = typer.Argument(..., help="the text file to write"),
) -> None:
    """Write one source's cleaned text, one paragraph per line, and print its md5 and words."""
    if source not in SOURCES:
        raise typer.BadParameter(f"unknown source {source!r}: one of {', '.join(SOURCES)}")
    _, commit, folder, suffix, paragraphs = SOURCES[source]
    writer = Writer(output)
    for data in blobs(git_dir, commit, folder, suffix):
        for paragraph in paragraphs(data):
            writer.add(paragraph)
    writer.close()
    md5, words = hashlib.md5(), 0
    with output.open("rb") as f:
        for line in f:
            md5.update(line)
            words += len(line.split())
    print(f"{output}: md5 {md5.hexdigest()}, {words} words")


if __name__ == "__main__":
    typer.run(main)
