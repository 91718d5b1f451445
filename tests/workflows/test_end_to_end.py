"""End to end: `corpusmill run workflows/sample.yaml` on the bundled sample, then the outputs
read back with real Parquet readers; a second run (other worker layout, killed after the corpus
stage and resumed) must give byte-identical output; the PortableRunner with an external worker
pool must give the same shards."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
import yaml

from corpusmill.schemas.document import DOCUMENT_SCHEMA, FAILURE_SCHEMA, REJECTION_SCHEMA
from corpusmill.workflows.config import load_plan
from corpusmill.workflows.engines import free_port
from corpusmill.workflows.manifest import read_plan
from tests.workflows.interrupt import kill_after_corpus_stage

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "workflows" / "sample.yaml"
CLI = [sys.executable, "-m", "corpusmill.workflows.cli"]
# One CLI call: the sample run takes ~40 s on two idle cores (README), 165 s on cores shared
# with seven other test runs; 600 s means it hangs. A test makes at most three calls; pytest's
# own limit for each test covers them, so a hung call fails with its command line
# (subprocess.TimeoutExpired) before pytest-timeout fires.
RUN_TIMEOUT = 600
TEST_TIMEOUT = 3 * RUN_TIMEOUT + 120

pytestmark = [pytest.mark.slow, pytest.mark.timeout(TEST_TIMEOUT)]


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=ROOT, timeout=RUN_TIMEOUT, **kwargs)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _deterministic_files(out: Path) -> dict[str, str]:
    """Every output file that must be byte-identical between runs."""
    files = {}
    for kind in ("corpus", "rejected", "failed", "tokens"):
        for path in sorted((out / kind).glob("part-*.parquet")):
            files[f"{kind}/{path.name}"] = _digest(path)
    for name in ("tokenizer.model", "tokenizer.vocab", "tokenizer.json"):
        files[f"tokenizer/{name}"] = _digest(out / "tokenizer" / name)
    files["manifest.json"] = _digest(out / "manifest.json")
    return files


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("e2e") / "sample"
    proc = _run(["run", str(SAMPLE), "--output", str(out)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "kept" in proc.stdout
    return out


def test_all_outputs_exist(sample_run: Path) -> None:
    for relative in (
        "manifest.json", "run_info.json", "report/index.html",
        "tokenizer/tokenizer.model", "tokenizer/tokenizer.vocab", "tokenizer/tokenizer.json",
        "tokenizer/tokenizer_config.json", "tokenizer/report.json",
    ):
        assert (sample_run / relative).is_file(), relative
    assert any((sample_run / "validation").iterdir())
    assert not list(sample_run.rglob(".*.tmp")), "temporary files left behind"


def test_corpus_schema_sources_and_languages(sample_run: Path) -> None:
    table = ds.dataset(sample_run / "corpus", format="parquet").to_table()
    assert table.schema.equals(DOCUMENT_SCHEMA, check_metadata=False)
    assert ds.dataset(sample_run / "rejected").schema.equals(REJECTION_SCHEMA, check_metadata=False)
    assert ds.dataset(sample_run / "failed").schema.equals(FAILURE_SCHEMA, check_metadata=False)
    rows = table.to_pylist()
    assert {r["source"] for r in rows} == {"web", "wiki", "books", "code"}
    assert len({r["id"] for r in rows}) == len(rows)
    languages = Counter(r["language"] for r in rows if r["source"] != "code")
    assert languages["en"] > 50 and languages["zh"] >= 1, languages
    tang = [r for r in rows if r["source"] == "books" and "tang300" in r["location"]]
    assert tang and tang[0]["language"] == "zh" and "\x1b" not in tang[0]["text"]
    kjv = [r for r in rows if r["source"] == "books" and "kjv" in r["location"]]
    assert len(kjv) > 5 and all(r["language"] == "en" for r in kjv)
    assert any("In the beginning God created the heaven and the earth" in r["text"] for r in kjv)
    wiki = [r for r in rows if r["source"] == "wiki"]
    assert wiki and all(r["page_id"] is not None and r["title"] for r in wiki)
    assert not any("[[" in r["text"] or "{{" in r["text"] for r in wiki)
    code = [r for r in rows if r["source"] == "code"]
    assert {r["programming_language"] for r in code} >= {"Python", "Rust"}
    assert all(r["repo"] and r["path"] for r in code)
    web = [r for r in rows if r["source"] == "web"]
    assert web and all(r["url"] and r["warc_record_id"] for r in web)
    assert any(r["language"] == "zh" for r in web) and any(r["language"] == "ja" for r in web)


def test_manifest_records_the_plan_that_ran(sample_run: Path) -> None:
    """The plan in manifest.json reads back, through the same model, as the workflow's plan; the
    report and validation of the run read it (their per-source rules and step order)."""
    manifest = json.loads((sample_run / "manifest.json").read_text())
    plan = read_plan(manifest)
    assert plan == load_plan(SAMPLE)
    assert [s.preset for s in plan.sources] == ["web", "wiki", "books", "code"]
    results = json.loads((sample_run / "validation" / "results.json").read_text())
    assert set(results["params"]["language_rules"]) == {
        s.label for s in plan.sources if any(step.step == "language" and step.mode == "drop" for step in s.steps)
    }


def test_manifest_accounts_for_every_document(sample_run: Path) -> None:
    manifest = json.loads((sample_run / "manifest.json").read_text())
    acc = manifest["accounting"]
    assert acc["balanced"] and acc["documents_read"] == acc["kept"] + acc["rejected"] + acc["failed"]
    corpus = ds.dataset(sample_run / "corpus").to_table(columns=["source"]).column("source").to_pylist()
    assert manifest["counts"]["kept"] == dict(sorted(Counter(corpus).items()))
    rejected = ds.dataset(sample_run / "rejected").to_table(columns=["source", "step", "reason"]).to_pylist()
    by_step: dict[str, Counter] = {}
    for r in rejected:
        by_step.setdefault(r["step"], Counter())[r["reason"]] += 1
    assert manifest["counts"]["rejected"] == {s: dict(c) for s, c in by_step.items()}
    # Beam counters land in run_info.json and agree with the manifest's stage counts
    counters = json.loads((sample_run / "run_info.json").read_text())["beam_counters"]
    stages = {s["stage"]: s for s in manifest["stages"]}
    assert counters["dedup.minhash_documents"] == stages["minhash_dedup"]["in"]
    assert counters.get("dedup.minhash_rejected", 0) == stages["minhash_dedup"]["in"] - stages["minhash_dedup"]["out"]
    assert counters.get("dedup.cc_unconverged_nodes", 0) == 0
    failed = ds.dataset(sample_run / "failed").to_table(columns=["source", "step"]).to_pylist()
    # per source: documents read = kept + rejected after reading + failed after reading
    for source, read in manifest["counts"]["read"].items():
        kept = manifest["counts"]["kept"].get(source, 0)
        dropped = sum(1 for r in rejected if r["source"] == source and r["step"] != "read")
        broken = sum(1 for f in failed if f["source"] == source and f["step"] != "read")
        assert read == kept + dropped + broken, source
    for kind, entries in manifest["shards"].items():
        for entry in entries:
            path = sample_run / entry["path"]
            assert _digest(path) == entry["sha256"] and pq.ParquetFile(path).metadata.num_rows == entry["rows"]
    assert [s["stage"] for s in manifest["stages"]] == ["read", "steps", "exact_dedup", "minhash_dedup", "written"]
    assert manifest["stages"][-1]["out"] == acc["kept"]
    assert "near_duplicate" in manifest["counts"]["rejected"].get("minhash_dedup", {})


def test_rerun_with_other_workers_killed_and_resumed_is_identical(sample_run: Path, tmp_path: Path) -> None:
    """Another worker layout (one in-process worker), killed after the corpus stage, resumed:
    the corpus stage is not redone and every deterministic file equals the first run's."""
    out = tmp_path / "again"
    args = [*CLI, "run", str(SAMPLE), "--output", str(out), "--direct_num_workers=1", "--direct_running_mode=in_memory"]
    kill_after_corpus_stage(args, out, ROOT, RUN_TIMEOUT)
    resumed = _run(args[len(CLI):])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "stage corpus: already complete" in resumed.stderr
    assert json.loads((out / "run_info.json").read_text())["stage_seconds"]["corpus"] == "skipped"
    assert _deterministic_files(out) == _deterministic_files(sample_run)


def test_the_same_inputs_elsewhere_give_the_same_shards(sample_run: Path, tmp_path: Path) -> None:
    """The sample inputs and workflow copied to another directory (other depth, so every
    absolute path differs) and run from another working directory: byte-identical corpus,
    rejected, failed and token shards, tokenizer, and manifest but for its plan (which holds
    the absolute globs). Records name inputs relative to the workflow (`../samples/...`) and
    books ids derive from those names, not from where the checkout lies."""
    copy = tmp_path / "elsewhere" / "deeper" / "checkout"
    shutil.copytree(ROOT / "samples", copy / "samples")
    (copy / "workflows").mkdir()
    shutil.copy(SAMPLE, copy / "workflows" / "sample.yaml")
    out = tmp_path / "out"
    proc = subprocess.run(
        [*CLI, "run", str(copy / "workflows" / "sample.yaml"), "--output", str(out)],
        capture_output=True, text=True, cwd=tmp_path, timeout=RUN_TIMEOUT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    here, there = _deterministic_files(out), _deterministic_files(sample_run)
    assert {name.split("/")[0] for name in here} >= {"corpus", "rejected", "failed", "tokens", "tokenizer"}
    del here["manifest.json"], there["manifest.json"]
    assert here == there
    manifests = [json.loads((o / "manifest.json").read_text()) for o in (out, sample_run)]
    assert manifests[0]["plan"] != manifests[1]["plan"]  # absolute globs and location_root
    assert [{k: v for k, v in m.items() if k != "plan"} for m in manifests] == [
        {k: v for k, v in manifests[1].items() if k != "plan"}
    ] * 2
    locations = [
        loc for kind in ("corpus", "rejected", "failed")
        for loc in ds.dataset(out / kind).to_table(columns=["location"]).column("location").to_pylist()
    ]
    assert locations and not [loc for loc in locations if not loc.startswith("../samples/")]
    assert "../samples/books/kjv-bible.en.txt.xz#part=11" in locations
    assert any(loc.startswith("../samples/code/cpython-3.11-stdlib-subset.tar.gz!") for loc in locations)


def test_portable_runner_with_external_workers_gives_identical_shards(sample_run: Path, tmp_path: Path) -> None:
    """The submission path of Flink/Spark job servers: PortableRunner, embedded job service,
    SDK workers in a separate worker-pool process."""
    config = yaml.safe_load(SAMPLE.read_text())
    config["tokenizer"] = None
    config["validate"] = False
    # the workflow beside a link to the samples: its globs (`../samples/...`), and so the
    # recorded locations and the books ids, are the sample workflow's
    (tmp_path / "samples").symlink_to(ROOT / "samples")
    workflow = tmp_path / "workflows" / "portable.yaml"
    workflow.parent.mkdir()
    workflow.write_text(yaml.safe_dump(config))
    port = free_port()
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    pool = subprocess.Popen(
        [sys.executable, "-m", "apache_beam.runners.worker.worker_pool_main", f"--service_port={port}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until the worker pool listens
        try:
            socket.create_connection(("localhost", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    try:
        out = tmp_path / "portable"
        proc = _run([
            "run", str(workflow), "--output", str(out), "--runner=PortableRunner", "--job_endpoint=embed",
            "--environment_type=EXTERNAL", f"--environment_config=localhost:{port}",
        ], env=env)
        assert proc.returncode == 0, proc.stderr[-3000:]
    finally:
        os.killpg(pool.pid, signal.SIGKILL)
        pool.wait(timeout=30)
    ours = json.loads((out / "manifest.json").read_text())
    local = json.loads((sample_run / "manifest.json").read_text())
    for kind in ("corpus", "rejected", "failed"):
        assert ours["shards"][kind] == local["shards"][kind], kind
    assert ours["counts"] == local["counts"] and ours["accounting"] == local["accounting"]


def test_shards_load_in_duckdb_polars_and_hf_datasets(sample_run: Path, hf_datasets) -> None:
    import duckdb
    import polars

    pattern = str(sample_run / "corpus" / "*.parquet")
    manifest = json.loads((sample_run / "manifest.json").read_text())
    kept = manifest["accounting"]["kept"]
    by_source = dict(duckdb.sql(f"select source, count(*) from read_parquet('{pattern}') group by 1").fetchall())
    assert by_source == manifest["counts"]["kept"]
    frame = polars.read_parquet(pattern)
    assert frame.height == kept and frame["id"].n_unique() == kept
    assert frame.filter(polars.col("language") == "zh").height == manifest["languages"]["zh"]
    # Hugging Face datasets, in its own venv (tests/conftest.py: hf_datasets)
    hf = hf_datasets(
        """
corpus = datasets.load_dataset("parquet", data_files=args["corpus"], split="train", cache_dir=args["cache"])
tokens = datasets.load_dataset("parquet", data_files=args["tokens"], split="train", cache_dir=args["cache"])
result = {"rows": corpus.num_rows, "columns": corpus.column_names, "ids": len(set(corpus["id"])),
          "token_rows": tokens.num_rows, "tokens": sum(tokens["num_tokens"])}
""",
        {"corpus": pattern, "tokens": str(sample_run / "tokens" / "*.parquet"), "cache": str(sample_run / ".hf-cache")},
    )
    assert hf["rows"] == kept and hf["ids"] == kept and "text" in hf["columns"]
    assert hf["token_rows"] == kept and hf["tokens"] == manifest["tokens"]["tokens"]


def test_validate_command_fails_on_a_corrupted_shard(sample_run: Path, tmp_path: Path) -> None:
    import shutil

    import pyarrow as pa

    copy = tmp_path / "copy"
    shutil.copytree(sample_run, copy, ignore=shutil.ignore_patterns(".hf-cache", "validation", "report"))
    ok = _run(["validate", str(copy)])
    assert ok.returncode == 0, ok.stdout + ok.stderr
    shard = copy / "corpus" / "part-00001-of-00004.parquet"
    table = pq.read_table(shard)
    broken = pa.concat_tables([table, table.slice(0, 1)])  # a duplicated id, and the row count disagrees
    pq.write_table(broken, shard)
    bad = _run(["validate", str(copy)])
    assert bad.returncode == 1
    assert "part-00001-of-00004.parquet" in bad.stderr
    assert (copy / "validation").is_dir()
    warn = _run(["validate", str(copy), "--warn"])
    assert warn.returncode == 0 and "part-00001-of-00004.parquet" in warn.stderr
