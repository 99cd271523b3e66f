"""Convert a raw corpus into corpus/{train,dev,test}.spacy, corpus/stats.json and corpus/rejects.jsonl. `--train` is a
file, or a folder holding files whose names mark the split (`*train*`, `*dev*`, `*test*`: the UD naming). `--dev` and
`--test` default to the train input, meaning "take this split from there": the folder's file, or a seeded split by
document of the single train file. Formats (pt_pipelines.readers) are detected or given. Inputs are only read."""

from __future__ import annotations

import json
import os
import random
import re
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Optional

import spacy
import typer
from spacy.tokens import Doc, DocBin, Span
from wasabi import msg

from pt_pipelines.choices import Switch, choices
from pt_pipelines.errors import ConfigError, step_errors
from pt_pipelines.files import CONVERT_MARKER, checksum, fault_point, scratch_folder, write_json, write_text
from pt_pipelines.held_out import TOKEN_PREFIX, doc_sentences, normalise
from pt_pipelines.readers import ReadOptions
from pt_pipelines.readers.formats import FORMATS, read
from pt_pipelines.readers.tags import SCHEMES
from pt_pipelines.textio import CorpusError, Reject

SPLITS = ("train", "dev", "test")
SPLIT_ALIASES = {"train": ("train",), "dev": ("dev", "valid", "val", "validation"), "test": ("test",)}
CORPUS_SUFFIXES = {".conllu", ".conll", ".iob", ".bio", ".tsv", ".txt", ".json", ".jsonl"}
LAYERS = ("lemma", "pos", "morph", "dep", "ner")
LEAK_MIN_WORDS = 3
LEAK_WARN_SHARE = 0.01  # of the evaluated split's sentences: more is reported as leakage
PREFIX_WARN_SHARE = 0.3
LABEL_MAP_FIX = "map it with --vars.label_map (LABEL=TARGET, or LABEL= to drop it), or fix the label"


def corpus_files(folder: Path, bare: bool = False) -> list[Path]:
    """The files of `folder` with a corpus extension (with `bare`, also those with none), hidden ones skipped."""
    return [p for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")
            and (p.suffix.lower() in CORPUS_SUFFIXES or (bare and p.suffix == ""))]


def find_split_file(folder: Path, split: str) -> Optional[Path]:
    """The corpus file in `folder` whose name marks it as `split`, or None. A file without extension
    (`train`, `dev`, `test`) is read too; its format is then detected by content."""
    aliases = set(SPLIT_ALIASES[split])
    hits = [p for p in corpus_files(folder, bare=True) if set(re.split(r"[^a-z]+", p.stem.lower())) & aliases]
    if len(hits) > 1:
        raise CorpusError(folder, split, f"{len(hits)} {split} files: {some_names(hits)}",
            f"keep one {split} file in the folder (concatenate per-document files into one) or pass the file itself")
    return hits[0] if hits else None


def some_names(paths: list[Path], shown: int = 5) -> str:
    """The first few file names and how many there are: a folder of 967 files must not make a 30 KB message."""
    names = ", ".join(p.name for p in paths[:shown])
    return f"{names} and {len(paths) - shown} more ({len(paths)} files)" if len(paths) > shown else names


def resolve_sources(train: Path, dev: Path, test: Path) -> dict[str, Optional[Path]]:
    """Map each split to the file it is read from, or None when it is split off train."""
    sources: dict[str, Optional[Path]] = {}
    for split, given in (("train", train), ("dev", dev), ("test", test)):
        if not given.exists():
            raise CorpusError(given, split, "no such file or folder",
                f"pass an existing path with --vars.{split}_file (paths are relative to the project)")
        same_as_train = given == train and split != "train"
        sources[split] = find_split_file(given, split) if given.is_dir() else (None if same_as_train else given)
        if sources[split] is None and not same_as_train:  # a folder without a file for the split
            named = [p for p in sorted(given.iterdir()) if split in p.name.lower() and p.is_file()]
            other = f" ({some_names(named)}: an extension convert does not read)" if named else ""
            raise CorpusError(given, split, f"no {split} file in this folder{other}",
                f"name it like '{split}.conllu' or '{split}' (extensions: {', '.join(sorted(CORPUS_SUFFIXES))}, "
                "or none to detect the format by content), or pass the file itself")
    return sources


def extra_train_files(extra: Optional[Path], train: Path) -> list[Path]:
    """The files --extra-train adds to the training split: a file, or a folder's corpus files (hidden ones
    skipped). None, or the train input itself (the var's default), adds nothing."""
    if extra is None or extra.resolve() == train.resolve():
        return []
    if not extra.exists():
        raise CorpusError(extra, "extra_train", "no such file or folder", "pass an existing path with --vars.extra_train")
    if extra.is_file():
        return [extra]
    if not (files := corpus_files(extra)):
        raise CorpusError(extra, "extra_train", "no corpus files in this folder", f"add {', '.join(sorted(CORPUS_SUFFIXES))} files")
    return files


def split_documents(docs: list[Doc], dev_ratio: float, test_ratio: float, seed: int, need_dev: bool,
        need_test: bool) -> tuple[list[Doc], list[Doc], list[Doc]]:
    """Split whole documents (never sentences of one document) with a seeded shuffle."""
    order = list(range(len(docs)))
    random.Random(seed).shuffle(order)
    n_dev = max(1, round(len(docs) * dev_ratio)) if need_dev else 0
    n_test = max(1, round(len(docs) * test_ratio)) if need_test else 0
    if n_dev + n_test >= len(docs):
        raise ValueError(f"{len(docs)} documents are too few to split off {n_dev} dev and {n_test} test documents")
    pick = lambda idx: [docs[i] for i in sorted(idx)]  # noqa: E731
    return pick(order[n_dev + n_test :]), pick(order[:n_dev]), pick(order[n_dev : n_dev + n_test])


def split_stats(docs: list[Doc]) -> dict:
    """Counts for one split: documents, sentences, tokens, entities per label, and per layer the share of
    tokens whose annotation is missing (not trained or scored on them: a lemma '_', no heads, no NE tags).
    Morphology counts as missing only where a document has none at all, since no features is a value."""
    n_sents, n_tokens = 0, sum(len(doc) for doc in docs)
    labels, missing = Counter(), Counter()
    for doc in docs:
        n_sents += len(list(doc.sents)) if doc.has_annotation("SENT_START") or doc.has_annotation("DEP") else 1
        labels.update(ent.label_ for ent in doc.ents)
        if not doc.has_annotation("MORPH"):
            missing["morph"] += len(doc)
        for t in doc:
            missing.update(k for k, v in (("lemma", t.lemma), ("pos", t.pos), ("dep", t.dep), ("ner", t.ent_iob)) if not v)
    return {"documents": len(docs), "sentences": n_sents, "tokens": n_tokens, "entities": sum(labels.values()),
            "entities_per_label": dict(sorted(labels.items())),
            "missing": {layer: round(missing[layer] / n_tokens, 4) if n_tokens else 0.0 for layer in LAYERS}}


def duplicates_across_splits(splits: dict[str, list[Doc]]) -> dict[str, int]:
    """How many documents of one split also occur (same text, whitespace aside) in another."""
    texts = {s: {" ".join(d.text.split()) for d in docs if len(d)} for s, docs in splits.items()}
    return {f"{a}/{b}": len(texts[a] & texts[b]) for a, b in (("train", "dev"), ("train", "test"), ("dev", "test"))}


def sentence_leakage(splits: dict[str, list[Doc]]) -> dict[str, dict]:
    """Per pair, how many sentences of the evaluated split also occur in the other split (normalised as held_out does:
    case, spacing and punctuation aside). A leak hides inside documents that differ as a whole, so documents are not the
    unit. Sentences under LEAK_MIN_WORDS words ("Sim.") recur in any language and are not counted."""
    keys = {split: [k for doc in docs for sent in doc_sentences(doc) if len(k := normalise(sent)) >= LEAK_MIN_WORDS]
            for split, docs in splits.items()}
    out = {}
    for evaluated, other in (("dev", "train"), ("test", "train"), ("test", "dev")):
        seen, n = set(keys[other]), len(keys[evaluated])
        shared = sum(1 for k in keys[evaluated] if k in seen)
        out[f"{evaluated} in {other}"] = {"sentences": n, "shared": shared, "share": round(shared / n, 4) if n else 0.0}
    return out


def token_prefix(docs: list[Doc]) -> Optional[dict]:
    """The most common `xx:` token prefix and its share of tokens, when it is at least PREFIX_WARN_SHARE: exports
    that mark the language on every token (`pt:Lisboa`) train a model on words real text never has."""
    counts = Counter(m.group(1) for doc in docs for t in doc if (m := TOKEN_PREFIX.match(t.text)))
    prefix, k = counts.most_common(1)[0] if counts else ("", 0)
    share = k / max(1, sum(len(doc) for doc in docs))
    return {"prefix": prefix, "share": round(share, 4)} if share >= PREFIX_WARN_SHARE else None


def strip_token_prefix(doc: Doc, prefix: str) -> tuple[Doc, int]:
    """The doc with `prefix` cut from every token (and lemma) that starts with it, and how many tokens had it. Only the
    token texts change: the Doc is rebuilt token for token, so every annotation (entities included) stays on the same
    tokens. A token that is only the prefix is kept as it is."""
    cut = [t.text[len(prefix) :] if t.text.startswith(prefix) and len(t.text) > len(prefix) else t.text for t in doc]
    n = sum(a != t.text for a, t in zip(cut, doc))
    if not n:
        return doc, 0
    tree = ["HEAD", "DEP"] if doc.has_annotation("DEP") else ["SENT_START"]
    attrs = ["TAG", "POS", "MORPH", "LEMMA", *tree, "ENT_IOB", "ENT_TYPE"]
    out = Doc(doc.vocab, words=cut, spaces=[bool(t.whitespace_) for t in doc])
    out.from_array(attrs, doc.to_array(attrs))
    for token in out:
        if token.lemma_.startswith(prefix) and len(token.lemma_) > len(prefix):
            token.lemma_ = token.lemma_[len(prefix) :]
    return out, n


def parse_label_map(spec: str) -> dict[str, str]:
    """`PER=PESSOA,MISC=` as {"PER": "PESSOA", "MISC": ""} (an empty target drops the label)."""
    pairs = [item.partition("=") for item in spec.split(",") if item.strip()]
    bad = [f"{a}{eq}{b}" for a, eq, b in pairs if not eq or not a.strip()]
    if bad:
        raise ConfigError(f"--label-map {spec!r}: {', '.join(bad)} is not LABEL=TARGET (LABEL= drops the label)")
    return {a.strip(): b.strip() for a, _, b in pairs}


def relabel(docs: list[Doc], label_map: dict[str, str]) -> dict:
    """Rename the entities of `docs` by the map (in place); a dropped entity's tokens become missing, not O,
    since the other corpus may call them something this one has. Returns the counts for stats.json."""
    mapped: Counter = Counter()
    for doc in docs:
        kept = [Span(doc, e.start, e.end, label=label_map.get(e.label_, e.label_)) for e in doc.ents]
        dropped = [Span(doc, e.start, e.end) for e, k in zip(doc.ents, kept) if not k.label_]
        mapped.update(e.label_ for e in doc.ents if e.label_ in label_map)
        doc.set_ents([k for k in kept if k.label_], missing=dropped, default="unmodified")
    return {"mapped": {a: {"to": b, "entities": mapped[a]} for a, b in label_map.items() if b},
            "dropped": {a: mapped[a] for a, b in label_map.items() if not b}}


def convert(train: Path, dev: Path, test: Path, output_dir: Path, fmt: str = "auto", lang: str = "pt", seed: int = 0,
        dev_ratio: float = 0.1, test_ratio: float = 0.1, options: ReadOptions = ReadOptions(), skip_bad: bool = False,
        sentencizer: str = "sentencizer", extra_train: Optional[Path] = None, strip_prefix: str = "",
        label_map: Optional[dict[str, str]] = None, extra_partial: bool = False) -> dict:
    """Convert the corpus; write the DocBins, stats.json and rejects.jsonl; return the stats. extra_train adds more
    annotated files to the training split only, after dev and test are settled, so none of it can reach an evaluation
    split. label_map renames (or drops) the entity labels of extra_train only: the main corpus's labels are the ones the
    model is evaluated on, and stay as they are. extra_partial: extra_train annotates only some of those labels, so
    its tokens outside an entity are missing (unknown), not O: an O there would teach that, say, a sum of money
    in a corpus that never marks VALOR is no entity."""
    # long: read, split, add extra training data and write: the steps share the documents read
    started = time.perf_counter()
    sources = resolve_sources(train, dev, test)
    extra_files = extra_train_files(extra_train, train)
    if (label_map or extra_partial) and not extra_files:
        raise ConfigError("--label-map and --extra-partial are about extra_train's entities, but no extra_train is "
            "given: pass extra_train too, or neither")
    nlp = spacy.blank(lang)
    stats: dict = {"formats": {}, "skipped_records": {}, "tag_schemes": {}}
    rejects: list[Reject] = []

    def read_file(path: Path, name: str, file_opts: ReadOptions) -> list[Doc]:
        found = read(path, fmt, nlp, file_opts, skip_bad, sentencizer)
        print(f"read {name} from {path} ({found.fmt}): {len(found.docs)} documents", flush=True)
        rejects.extend(found.rejects)
        stats["skipped_records"][name] = len(found.rejects)
        if name in SPLITS:
            stats["formats"][name] = found.fmt
            if found.scheme:
                stats["tag_schemes"][name] = found.scheme
                print(f"tag scheme: {found.scheme} (detected in {path})", flush=True)
        return found.docs

    docs = {split: read_file(path, split, options) for split, path in sources.items() if path is not None}
    to_split = [s for s in ("dev", "test") if sources[s] is None]
    if to_split:
        try:
            docs["train"], dev_docs, test_docs = split_documents(docs["train"], dev_ratio, test_ratio, seed,
                "dev" in to_split, "test" in to_split)
        except ValueError as e:
            raise CorpusError(sources["train"], "split", str(e),
                "add documents or pass --vars.dev_file/--vars.test_file") from None
        docs = {"dev": dev_docs, "test": test_docs, **docs}
    if label_map:
        known = options.labels or frozenset(e.label_ for split in docs.values() for doc in split for e in doc.ents)
        options = replace(options, labels=known | set(label_map), unknown_label_fix=LABEL_MAP_FIX)
    extra = [doc for path in extra_files for doc in read_file(path, f"extra:{path.name}", options)]
    stats["label_map"] = relabel(extra, label_map) if label_map else {}
    if extra_partial:
        for doc in extra:
            doc.set_ents(list(doc.ents), default="missing")
        stats["extra_partial"] = {"missing_tokens": sum(t.ent_iob == 0 for doc in extra for t in doc)}
    docs["train"] += extra
    stripped = {s: [strip_token_prefix(doc, strip_prefix) for doc in docs[s]] for s in SPLITS} if strip_prefix else {}
    docs.update({split: [doc for doc, _ in pairs] for split, pairs in stripped.items()})
    n_stripped = sum(n for pairs in stripped.values() for _, n in pairs)
    output_dir.mkdir(parents=True, exist_ok=True)
    stats = {
        "sources": {s: (str(p) if p else f"split from train (seed {seed})") for s, p in sources.items()},
        **stats,
        "checksums": {s: checksum(p) for s, p in sources.items() if p},
        "extra_train": {str(p): checksum(p) for p in extra_files},
        "strip_prefix": {"prefix": strip_prefix, "tokens": n_stripped} if strip_prefix else {},
        "duplicates": duplicates_across_splits(docs),
        "leakage": sentence_leakage(docs),
        "token_prefixes": {s: p for s in SPLITS if (p := token_prefix(docs[s])) is not None},
        "splits": {split: split_stats(docs[split]) for split in SPLITS},
    }
    stats["labels"] = sorted({lab for s in stats["splits"].values() for lab in s["entities_per_label"]})
    lines = [json.dumps({"file": r.error.path, "where": r.error.where, "error": str(r.error), "record": r.record},
                        ensure_ascii=False) + "\n" for r in rejects]
    stats["seconds"] = round(time.perf_counter() - started, 2)
    write_corpus(output_dir=output_dir, docs=docs, stats=stats, rejects="".join(lines))
    return stats


def write_corpus(*, output_dir: Path, docs: dict[str, list], stats: dict, rejects: str) -> None:
    """Write the .spacy files, rejects.jsonl and stats.json so that the corpus changes as a whole: written to a
    scratch folder beside output_dir first, then moved in, stats.json last (it records the md5 of each .spacy file);
    a marker stays in output_dir while files are moved, so a convert killed half-way leaves a folder that train
    refuses (and the next convert rewrites whole)."""
    with scratch_folder(output_dir.with_name(f".{output_dir.name}-convert")) as scratch:
        names = [f"{split}.spacy" for split in SPLITS]
        for split, name in zip(SPLITS, names):
            DocBin(docs=docs[split], store_user_data=False).to_disk(scratch / name)
        stats["outputs_md5"] = {name: checksum(scratch / name) for name in names}
        write_text(scratch / "rejects.jsonl", rejects)
        write_json(scratch / "stats.json", stats)
        fault_point("convert:scratch-written")
        output_dir.mkdir(parents=True, exist_ok=True)
        write_text(output_dir / CONVERT_MARKER, "convert is moving new files in; if no convert runs, run it again\n")
        for name in [*names, "rejects.jsonl", "stats.json"]:
            os.replace(scratch / name, output_dir / name)
            fault_point(f"convert:moved:{name}")
        (output_dir / CONVERT_MARKER).unlink()


# The choices of the command line, checked by typer (an unknown value lists the valid ones)
Format = choices("Format", ("auto", *FORMATS))
TagScheme = choices("TagScheme", ("auto", *SCHEMES))
AlignmentMode = choices("AlignmentMode", ("strict", "split", "contract", "expand"))
TextUnit = choices("TextUnit", ("auto", "line", "block"))


def main(train: Path = typer.Option(..., help="Train file, or folder with train/dev/test files"),
        dev: Optional[Path] = typer.Option(None, help="Dev file; default: from the train input"),
        test: Optional[Path] = typer.Option(None, help="Test file; default: from the train input"),
        output_dir: Path = typer.Option(Path("corpus"), help="Where the .spacy files, stats.json and rejects.jsonl go"),
        fmt: Format = typer.Option("auto", "--format", help="auto (by extension, then content) or a format"),
        lang: str = typer.Option("pt", help="Language code of the tokenizer"),
        seed: int = typer.Option(0, help="Seed of the document split"),
        dev_ratio: float = typer.Option(0.1, help="Share of documents split off for dev"),
        test_ratio: float = typer.Option(0.1, help="Share of documents split off for test"),
        n_sents: int = typer.Option(10, min=1, help="Sentences per document when the file marks no documents"),
        tag_scheme: TagScheme = typer.Option("auto", help="Entity tags: auto (detected per file) or a scheme"),
        repair_tags: Switch = typer.Option(Switch.false, help="true: read an IOB2 I- tag that opens an entity as IOB1 does"),
        alignment_mode: AlignmentMode = typer.Option("strict", help="Char spans to tokens"),
        labels: str = typer.Option("", help="Comma-separated entity labels to accept (empty: any)"),
        skip_bad: Switch = typer.Option(Switch.false, help="true: skip bad records (to rejects.jsonl) instead of stopping"),
        text_unit: TextUnit = typer.Option("auto", help="Plain text: a document per line, per blank-line block, or auto"),
        sentencizer: str = typer.Option("sentencizer", help="JSON/text sentence splitting: sentencizer, none or a pipeline"),
        split_multiword: bool = typer.Option(False, help="CoNLL-U: keep multiword tokens' words as separate tokens"),
        extra_train: Optional[Path] = typer.Option(None, help="More annotated files (a file or folder) for the training split only; the train input = none"),
        strip_prefix: str = typer.Option("", help="Cut this prefix (such as 'pt:') from every token that has it"),
        label_map: str = typer.Option("", help="extra_train's entity labels to this corpus's: PER=PESSOA,MISC= (drop)"),
        extra_partial: Switch = typer.Option(Switch.false, help="true: extra_train's tokens outside an entity are missing, not O")) -> None:
    """Convert a raw corpus into train/dev/test .spacy files, stats.json and rejects.jsonl."""
    # long: one line per typer option
    check_options(dev_ratio, test_ratio, lang, sentencizer)
    options = ReadOptions(n_sents=n_sents, merge_multiword=not split_multiword, tag_scheme=tag_scheme.value,
        repair_tags=repair_tags is Switch.true, alignment_mode=alignment_mode.value, text_unit=text_unit.value,
        labels=frozenset(x.strip() for x in labels.split(",") if x.strip()) or None)
    with step_errors():
        stats = convert(train, dev or train, test or train, output_dir, fmt.value, lang, seed, dev_ratio, test_ratio,
            options, skip_bad is Switch.true, sentencizer, extra_train, strip_prefix, parse_label_map(label_map),
            extra_partial is Switch.true)
    print_stats(stats, output_dir)


def check_options(dev_ratio: float, test_ratio: float, lang: str, sentencizer: str) -> None:
    """Exit 2 (a usage error, as typer's own checks) naming each option whose value cannot work."""
    ratios = (("dev-ratio", dev_ratio), ("test-ratio", test_ratio))
    problems = [f"--{n} {r}: must be between 0 and 0.5" for n, r in ratios if not 0 < r < 0.5]
    try:
        spacy.util.get_lang_class(lang)
    except (ImportError, ValueError):
        problems.append(f"--lang {lang}: spaCy has no language {lang!r}; use a code such as pt, en or es")
    if sentencizer not in ("sentencizer", "none") and not (Path(sentencizer).exists() or spacy.util.is_package(sentencizer)):
        problems.append(f"--sentencizer {sentencizer}: no such pipeline (folder or installed package); "
            "use sentencizer, none or a trained pipeline's path")
    if problems:
        print("\n".join(f"✘ {problem}" for problem in problems), file=sys.stderr)
        raise SystemExit(2)


def print_stats(stats: dict, output_dir: Path) -> None:
    """The split table, then the warnings a user must see: skipped records, leakage, token prefixes."""
    header = ["split", "documents", "sentences", "tokens", "entities"]
    rows = [[split, *(stats["splits"][split][k] for k in header[1:]), stats["sources"][split]] for split in SPLITS]
    msg.table(rows, header=[*header, "source"], divider=True, aligns=("l", "r", "r", "r", "r", "l"))
    if n_skipped := sum(stats["skipped_records"].values()):
        print(f"⚠ skipped {n_skipped} bad records; they are in {output_dir / 'rejects.jsonl'} with their errors")
    for pair, leak in stats["leakage"].items():
        if leak["share"] > LEAK_WARN_SHARE:
            evaluated, other = pair.split(" in ")
            print(f"⚠ {leak['share']:.0%} of {evaluated} sentences ({leak['shared']} of {leak['sentences']}) also occur "
                  f"in {other}: scores are inflated by leakage; remove them from one side (see stats.json 'leakage')")
    for split, found in stats["token_prefixes"].items():
        print(f"⚠ {found['share']:.0%} of {split} tokens start with {found['prefix']!r}: real text has no such prefix, "
            f"so the model will not transfer; strip it in convert with --vars.strip_prefix {found['prefix']!r}")
    if stats["strip_prefix"] and not stats["strip_prefix"]["tokens"]:
        print(f"⚠ no token starts with {stats['strip_prefix']['prefix']!r}: --vars.strip_prefix changed nothing")
    if unknown := {m["to"] for m in stats["label_map"].get("mapped", {}).values()} - set(stats["labels"]):
        print(f"⚠ label_map targets {', '.join(sorted(unknown))} are not labels of the corpus")


if __name__ == "__main__":
    typer.run(main)
