"""A realistic run output directory written from real text, for the validate / report tests.

Documents are the chapters of the King James Bible and the poems of the Tang 300 anthology
(from `samples/books`). The verdicts here are simple rules (word / character counts, a
language-score threshold, exact duplicates), cheaper than running the pipeline, but everything
is written by the writers `corpusmill run` uses: the run plan from a workflow file
(`workflows.config.load_plan`), shards hash-assigned and ordered like `WriteShards`
(`shard_of`, `shard_order`) and written by `schemas.outputs.write_parquet`, the stage counts file,
`manifest.json` from `workflows.manifest.build_manifest` (which completes and describes the
shards), token shards from a real SentencePiece model trained on the kept texts, and a
`run_info.json`. A change of the manifest's layout therefore reaches the validate / report tests.
"""

from __future__ import annotations

import io
import lzma
import re
import shutil
import tempfile
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import yaml

from corpusmill.pipelines.plan import RunPlan
from corpusmill.pipelines.transforms.write import record_key, shard_of, shard_order
from corpusmill.schemas import outputs
from corpusmill.schemas.document import SCHEMAS, Document, Drop, Failure, Rejection, make_id, to_row
from corpusmill.workflows.config import load_plan
from corpusmill.workflows.manifest import build_manifest

CORPUS_SHARDS = 4
ROW_GROUP = 64
LANGUAGE_PARAMS = {"keep": ["en", "zh"], "min_score": 0.65, "min_scores": {"zh": 0.5}}
MIN_WORDS_EN = 500
MIN_CHARS_ZH = 40
HOSTILE = '<script>alert("x")</script> & <b>bold</b>'
# the plan the verdicts below imitate: real steps, with the thresholds the rules use
WORKFLOW = {
    "sources": [
        {"kind": "books", "name": "kjv", "paths": ["kjv-bible.en.txt.xz"]},
        {"kind": "books", "name": "tang300", "paths": ["tang300-poems.zh.txt"]},
    ],
    "steps": [
        {"step": "language", "params": LANGUAGE_PARAMS},
        {"step": "gopher_quality", "params": {"min_words": MIN_WORDS_EN}},
        {"step": "gopher_repetition", "mode": "annotate", "params": {"max_duplicate_lines": 0.05}},
    ],
    "dedup": {"exact": True, "minhash": None},
    "output": {"shards": CORPUS_SHARDS, "rejected_shards": 2, "failed_shards": 1},
    "tokenizer": {"vocab_size": 2000},
}


def _score(doc_id: str) -> float:
    """A deterministic language score in [0.55, 1.0)."""
    return 0.55 + 0.45 * (int(doc_id[:8], 16) / 0xFFFFFFFF)


def _books(samples: Path, max_chapters: int) -> list[Document]:
    raw = lzma.decompress((samples / "books" / "kjv-bible.en.txt.xz").read_bytes()).decode("utf-8")
    docs = []
    for i, chunk in enumerate(re.split(r"\n(?=[0-9A-Z][^\n]* \d+\n\n)", raw.strip("\n"))):
        if i >= max_chapters:
            break
        title, _, body = chunk.partition("\n")
        text = re.sub(r"^ +\d+ ", "", body.strip("\n"), flags=re.M)
        doc_id = make_id("kjv-bible.en.txt.xz", title)
        docs.append(
            Document(
                id=doc_id, text=text, source="kjv", location=f"books/kjv-bible.en.txt.xz!{title}",
                title=title.strip(), language="en", language_score=_score(doc_id), script="Latn", part=i,
            )
        )
    zh = (samples / "books" / "tang300-poems.zh.txt").read_text(encoding="utf-8")
    zh = re.sub(r"\x1b\[[0-9;]*m", "", zh)
    for j, poem in enumerate(p.strip() for p in zh.split("%")):
        if not poem:
            continue
        title, _, body = poem.partition("\n")
        doc_id = make_id("tang300-poems.zh.txt", j)
        docs.append(
            Document(
                id=doc_id, text=body.strip(), source="tang300", location=f"books/tang300-poems.zh.txt#record={j}",
                title=title, language="zh", language_score=_score(doc_id), script="Hani", part=j,
            )
        )
    return docs


def _steps(doc: Document) -> tuple[str, Drop] | Document:
    threshold = LANGUAGE_PARAMS["min_scores"].get(doc.language, LANGUAGE_PARAMS["min_score"])
    if doc.language_score is None or doc.language_score < threshold:
        return "language", Drop("low_score", f"{doc.language}={doc.language_score:.3f}<{threshold}")
    if doc.language == "en":
        words = doc.text.split()
        if len(words) < MIN_WORDS_EN:
            return "gopher_quality", Drop("too_few_words", f"{len(words)}<{MIN_WORDS_EN}")
        doc = doc.with_signal("quality.words", len(words))
        doc = doc.with_signal("quality.mean_word_length", sum(map(len, words)) / len(words))
    else:
        chars = len(re.sub(r"\s", "", doc.text))
        if chars < MIN_CHARS_ZH:
            return "gopher_quality", Drop("too_short", f"{chars}<{MIN_CHARS_ZH}")
        doc = doc.with_signal("quality.words", chars)
    lines = [ln for ln in doc.text.splitlines() if ln.strip()]
    dup = 1 - len(set(lines)) / max(1, len(lines))
    doc = doc.with_signal("repetition.dup_line_frac", dup)
    if dup > 0.05:  # annotate mode: flag, keep
        doc = replace(doc, flags=doc.flags + ("repetition:dup_lines",))
    if doc.part is not None and doc.part % 25 == 0:  # as pii_redaction records a redaction
        doc = doc.with_signal("redacted_email", 1 + doc.part % 3)
    return doc


def _write(out: Path, kind: str, records: list[Any], shards: int) -> None:
    """Shards of one kind as WriteShards writes them (hash of id -> shard, rows in `shard_order`)."""
    parts: list[list[Any]] = [[] for _ in range(shards)]
    for record in records:
        parts[shard_of(record_key(record), shards)].append(record)
    for i, part in enumerate(parts):
        table = pa.Table.from_pylist([to_row(r) for r in sorted(part, key=shard_order)], schema=SCHEMAS[kind])
        outputs.write_parquet(str(out / kind / outputs.shard_name(i, shards)), table, row_group_size=ROW_GROUP)


def _train_tokenizer(out: Path, texts: list[str]) -> Any:
    import sentencepiece as spm

    tdir = out / "tokenizer"
    tdir.mkdir(parents=True, exist_ok=True)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(line for t in texts for line in t.splitlines() if line.strip()),
        model_writer=model, vocab_size=2000, model_type="unigram", character_coverage=0.98,
        input_sentence_size=20000, shuffle_input_sentence=False, num_threads=1, minloglevel=2,
    )
    outputs.write_bytes(str(tdir / "tokenizer.model"), model.getvalue())
    sp = spm.SentencePieceProcessor(model_proto=model.getvalue())
    vocab = "".join(f"{sp.id_to_piece(i)}\t{sp.get_score(i)}\n" for i in range(sp.get_piece_size()))
    outputs.write_text(str(tdir / "tokenizer.vocab"), vocab)
    outputs.write_json(str(tdir / "tokenizer_config.json"), {"model_type": "unigram", "vocab_size": sp.get_piece_size()})
    return sp


def build_output(out: Path, samples: Path, *, max_chapters: int = 260, tokens: bool = True) -> Path:
    """Write a complete run output directory to `out` and return it."""
    out.mkdir(parents=True, exist_ok=True)
    plan = _plan(samples / "books")
    docs = _books(samples, max_chapters)
    # exact duplicates the dedup stage removes: every 20th kjv chapter read twice from a mirror
    mirror = [
        replace(d, id=make_id("mirror", d.id), location="mirror/" + d.location)
        for d in docs[::20] if d.source == "kjv"
    ]
    stages: dict[str, Counter[str]] = {"read": Counter(d.source for d in docs + mirror), "steps": Counter()}
    kept: list[Document] = []
    rejected: list[Rejection] = []
    seen_text: dict[str, str] = {}
    for doc in sorted(docs, key=lambda d: d.id) + sorted(mirror, key=lambda d: d.id):
        verdict = _steps(doc)
        if isinstance(verdict, tuple):
            rejected.append(Rejection.of(doc, verdict[0], verdict[1]))
            continue
        stages["steps"][doc.source] += 1
        if verdict.text in seen_text:
            rejected.append(Rejection.of(verdict, "exact_dedup", Drop("duplicate", seen_text[verdict.text])))
            continue
        seen_text[verdict.text] = verdict.id
        kept.append(verdict)
    stages["exact_dedup"] = Counter(d.source for d in kept)
    # an example of hostile text in a rejection preview (the report must escape it)
    hostile = Document(id=make_id("hostile", 1), text=HOSTILE * 3, source="kjv", location="books/hostile.txt",
                       language="en", language_score=0.99)
    # a record the reader rejects is not a document: not counted in `read`
    rejected.append(Rejection.of(hostile, "read", Drop("not_text", "markup only")))
    mirror_texts = {m.text for m in mirror}
    kept = [replace(d, cluster_size=2 if d.text in mirror_texts else 1) for d in kept]
    failures = [
        Failure("kjv", "read", "books/kjv-bible.en.txt.xz#offset=4096", "lzma: corrupt stream"),
        Failure("tang300", "read", "books/tang300-poems.zh.txt#record=999", "UnicodeDecodeError: invalid start byte"),
    ]
    _write(out, "corpus", kept, plan.output.shards)
    _write(out, "rejected", rejected, plan.output.rejected_shards)
    _write(out, "failed", failures, plan.output.failed_shards)
    outputs.write_json(str(out / outputs.STAGE_COUNTS), {k: dict(v) for k, v in stages.items()})
    manifest = build_manifest(str(out), plan)
    if tokens:
        manifest["tokenizer"], manifest["shards"]["tokens"] = _tokenize(out, kept)
    outputs.write_manifest(str(out), manifest)
    run_info = {
        "started": "2026-11-29T03:00:00+00:00", "finished": "2026-11-29T03:00:12.5+00:00", "wall_seconds": 12.5,
        "stage_seconds": {"read": 2.1, "steps": 6.3, "exact_dedup": 1.2, "write": 0.9, "tokenize": 2.0},
        "runner": "FnApiRunner", "workers": 2,
    }
    outputs.write_json(str(out / outputs.RUN_INFO), run_info)
    return out


def _plan(books: Path) -> RunPlan:
    """The fixture's run plan, read by the real loader from WORKFLOW (paths under `books`)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fixture.yaml"
        sources = [{**s, "paths": [str(books / p) for p in s["paths"]]} for s in WORKFLOW["sources"]]
        path.write_text(yaml.safe_dump({**WORKFLOW, "sources": sources}), encoding="utf-8")
        return load_plan(path)


def _tokenize(out: Path, kept: list[Document]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Token shards and tokenizer/report.json from a real SentencePiece model; the manifest's
    `tokenizer` and `shards` entries for them."""
    sp = _train_tokenizer(out, [d.text for d in kept])
    token_rows = []
    per_group: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for d in kept:
        ids = sp.encode(d.text)
        token_rows.append({"id": d.id, "source": d.source, "language": d.language, "input_ids": ids, "num_tokens": len(ids)})
        units = len(d.text.split()) if d.language == "en" else len(re.sub(r"\s", "", d.text))
        for group in (("by_language", d.language), ("by_source", d.source)):
            per_group[group][0] += 1
            per_group[group][1] += len(ids)
            per_group[group][2] += units
    schema = pa.schema([pa.field("id", pa.string(), nullable=False),
                        pa.field("source", pa.string(), nullable=False),
                        pa.field("language", pa.string()),
                        pa.field("input_ids", pa.list_(pa.uint16()), nullable=False),
                        pa.field("num_tokens", pa.int32(), nullable=False)])
    parts: list[list[dict[str, Any]]] = [[], []]
    for row in token_rows:
        parts[shard_of(row["id"], 2)].append(row)
    entries = []
    for i, part in enumerate(parts):
        rel = f"tokens/{outputs.shard_name(i, 2)}"
        table = pa.Table.from_pylist(sorted(part, key=lambda r: r["id"]), schema=schema)
        outputs.write_parquet(str(out / rel), table, row_group_size=ROW_GROUP)
        entries.append(outputs.describe_file(str(out), rel))
    # the layout of tokenizer/report.json (tokenizer/report.py): group -> tokenizer -> metrics
    report: dict[str, Any] = {"vocab_size": {"model": sp.get_piece_size()}, "by_language": {}, "by_source": {}}
    for (kind, name), (docs, toks, units) in sorted(per_group.items()):
        unit = "char" if name in ("zh", "tang300") else "word"
        report[kind][name] = {"model": {"documents": docs, "tokens": toks, "fertility_unit": unit,
                                        "fertility": round(toks / max(1, units), 4)}}
    outputs.write_json(str(out / "tokenizer" / "report.json"), report, indent=1, sort_keys=True)
    return {"vocab_size": sp.get_piece_size(), "model_type": "unigram"}, entries


@pytest.fixture(scope="session")
def built_output(tmp_path_factory: pytest.TempPathFactory, samples: Path) -> Path:
    """The fixture output directory, built once per test session (copy it before changing it)."""
    return build_output(tmp_path_factory.mktemp("run") / "out", samples)


@pytest.fixture()
def output(built_output: Path, tmp_path: Path) -> Path:
    """A fresh copy of the fixture output directory, for tests that corrupt or extend it."""
    out = tmp_path / "out"
    shutil.copytree(built_output, out, ignore=shutil.ignore_patterns("validation", "report"))
    return out
