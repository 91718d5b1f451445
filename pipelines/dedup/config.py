"""Configuration of exact and MinHash near-duplicate removal (pydantic, frozen, extra keys forbidden).

Defaults and where they come from:
  * MinHash `threshold` 0.8 with exact-Jaccard verification, LSH bands aimed at 0.6,
    `num_perm` 128, word 2-grams / char 5-grams / code token 5-grams: the best of the grid measured by
    `benchmarks/dedup_quality.py` (word 2/3/5-grams, char 5-grams everywhere; thresholds
    0.7..0.85; estimated vs exact verification) on three real sets (Gutenberg editions, two
    CPython stdlib trees, the multilingual near-duplicate set); see
    benchmarks/results/dedup_quality.md. Word 5-grams (FineWeb) lose recall on documents
    with scattered word edits: each edit breaks 5 shingles.
    For comparison: datatrove/FineWeb use word 5-grams with 14x8 bands (~0.72), text-dedup
    uses 0.7 with datasketch's optimal bands, NeMo char 24-grams 20x13.
  * `bands`/`rows`, when not given, come from datasketch's `_optimal_param` (the band/row
    split minimising the weighted false-positive + false-negative area of the S-curve) at
    `lsh_threshold`, default threshold - 0.2: at 0.6 that is 18 bands x 7 rows, which misses
    a pair of Jaccard 0.8 with probability 1.5 % (0.85: 0.1 %), where the 14x9 bands optimal at
    0.7 miss 13 % (2.5 %). Exact verification then drops the extra candidates (a pair at 0.3
    becomes one with probability 0.4 %). Measured: multilingual recall 0.965 -> 0.972.
"""

from __future__ import annotations

import functools
import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Survivor = Literal["longest", "smallest_id", "quality", "central"]


class Normalization(BaseModel):
    """How text is canonicalised before shingling (MinHash) or hashing (exact)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    nfkc: bool = Field(default=True, description="Unicode NFKC (full-width -> ASCII, ligatures, ...)")
    lowercase: bool = Field(default=True, description="casefold")
    strip_punctuation: bool = Field(default=True, description="punctuation and symbols become spaces")
    collapse_whitespace: bool = Field(default=True, description="runs of whitespace become one space")


class MinHashConfig(BaseModel):
    """Near-duplicate removal by MinHash signatures, LSH banding and connected components.

    `shingle`: "auto" (word n-grams for space-delimited scripts, character n-grams for Chinese,
    Japanese, Thai, Lao, Khmer, Myanmar, Tibetan, decided per document from `script`, then
    `language`, then the characters of the text), or "word"/"char" for every document.
    `ngram` is the word n-gram size, `char_ngram` the character n-gram size, `code_ngram` the
    word (token) n-gram size of documents with a `programming_language`: 5, as in BigCode's
    near-deduplication of The Stack (token 5-grams). Code is dense with short repeated
    tokens, so 2-grams make small template files (e.g. CPython's encodings/*.py codec stubs,
    which differ in a codec name) look like near duplicates; measured in
    benchmarks/results/dedup_quality.md.
    `lsh_threshold`: the similarity the LSH bands are tuned for (datasketch's optimal
    bands/rows at that value), default threshold - 0.2 (module docstring).
    `verify`: how candidate pairs from LSH are confirmed before they join a cluster:
    "none" (every band collision is an edge), "estimated" (fraction of equal signature
    values >= threshold), "exact" (Jaccard of the shingle-hash sets >= threshold; carries the
    shingle sets through the shuffle: more bytes, exact answer).
    `survivor`: the total order that picks one document per cluster: "central" (default: the
    member with the highest summed similarity to its near duplicates in the component (direct
    linkage) or the most verified near-duplicate edges (transitive linkage), i.e. the base the
    others were copied from, then the longest, then smallest id; measured in
    benchmarks/dedup_quality.md: variants with boilerplate added or truncated copies no longer
    outlive their base),
    "longest" (most characters, then smallest id), "smallest_id", or "quality" (highest value
    of signal `quality_signal`, missing = lowest, then smallest id).
    `linkage`: "direct" (default): a document is removed only for a survivor it is itself
    similar to (>= threshold); each connected component is split around survivors by leader
    clustering in survivor order (pipelines/dedup/refine.py). "transitive": every member of a
    connected component is removed for its one survivor, even when it reached it only through
    a chain of edits (the classic MinHash+CC behaviour; fewer shuffles, lower precision).
    With verify="none" linkage is always transitive (every band collision is an edge).
    `max_direct_cluster`: components with more members are not split (transitive), which
    bounds the per-key memory and the O(n^2) pairwise work; counted in `transitive_clusters`.
    `max_bucket_size`: a band bucket with more members is ignored (counted in the metric
    `oversized_buckets`); None = no limit (buckets are always linked as stars, never all pairs).
    `index_out`: directory to write this run's survivors' signature index (Parquet);
    `index_in`: index directories of earlier runs to dedup against (their documents always
    survive; new documents matching them are rejected with the old id as detail).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    threshold: float = Field(default=0.8, gt=0.0, le=1.0)
    lsh_threshold: float | None = Field(
        default=None, gt=0.0, le=1.0,
        description="similarity the LSH bands aim at (candidates); default threshold - 0.2, min 0.05",
    )
    num_perm: int = Field(default=128, ge=2, le=1024)
    ngram: int = Field(default=2, ge=1, le=64, description="word n-gram size")
    code_ngram: int = Field(default=5, ge=1, le=64, description="word n-gram size for source code")
    char_ngram: int = Field(default=5, ge=1, le=64, description="character n-gram size")
    shingle: Literal["auto", "word", "char"] = "auto"
    normalization: Normalization = Normalization()
    bands: int | None = Field(default=None, ge=1)
    rows: int | None = Field(default=None, ge=1)
    seed: int = Field(default=1, ge=0, lt=2**32)
    hash: Literal["poly", "sha1"] = Field(
        default="poly",
        description="shingle hash: 'poly' (vectorised, see shingles.py) or 'sha1' (datasketch's default sha1_hash32)",
    )
    verify: Literal["none", "estimated", "exact"] = "exact"
    survivor: Survivor = "central"
    quality_signal: str | None = None
    linkage: Literal["direct", "transitive"] = "direct"
    max_direct_cluster: int = Field(default=512, ge=2, description="larger components stay transitive")
    max_bucket_size: int | None = Field(default=None, ge=2)
    max_rounds: int = Field(default=6, ge=1, le=64, description="large-star/small-star rounds unrolled (see transforms/dedup.py)")
    batch_size: int = Field(default=256, ge=1, description="documents per vectorised signature batch")
    index_out: str | None = None
    index_in: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> MinHashConfig:
        if (self.bands is None) != (self.rows is None):
            raise ValueError("give both bands and rows, or neither")
        if self.bands is not None and self.rows is not None and self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands*rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}")
        if self.survivor == "quality" and not self.quality_signal:
            raise ValueError("survivor 'quality' needs quality_signal (a signal name)")
        if self.index_out is not None and any(
            os.path.normpath(self.index_out) == os.path.normpath(p) for p in self.index_in
        ):
            raise ValueError(
                "index_out must not be one of index_in (the run would replace the index it reads): "
                "give each run its own index directory and list all earlier ones in index_in"
            )
        return self

    @property
    def band_rows(self) -> tuple[int, int]:
        """(bands, rows): as configured, else datasketch's optimal split for lsh_threshold (default
        threshold - 0.2: candidates are cast wider than the verification threshold, which then
        removes the extra false positives) and num_perm."""
        if self.bands is not None and self.rows is not None:
            return self.bands, self.rows
        target = self.lsh_threshold if self.lsh_threshold is not None else max(0.05, self.threshold - 0.2)
        return optimal_band_rows(round(target, 6), self.num_perm)

    def index_params(self) -> str:
        """The parameters an index must share to be comparable (checked when reading one)."""
        b, r = self.band_rows
        return (
            f"num_perm={self.num_perm};bands={b};rows={r};seed={self.seed};hash={self.hash};"
            f"ngram={self.ngram};code_ngram={self.code_ngram};char_ngram={self.char_ngram};shingle={self.shingle};"
            f"norm={self.normalization.model_dump_json()}"
        )


class ExactConfig(BaseModel):
    """Exact duplicate removal: documents whose normalised text hashes equal form a cluster.

    `normalization`: "none" (byte-identical text), "whitespace" (runs of whitespace collapsed,
    ends stripped), "nfkc_casefold" (NFKC + casefold + whitespace collapsed).
    `survivor`/`quality_signal`: as in MinHashConfig.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    normalization: Literal["none", "whitespace", "nfkc_casefold"] = "whitespace"
    survivor: Survivor = "longest"
    quality_signal: str | None = None

    @model_validator(mode="after")
    def _check(self) -> ExactConfig:
        if self.survivor == "quality" and not self.quality_signal:
            raise ValueError("survivor 'quality' needs quality_signal (a signal name)")
        if self.survivor == "central" and type(self).__name__ == "ExactConfig":
            raise ValueError("survivor 'central' applies to MinHash clusters only")
        return self


@functools.lru_cache(maxsize=64)
def optimal_band_rows(threshold: float, num_perm: int) -> tuple[int, int]:
    """datasketch's `_optimal_param(threshold, num_perm, 0.5, 0.5)`: equal false-positive and
    false-negative weights, as `MinHashLSH(threshold, num_perm)` uses by default."""
    from datasketch.lsh import _optimal_param

    b, r = _optimal_param(threshold, num_perm, 0.5, 0.5)
    return int(b), int(r)
