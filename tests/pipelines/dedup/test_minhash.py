"""Signatures equal datasketch 2.0's MinHash (affine32 scheme) for the same seed, num_perm, shingles."""

from __future__ import annotations

import numpy as np
import pytest
from datasketch import MinHash

from corpusmill.pipelines.dedup.config import Normalization
from corpusmill.pipelines.dedup.minhash import BLOCK, band_keys, estimated_jaccard, exact_jaccard, permutations, signatures
from corpusmill.pipelines.dedup.shingles import normalize, poly_hash32, shingle_hashes, shingle_strings

TEXT = "The quick brown fox jumps over the lazy dog; the dog sleeps.  Ünïcödé ＦＵＬＬ width 你好世界"


@pytest.mark.parametrize("num_perm,seed", [(128, 1), (64, 42), (256, 7)])
def test_permutations_are_datasketch_affine32(num_perm: int, seed: int) -> None:
    m = MinHash(num_perm=num_perm, seed=seed)
    assert m.scheme == "affine32"
    a, b = permutations(num_perm, seed)
    assert np.array_equal(a, m.permutations[0]) and np.array_equal(b, m.permutations[1])


@pytest.mark.parametrize("mode,n", [("word", 1), ("word", 3), ("char", 5)])
@pytest.mark.parametrize("hash_name", ["poly", "sha1"])
def test_signature_equals_datasketch(mode: str, n: int, hash_name: str) -> None:
    norm = Normalization()
    grams = shingle_strings(normalize(TEXT, norm, mode), mode, n)  # type: ignore[arg-type]
    hashes = shingle_hashes(TEXT, mode=mode, n=n, norm=norm, hash_name=hash_name)  # type: ignore[arg-type]
    ours = signatures([hashes], 128, 3)[0]
    kwargs = {"hashfunc": poly_hash32} if hash_name == "poly" else {}
    ref = MinHash(num_perm=128, seed=3, **kwargs)
    ref.update_batch([g.encode("utf-8") for g in grams])
    assert np.array_equal(ours, ref.hashvalues)


def test_poly_vectorised_equals_scalar() -> None:
    norm = Normalization(strip_punctuation=False)
    for mode, n in (("word", 2), ("char", 4)):
        grams = shingle_strings(normalize(TEXT, norm, mode), mode, n)
        hashes = shingle_hashes(TEXT, mode=mode, n=n, norm=norm)
        assert hashes.tolist() == [poly_hash32(g) for g in grams]
        assert len(set(hashes.tolist())) == len(set(grams))


def test_batch_across_blocks_matches_single_documents() -> None:
    rng = np.random.default_rng(0)
    sets = [rng.integers(0, 2**32, size=s, dtype=np.uint32) for s in (3, BLOCK + 17, 0, 1, 2 * BLOCK, 5)]
    batch = signatures(sets, 32, 9)
    for i, s in enumerate(sets):
        ref = MinHash(num_perm=32, seed=9, hashfunc=lambda x: x)
        ref.update_batch(s.tolist())
        assert np.array_equal(batch[i], ref.hashvalues), i
        assert np.array_equal(batch[i], signatures([s], 32, 9)[0])
    assert np.all(batch[2] == 0xFFFFFFFF)


def test_band_keys_equal_iff_band_equal() -> None:
    rng = np.random.default_rng(1)
    a = rng.integers(0, 2**32, size=(1, 20), dtype=np.uint32)
    b = a.copy()
    b[0, 7] ^= 1  # changes band 1 of 4x5 only
    ka, kb = band_keys(a, 4, 5), band_keys(b, 4, 5)
    assert [x == y for x, y in zip(ka[0], kb[0])] == [True, False, True, True]
    assert len(set(ka[0].tolist())) == 4


def test_jaccard_estimates() -> None:
    x = np.arange(0, 1000, dtype=np.uint32)
    y = np.arange(200, 1200, dtype=np.uint32)
    assert exact_jaccard(x, y) == pytest.approx(800 / 1200)
    # against Python sets on random sorted sets of unequal sizes, including the edges
    rng = np.random.default_rng(5)
    for n, m in ((0, 0), (0, 5), (1, 1), (3, 700), (500, 480)):
        a = np.unique(rng.integers(0, 1500, n, dtype=np.uint32))
        b = np.unique(rng.integers(0, 1500, m, dtype=np.uint32))
        union = set(a.tolist()) | set(b.tolist())
        expected = len(set(a.tolist()) & set(b.tolist())) / len(union) if union else 1.0
        assert exact_jaccard(a, b) == pytest.approx(expected) and exact_jaccard(b, a) == pytest.approx(expected)
    sx, sy = signatures([x, y], 256, 1)
    assert abs(estimated_jaccard(sx, sy) - 800 / 1200) < 0.1
