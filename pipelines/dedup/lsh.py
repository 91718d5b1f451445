"""LSH banding, candidate edges and pair verification: the per-batch and per-bucket logic
that `pipelines/transforms/dedup.py` runs between shuffles.

A document's signature record carries its node (survivor.py), its signature (num_perm
uint32, little-endian bytes), its sorted unique shingle hashes when verify="exact", and its
band keys. Documents with no shingles (empty after normalisation) get no band keys: they
are never near-duplicates of anything (identical ones are exact duplicates).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from corpusmill.pipelines.dedup.config import MinHashConfig
from corpusmill.pipelines.dedup.minhash import band_key_bytes, band_keys, estimated_jaccard, exact_jaccard, signatures
from corpusmill.pipelines.dedup.shingles import shingle_hashes, shingle_mode
from corpusmill.pipelines.dedup.survivor import INDEX_TIER, Node, node_of, order
from corpusmill.schemas.document import Document

INDEX_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("primary", pa.float64(), nullable=False),
        pa.field("weight", pa.int64(), nullable=False),
        pa.field("signature", pa.binary(), nullable=False),
        pa.field("shingles", pa.binary()),
        pa.field("params", pa.string(), nullable=False),
    ]
)


@dataclass(frozen=True, slots=True)
class Payload:
    """What verification needs of one document."""

    signature: bytes
    shingles: bytes | None = None


@dataclass(frozen=True, slots=True)
class SigRecord:
    node: Node
    payload: Payload
    keys: tuple[bytes, ...]


def sign_batch(docs: list[Document], config: MinHashConfig) -> list[SigRecord]:
    """Signature records of a batch of documents: shingle hashes per document, then one
    vectorised signature computation and one band-key computation for the whole batch."""
    bands, rows = config.band_rows
    hash_sets = []
    for doc in docs:
        mode = shingle_mode(doc.text, doc.language, doc.script, config.shingle)
        n = config.char_ngram if mode == "char" else config.code_ngram if doc.programming_language else config.ngram
        hash_sets.append(shingle_hashes(doc.text, mode=mode, n=n, norm=config.normalization, hash_name=config.hash))
    sigs = signatures(hash_sets, config.num_perm, config.seed)
    keys = band_keys(sigs, bands, rows)
    out = []
    for doc, hashes, sig, doc_keys in zip(docs, hash_sets, sigs, keys):
        node = node_of(doc, config.survivor, config.quality_signal)
        shingles = np.unique(hashes).astype("<u4").tobytes() if config.verify == "exact" else None
        band = tuple(band_key_bytes(i, k) for i, k in enumerate(doc_keys.tolist())) if hashes.size else ()
        out.append(SigRecord(node, Payload(sig.astype("<u4").tobytes(), shingles), band))
    return out


def keys_of_signature(signature: bytes, config: MinHashConfig) -> tuple[bytes, ...]:
    """Band keys of a stored signature (for index entries)."""
    bands, rows = config.band_rows
    sig = np.frombuffer(signature, dtype="<u4").astype(np.uint32)
    if sig.size != config.num_perm:
        raise ValueError(f"signature has {sig.size} values, config num_perm is {config.num_perm}")
    if bool(np.all(sig == np.uint32(0xFFFFFFFF))):
        return ()
    keys = band_keys(sig[None, :], bands, rows)[0]
    return tuple(band_key_bytes(i, k) for i, k in enumerate(keys.tolist()))


def bucket_star(members: Iterable[Node], max_bucket_size: int | None) -> tuple[list[tuple[Node, Node]], bool]:
    """Candidate edges of one LSH bucket: every member linked to the bucket's smallest node
    (a star: k-1 edges for k members, never all pairs). `members` is iterated twice and never
    copied. Returns (edges, oversized); an oversized bucket (more than max_bucket_size members)
    gives no edges."""
    head: Node | None = None
    count = 0
    for m in members:
        count += 1
        if head is None or order(m) < order(head):
            head = m
    if head is None or count < 2:
        return [], False
    if max_bucket_size is not None and count > max_bucket_size:
        return [], True
    return [(head, m) for m in members if m != head], False


def similarity(a: Payload, b: Payload, verify: str) -> float:
    """Estimated (share of equal signature values) or exact (shingle-set) Jaccard."""
    if verify == "exact" and a.shingles is not None and b.shingles is not None:
        return exact_jaccard(np.frombuffer(a.shingles, dtype="<u4"), np.frombuffer(b.shingles, dtype="<u4"))
    return estimated_jaccard(np.frombuffer(a.signature, dtype="<u4"), np.frombuffer(b.signature, dtype="<u4"))


def index_row(record_node: Node, payload: Payload, config: MinHashConfig) -> dict[str, Any]:
    """One Parquet row of the signature index (see INDEX_SCHEMA)."""
    return {
        "id": record_node[2],
        "primary": float(record_node[1]),
        "weight": int(record_node[3]),
        "signature": payload.signature,
        "shingles": payload.shingles,
        "params": config.index_params(),
    }


def record_from_index_row(row: dict[str, Any], config: MinHashConfig) -> SigRecord:
    """An index row as a signature record of the index tier (always survives).

    Raises ValueError when the index was written with other signature parameters."""
    if row.get("params") != config.index_params():
        raise ValueError(
            f"signature index was written with {row.get('params')!r}, this run uses {config.index_params()!r}"
        )
    node: Node = (INDEX_TIER, float(row["primary"]), str(row["id"]), int(row["weight"]))
    payload = Payload(bytes(row["signature"]), bytes(row["shingles"]) if row.get("shingles") is not None else None)
    return SigRecord(node, payload, keys_of_signature(payload.signature, config))


def iter_pairs(head: Node, members: Iterable[Node]) -> Iterator[tuple[Node, Node]]:
    for m in members:
        if m != head:
            yield head, m
