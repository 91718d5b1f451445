"""A realistic run output directory written from real text, for the validate / report tests.

Documents are the chapters of the King James Bible and the poems of the Tang 300 anthology
(from `samples/books`). The steps applied here are simple real rules (word / character counts,
a language-score threshold, exact duplicates), written the way `corpusmill run` writes its
output: hash-sharded, id-sorted Parquet shards with the schemas of `schemas.document`, token
shards from a real SentencePiece model trained on the kept texts, a deterministic
`manifest.json` and a `run_info.json`.
"""

from __future__ import annotations

import hashlib
import io
import json
import lzma
import re
import shutil
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpusmill.schemas.document import (
    DOCUMENT_SCHEMA,
    FAILURE_SCHEMA,
    REJECTION_SCHEMA,
    Document,
    Drop,
    Failure,
    Rejection,
    Signal,
    make_id,
    to_row,
)

CORPUS_SHARDS = 4
ROW_GROUP = 64
LANGUAGE_PARAMS = {"keep": ["en", "zh"], "min_score": 0.65, "min_scores": {"zh": 0.5}}
MIN_WORDS_EN = 500
MIN_CHARS_ZH = 40
HOSTILE = '<script>alert("x")</script> & <b>bold</b>'


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
            return "quality", Drop("too_few_words", f"{len(words)}<{MIN_WORDS_EN}")
        doc = doc.with_signal("quality.words", len(words))
        doc = doc.with_signal("quality.mean_word_length", sum(map(len, words)) / len(words))
    else:
        chars = len(re.sub(r"\s", "", doc.text))
        if chars < MIN_CHARS_ZH:
            return "quality", Drop("too_short", f"{chars}<{MIN_CHARS_ZH}")
        doc = doc.with_signal("quality.words", chars)
    lines = [ln for ln in doc.text.splitlines() if ln.strip()]
    dup = 1 - len(set(lines)) / max(1, len(lines))
    doc = doc.with_signal("repetition.dup_line_frac", dup)
    if dup > 0.05:  # annotate mode: flag, keep
        doc = replace(doc, flags=doc.flags + ("repetition:dup_lines",))
    return doc


def _shard(doc_id: str, shards: int) -> int:
    return int(hashlib.blake2b(doc_id.encode(), digest_size=8).hexdigest(), 16) % shards


def _write(out: Path, kind: str, rows: list[dict[str, Any]], schema: pa.Schema, shards: int) -> list[dict[str, Any]]:
    (out / kind).mkdir(parents=True, exist_ok=True)
    parts: list[list[dict[str, Any]]] = [[] for _ in range(shards)]
    for row in rows:
        key = row.get("id") or row["location"]
        parts[_shard(key, shards)].append(row)
    entries = []
    for i, part in enumerate(parts):
        part.sort(key=lambda r: (r.get("id") or "", r.get("location", "")))
        rel = f"{kind}/part-{i:05d}-of-{shards:05d}.parquet"
        pq.write_table(pa.Table.from_pylist(part, schema=schema), out / rel, row_group_size=ROW_GROUP)
        data = (out / rel).read_bytes()
        entries.append({"path": rel, "rows": len(part), "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    return entries


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
    (tdir / "tokenizer.model").write_bytes(model.getvalue())
    sp = spm.SentencePieceProcessor(model_proto=model.getvalue())
    (tdir / "tokenizer.vocab").write_text(
        "".join(f"{sp.id_to_piece(i)}\t{sp.get_score(i)}\n" for i in range(sp.get_piece_size())), encoding="utf-8"
    )
    (tdir / "tokenizer_config.json").write_text(json.dumps({"model_type": "unigram", "vocab_size": sp.get_piece_size()}), encoding="utf-8")
    return sp


def build_output(out: Path, samples: Path, *, max_chapters: int = 260, tokens: bool = True) -> Path:
    """Write a complete run output directory to `out` and return it."""
    out.mkdir(parents=True, exist_ok=True)
    docs = _books(samples, max_chapters)
    # exact duplicates the dedup stage removes: every 20th kjv chapter read twice from a mirror
    mirror = [
        replace(d, id=make_id("mirror", d.id), location="mirror/" + d.location)
        for d in docs[::20] if d.source == "kjv"
    ]
    read = Counter(d.source for d in docs + mirror)
    kept: list[Document] = []
    rejected: list[Rejection] = []
    seen_text: dict[str, str] = {}
    for doc in sorted(docs, key=lambda d: d.id) + sorted(mirror, key=lambda d: d.id):
        verdict = _steps(doc)
        if isinstance(verdict, tuple):
            rejected.append(Rejection.of(doc, verdict[0], verdict[1]))
            continue
        if verdict.text in seen_text:
            rejected.append(Rejection.of(verdict, "exact_dedup", Drop("duplicate", seen_text[verdict.text])))
            continue
        seen_text[verdict.text] = verdict.id
        kept.append(verdict)
    # an example of hostile text in a rejection preview (the report must escape it)
    hostile = Document(id=make_id("hostile", 1), text=HOSTILE * 3, source="kjv", location="books/hostile.txt",
                       language="en", language_score=0.99)
    # a record the reader rejects is not a document: not counted in `read`
    rejected.append(Rejection.of(hostile, "read", Drop("not_text", "markup only")))
    mirror_texts = {m.text for m in mirror}
    kept = [
        replace(d, cluster_size=2 if d.text in mirror_texts else 1)
        for d in kept
    ]
    failures = [
        Failure("kjv", "read", "books/kjv-bible.en.txt.xz#offset=4096", "lzma: corrupt stream"),
        Failure("tang300", "read", "books/tang300-poems.zh.txt#record=999", "UnicodeDecodeError: invalid start byte"),
    ]
    shards = {
        "corpus": _write(out, "corpus", [to_row(d) for d in kept], DOCUMENT_SCHEMA, CORPUS_SHARDS),
        "rejected": _write(out, "rejected", [to_row(r) for r in rejected], REJECTION_SCHEMA, 2),
        "failed": _write(out, "failed", [to_row(f) for f in failures], FAILURE_SCHEMA, 1),
    }
    tokenizer_info = None
    if tokens:
        sp = _train_tokenizer(out, [d.text for d in kept])
        token_rows = []
        per_group: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
        for d in kept:
            ids = sp.encode(d.text)
            token_rows.append({"id": d.id, "source": d.source, "language": d.language, "input_ids": ids,
                               "num_tokens": len(ids)})
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
        shards["tokens"] = _write(out, "tokens", token_rows, schema, 2)
        # the layout of tokenizer/report.json (tokenizer/report.py): group -> tokenizer -> metrics
        report: dict[str, Any] = {"vocab_size": {"model": sp.get_piece_size()}, "by_language": {}, "by_source": {}}
        for (kind, name), (docs, toks, units) in sorted(per_group.items()):
            unit = "char" if name in ("zh", "tang300") else "word"
            report[kind][name] = {"model": {"documents": docs, "tokens": toks, "fertility_unit": unit,
                                            "fertility": round(toks / max(1, units), 4)}}
        (out / "tokenizer" / "report.json").write_text(json.dumps(report, indent=1, sort_keys=True), encoding="utf-8")
        tokenizer_info = {"vocab_size": sp.get_piece_size(), "model_type": "unigram"}
    rejected_counts: dict[str, Counter] = defaultdict(Counter)
    by_source: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for r in rejected:
        rejected_counts[r.step][r.reason] += 1
        by_source[r.source][r.step][r.reason] += 1
    n_read = sum(read.values())
    n_reader = sum(rejected_counts["read"].values()) + len(failures)
    after_steps = n_read - sum(n for s, c in rejected_counts.items() if s not in ("read", "exact_dedup") for n in c.values())
    manifest = {
        "corpusmill_version": "0.1.0",
        "config": {
            "name": "fixture",
            "sources": [{"name": "kjv", "kind": "books"}, {"name": "tang300", "kind": "books"}],
            "steps": [
                {"name": "language", "mode": "drop", "params": LANGUAGE_PARAMS},
                {"name": "quality", "mode": "drop", "params": {"min_words": MIN_WORDS_EN, "min_chars_zh": MIN_CHARS_ZH}},
                {"name": "repetition", "mode": "annotate", "params": {"max_dup_line_frac": 0.05}},
            ],
            "dedup": {"exact": True, "minhash": False},
        },
        "versions": {"pyarrow": pa.__version__},
        "counts": {
            "read": dict(sorted(read.items())),
            "kept": dict(sorted(Counter(d.source for d in kept).items())),
            "rejected": {s: dict(sorted(c.items())) for s, c in sorted(rejected_counts.items())},
            "rejected_by_source": {src: {s: dict(c) for s, c in sorted(v.items())} for src, v in sorted(by_source.items())},
            "failed": dict(sorted(Counter(f.step for f in failures).items())),
            "failed_by_source": {src: {"read": 1} for src in sorted({f.source for f in failures})},
            "redacted": {"email": 3, "ip_address": 1},
        },
        "accounting": {
            "documents_read": n_read,
            "kept": len(kept),
            "rejected": sum(1 for r in rejected if r.step != "read"),
            "failed": 0,
            "records_rejected_by_readers": sum(1 for r in rejected if r.step == "read"),
            "records_failed_in_readers": len(failures),
            "input_records": n_read + n_reader,
            "balanced": True,
        },
        "languages": dict(sorted(Counter(d.language for d in kept).items())),
        "stages": [
            {"stage": "read", "in": n_read + n_reader, "out": n_read},
            {"stage": "steps", "in": n_read, "out": after_steps},
            {"stage": "exact_dedup", "in": after_steps, "out": len(kept)},
            {"stage": "write", "in": len(kept), "out": len(kept)},
        ],
        "shards": shards,
        "tokenizer": tokenizer_info,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    run_info = {
        "started": "2026-11-29T03:00:00+00:00", "finished": "2026-11-29T03:00:12.5+00:00", "wall_seconds": 12.5,
        "stage_seconds": {"read": 2.1, "steps": 6.3, "exact_dedup": 1.2, "write": 0.9, "tokenize": 2.0},
        "runner": "FnApiRunner", "workers": 2,
    }
    (out / "run_info.json").write_text(json.dumps(run_info, indent=1), encoding="utf-8")
    return out


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
