"""Tokenizer training cost and token-shard encoding throughput, side by side with calling
SentencePiece's batch encode directly.

Corpus (real text, ~15 MB): the full KJV bible (en, one document per chapter), six Project
Gutenberg books (en, fr, nl; one document per ~20 kB of paragraphs), 红楼梦 (zh, same cut),
and UDHR paragraphs in all ~380 languages (one document per language), written as 4
DOCUMENT_SCHEMA Parquet shards (hash of id -> shard, sorted by id).

Measured (best wall and best CPU time of `REPEATS` runs each, one core: SentencePiece num_threads=1, Beam
FnApiRunner in-process with one worker):
- train_tokenizer: wall time, process peak RSS (ru_maxrss) before and after, sample size
- direct: `sp.encode(list_of_texts, num_threads=1)` over record batches of texts already
  in memory (pure encode time, the strictest reference)
- naive loop: what one writes by hand around that call: read a Parquet batch, encode, build
  the list column with `pa.array(lists)`, write Parquet (zstd)
- encode_shard: our per-shard function without Beam (Parquet read + encode + Parquet write)
- encode_corpus: the Beam pipeline end to end (start-up included)
- for information, one run each using both cores: encode_corpus with SentencePiece
  num_threads=2, and the exported tokenizer.json through `tokenizers.encode_batch`
MB/s counts UTF-8 bytes of document text. Fertility for English and Chinese from
`tokenizer_report` on the same corpus. Writes benchmarks/results/tokenize.{json,md}.
"""

from __future__ import annotations

import os
import sys

# Run as `python -m benchmarks.tokenize`. Run as a file, this file's directory would come
# first on sys.path and shadow the standard library's `tokenize`: drop it before importing.
if __name__ == "__main__":
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]

import json
import lzma
import re
import resource
import shutil
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import sentencepiece as spm
from tokenizers import Tokenizer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.provenance import write_json, write_markdown
from corpusmill.schemas.document import DOCUMENT_SCHEMA, Document, make_id, to_row  # noqa: E402
from corpusmill.tokenizer.config import SamplingConfig, TokenizerConfig  # noqa: E402
from corpusmill.tokenizer.encode import Encoder, encode_shard  # noqa: E402
from corpusmill.tokenizer.report import tokenizer_report  # noqa: E402
from corpusmill.tokenizer.sample import iter_corpus_batches  # noqa: E402
from corpusmill.tokenizer.shards import encode_corpus  # noqa: E402
from corpusmill.tokenizer.train import train_tokenizer  # noqa: E402

SHARED = Path(os.environ.get("CORPUSMILL_SHARED_DATA", ROOT.parent / "shared" / "data"))
RESULTS = ROOT / "benchmarks" / "results"
REPEATS = 3
NUM_SHARDS = 4
ENCODE_COPIES = 4  # throughput is measured on the corpus repeated this many times
VOCAB = 16_000


def _cut(text: str, size: int = 20_000) -> list[str]:
    parts, cur, n = [], [], 0
    for para in re.split(r"\n\s*\n", text):
        cur.append(para)
        n += len(para)
        if n >= size:
            parts.append("\n\n".join(cur).strip())
            cur, n = [], 0
    if cur:
        parts.append("\n\n".join(cur).strip())
    return [p for p in parts if p]


def build_corpus(out: Path, copies: int = 1) -> tuple[list[str], int]:
    """The corpus as NUM_SHARDS Parquet shards; `copies` > 1 repeats every document under new
    ids (a bigger input for throughput, so Beam's start-up does not dominate)."""
    docs: list[Document] = []

    def add(text: str, source: str, loc: str, lang: str) -> None:
        for k in range(copies):
            where = loc if k == 0 else f"{loc}#copy={k}"
            docs.append(Document(id=make_id(source, where), text=text, source=source, location=where, language=lang))

    kjv = lzma.open(ROOT / "samples" / "books" / "kjv-bible.en.txt.xz", "rt", encoding="utf-8").read()
    for i, ch in enumerate(c.strip() for c in re.split(r"\n(?=\S[^\n]* \d+\n)", kjv)):
        if ch:
            add(ch, "books", f"kjv#{i}", "en")
    books = {
        "pg16215_Jack-Sheppard.txt": ("en", "utf-8"),
        "pg3261_News-from-Nowhere.txt": ("en", "utf-8"),
        "pg9198_The-Complete-Angler.txt": ("en", "utf-8"),
        "pg972_The-Devils-Dictionary.txt": ("en", "utf-8"),
        "pg44157_Entre-Nous_fr_utf8.txt": ("fr", "utf-8"),
        "pg24675_Ontboezemingen_nl_latin1.txt": ("nl", "latin-1"),
    }
    for name, (lang, enc) in books.items():
        text = (SHARED / "books" / "gutenberg" / name).read_text(encoding=enc, errors="replace")
        for i, part in enumerate(_cut(text)):
            add(part, "books", f"{name}#{i}", lang)
    hlm = (SHARED / "books" / "zh" / "hongloumeng_zh-hans.txt").read_text(encoding="utf-8", errors="replace")
    for i, part in enumerate(_cut(hlm, 8_000)):
        add(part, "books", f"hlm#{i}", "zh")
    udhr: dict[str, list[str]] = {}
    with lzma.open(SHARED / "lid" / "udhr2_paragraphs.tsv.xz", "rt", encoding="utf-8") as f:
        for line in f:
            lang, _, text = line.rstrip("\n").partition("\t")
            udhr.setdefault(lang, []).append(text)
    for lang, paras in sorted(udhr.items()):
        add("\n\n".join(paras), "web", f"udhr#{lang}", lang.split("_")[0])
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for s in range(NUM_SHARDS):
        rows = sorted((to_row(d) for d in docs if int(d.id, 16) % NUM_SHARDS == s), key=lambda r: r["id"])
        p = out / f"part-{s:05d}-of-{NUM_SHARDS:05d}.parquet"
        pq.write_table(pa.Table.from_pylist(rows, schema=DOCUMENT_SCHEMA), p)
        paths.append(str(p))
    return paths, len(docs)


def _best(fn, repeats: int = REPEATS) -> tuple[float, float]:
    """(best wall seconds, best CPU seconds of this process, all threads) over `repeats` runs."""
    walls, cpus = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return min(walls), min(cpus)


def main() -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="bench-tokenize-"))
    files, n_docs = build_corpus(tmp / "corpus")
    big, n_big = build_corpus(tmp / "corpus-x4", copies=ENCODE_COPIES)
    texts_batches = [b["text"] for b in iter_corpus_batches(big, ["text"])]
    text_bytes = sum(len(t.encode("utf-8")) for batch in texts_batches for t in batch)
    mb = text_bytes / 1e6

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    config = TokenizerConfig(vocab_size=VOCAB, sampling=SamplingConfig(max_chars=20_000_000))
    t, c = time.perf_counter(), time.process_time()
    summary = train_tokenizer(files, str(tmp / "tok"), config, corpus_checksum="bench")
    train_wall, train_cpu = time.perf_counter() - t, time.process_time() - c
    model = str(tmp / "tok" / "tokenizer.model")

    sp = spm.SentencePieceProcessor(model_file=model)
    direct = _best(lambda: [sp.encode(batch, num_threads=1) for batch in texts_batches])
    def naive_loop() -> None:
        """What one would write by hand: read a batch, encode it, write it (pa.array of lists)."""
        schema = pa.schema([("id", pa.string()), ("input_ids", pa.list_(pa.uint16()))])
        for i, f in enumerate(big):
            with pq.ParquetWriter(str(tmp / f"naive-{i}.parquet"), schema, compression="zstd") as w:
                for b in pq.ParquetFile(f).iter_batches(batch_size=256, columns=["id", "text"]):
                    ids = sp.encode(b.column(1).to_pylist(), num_threads=1)
                    w.write_batch(pa.record_batch([b.column(0), pa.array(ids, pa.list_(pa.uint16()))], schema=schema))

    naive = _best(naive_loop)
    enc = Encoder(model, num_threads=1)
    shard_fn = _best(lambda: [encode_shard(f, str(tmp / f"direct-{i}.parquet"), enc, shard_index=i)
                              for i, f in enumerate(big)])
    beam_run = _best(lambda: encode_corpus(big, model, str(tmp / "tokens-x4"), num_threads=1))
    packed = _best(lambda: encode_corpus(big, model, str(tmp / "packed"), pack=2048, num_threads=1), 1)
    tokens = encode_corpus(files, model, str(tmp / "tokens"), num_threads=1)
    # for information: the exported tokenizer.json through Hugging Face `tokenizers` (Rust,
    # uses every core) and our Beam run with SentencePiece using both cores
    hf = Tokenizer.from_file(str(tmp / "tok" / "tokenizer.json"))
    hf_run = _best(lambda: [hf.encode_batch(batch, add_special_tokens=False) for batch in texts_batches], 1)
    beam_2 = _best(lambda: encode_corpus(big, model, str(tmp / "tokens-2t"), num_threads=2), 1)

    report = tokenizer_report(model, files, max_docs_per_group=200)
    fert = {lang: report["by_language"][lang]["model"] for lang in ("en", "zh", "fr", "rus") if lang in report["by_language"]}

    result = {
        "corpus": {"documents": n_docs, "encode_documents": n_big, "encode_copies": ENCODE_COPIES,
                   "encode_text_mb": round(mb, 2), "shards": NUM_SHARDS},
        "train": {
            "vocab_size": VOCAB,
            "model_type": config.model_type,
            "wall_seconds": round(train_wall, 2),
            "cpu_seconds": round(train_cpu, 2),
            "sample_plan_seconds": summary["sample_plan_seconds"],
            "train_seconds": summary["train_seconds"],
            "sampled_chars": summary["sampled_chars"],
            "sampled_lines": summary["sampled_lines"],
            "rss_before_mb": round(rss_before, 1),
            "peak_rss_mb": summary["peak_rss_mb"],
        },
        "encode_mb_per_cpu_s": {
            "sentencepiece_direct": round(mb / direct[1], 2),
            "naive_loop_with_parquet_io": round(mb / naive[1], 2),
            "encode_shard_no_beam": round(mb / shard_fn[1], 2),
            "encode_corpus_beam": round(mb / beam_run[1], 2),
            "encode_corpus_beam_packed_2048": round(mb / packed[1], 2),
            "hf_tokenizers_encode_batch": round(mb / hf_run[1], 2),
            "encode_corpus_beam_2_threads": round(mb / beam_2[1], 2),
        },
        "encode_mb_per_wall_s": {
            "sentencepiece_direct": round(mb / direct[0], 2),
            "naive_loop_with_parquet_io": round(mb / naive[0], 2),
            "encode_shard_no_beam": round(mb / shard_fn[0], 2),
            "encode_corpus_beam": round(mb / beam_run[0], 2),
            "encode_corpus_beam_packed_2048": round(mb / packed[0], 2),
            "hf_tokenizers_encode_batch": round(mb / hf_run[0], 2),
            "encode_corpus_beam_2_threads": round(mb / beam_2[0], 2),
        },
        "ratio_to_direct_cpu": {
            "naive_loop_with_parquet_io": round(direct[1] / naive[1], 3),
            "encode_shard_no_beam": round(direct[1] / shard_fn[1], 3),
            "encode_corpus_beam": round(direct[1] / beam_run[1], 3),
        },
        "ratio_to_direct_wall": {
            "naive_loop_with_parquet_io": round(direct[0] / naive[0], 3),
            "encode_shard_no_beam": round(direct[0] / shard_fn[0], 3),
            "encode_corpus_beam": round(direct[0] / beam_run[0], 3),
        },
        "tokens": tokens["tokens"],
        "bytes_per_token": round(text_bytes / ENCODE_COPIES / tokens["tokens"], 3),
        "fertility": {
            lang: {k: m[k] for k in ("fertility_unit", "fertility", "bytes_per_token", "byte_fallback_rate")}
            for lang, m in fert.items()
        },
        "vocab_usage": report["vocab_usage"]["model"],
        "machine": {"cpus": os.cpu_count(), "note": "2 shared, noisy cores; best of 3 runs"},
        "versions": {"sentencepiece": spm.__version__},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_json(RESULTS / "tokenize.json", result)
    e, r = result["encode_mb_per_cpu_s"], result["ratio_to_direct_cpu"]
    ew, rw = result["encode_mb_per_wall_s"], result["ratio_to_direct_wall"]
    md = [
        "# Tokenizer benchmark",
        "",
        f"Corpus: {n_docs} real documents (KJV, 6 Gutenberg books, 红楼梦, UDHR in ~380 languages), {NUM_SHARDS} Parquet shards;",
        f"encoding measured on it repeated {ENCODE_COPIES} times under new ids: {n_big} documents, {mb:.1f} MB of text.",
        "",
        f"Training (unigram, vocab {VOCAB}, {summary['sampled_chars']:,} sampled chars, 1 thread): "
        f"{train_wall:.1f} s wall, {train_cpu:.1f} s CPU, process peak RSS {summary['peak_rss_mb']:.0f} MB (before training {rss_before:.0f} MB).",
        "",
        "| encoding, one core | MB per CPU-s | ratio (CPU) | MB per wall-s | ratio (wall) |",
        "|---|---|---|---|---|",
        f"| sentencepiece `encode(batch, num_threads=1)` on texts in memory | {e['sentencepiece_direct']} | 1.0 | {ew['sentencepiece_direct']} | 1.0 |",
        f"| hand-written loop: Parquet batch -> `sp.encode` -> `pa.array(lists)` -> Parquet (zstd) | {e['naive_loop_with_parquet_io']} | {r['naive_loop_with_parquet_io']} | {ew['naive_loop_with_parquet_io']} | {rw['naive_loop_with_parquet_io']} |",
        f"| `encode_shard` (Parquet in -> tokens -> Parquet out), no Beam | {e['encode_shard_no_beam']} | {r['encode_shard_no_beam']} | {ew['encode_shard_no_beam']} | {rw['encode_shard_no_beam']} |",
        f"| `encode_corpus` (Beam FnApiRunner, start-up included) | {e['encode_corpus_beam']} | {r['encode_corpus_beam']} | {ew['encode_corpus_beam']} | {rw['encode_corpus_beam']} |",
        f"| `encode_corpus` packed, seq_len 2048 (one run) | {e['encode_corpus_beam_packed_2048']} | | {ew['encode_corpus_beam_packed_2048']} | |",
        "| *all cores (2), one run each:* | | | | |",
        f"| `encode_corpus`, SentencePiece num_threads=2 | {e['encode_corpus_beam_2_threads']} | | {ew['encode_corpus_beam_2_threads']} | |",
        f"| tokenizer.json with `tokenizers` `encode_batch` (Rust threads) | {e['hf_tokenizers_encode_batch']} | | {ew['hf_tokenizers_encode_batch']} | |",
        "",
        "Fertility (tokens per word; per character for zh):",
        "",
        "| language | unit | fertility | bytes/token | byte fallback |",
        "|---|---|---|---|---|",
        *[f"| {lang} | {m['fertility_unit']} | {m['fertility']} | {m['bytes_per_token']} | {m['byte_fallback_rate']} |"
          for lang, m in result["fertility"].items()],
        "",
        "Best of 3 runs on 2 shared, noisy cores (wall time is dominated by other jobs; CPU time of the",
        "process, all threads, is the per-core figure). See benchmarks/tokenize.py for the method.",
    ]
    write_markdown(RESULTS / "tokenize.md", "\n".join(md) + "\n")
    shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
