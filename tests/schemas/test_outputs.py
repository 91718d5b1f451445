"""schemas/outputs.py: files appear whole or not at all; checksums, names and JSON as every stage uses them."""

from __future__ import annotations

import hashlib
import json
import os
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


# ------------------------------------------------------------------ remote paths (Beam's FileSystems)


@pytest.fixture()
def bucket(s3_server: dict, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket on the loopback S3 server; `outputs` configured to reach it (the
    environment variables it exports are restored afterwards)."""
    for variable in outputs.S3_ENVIRONMENT.values():
        monkeypatch.delenv(variable, raising=False)
    name = "outputs-" + request.node.name.replace("_", "-")[:40].strip("-").lower()
    s3_server["client"].create_bucket(Bucket=name)
    outputs.set_filesystem_options(s3_server["args"])
    return name


def _keys(s3_server: dict, bucket: str) -> list[str]:
    listing = s3_server["client"].list_objects_v2(Bucket=bucket)
    return sorted(o["Key"] for o in listing.get("Contents", []))


def test_remote_paths_are_recognised() -> None:
    assert outputs.is_remote("s3://b/run") and outputs.is_remote("gs://b/x")
    assert not outputs.is_remote("/tmp/run") and not outputs.is_remote("file:///tmp/run")
    assert not outputs.is_remote("out/a://b")  # a local relative path that happens to hold ://
    assert outputs.join("s3://b/run/", "corpus", "part.parquet") == "s3://b/run/corpus/part.parquet"
    assert outputs.absolute("s3://b/run/") == "s3://b/run"
    assert (outputs.dirname("s3://b/run/x.json"), outputs.basename("s3://b/run/x.json")) == ("s3://b/run", "x.json")


def test_remote_files_round_trip_and_match_independent_readers(s3_server: dict, bucket: str) -> None:
    run = f"s3://{bucket}/run"
    outputs.write_json(outputs.join(run, "manifest.json"), {"a": "é"})
    table = pa.table({"id": [str(i) for i in range(5000)]})
    outputs.write_parquet(outputs.join(run, "corpus", outputs.shard_name(0, 1)), table)
    assert _keys(s3_server, bucket) == ["run/corpus/part-00000-of-00001.parquet", "run/manifest.json"]
    raw = s3_server["client"].get_object(Bucket=bucket, Key="run/corpus/part-00000-of-00001.parquet")["Body"].read()
    entry = outputs.describe_file(run, "corpus/part-00000-of-00001.parquet")
    assert entry == {"path": "corpus/part-00000-of-00001.parquet", "rows": 5000, "bytes": len(raw),
                     "sha256": hashlib.sha256(raw).hexdigest()}
    assert pq.read_table(pa.BufferReader(raw)).equals(table)
    assert outputs.read_manifest(run) == {"a": "é"}
    assert outputs.read_json_or_none(outputs.join(run, "missing.json")) is None
    assert outputs.list_dir(run) == ["corpus", "manifest.json"]
    assert outputs.list_dir(outputs.join(run, "nothing")) == []
    assert outputs.is_file(outputs.join(run, "manifest.json")) and not outputs.is_file(outputs.join(run, "corpus"))
    assert outputs.tree_size(run) == len(raw) + outputs.size(outputs.join(run, "manifest.json"))
    assert outputs.tree_size(run, skip=("corpus",)) == outputs.size(outputs.join(run, "manifest.json"))
    assert os.environ["AWS_ENDPOINT_URL_S3"] == s3_server["endpoint"]  # for the runner's worker processes


def test_a_failed_remote_write_leaves_neither_object_nor_temporary(s3_server: dict, bucket: str) -> None:
    target = f"s3://{bucket}/run/file.bin"
    outputs.write_bytes(target, b"old, complete")
    with pytest.raises(RuntimeError):
        with outputs.open_atomically(target) as f:
            f.write(b"half")
            raise RuntimeError("writer died")
    assert _keys(s3_server, bucket) == ["run/file.bin"]
    assert outputs.read_bytes(target) == b"old, complete"
    with pytest.raises(RuntimeError):
        with outputs.atomic_path(f"s3://{bucket}/run/model.bin") as local:
            Path(local).write_bytes(b"half")
            raise RuntimeError("trainer died")
    assert _keys(s3_server, bucket) == ["run/file.bin"]


def test_remote_finalize_progress_and_remove(s3_server: dict, bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outputs, "REMOTE_PROGRESS_SECONDS", 3600.0)
    run = f"s3://{bucket}/run"
    outputs.write_bytes(outputs.join(run, "corpus", outputs.shard_name(0, 5)), b"stale shard of another count")
    described = outputs.finalize_shards(run, "corpus", 2)
    assert [e["path"] for e in described] == ["corpus/part-00000-of-00002.parquet", "corpus/part-00001-of-00002.parquet"]
    assert [e["rows"] for e in described] == [0, 0]
    assert _keys(s3_server, bucket) == ["run/corpus/part-00000-of-00002.parquet", "run/corpus/part-00001-of-00002.parquet"]
    progress = outputs.join(run, outputs.PROGRESS_DIR)
    outputs.record_progress(progress, "w1", "a", 3)
    outputs.record_progress(progress, "w1", "b", 4)
    outputs.record_progress(progress, "w2", "c", 5)
    outputs.record_stage(progress, "w1", "steps", 9)
    outputs.flush_progress()  # a process's lines are gathered and written as one object at a time
    assert outputs.read_progress(progress) == (3, 12)
    assert outputs.read_stages(progress) == {"steps": 9}
    assert len(outputs.list_dir(progress)) == 4  # w1 twice (first line at once, then the rest), w2, stages
    outputs.remove(outputs.join(run, outputs.STATS_DIR))
    outputs.remove(outputs.join(run, "corpus", outputs.shard_name(1, 2)))
    assert _keys(s3_server, bucket) == ["run/corpus/part-00000-of-00002.parquet"]
