"""Training mixtures: per-source (or per-group) weights and epochs -> mixed training token shards.

Input: the document token shards `tokens/part-*.parquet` (one row per document with `source`,
`language`, `num_tokens`, `input_ids`; see tokenizer/encode.py). Packed token shards cannot be
mixed (their rows do not say which source a token came from): mix from the document layout and
let the mixture pack (`seq_len`).

What a mixture is (`Mixture`, the `mixture:` section of a workflow):

- Documents are grouped into *components* by `by` (`source`, `language` or `source/language`);
  `groups` pools several of those keys under one component name. Keys that no component names
  are left out of the mixture (listed under `excluded` in mixture.json).
- Each component has a `weight` (its share of the mixture's tokens; weights are normalised) or
  a `tokens` target, and `epochs`: the most passes over its documents the mixture may make
  (1 = no upsampling, 3 = each document up to three times, 0.5 = at most half of it).
- `total_tokens` sets the mixture's size for weights. Left out, the mixture is the largest one
  that honours every weight within every component's `epochs` (at least one component, named
  `limited_by`, is then used for exactly its `epochs`; the others are subsampled).
- A component too small for its target within its `epochs` is a *shortfall*: by default an
  error (`MixtureError`) that names the component, its tokens, what it would need and the
  `epochs` that would be enough; with `on_shortfall: warn` it is used for its full `epochs`,
  a warning is logged and recorded, and its realised share is below the requested one.
  A component is never silently under-weighted.

How documents are chosen (`plan_mixture`, then `select_documents`): a component with target T
tokens and A available gets floor(T / A) full passes over its documents plus a partial pass.
Each pass visits the documents in its own seeded order (`doc_rank(seed, pass/component/id)`,
independent of file order); the partial pass takes the prefix of its order whose token count
is closest to the remainder. So a component's realised tokens differ from its target by at most
half of one document; when that is more than `tolerance` allows (a few very long documents) the
deviation is reported with its reason. `cut_documents: true` instead ends the partial pass with
the first tokens of one more document (id `<id>#prefix=<n>`), so every component hits its
target to the token.

Order of the mixed stream (`interleave`): each occurrence of a document gets the position
(tokens of its component before it + half its own) / (its component's tokens) in [0, 1];
occurrences are merged by that position. So every prefix of the stream holds each component's
share of tokens to within about one document per component ("stratified by weight").

Output, all under `tokens/mixture/` (written to a temporary directory that replaces the
previous one only when complete; file names as the other token shards):

- `part-<i>-of-<n>.parquet`: the mixed stream cut into `shards` files at document boundaries,
  in stream order. Without `seq_len`: one row per occurrence, the document layout of
  `schemas.tokens.document_token_schema` (an upsampled document appears once per pass). With
  `seq_len`: every occurrence's tokens plus the end-of-text id, joined in stream order and cut
  into rows of `seq_len` (`schemas.tokens.packed_token_schema`; `id` = "<shard>#seq=<k>", k
  the row's position in the shard; rows are not permuted, the stream is already mixed; only
  the very last row of the mixture may be shorter).
- `sources/<component>/part-*.parquet`: each component's chosen documents once (the union of
  its passes), in its first pass order, same layout: what loaders that blend at load time read.
- `blend.txt`: the Megatron-LM `--data-path` blend, `weight prefix weight prefix ...`, one
  prefix per file of `sources/` (the path without `.parquet`, relative to `tokens/mixture/`),
  weights = the component's realised token share split over its files by tokens (sum 1).
- `interleave.json`: for `datasets.interleave_datasets`: per component the probability
  (its share of the mixture's rows, so rows are drawn at the rate the mixture uses them) and its
  data files; `stopping_strategy: all_exhausted` upsamples the components with epochs > 1.
- `mixture.json`: the plan and what was realised per component (tokens, documents, epochs,
  requested and realised share, deviation), the check against `tolerance`, warnings, and the
  files with sha256. `write_mixture` returns the same dict (for the manifest and the report).

Shares are measured in document tokens (`num_tokens`); the end-of-text ids added by packing
are counted separately (`eos_tokens`). Memory: the id, source and language of every input
document and a few integers per occurrence; token ids are staged in a scratch file and gathered
from a memory map one output file at a time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import shutil
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, model_validator

from corpusmill.tokenizer.encode import with_stats
from corpusmill.tokenizer.sample import doc_rank, group_of

log = logging.getLogger("corpusmill")

MIXTURE_DIR = "mixture"
EPOCH_SLACK = 1e-9  # float slack when comparing needed and allowed epochs


class MixtureError(ValueError):
    """A mixture that cannot be realised as configured (message names the component and the fix)."""


class Component(BaseModel):
    """One component of a mixture: a `weight` (share of tokens, normalised over components) or a
    `tokens` target, and `epochs`, the most passes over its documents (1 = no upsampling)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    weight: float | None = Field(None, gt=0)
    tokens: int | None = Field(None, gt=0)
    epochs: float = Field(1.0, gt=0)

    @model_validator(mode="after")
    def _one_target(self) -> Component:
        if (self.weight is None) == (self.tokens is None):
            raise ValueError("a mixture component takes exactly one of `weight` and `tokens`")
        return self


class Mixture(BaseModel):
    """The `mixture:` section of a workflow (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    by: Literal["source", "language", "source_language"] = "source"
    groups: dict[str, list[str]] = Field(default_factory=dict)  # component -> keys it pools
    components: dict[str, Component] = Field(min_length=1)
    total_tokens: int | None = Field(None, gt=0)
    seed: int = 0
    seq_len: int | None = Field(None, gt=1)  # pack the mixed stream into rows of this length
    shards: int | None = Field(None, ge=1, le=100_000)  # default: as many as the input token shards
    tolerance: float = Field(0.01, gt=0, lt=1)  # allowed |realised - requested| share of tokens
    on_shortfall: Literal["error", "warn"] = "error"
    cut_documents: bool = False  # cut one document per component to hit its target token-exact

    @model_validator(mode="after")
    def _consistent(self) -> Mixture:
        kinds = {"weight" if c.weight is not None else "tokens" for c in self.components.values()}
        if len(kinds) > 1:
            raise ValueError("mixture components take either all `weight` or all `tokens`, not both")
        if "tokens" in kinds and self.total_tokens is not None:
            raise ValueError("`total_tokens` goes with `weight`s; with `tokens` the total is their sum")
        unknown = sorted(set(self.groups) - set(self.components))
        if unknown:
            raise ValueError(f"groups {unknown} are not mixture components")
        seen: dict[str, str] = {}
        for name in sorted(self.components):
            for key in self.groups.get(name, [name]):
                if key in seen:
                    raise ValueError(f"{key!r} is in two mixture components: {seen[key]!r} and {name!r}")
                seen[key] = name
        safe = [safe_name(n) for n in self.components]
        if len(set(safe)) != len(safe):
            raise ValueError(f"component names must stay distinct as file names: {sorted(self.components)}")
        return self

    @property
    def uses_weights(self) -> bool:
        return next(iter(self.components.values())).weight is not None

    def component_of(self) -> dict[str, str]:
        """key (source, language or source/language) -> component name."""
        return {key: name for name in self.components for key in self.groups.get(name, [name])}


def safe_name(name: str) -> str:
    """A component name as a folder name (`web/en` -> `web_en`)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) or "_"


def check_tokenizer(tokenizer: Any) -> str | None:
    """Why a workflow's tokenizer settings cannot feed a mixture (None when they can): the
    mixture reads the document token shards."""
    if tokenizer is None or not tokenizer.enabled:
        return "mixture needs a tokenizer (the `tokenizer:` section) to write token shards"
    if not tokenizer.shards.enabled:
        return "mixture needs token shards (tokenizer.shards.enabled)"
    if tokenizer.shards.pack is not None:
        return "mixture mixes document token shards: drop tokenizer.shards.pack and set mixture.seq_len to pack"
    return None


# ---------------------------------------------------------------------------------------------
# planning (pure)


@dataclass(frozen=True)
class ComponentPlan:
    name: str
    available_tokens: int
    available_documents: int
    requested_share: float  # normalised weight, or tokens / sum of tokens
    target_tokens: int  # after a shortfall in `warn` mode: what its `epochs` allow
    max_epochs: float
    shortfall: bool

    @property
    def epochs(self) -> float:
        return self.target_tokens / self.available_tokens if self.available_tokens else 0.0


@dataclass(frozen=True)
class MixturePlan:
    components: tuple[ComponentPlan, ...]
    requested_total: int
    limited_by: str | None  # the component whose `epochs` set the size (no total_tokens given)
    warnings: tuple[str, ...]


def plan_mixture(mixture: Mixture, available: Mapping[str, tuple[int, int]]) -> MixturePlan:
    """Target tokens per component from its available (documents, tokens).

    Raises MixtureError for a component with no tokens, or (with `on_shortfall: error`) one
    that would need more passes than its `epochs` allow."""
    names = sorted(mixture.components)
    empty = [n for n in names if available.get(n, (0, 0))[1] == 0]
    if empty:
        present = sorted(k for k, v in available.items() if v[1] > 0)
        raise MixtureError(f"mixture components {empty} have no tokens in the token shards (components with tokens: {present})")
    docs = {n: available[n][0] for n in names}
    toks = {n: available[n][1] for n in names}
    cfg = mixture.components
    limited_by = None
    if mixture.uses_weights:
        weight_sum = sum(cfg[n].weight or 0.0 for n in names)
        share = {n: (cfg[n].weight or 0.0) / weight_sum for n in names}
        if mixture.total_tokens is not None:
            total = mixture.total_tokens
        else:  # the largest total that every component can supply within its epochs
            room = {n: toks[n] * cfg[n].epochs / share[n] for n in names}
            limited_by = min(names, key=lambda n: (room[n], n))
            total = int(math.floor(room[limited_by] * (1 + EPOCH_SLACK)))
        wanted = {n: share[n] * total for n in names}
    else:
        wanted = {n: float(cfg[n].tokens or 0) for n in names}
        total = int(sum(wanted.values()))
        share = {n: wanted[n] / total for n in names}
    plans = []
    short: list[str] = []
    for n in names:
        allowed = toks[n] * cfg[n].epochs
        need = wanted[n]
        is_short = need > allowed * (1 + EPOCH_SLACK)
        if is_short:
            short.append(
                f"component {n!r} has {toks[n]:,} tokens; its share {share[n]:.4f} of {total:,} tokens needs "
                f"{int(round(need)):,} = {need / toks[n]:.3f} epochs > epochs {cfg[n].epochs:g}: set "
                f"mixture.components.{n}.epochs >= {math.ceil(need / toks[n] * 1000) / 1000:g}, or lower its "
                f"weight or the total"
            )
        target = int(round(min(need, allowed) if is_short else need))
        plans.append(ComponentPlan(n, toks[n], docs[n], share[n], target, cfg[n].epochs, is_short))
    if short and mixture.on_shortfall == "error":
        raise MixtureError("mixture cannot be realised: " + "; ".join(short))
    warnings = tuple(f"{s} (on_shortfall: warn: used for its full epochs, so under-weighted)" for s in short)
    for w in warnings:
        log.warning("mixture: %s", w)
    return MixturePlan(tuple(plans), total, limited_by, warnings)


def pass_order(seed: int, component: str, pass_index: int, ids: Sequence[str]) -> np.ndarray:
    """The seeded visiting order of a component's documents in one pass (by rank, then id:
    independent of file order and sharding)."""
    ranks = np.fromiter((doc_rank(seed, f"{component}\x00{pass_index}\x00{i}") for i in ids), dtype=np.uint64, count=len(ids))
    return np.lexsort((np.asarray(ids, dtype=object).argsort(kind="stable").argsort(), ranks))


def select_documents(
    seed: int, name: str, ids: Sequence[str], tokens: np.ndarray, target: int, *, cut: bool = False
) -> tuple[list[np.ndarray], tuple[int, int] | None]:
    """Indices (into `ids`) of the documents of each pass: floor(target / available) full passes,
    then the prefix of the next pass's order whose tokens are closest to what remains. With
    `cut`, the prefix stops short of the remainder and the next document is cut to fill it:
    returned as (its index, tokens to take), else None."""
    available = int(tokens.sum())
    full = target // available if available else 0
    passes = [pass_order(seed, name, p, ids) for p in range(full)]
    remainder = target - full * available
    prefix = None
    if remainder > 0:
        order = pass_order(seed, name, full, ids)
        cum = np.cumsum(tokens[order])
        k = int(np.searchsorted(cum, remainder))  # order[: k + 1] is the shortest prefix reaching it
        before = int(cum[k - 1]) if k > 0 else 0
        if cut and before < remainder < int(cum[k]):
            passes.append(order[:k])
            prefix = (int(order[k]), remainder - before)
        else:
            passes.append(order[: k if remainder - before <= int(cum[k]) - remainder else k + 1])
    return passes, prefix


def interleave(lengths: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Merge components' occurrence sequences (token lengths, in their order) into one stream.

    Returns (component index, position within its component) per stream item. Each item's key
    is (tokens before it in its component + half its own) / its component's tokens; items are
    merged by key (ties by component index), so any prefix holds each component's share of
    tokens to within about one item per component."""
    keys, comp, pos = [], [], []
    for c, lens in enumerate(lengths):
        lens = np.asarray(lens, dtype=np.float64)
        total = lens.sum() or 1.0
        keys.append((np.cumsum(lens) - lens / 2) / total)
        comp.append(np.full(len(lens), c, dtype=np.int64))
        pos.append(np.arange(len(lens), dtype=np.int64))
    if not keys:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    k, c, p = np.concatenate(keys), np.concatenate(comp), np.concatenate(pos)
    order = np.lexsort((p, c, k))
    return c[order], p[order]


# ---------------------------------------------------------------------------------------------
# reading and writing


@dataclass
class _Documents:
    """Every input document: its key columns, token counts and where its ids sit in the scratch file."""

    ids: list[str]
    sources: list[str]
    languages: list[str | None]
    tokens: np.ndarray  # int64 per document
    starts: np.ndarray  # int64: where its token ids start in the scratch token file
    ids_type: pa.DataType
    input_files: list[str]

    def tokens_of(self, values: np.ndarray, d: int) -> np.ndarray:
        return values[self.starts[d] : self.starts[d] + self.tokens[d]]

    def add_prefix(self, d: int, n: int) -> int:
        """A new entry for the first `n` tokens of document `d` (id `<id>#prefix=<n>`); its index."""
        self.ids.append(f"{self.ids[d]}#prefix={n}")
        self.sources.append(self.sources[d])
        self.languages.append(self.languages[d])
        self.tokens = np.append(self.tokens, np.int64(n))
        self.starts = np.append(self.starts, self.starts[d])
        return len(self.ids) - 1


def _read_documents(token_files: Sequence[str], scratch: str) -> _Documents:
    ids: list[str] = []
    sources: list[str] = []
    languages: list[str | None] = []
    counts: list[np.ndarray] = []
    ids_type: pa.DataType | None = None
    with open(scratch, "wb") as out:
        for path in token_files:
            pf = pq.ParquetFile(path)
            names = pf.schema_arrow.names
            if "source" not in names or "doc_ids" in names:
                raise MixtureError(f"{path}: packed token shards cannot be mixed (no source per token); "
                                   "mix document token shards and set mixture.seq_len to pack")
            value_type = pf.schema_arrow.field("input_ids").type.value_type
            if ids_type is not None and value_type != ids_type:
                raise MixtureError(f"{path}: token ids are {value_type}, other shards {ids_type}")
            ids_type = value_type
            for batch in pf.iter_batches(batch_size=4096, columns=["id", "source", "language", "input_ids", "num_tokens"]):
                ids += batch.column("id").to_pylist()
                sources += batch.column("source").to_pylist()
                languages += batch.column("language").to_pylist()
                lists = batch.column("input_ids")
                values = lists.flatten().to_numpy(zero_copy_only=False)
                n = np.asarray(batch.column("num_tokens").to_numpy(zero_copy_only=False), dtype=np.int64)
                if int(n.sum()) != len(values):
                    raise MixtureError(f"{path}: num_tokens does not match input_ids")
                out.write(values.tobytes())
                counts.append(n)
    tokens = np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64)
    starts = np.zeros(len(tokens), dtype=np.int64)
    if len(tokens) > 1:
        np.cumsum(tokens[:-1], out=starts[1:])
    return _Documents(ids, sources, languages, tokens, starts, ids_type or pa.uint16(), [os.path.basename(p) for p in token_files])


def _gather(values: np.ndarray, docs: _Documents, doc_index: np.ndarray) -> np.ndarray:
    if not len(doc_index):
        return values[:0]
    return np.concatenate([docs.tokens_of(values, d) for d in doc_index.tolist()])


def _write_parquet(path: str, table: pa.Table, stats: dict[str, Any], seq_len: int | None) -> None:
    tmp = path + ".tmp"
    if seq_len:
        kwargs: dict[str, Any] = {"use_dictionary": ["id"], "write_statistics": ["id", "num_tokens"]}
    else:
        kwargs = {"use_dictionary": ["id", "source", "language"], "write_statistics": ["id", "source", "language", "num_tokens"]}
    with pq.ParquetWriter(tmp, with_stats(table.schema, stats), compression="zstd", **kwargs) as w:
        w.write_table(table, row_group_size=max(1, (1 << 20) // seq_len) if seq_len else 1024)
    os.replace(tmp, path)


def _list_array(values: np.ndarray, lengths: np.ndarray, ids_type: pa.DataType) -> pa.Array:
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return pa.LargeListArray.from_arrays(pa.array(offsets), pa.array(values, type=ids_type)).cast(pa.list_(ids_type))


def _document_table(docs: _Documents, values: np.ndarray, index: np.ndarray) -> pa.Table:
    lengths = docs.tokens[index]
    return pa.table(
        {
            "id": pa.array([docs.ids[i] for i in index.tolist()], pa.string()),
            "source": pa.array([docs.sources[i] for i in index.tolist()], pa.string()),
            "language": pa.array([docs.languages[i] for i in index.tolist()], pa.string()),
            "input_ids": _list_array(_gather(values, docs, index), lengths, docs.ids_type),
            "num_tokens": pa.array(lengths.astype(np.int32)),
        },
        schema=_document_schema(docs.ids_type),
    )


def _document_schema(ids_type: pa.DataType) -> pa.Schema:
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("source", pa.string(), nullable=False),
            pa.field("language", pa.string()),
            pa.field("input_ids", pa.list_(ids_type), nullable=False),
            pa.field("num_tokens", pa.int32(), nullable=False),
        ]
    )


def _packed_schema(ids_type: pa.DataType) -> pa.Schema:
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("input_ids", pa.list_(ids_type), nullable=False),
            pa.field("num_tokens", pa.int32(), nullable=False),
            pa.field("doc_ids", pa.list_(pa.string()), nullable=False),
        ]
    )


class _PackedStream:
    """Occurrences in order -> tokens + EOS, cut into rows of seq_len; gives row ranges on demand."""

    def __init__(self, docs: _Documents, values: np.ndarray, index: np.ndarray, seq_len: int, eos_id: int) -> None:
        self.docs, self.values, self.index = docs, values, index
        self.seq_len, self.eos_id = seq_len, eos_id
        lengths = docs.tokens[index] + 1
        self.ends = np.cumsum(lengths)  # end (exclusive) of each occurrence in the stream
        self.total = int(self.ends[-1]) if len(self.ends) else 0
        self.rows = -(-self.total // seq_len)

    def table(self, first_row: int, stop_row: int, stem: str) -> pa.Table:
        a, b = first_row * self.seq_len, min(stop_row * self.seq_len, self.total)
        first = int(np.searchsorted(self.ends, a, side="right"))
        last = int(np.searchsorted(self.ends, b, side="left"))  # occurrence holding token b - 1
        occ = self.index[first : last + 1]
        parts = []
        for d in occ.tolist():
            parts.append(self.docs.tokens_of(self.values, d))
            parts.append(np.asarray([self.eos_id], dtype=self.values.dtype))
        stream = np.concatenate(parts) if parts else self.values[:0]
        base = int(self.ends[first - 1]) if first > 0 else 0
        chunk = stream[a - base : b - base]
        starts = np.arange(a, b, self.seq_len, dtype=np.int64)
        stops = np.minimum(starts + self.seq_len, b)
        ends = self.ends[first : last + 1]
        lo = np.searchsorted(ends, starts, side="right")
        hi = np.searchsorted(ends, stops, side="left")
        occ_ids = [self.docs.ids[d] for d in occ.tolist()]
        row_docs = [occ_ids[x : min(y + 1, len(occ_ids))] for x, y in zip(lo.tolist(), hi.tolist())]
        return pa.table(
            {
                "id": pa.array([f"{stem}#seq={k}" for k in range(len(starts))], pa.string()),
                "input_ids": _list_array(chunk, stops - starts, self.docs.ids_type),
                "num_tokens": pa.array((stops - starts).astype(np.int32)),
                "doc_ids": pa.array(row_docs, pa.list_(pa.string())),
            },
            schema=_packed_schema(self.docs.ids_type),
        )

    def occurrences_in(self, first_row: int, stop_row: int) -> np.ndarray:
        """Occurrences whose EOS falls in these rows (each counted in exactly one file)."""
        a, b = first_row * self.seq_len, min(stop_row * self.seq_len, self.total)
        lo = int(np.searchsorted(self.ends, a, side="right"))
        hi = int(np.searchsorted(self.ends, b, side="right"))
        return self.index[lo:hi]


MEGATRON_HEADER = b"MMIDIDX\x00\x00"
MEGATRON_DTYPES = {np.dtype(np.uint16): 8, np.dtype(np.int32): 4}  # Megatron's DType codes


def write_megatron_dataset(prefix: str, docs: _Documents, values: np.ndarray, index: np.ndarray, eos_id: int) -> None:
    """`prefix.bin` + `prefix.idx` in Megatron-LM's indexed dataset layout (what its
    preprocess_data.py writes with --append-eod): one sequence per document, its tokens then
    the end-of-text id. .idx: magic, version 1 (u64), dtype code (u8), sequence count (u64),
    document count (u64, = sequences + 1), int32 sequence lengths, int64 byte offsets into .bin,
    int64 document boundaries (0, 1, ..., n). Little-endian."""
    dtype = values.dtype
    lengths = (docs.tokens[index] + 1).astype(np.int32)
    with open(prefix + ".bin.tmp", "wb") as f:
        eos = np.asarray([eos_id], dtype=dtype).tobytes()
        for d in index.tolist():
            f.write(docs.tokens_of(values, d).tobytes())
            f.write(eos)
    pointers = np.zeros(len(lengths), dtype=np.int64)
    if len(lengths) > 1:
        np.cumsum(lengths[:-1].astype(np.int64) * dtype.itemsize, out=pointers[1:])
    doc_index = np.arange(len(lengths) + 1, dtype=np.int64)
    with open(prefix + ".idx.tmp", "wb") as f:
        f.write(MEGATRON_HEADER)
        f.write(struct.pack("<Q", 1))
        f.write(struct.pack("<B", MEGATRON_DTYPES[dtype]))
        f.write(struct.pack("<Q", len(lengths)))
        f.write(struct.pack("<Q", len(doc_index)))
        f.write(lengths.astype("<i4").tobytes())
        f.write(pointers.astype("<i8").tobytes())
        f.write(doc_index.astype("<i8").tobytes())
    os.replace(prefix + ".bin.tmp", prefix + ".bin")
    os.replace(prefix + ".idx.tmp", prefix + ".idx")


def read_megatron_index(path: str) -> dict[str, Any]:
    """The fields of a Megatron `.idx` file (see `write_megatron_dataset`)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:9] != MEGATRON_HEADER:
        raise ValueError(f"{path}: not a Megatron index")
    version, code, sequences, documents = struct.unpack_from("<QBQQ", data, 9)
    at = 9 + struct.calcsize("<QBQQ")
    lengths = np.frombuffer(data, "<i4", sequences, at)
    pointers = np.frombuffer(data, "<i8", sequences, at + 4 * sequences)
    doc_index = np.frombuffer(data, "<i8", documents, at + 12 * sequences)
    dtype = {v: k for k, v in MEGATRON_DTYPES.items()}[code]
    return {"version": version, "dtype": dtype, "lengths": lengths, "pointers": pointers, "doc_index": doc_index}


def shard_name(index: int, count: int) -> str:
    return f"part-{index:05d}-of-{count:05d}.parquet"


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _file_stats(docs: _Documents, occ: np.ndarray, key_of: Mapping[str, str], by: str, extra: dict[str, Any]) -> dict[str, Any]:
    by_source: dict[str, dict[str, int]] = {}
    by_component: dict[str, dict[str, int]] = {}
    for i in occ.tolist():
        t = int(docs.tokens[i])
        for table, key in ((by_source, docs.sources[i]), (by_component, key_of[_key(docs, i, by)])):
            s = table.setdefault(key, {"documents": 0, "tokens": 0})
            s["documents"] += 1
            s["tokens"] += t
    return {"documents": len(occ), "tokens": int(docs.tokens[occ].sum()), "by_source": by_source,
            "by_component": by_component, **extra}


def _key(docs: _Documents, i: int, by: str) -> str:
    return group_of(docs.sources[i], docs.languages[i], by)


def _split_even(weights: np.ndarray, parts: int) -> list[tuple[int, int]]:
    """Cut a sequence into `parts` contiguous ranges of about equal summed weight."""
    cum = np.cumsum(weights)
    total = cum[-1] if len(cum) else 0
    cuts = [0] + [int(np.searchsorted(cum, total * k / parts, side="left")) + 1 for k in range(1, parts)] + [len(weights)]
    cuts = [min(max(c, 0), len(weights)) for c in cuts]
    for k in range(1, len(cuts)):
        cuts[k] = max(cuts[k], cuts[k - 1])
    return [(cuts[k], cuts[k + 1]) for k in range(parts)]


def write_mixture(tokens_dir: str, mixture: Mixture, *, model_path: str | None = None) -> dict[str, Any]:
    """Plan and write the mixture of the document token shards in `tokens_dir` into
    `tokens_dir/mixture/` (see the module docstring); return the content of mixture.json.

    `model_path` (the SentencePiece model) gives the end-of-text id when `seq_len` is set."""
    token_files = sorted(
        os.path.join(tokens_dir, n) for n in os.listdir(tokens_dir) if n.startswith("part-") and n.endswith(".parquet")
    )
    if not token_files:
        raise MixtureError(f"{tokens_dir}: no token shards to mix")
    eos_id = None
    if mixture.seq_len is not None and model_path is None:
        raise MixtureError("mixture.seq_len needs the tokenizer model (for the end-of-text id)")
    if model_path is not None:
        import sentencepiece as spm

        eos_id = spm.SentencePieceProcessor(model_file=model_path).eos_id()
        if eos_id < 0:
            raise MixtureError(f"{model_path}: the tokenizer has no end-of-text piece to separate documents")
    final = os.path.join(tokens_dir, MIXTURE_DIR)
    work = os.path.join(tokens_dir, f".{MIXTURE_DIR}.tmp")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    try:
        summary = _write(work, token_files, mixture, eos_id)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(work, final)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return summary


def _write(work: str, token_files: list[str], mixture: Mixture, eos_id: int | None) -> dict[str, Any]:
    scratch = os.path.join(work, "scratch-tokens.bin")
    docs = _read_documents(token_files, scratch)
    dtype = np.dtype(docs.ids_type.to_pandas_dtype())
    values = np.memmap(scratch, dtype=dtype, mode="r") if os.path.getsize(scratch) else np.zeros(0, dtype=dtype)
    comp_of = mixture.component_of()
    keys = [_key(docs, i, mixture.by) for i in range(len(docs.ids))]
    members: dict[str, list[int]] = {n: [] for n in mixture.components}
    excluded: dict[str, dict[str, int]] = {}
    for i, key in enumerate(keys):
        if key in comp_of:
            members[comp_of[key]].append(i)
        else:
            e = excluded.setdefault(key, {"documents": 0, "tokens": 0})
            e["documents"] += 1
            e["tokens"] += int(docs.tokens[i])
    member_idx = {n: np.asarray(m, dtype=np.int64) for n, m in members.items()}
    available = {n: (len(m), int(docs.tokens[m].sum())) for n, m in member_idx.items()}
    plan = plan_mixture(mixture, available)

    names = [c.name for c in plan.components]
    passes = {}
    for c in plan.components:
        idx = member_idx[c.name]
        local, prefix = select_documents(mixture.seed, c.name, [docs.ids[i] for i in idx.tolist()], docs.tokens[idx],
                                         c.target_tokens, cut=mixture.cut_documents)
        passes[c.name] = [idx[p] for p in local]
        if prefix is not None:
            passes[c.name][-1] = np.append(passes[c.name][-1], docs.add_prefix(int(idx[prefix[0]]), prefix[1]))
    occurrences = [np.concatenate(passes[n]) if passes[n] else np.zeros(0, dtype=np.int64) for n in names]
    comp, pos = interleave([docs.tokens[o] for o in occurrences])
    stream = np.empty(len(comp), dtype=np.int64)
    for c in range(len(names)):
        mask = comp == c
        stream[mask] = occurrences[c][pos[mask]]

    n_files = mixture.shards or len(token_files)
    files: list[dict[str, Any]] = []
    packed = None
    if mixture.seq_len is not None:
        assert eos_id is not None
        packed = _PackedStream(docs, values, stream, mixture.seq_len, eos_id)
        rows_per = _split_even(np.ones(packed.rows), n_files)
        for k, (r0, r1) in enumerate(rows_per):
            name = shard_name(k, n_files)
            table = packed.table(r0, r1, name.removesuffix(".parquet"))
            occ = packed.occurrences_in(r0, r1)
            stats = _file_stats(docs, occ, comp_of, mixture.by, {"sequences": table.num_rows, "eos_tokens": len(occ)})
            _write_parquet(os.path.join(work, name), table, stats, mixture.seq_len)
            files.append({"path": name, "rows": table.num_rows, "tokens": int(pc.sum(table.column("num_tokens")).as_py() or 0)})
    else:
        for k, (a, b) in enumerate(_split_even(docs.tokens[stream].astype(np.float64), n_files)):
            name = shard_name(k, n_files)
            occ = stream[a:b]
            table = _document_table(docs, values, occ)
            _write_parquet(os.path.join(work, name), table, _file_stats(docs, occ, comp_of, mixture.by, {}), None)
            files.append({"path": name, "rows": table.num_rows, "tokens": int(docs.tokens[occ].sum())})

    # per component: its chosen documents once, for loaders that blend at load time
    total_tokens = int(sum(int(docs.tokens[o].sum()) for o in occurrences))
    total_rows = packed.rows if packed else len(stream)
    per_file_tokens = max(1, total_tokens // n_files)
    components: dict[str, Any] = {}
    blend: list[tuple[float, str]] = []
    interleave_files: dict[str, list[str]] = {}
    rows_of: dict[str, int] = {}
    for c, occ in zip(plan.components, occurrences):
        # the first pass holds every document chosen (all of them when there is a full pass)
        chosen = passes[c.name][0] if passes[c.name] else np.zeros(0, dtype=np.int64)
        unique_tokens = int(docs.tokens[chosen].sum())
        folder = f"sources/{safe_name(c.name)}"
        os.makedirs(os.path.join(work, folder), exist_ok=True)
        count = max(1, math.ceil(unique_tokens / per_file_tokens))
        comp_files = []
        if packed is not None:
            sub = _PackedStream(docs, values, chosen, packed.seq_len, packed.eos_id)
            ranges = _split_even(np.ones(sub.rows), count)
        else:
            ranges = _split_even(docs.tokens[chosen].astype(np.float64), count)
        for k, (a, b) in enumerate(ranges):
            name = shard_name(k, count)
            rel = f"{folder}/{name}"
            if packed is not None:
                table = sub.table(a, b, name.removesuffix(".parquet"))
                part = sub.occurrences_in(a, b)
                stats = _file_stats(docs, part, comp_of, mixture.by, {"sequences": table.num_rows, "eos_tokens": len(part)})
            else:
                part = chosen[a:b]
                table = _document_table(docs, values, part)
                stats = _file_stats(docs, part, comp_of, mixture.by, {})
            _write_parquet(os.path.join(work, rel), table, stats, mixture.seq_len)
            if eos_id is not None:
                write_megatron_dataset(os.path.join(work, rel.removesuffix(".parquet")), docs, values, part, eos_id)
            part_tokens = int(docs.tokens[part].sum())
            comp_files.append({"path": rel, "rows": table.num_rows, "tokens": part_tokens})
        tokens = int(docs.tokens[occ].sum())
        share = tokens / total_tokens if total_tokens else 0.0
        for f in comp_files:
            blend.append((share * f["tokens"] / unique_tokens if unique_tokens else 0.0, f["path"].removesuffix(".parquet")))
        interleave_files[c.name] = [f["path"] for f in comp_files]
        rows_of[c.name] = -(-(tokens + len(occ)) // packed.seq_len) if packed else len(occ)
        components[c.name] = {
            "keys": sorted(k for k, v in comp_of.items() if v == c.name),
            "available_documents": c.available_documents,
            "available_tokens": c.available_tokens,
            "max_epochs": c.max_epochs,
            "requested_share": round(c.requested_share, 6),
            "target_tokens": c.target_tokens,
            "shortfall": c.shortfall,
            "documents": len(occ),
            "unique_documents": len(chosen),
            "tokens": tokens,
            "epochs": round(tokens / c.available_tokens, 6) if c.available_tokens else 0.0,
            "full_passes": c.target_tokens // c.available_tokens,
            "share": round(share, 6),
            "deviation": round(share - c.requested_share, 6),
            "files": comp_files,
        }
    row_total = sum(rows_of.values()) or 1
    probabilities = {n: rows_of[n] / row_total for n in names}

    by_source: dict[str, dict[str, Any]] = {}
    for d in stream.tolist():
        entry = by_source.setdefault(docs.sources[d], {"documents": 0, "tokens": 0})
        entry["documents"] += 1
        entry["tokens"] += int(docs.tokens[d])
    by_source = {k: {**v, "share": round(v["tokens"] / total_tokens, 6) if total_tokens else 0.0} for k, v in sorted(by_source.items())}
    max_dev = max((abs(v["deviation"]) for v in components.values()), default=0.0)
    within = max_dev <= mixture.tolerance
    reasons = list(plan.warnings)
    if not within and not plan.warnings:
        worst = max(components, key=lambda n: abs(components[n]["deviation"]))
        longest = int(docs.tokens[member_idx[worst]].max())
        reasons.append(f"component {worst!r} is off by {components[worst]['deviation']:+.4f} of the tokens: whole documents "
                       f"only, and its longest has {longest:,} tokens of a {total_tokens:,}-token mixture "
                       "(cut_documents: true takes part of one document to hit the target)")
        log.warning("mixture: %s", reasons[-1])

    if eos_id is not None:  # the Megatron datasets exist only with the end-of-text id
        weight_sum = sum(w for w, _ in blend) or 1.0
        with open(os.path.join(work, "blend.txt.tmp"), "w", encoding="utf-8") as f:
            f.write(" ".join(f"{w / weight_sum:.10f} {p}" for w, p in blend) + "\n")
        os.replace(os.path.join(work, "blend.txt.tmp"), os.path.join(work, "blend.txt"))
    hf = {
        "probabilities": probabilities,
        "data_files": interleave_files,
        "stopping_strategy": "all_exhausted",
        "seed": mixture.seed,
        "rows": total_rows,
        "note": "paths are relative to this file's directory; rows are "
                + (f"packed sequences of {mixture.seq_len} tokens" if packed else "documents"),
    }
    _write_json(os.path.join(work, "interleave.json"), hf)
    os.remove(scratch)

    checksums = {
        os.path.relpath(os.path.join(d, n), work): _sha256(os.path.join(d, n))
        for d, _, names in os.walk(work) for n in names
    }
    summary: dict[str, Any] = {
        "config": mixture.model_dump(mode="json"),
        "input_files": docs.input_files,
        "layout": "packed" if packed else "documents",
        "seq_len": mixture.seq_len,
        "requested_tokens": plan.requested_total,
        "tokens": total_tokens,
        "documents": len(stream),
        "rows": total_rows,
        "eos_tokens": len(stream) if packed else 0,
        "limited_by": plan.limited_by,
        "tolerance": mixture.tolerance,
        "max_deviation": round(max_dev, 6),
        "within_tolerance": within,
        "warnings": reasons,
        "components": components,
        "by_source": by_source,
        "excluded": dict(sorted(excluded.items())),
        "files": files,
        "exports": {"megatron_blend": "blend.txt" if eos_id is not None else None, "hf_interleave": "interleave.json"},
        "paths": "relative to tokens/mixture/",
        "sha256": dict(sorted(checksums.items())),
    }
    _write_json(os.path.join(work, "mixture.json"), summary)
    return summary


def _write_json(path: str, data: Any) -> None:
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
        f.write("\n")
    os.replace(path + ".tmp", path)


def report_rows(summary: Mapping[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """(headers, rows) of the mixture table in the run report: one row per component."""
    headers = ["component", "requested share", "realised share", "tokens", "documents", "epochs (max)", "shortfall"]
    rows = []
    for name, c in sorted((summary.get("components") or {}).items()):
        rows.append([name, f"{100 * c['requested_share']:.2f} %", f"{100 * c['share']:.2f} %", c["tokens"], c["documents"],
                     f"{c['epochs']:.3f} ({c['max_epochs']:g})", "yes" if c["shortfall"] else ""])
    return headers, rows


__all__ = [
    "Component",
    "Mixture",
    "MixtureError",
    "MixturePlan",
    "check_tokenizer",
    "interleave",
    "plan_mixture",
    "report_rows",
    "select_documents",
    "write_mixture",
]
