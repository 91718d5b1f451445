"""`corpusmill run --output s3://...`: a whole run written to a real S3-compatible server (moto's,
on 127.0.0.1, started by the `s3_server` fixture) through Beam's S3 filesystem, then validated
and reported there, and compared with the same workflow run to a local directory.

The workflow is small but exercises every output: JSONL documents cut from the King James Bible
(samples/books), with planted exact and near duplicates (exact + MinHash dedup) and a broken
line (a failed record), a SentencePiece tokenizer with token shards, and validation."""

from __future__ import annotations

import io
import json
import lzma
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "corpusmill.workflows.cli"]
SHARDS = 2
DOCS = 160
EXACT_COPIES = 6
NEAR_COPIES = 6

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]  # two whole runs on a shared machine


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=900)


def _documents(samples: Path) -> list[dict[str, str]]:
    """DOCS documents of 12 consecutive Bible lines each, then exact copies and near copies
    (one word changed in a long document) of the first ones."""
    text = lzma.decompress((samples / "books" / "kjv-bible.en.txt.xz").read_bytes()).decode("utf-8")
    lines = [line for line in text.splitlines() if len(line) > 40][1000:]
    docs = [{"id": f"kjv-{i}", "text": "\n".join(lines[12 * i : 12 * i + 12])} for i in range(DOCS)]
    docs += [{"id": f"copy-{i}", "text": docs[i]["text"]} for i in range(EXACT_COPIES)]
    for i in range(NEAR_COPIES):
        source = docs[20 + i]["text"]
        words = source.split(" ")
        words[len(words) // 2] = "changed"
        docs.append({"id": f"near-{i}", "text": " ".join(words) + "\n" + source})
        docs[20 + i] = {"id": docs[20 + i]["id"], "text": source + "\n" + source}
    return docs


@pytest.fixture(scope="module")
def workflow(tmp_path_factory: pytest.TempPathFactory, samples: Path) -> Path:
    base = tmp_path_factory.mktemp("s3")
    (base / "in").mkdir()
    with open(base / "in" / "docs.jsonl", "w", encoding="utf-8") as f:
        for doc in _documents(samples):
            f.write(json.dumps(doc) + "\n")
        f.write("{not json\n")
    spec: dict[str, Any] = {
        "sources": [{"kind": "jsonl", "paths": ["in/*.jsonl"], "steps": []}],
        "dedup": {"exact": True, "minhash": {}},
        "output": {"dir": "out-default", "shards": SHARDS},
        "tokenizer": {"vocab_size": 400, "model_type": "unigram"},
        "validate": True,
        "run": {"max_failed_fraction": 0.5},
    }
    (base / "wf.yaml").write_text(yaml.safe_dump(spec))
    return base / "wf.yaml"


def _object(s3: dict[str, Any], bucket: str, key: str) -> bytes:
    return s3["client"].get_object(Bucket=bucket, Key=key)["Body"].read()


def _keys(s3: dict[str, Any], bucket: str) -> list[str]:
    keys: list[str] = []
    for page in s3["client"].get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys += [o["Key"] for o in page.get("Contents", [])]
    return sorted(keys)


def test_a_run_written_to_s3_validates_there_and_matches_a_local_run(workflow: Path, s3_server: dict[str, Any]) -> None:
    bucket = "corpusmill-run"
    s3_server["client"].create_bucket(Bucket=bucket)
    s3_args = s3_server["args"]
    base = workflow.parent

    local = _cli(["run", str(workflow), "--output", str(base / "local")], cwd=base)
    assert local.returncode == 0, local.stderr[-3000:]
    remote = _cli(["run", str(workflow), "--output", f"s3://{bucket}/run", *s3_args], cwd=base)
    assert remote.returncode == 0, remote.stderr[-3000:]
    assert f"s3://{bucket}/run" in remote.stdout
    assert not (base / "out-default").exists() and not (base / "s3:").exists()  # nothing written locally

    keys = _keys(s3_server, bucket)
    assert not [k for k in keys if k.rpartition("/")[2].startswith(".")], "a temporary object is left visible"
    manifest = json.loads(_object(s3_server, bucket, "run/manifest.json"))
    local_manifest = json.loads((base / "local" / "manifest.json").read_text())
    assert manifest["accounting"] == local_manifest["accounting"]
    assert manifest["accounting"]["failed"] + manifest["accounting"]["records_failed_in_readers"] >= 1
    assert manifest["counts"] == local_manifest["counts"]
    assert manifest["tokenizer"]["vocab_size"] == 400
    for kind in ("corpus", "rejected", "failed", "tokens"):
        entries = manifest["shards"][kind]
        assert len(entries) == (SHARDS if kind in ("corpus", "tokens") else len(local_manifest["shards"][kind]))
        assert sorted(k for k in keys if k.startswith(f"run/{kind}/part-")) == sorted(f"run/{e['path']}" for e in entries)
        for entry, local_entry in zip(entries, local_manifest["shards"][kind]):
            remote_table = pq.read_table(io.BytesIO(_object(s3_server, bucket, f"run/{entry['path']}")))
            local_table = pq.read_table(base / "local" / local_entry["path"])
            assert entry["path"] == local_entry["path"] and remote_table.num_rows == entry["rows"]
            if kind != "failed":  # failed records name their input location (the same file here)
                assert remote_table.to_pylist() == local_table.to_pylist(), entry["path"]
                assert entry["sha256"] == local_entry["sha256"]
    corpus_ids = {r for e in manifest["shards"]["corpus"]
                  for r in pq.read_table(io.BytesIO(_object(s3_server, bucket, f"run/{e['path']}")), columns=["id"])["id"].to_pylist()}
    exact_pairs = [{f"kjv-{i}", f"copy-{i}"} for i in range(EXACT_COPIES)]
    assert all(len(pair & corpus_ids) == 1 for pair in exact_pairs)  # one of each exact pair kept
    near_pairs = [{f"kjv-{20 + i}", f"near-{i}"} for i in range(NEAR_COPIES)]
    assert any(len(pair & corpus_ids) == 1 for pair in near_pairs)  # near duplicates found
    for name in ("tokenizer.model", "tokenizer.vocab", "tokenizer.json", "tokenizer_config.json", "report.json"):
        assert f"run/tokenizer/{name}" in keys
    assert _object(s3_server, bucket, "run/tokenizer/tokenizer.model") == (base / "local" / "tokenizer" / "tokenizer.model").read_bytes()
    assert json.loads(_object(s3_server, bucket, "run/validation/results.json"))["success"] is True
    assert "run/report/index.html" in keys and "run/_stats/done/corpus.json" in keys

    # validate and report on the bucket, with the same filesystem options
    s3_server["client"].delete_object(Bucket=bucket, Key="run/report/index.html")
    checked = _cli(["validate", f"s3://{bucket}/run", *s3_args], cwd=base)
    assert checked.returncode == 0, checked.stderr[-3000:]
    assert "validation passed" in checked.stdout
    reported = _cli(["report", f"s3://{bucket}/run", *s3_args], cwd=base)
    assert reported.returncode == 0, reported.stderr[-3000:]
    assert reported.stdout.strip() == f"s3://{bucket}/run/report/index.html"
    assert b"corpusmill" in _object(s3_server, bucket, "run/report/index.html")
    assert not [k for k in _keys(s3_server, bucket) if k.rpartition("/")[2].startswith(".")]


def test_remote_commands_refuse_unknown_options_and_missing_runs(s3_server: dict[str, Any], tmp_path: Path) -> None:
    bucket = "corpusmill-empty"
    s3_server["client"].create_bucket(Bucket=bucket)
    missing = _cli(["validate", f"s3://{bucket}/nothing", *s3_server["args"]], cwd=tmp_path)
    assert missing.returncode == 2 and "no manifest.json" in missing.stderr
    wrong = _cli(["report", f"s3://{bucket}/nothing", "--s3_endpoint_uri=http://x"], cwd=tmp_path)
    assert wrong.returncode == 2 and "--s3_endpoint_uri" in wrong.stderr


def test_a_mixture_to_a_remote_output_is_refused_before_anything_runs(workflow: Path, s3_server: dict[str, Any]) -> None:
    spec = yaml.safe_load(workflow.read_text())
    spec["mixture"] = {"by": "source", "components": {"jsonl": {"weight": 1.0}}}
    mixed = workflow.with_name("mixed.yaml")
    mixed.write_text(yaml.safe_dump(spec))
    refused = _cli(["run", str(mixed), "--output", "s3://corpusmill-never/run", *s3_server["args"]], cwd=workflow.parent)
    assert refused.returncode == 2 and "mixture: needs a local output directory" in refused.stderr
