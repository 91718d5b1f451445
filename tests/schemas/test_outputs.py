"""schemas/outputs.py: files appear whole or not at all; checksums, names and JSON as every stage uses them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpusmill.schemas import outputs


def test_a_failed_write_leaves_neither_file_nor_temporary(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "file.bin"
    with pytest.raises(RuntimeError):
        with outputs.open_atomically(str(target)) as f:
            f.write(b"half")
            raise RuntimeError("writer died")
    assert not target.exists()
    assert list((tmp_path / "deep").iterdir()) == []


def test_a_rewrite_replaces_the_whole_file(tmp_path: Path) -> None:
    target = str(tmp_path / "x.json")
    outputs.write_json(target, {"a": "é", "n": [1, 2]})
    outputs.write_json(target, {"b": 1})
    assert Path(target).read_text(encoding="utf-8") == '{\n  "b": 1\n}\n'
    assert outputs.read_json(target) == {"b": 1}
    assert outputs.read_json_or_none(str(tmp_path / "missing.json")) is None
    (tmp_path / "bad.json").write_text("{")
    assert outputs.read_json_or_none(str(tmp_path / "bad.json")) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json", "x.json"]  # no temporaries left


def test_sha256_and_describe_file_match_independent_readers(tmp_path: Path) -> None:
    table = pa.table({"id": [str(i) for i in range(5000)]})
    rel = f"corpus/{outputs.shard_name(2, 7)}"
    outputs.write_parquet(str(tmp_path / rel), table)
    data = (tmp_path / rel).read_bytes()
    entry = outputs.describe_file(str(tmp_path), rel)
    assert entry == {"path": "corpus/part-00002-of-00007.parquet", "rows": 5000, "bytes": len(data),
                     "sha256": hashlib.sha256(data).hexdigest()}
    assert pq.ParquetFile(tmp_path / rel).metadata.num_row_groups == 2  # 4,096 rows per group
    assert outputs.is_shard_name(Path(rel).name) and not outputs.is_shard_name(".part-x.parquet.tmp")


def test_manifest_helpers_refuse_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    with pytest.raises(outputs.NotARun, match="no manifest.json"):
        outputs.read_manifest(str(tmp_path))
    outputs.write_manifest(str(tmp_path), {"plan": {}, "counts": {}})
    assert outputs.read_manifest(str(tmp_path)) == {"plan": {}, "counts": {}}
    (tmp_path / "manifest.json").write_text(json.dumps([1]))
    with pytest.raises(outputs.NotARun, match="not a JSON object"):
        outputs.read_manifest(str(tmp_path))


def test_progress_files_and_tree_size(tmp_path: Path) -> None:
    folder = str(tmp_path / "out" / outputs.PROGRESS_DIR)
    outputs.record_progress(folder, "w1", "a", 3)
    outputs.record_progress(folder, "w2", "b\twith tab", 4)
    assert outputs.read_progress(folder) == (2, 7)
    (tmp_path / "out" / "report").mkdir()
    (tmp_path / "out" / "report" / "index.html").write_text("x" * 100)
    everything = outputs.tree_size(str(tmp_path / "out"))
    assert everything - outputs.tree_size(str(tmp_path / "out"), skip=("report",)) == 100
