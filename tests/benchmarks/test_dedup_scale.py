"""benchmarks/dedup_scale.py: its results table is written (with the provenance header)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import dedup_scale


def test_write_markdown_writes_one_row_per_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dedup_scale, "RESULTS", tmp_path)
    run = {"documents": 1000, "wall_s": 2.0, "cpu_s": 1.0, "peak_rss_mb": 300.0, "expected_removed": 300,
           "exact_rejected": 100, "minhash_rejected": 200, "kept": 700}
    dedup_scale.write_markdown({"runs": [run, {"documents": 5000, "error": "boom"}]})
    text = (tmp_path / "dedup_scale.md").read_text()
    assert "| 1000 | 2.0 | 1.0 | 1000 | 300.0 | 100 | 200 | 300 | 700 |" in text
    assert "| 5000 | error |" in text
    assert "commit" in text.lower()
