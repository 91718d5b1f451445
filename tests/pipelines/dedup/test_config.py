"""Config models: strict, frozen, datasketch's optimal LSH parameters."""

from __future__ import annotations

import pydantic
import pytest
from datasketch import MinHashLSH

from corpusmill.pipelines.dedup.config import ExactConfig, MinHashConfig


@pytest.mark.parametrize("threshold,num_perm", [(0.5, 128), (0.7, 128), (0.8, 128), (0.9, 256)])
def test_band_rows_match_datasketch_minhashlsh(threshold: float, num_perm: int) -> None:
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    config = MinHashConfig(threshold=threshold, lsh_threshold=threshold, num_perm=num_perm)
    assert config.band_rows == (lsh.b, lsh.r)
    lower = MinHashLSH(threshold=round(threshold - 0.2, 6), num_perm=num_perm)
    assert MinHashConfig(threshold=threshold, num_perm=num_perm).band_rows == (lower.b, lower.r)


def test_explicit_bands_rows_and_validation() -> None:
    assert MinHashConfig(bands=14, rows=8, num_perm=112).band_rows == (14, 8)
    with pytest.raises(pydantic.ValidationError):
        MinHashConfig(bands=20, rows=8, num_perm=128)
    with pytest.raises(pydantic.ValidationError):
        MinHashConfig(bands=4)
    with pytest.raises(pydantic.ValidationError):
        MinHashConfig(survivor="quality")
    with pytest.raises(pydantic.ValidationError):
        MinHashConfig(treshold=0.5)  # typo: extra keys are forbidden
    with pytest.raises(pydantic.ValidationError):
        ExactConfig(normalization="lowercase")
    with pytest.raises(pydantic.ValidationError, match="index_out must not be one of index_in"):
        MinHashConfig(index_out="runs/index/", index_in=("runs/old", "runs/index"))
    config = MinHashConfig()
    with pytest.raises(pydantic.ValidationError):
        config.threshold = 0.1  # type: ignore[misc]


def test_index_params_change_with_signature_parameters() -> None:
    assert MinHashConfig().index_params() == MinHashConfig(threshold=MinHashConfig().threshold).index_params()
    assert MinHashConfig(seed=2).index_params() != MinHashConfig().index_params()
    assert MinHashConfig(num_perm=64).index_params() != MinHashConfig().index_params()
