"""Encode corpus shards into token shards (plain Python; `tokenizer.shards` runs it in Beam).

One corpus shard -> one token shard, streamed by record batch, written to a temporary file and
renamed when complete. Two layouts (Arrow schemas in schemas/tokens.py):

- documents (default): one row per document, in corpus order: `id`, `source`, `language`,
  `input_ids` (list<uint16> when the vocabulary has <= 65,536 pieces, else list<int32>),
  `num_tokens`. Empty documents keep a row with no tokens.
- packed (`pack=seq_len`): every document's tokens followed by the end-of-text id, joined in
  corpus order and cut into rows of `seq_len` tokens; rows are then permuted with a seeded
  generator (seed, shard index). Columns `id` ("<shard>#seq=<k>", k = position before the
  shuffle), `input_ids`, `num_tokens`, `doc_ids` (documents with tokens in the row). The last
  row of a shard is shorter than `seq_len` (never padded, never dropped). Memory: the token
  ids of one shard (2 bytes per token for uint16).

Per-shard totals (documents, tokens, by source and language) go into the Parquet footer's
key-value metadata under `corpusmill.tokens`, so totals can be summed from the files alone.
"""

from __future__ import annotations

import itertools
import json
import os
import tempfile
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import sentencepiece as spm
from numpy.typing import NDArray

from corpusmill.schemas import outputs
from corpusmill.schemas.tokens import document_token_schema, id_type, packed_token_schema
from corpusmill.tokenizer.sample import UNKNOWN_LANGUAGE
from corpusmill.tokenizer.spm_proto import NORMAL, USER_DEFINED, read_model

STATS_KEY = b"corpusmill.tokens"
MAX_CHUNK_CHARS = 100_000  # a longer document is encoded in pieces cut before a newline


class Encoder:
    """A SentencePiece model loaded once, encoding batches of documents exactly as
    `SentencePieceProcessor.encode(text)` does on each whole document.

    Documents longer than `max_chunk_chars` are cut right before a newline and the pieces
    encoded separately (bounding the Unigram lattice's memory). This is exact only when no
    piece contains a newline and normalization leaves newlines alone (`identity`, no
    whitespace removal): then every segmentation has a boundary before each newline (for
    Unigram, up to SentencePiece's float32 near ties, see `tokenizer.hf`). Each
    later piece gets SentencePiece's dummy-prefix `▁`, whose tokens (everything before the
    first newline token) are dropped. For other models documents are encoded whole."""

    def __init__(self, model_path: str, *, num_threads: int = 1, max_chunk_chars: int = MAX_CHUNK_CHARS) -> None:
        self.sp = spm.SentencePieceProcessor(model_proto=outputs.read_bytes(model_path))
        self.vocab_size = self.sp.get_piece_size()
        self.eos_id = self.sp.eos_id()
        self.num_threads = num_threads
        self.max_chunk_chars = max_chunk_chars
        self.dtype = np.uint16 if self.vocab_size <= 65_536 else np.int32
        model = read_model(model_path)
        newline_in_piece = any("\n" in p.piece for p in model.pieces if p.type in (NORMAL, USER_DEFINED))
        nl = self.sp.encode("\n")
        self.newline_id = nl[-1] if nl else -1
        self.can_chunk = (
            model.normalizer_name == "identity"
            and not model.remove_extra_whitespaces
            and not newline_in_piece
            and len(self.sp.encode("\n\n")) == len(nl) + 1  # "\n" is one token of its own
        )

    def _chunks(self, text: str) -> list[str]:
        if len(text) <= self.max_chunk_chars or not self.can_chunk:
            return [text]
        out: list[str] = []
        start = 0
        while len(text) - start > self.max_chunk_chars:
            cut = text.rfind("\n", start + 1, start + self.max_chunk_chars)
            if cut <= start:
                cut = text.find("\n", start + self.max_chunk_chars)
                if cut < 0:
                    break
            out.append(text[start:cut])
            start = cut
        out.append(text[start:])
        return out

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text (no BOS/EOS)."""
        pieces: list[str] = []
        owners: list[int] = []
        for i, t in enumerate(texts):
            for c in self._chunks(t):
                pieces.append(c)
                owners.append(i)
        encoded = self.sp.encode(pieces, num_threads=self.num_threads)
        if len(pieces) == len(texts):
            return encoded
        out: list[list[int]] = [[] for _ in texts]
        for k, (owner, ids) in enumerate(zip(owners, encoded)):
            if k > 0 and owners[k - 1] == owner:  # a continuation piece: drop its dummy prefix
                ids = ids[ids.index(self.newline_id) :]
            out[owner].extend(ids)
        return out

    def to_arrow(self, lists: list[list[int]]) -> tuple[pa.Array, np.ndarray]:
        """A ListArray of token ids and the per-row lengths."""
        lengths = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
        offsets = np.zeros(len(lists) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        values = np.fromiter(itertools.chain.from_iterable(lists), dtype=self.dtype, count=int(offsets[-1]))
        arr = pa.LargeListArray.from_arrays(pa.array(offsets), pa.array(values)).cast(pa.list_(pa.from_numpy_dtype(self.dtype)))
        return arr, lengths


def _add(stats: dict[str, dict[str, int]], key: str, docs: int, tokens: int, chars: int) -> None:
    s = stats.setdefault(key, {"documents": 0, "tokens": 0, "chars": 0})
    s["documents"] += docs
    s["tokens"] += tokens
    s["chars"] += chars


def encode_shard(
    corpus_path: str,
    out_path: str,
    encoder: Encoder,
    *,
    pack: int | None = None,
    seed: int = 0,
    shard_index: int = 0,
    batch_docs: int = 256,
) -> dict[str, Any]:
    """Encode one corpus shard into `out_path` (see module docstring); returns its totals."""
    pf = outputs.parquet_file(corpus_path)
    cols = [c for c in ("id", "text", "source", "language") if c in pf.schema_arrow.names]
    stats: dict[str, Any] = {"documents": 0, "tokens": 0, "chars": 0, "by_source": {}, "by_language": {}}
    schema = packed_token_schema(encoder.vocab_size) if pack else document_token_schema(encoder.vocab_size)
    with outputs.open_atomically(out_path) as sink:  # appears whole at out_path, or not at all
        _encode_into(sink, pf, cols, schema, encoder, stats, pack, seed, shard_index, batch_docs, out_path)
    return stats


def _encode_into(
    sink: Any, pf: pq.ParquetFile, cols: list[str], schema: pa.Schema, encoder: Encoder, stats: dict[str, Any],
    pack: int | None, seed: int, shard_index: int, batch_docs: int, out_path: str,
) -> None:
    """Encode `pf` batch by batch. Unpacked rows go to an uncompressed Arrow IPC file in a local
    temporary directory first: the shard's totals belong in the Parquet footer, and pyarrow 16
    (the newest Beam 2.62 allows) can only write footer metadata given with the schema, before
    the first row. The IPC file is then memory-mapped and written out batch by batch, so memory
    stays one batch whatever the shard's size."""
    packed_parts: list[NDArray[Any]] = []
    doc_ends: list[int] = []
    doc_ids: list[str] = []
    total = 0
    with tempfile.TemporaryDirectory(prefix="corpusmill-tokens-") as tmp:
        spool = os.path.join(tmp, "rows.arrow")
        writer = None if pack else pa.ipc.new_file(spool, schema)
        try:
            for batch in pf.iter_batches(batch_size=batch_docs, columns=cols):
                data = batch.to_pydict()
                n = batch.num_rows
                texts = [t or "" for t in data["text"]]
                sources = [s or "unknown" for s in data.get("source", [None] * n)]
                languages = data.get("language", [None] * n)
                lists = encoder.encode(texts)
                arr, lengths = encoder.to_arrow(lists)
                for src, lang, text, k in zip(sources, languages, texts, lengths.tolist()):
                    _add(stats["by_source"], src, 1, k, len(text))
                    _add(stats["by_language"], lang or UNKNOWN_LANGUAGE, 1, k, len(text))
                    stats["chars"] += len(text)
                stats["documents"] += n
                stats["tokens"] += int(lengths.sum())
                if writer is not None:
                    writer.write_batch(
                        pa.record_batch(
                            [pa.array(data["id"]), pa.array(sources), pa.array(languages, pa.string()), arr,
                             pa.array(lengths.astype(np.int32))],
                            schema=schema,
                        )
                    )
                else:
                    for doc_id, ids in zip(data["id"], lists):
                        row = np.empty(len(ids) + 1, dtype=encoder.dtype)
                        row[:-1] = ids
                        row[-1] = encoder.eos_id
                        packed_parts.append(row)
                        total += len(row)
                        doc_ends.append(total)
                        doc_ids.append(doc_id)
        finally:
            if writer is not None:
                writer.close()
        if pack:
            stats["eos_tokens"] = len(doc_ids)
            stats["sequences"] = -(-total // pack)
            _write_packed(sink, schema, packed_parts, doc_ends, doc_ids, pack, seed, shard_index, out_path, encoder, stats)
            return
        with pa.memory_map(spool) as source, pq.ParquetWriter(
            sink, with_stats(schema, stats), compression="zstd", use_dictionary=["id", "source", "language"],
            write_statistics=["id", "source", "language", "num_tokens"],
        ) as out:
            rows = pa.ipc.open_file(source)
            for i in range(rows.num_record_batches):
                out.write_batch(rows.get_batch(i))


def with_stats(schema: pa.Schema, stats: dict[str, Any]) -> pa.Schema:
    """`schema` carrying the shard's totals; Parquet writes schema metadata into its footer."""
    return schema.with_metadata({**(schema.metadata or {}), STATS_KEY: json.dumps(stats, sort_keys=True).encode()})


def _write_packed(
    sink: Any,
    schema: pa.Schema,
    parts: list[np.ndarray],
    doc_ends: list[int],
    doc_ids: list[str],
    seq_len: int,
    seed: int,
    shard_index: int,
    out_path: str,
    encoder: Encoder,
    stats: dict[str, Any],
) -> None:
    stream = np.concatenate(parts) if parts else np.zeros(0, dtype=encoder.dtype)
    n_rows = -(-len(stream) // seq_len)
    order = np.random.default_rng([seed, shard_index]).permutation(n_rows)
    ends = np.asarray(doc_ends, dtype=np.int64)
    stem = outputs.basename(out_path).removesuffix(".parquet")
    starts = order * seq_len
    stops = np.minimum(starts + seq_len, len(stream))
    offsets = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(stops - starts, out=offsets[1:])
    values = np.concatenate([stream[a:b] for a, b in zip(starts, stops)]) if n_rows else stream
    # documents overlapping [start, stop): first with end > start .. first with end >= stop
    first = np.searchsorted(ends, starts, side="right")
    last = np.searchsorted(ends, stops, side="left")
    row_docs = [doc_ids[f : min(l_ + 1, len(doc_ids))] for f, l_ in zip(first.tolist(), last.tolist())]
    table = pa.table(
        {
            "id": pa.array([f"{stem}#seq={k}" for k in order.tolist()]),
            "input_ids": pa.LargeListArray.from_arrays(pa.array(offsets), pa.array(values)).cast(schema.field("input_ids").type),
            "num_tokens": pa.array((stops - starts).astype(np.int32)),
            "doc_ids": pa.array(row_docs, pa.list_(pa.string())),
        },
        schema=schema,
    )
    with pq.ParquetWriter(sink, with_stats(schema, stats), compression="zstd", use_dictionary=["id"],
                          write_statistics=["id", "num_tokens"]) as w:
        w.write_table(table, row_group_size=max(1, (1 << 20) // seq_len))


def read_shard_stats(path: str) -> dict[str, Any]:
    meta = outputs.parquet_file(path).metadata.metadata or {}
    return json.loads(meta.get(STATS_KEY, b"{}"))


__all__ = [
    "Encoder",
    "MAX_CHUNK_CHARS",
    "STATS_KEY",
    "document_token_schema",
    "encode_shard",
    "id_type",
    "packed_token_schema",
    "read_shard_stats",
    "with_stats",
]
