"""MinHash signatures, batch-vectorised with numpy, compatible with datasketch >= 2.0.

Compatibility: datasketch 2.0's default permutation scheme "affine32" (1.x used "legacy",
`(a*h+b) % (2^61-1)` truncated to 32 bits; we do not implement legacy). For seed s and
num_perm p the permutations are datasketch's: `RandomState(s)`, a = 2*randint(0, 2^31, p)+1,
b = randint(0, 2^32, p), both uint32; a shingle hash h (32 bits) is pre-mixed with the
MurmurHash3 32-bit finaliser and permuted as a*h+b mod 2^32; the signature is the minimum per
permutation (uint32), 2^32-1 for an empty set. So `signatures([hashes])[0]` equals
`datasketch.MinHash(num_perm=p, seed=s, hashfunc=H).update_batch(shingles).hashvalues` when
H is the shingle hash (`shingles.poly_hash32`, or datasketch's default sha1_hash32 with
`hash="sha1"`); tests/pipelines/dedup/test_minhash.py checks both.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from numpy.typing import NDArray

EMPTY = np.uint32(0xFFFFFFFF)
# Shingles per permutation block: the (num_perm x block) uint32 matrix (4 MB at 128) stays
# in cache; measured fastest of 2k..32k on this machine.
BLOCK = 8192


@functools.lru_cache(maxsize=16)
def permutations(num_perm: int, seed: int) -> tuple[NDArray[Any], NDArray[Any]]:
    """(a, b), uint32 arrays of length num_perm: datasketch's affine32 permutations."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    a.setflags(write=False)
    b.setflags(write=False)
    return a, b


def fmix32(h: NDArray[Any]) -> NDArray[Any]:
    """MurmurHash3's 32-bit finaliser (datasketch's pre-mix), element-wise on uint32."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    h = h ^ (h >> np.uint32(16))
    return h


def signatures(hash_sets: list[NDArray[Any]], num_perm: int, seed: int) -> NDArray[Any]:
    """MinHash signatures, shape (len(hash_sets), num_perm) uint32, one row per document.

    All documents' shingle hashes are concatenated and permuted in blocks of BLOCK shingles;
    `np.minimum.reduceat` takes each document's minimum, so the cost is a handful of numpy
    calls per block whatever the number of documents or shingles."""
    a, b = permutations(num_perm, seed)
    n_docs = len(hash_sets)
    out = np.full((n_docs, num_perm), EMPTY, dtype=np.uint32)
    sizes = np.array([h.size for h in hash_sets], dtype=np.int64)
    if n_docs == 0 or sizes.sum() == 0:
        return out
    nonempty = np.flatnonzero(sizes)
    flat = np.concatenate([hash_sets[i] for i in nonempty]).astype(np.uint32, copy=False)
    with np.errstate(over="ignore"):
        mixed = fmix32(flat)
    ends = np.cumsum(sizes[nonempty])
    starts = ends - sizes[nonempty]
    total = int(ends[-1])
    buf = np.empty((num_perm, min(BLOCK, total)), dtype=np.uint32)
    for lo in range(0, total, BLOCK):
        hi = min(lo + BLOCK, total)
        # documents overlapping [lo, hi): contiguous indices into `nonempty`
        first = int(np.searchsorted(ends, lo, side="right"))
        last = int(np.searchsorted(starts, hi, side="left"))
        perm = buf[:, : hi - lo]
        np.multiply(a[:, None], mixed[None, lo:hi], out=perm)  # wraps mod 2^32
        perm += b[:, None]
        local = np.maximum(starts[first:last], lo) - lo
        mins = np.minimum.reduceat(perm, local, axis=1)
        rows = nonempty[first:last]
        out[rows] = np.minimum(out[rows], mins.T)
    return out


def band_keys(sigs: NDArray[Any], bands: int, rows: int) -> NDArray[Any]:
    """64-bit key per (document, band): shape (n_docs, bands) uint64.

    Band i covers signature values [i*rows, (i+1)*rows). Two documents share a key iff
    (up to a 2^-64 hash collision) their values in that band are all equal."""
    n = sigs.shape[0]
    vals = sigs[:, : bands * rows].reshape(n, bands, rows).astype(np.uint64)
    key: NDArray[np.uint64] = np.full((n, bands), 0x9E3779B97F4A7C15, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(rows):
            key = (key ^ vals[:, :, j]) * np.uint64(0xFF51AFD7ED558CCD)
            key ^= key >> np.uint64(29)
    return key


def band_key_bytes(band: int, key: int) -> bytes:
    """The shuffle key of one band bucket: band index (2 bytes) + band hash (8 bytes)."""
    return band.to_bytes(2, "big") + int(key).to_bytes(8, "big")


def estimated_jaccard(sig_a: NDArray[Any], sig_b: NDArray[Any]) -> float:
    """Share of equal signature values (the MinHash estimate of Jaccard similarity)."""
    return float(np.count_nonzero(sig_a == sig_b)) / float(sig_a.size)


def exact_jaccard(set_a: NDArray[Any], set_b: NDArray[Any]) -> float:
    """Jaccard similarity of two sorted unique uint32 shingle-hash arrays (1.0 if both empty)."""
    if set_a.size == 0 and set_b.size == 0:
        return 1.0
    small, large = (set_a, set_b) if set_a.size <= set_b.size else (set_b, set_a)
    if small.size == 0:
        return 0.0
    # binary search of the smaller set in the larger: 2x faster than np.intersect1d, which
    # concatenates and re-sorts arrays that are already sorted
    idx = np.searchsorted(large, small)
    idx[idx == large.size] = 0
    inter = int(np.count_nonzero(large[idx] == small))
    return inter / float(set_a.size + set_b.size - inter)
