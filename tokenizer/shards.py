"""Token shards with Apache Beam: one corpus shard in, one token shard out.

`encode_corpus` runs `EncodeShards` (Create file list -> Reshuffle -> `EncodeShardFn`); each
element is a whole corpus shard, encoded as a stream of record batches by
`tokenizer.encode.encode_shard` (layout, packing and atomic writes are documented there).
The corpus writer already spreads documents over shards by hash of id, so no shuffle of
documents is needed and a worker's memory is bounded by one record batch (or one shard's
token ids when packing). The SentencePiece model is loaded once per worker in `setup`.

Output: `<out_dir>/part-<i>-of-<n>.parquet`, i = position of the corpus shard in the sorted
input list; stale `part-*.parquet` files from an earlier run are removed first.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from corpusmill.schemas import outputs
from corpusmill.schemas.outputs import shard_name
from corpusmill.tokenizer.encode import Encoder, encode_shard, read_shard_stats
from corpusmill.workflows.runner import FN_API_RUNNER  # also applies workflows/beam_fixes


class EncodeShardFn(beam.DoFn):
    """(index, corpus path) -> writes the token shard, yields its path."""

    def __init__(self, model_path: str, out_dir: str, count: int, pack: int | None, seed: int,
                 batch_docs: int, num_threads: int) -> None:
        self.model_path = model_path
        self.out_dir = out_dir
        self.count = count
        self.pack = pack
        self.seed = seed
        self.batch_docs = batch_docs
        self.num_threads = num_threads
        self.encoder: Encoder | None = None
        self.documents = beam.metrics.Metrics.counter("tokenize", "documents")
        self.tokens = beam.metrics.Metrics.counter("tokenize", "tokens")

    def setup(self) -> None:
        self.encoder = Encoder(self.model_path, num_threads=self.num_threads)

    def process(self, element: tuple[int, str]) -> Iterator[str]:
        index, path = element
        assert self.encoder is not None
        out_path = outputs.join(self.out_dir, shard_name(index, self.count))
        stats = encode_shard(path, out_path, self.encoder, pack=self.pack, seed=self.seed,
                             shard_index=index, batch_docs=self.batch_docs)
        self.documents.inc(stats["documents"])
        self.tokens.inc(stats["tokens"])
        yield out_path


class EncodeShards(beam.PTransform):
    """PCollection of (index, corpus shard path) -> PCollection of written token shard paths."""

    def __init__(self, model_path: str, out_dir: str, count: int, *, pack: int | None = None, seed: int = 0,
                 batch_docs: int = 256, num_threads: int = 1) -> None:
        super().__init__()
        self.fn = EncodeShardFn(model_path, out_dir, count, pack, seed, batch_docs, num_threads)

    def expand(self, pcoll: beam.PCollection) -> beam.PCollection:
        return pcoll | "SpreadShards" >> beam.Reshuffle() | "EncodeShard" >> beam.ParDo(self.fn)


def _merge(into: dict[str, dict[str, int]], part: dict[str, dict[str, int]]) -> None:
    for key, vals in part.items():
        tgt = into.setdefault(key, {})
        for k, v in vals.items():
            tgt[k] = tgt.get(k, 0) + v


def summarize(paths: list[str]) -> dict[str, Any]:
    """Totals over token shards, from their footers."""
    out: dict[str, Any] = {"files": len(paths), "documents": 0, "tokens": 0, "chars": 0, "by_source": {}, "by_language": {}}
    for p in paths:
        s = read_shard_stats(p)
        for k in ("documents", "tokens", "chars", "sequences", "eos_tokens"):
            if k in s:
                out[k] = out.get(k, 0) + s[k]
        _merge(out["by_source"], s.get("by_source", {}))
        _merge(out["by_language"], s.get("by_language", {}))
    return out


def encode_corpus(
    corpus_files: list[str],
    model_path: str,
    out_dir: str,
    *,
    pipeline_options: PipelineOptions | None = None,
    pack: int | None = None,
    seed: int = 0,
    batch_docs: int = 256,
    num_threads: int = 1,
) -> dict[str, Any]:
    """Encode `corpus_files` into token shards in `out_dir`; return totals for the manifest
    (documents, tokens, chars, sequences when packed, per source and per language, dtype,
    seconds). Runs on `pipeline_options`' runner; an unset runner becomes FnApiRunner (the
    DirectRunner default would try to download Prism)."""
    files = sorted(corpus_files)
    outputs.make_dirs(out_dir)
    for stale in outputs.list_dir(out_dir):
        if outputs.is_shard_name(stale):
            outputs.remove(outputs.join(out_dir, stale))
    options = pipeline_options or PipelineOptions()
    std = options.view_as(StandardOptions)
    if std.runner in (None, "DirectRunner"):
        std.runner = FN_API_RUNNER  # by path: Beam 2.62 has no short name for it
    t0 = time.perf_counter()
    with beam.Pipeline(options=options) as p:
        _ = (
            p
            | "ListShards" >> beam.Create(list(enumerate(files)))
            | "EncodeShards" >> EncodeShards(model_path, out_dir, len(files), pack=pack, seed=seed,
                                             batch_docs=batch_docs, num_threads=num_threads)
        )
    seconds = time.perf_counter() - t0
    paths = [outputs.join(out_dir, shard_name(i, len(files))) for i in range(len(files))]
    missing = [p for p in paths if not outputs.exists(p)]
    if missing:
        raise RuntimeError(f"token shards missing after the pipeline: {missing}")
    summary = summarize(paths)
    vocab = Encoder(model_path).vocab_size
    summary.update(
        {
            "out_dir": out_dir,
            "input_ids_type": "uint16" if vocab <= 65_536 else "int32",
            "vocab_size": vocab,
            "packed_seq_len": pack,
            "seed": seed,
            "seconds": round(seconds, 3),
        }
    )
    return summary


__all__ = ["EncodeShardFn", "EncodeShards", "encode_corpus", "shard_name", "summarize"]
