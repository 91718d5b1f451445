"""Engines (workflows/engines.py): `corpusmill run --engine flink|spark` starts Beam's job server
JVM and an SDK worker pool, gives byte-identical outputs to the local runner, and leaves no
process behind, also after a failure or SIGTERM.

The Flink and Spark tests need the job servers that `make engines` fetches with Maven at the
installed Beam version; when Maven Central does not serve them they skip with Maven's error
(recorded in .engines/*.unavailable). The fast tests below need no JVM.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from corpusmill.schemas.outputs import PROGRESS_DIR, read_progress, read_stages
from corpusmill.workflows import engines
from tests.workflows.interrupt import kill_after_corpus_stage
from corpusmill.workflows.engines import (
    EngineError,
    cluster_args,
    engine_session,
    flink_conf,
    portable_args,
    process_group_members,
    stop_process_group,
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "workflows" / "sample.yaml"
CLI = [sys.executable, "-m", "corpusmill.workflows.cli"]
RUN_TIMEOUT = 1200


def _needs(engine: str) -> None:
    reason = engines.available(engine)
    if reason:
        pytest.skip(f"{engine} unavailable: {reason}")


def _marked_processes_prefix(prefix: str) -> list[tuple[int, str]]:
    """Live processes whose CORPUSMILL_ENGINE_SESSION starts with `prefix`: every process an
    engine session starts (job server, worker pool) and all their children inherit it."""
    found = []
    key = f"{engines.SESSION_ENV}=".encode()
    for pid in engines._all_pids():
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                entries = f.read().split(b"\0")
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        for entry in entries:
            if entry.startswith(key) and entry[len(key):].decode(errors="replace").startswith(prefix):
                if not engines._is_zombie(pid):
                    found.append((pid, cmdline[:200]))
    return found


# ---------------------------------------------------------------- no JVM needed


def test_local_engine_is_the_in_process_runner() -> None:
    from corpusmill.workflows.runner import local_runner

    with engine_session("local", ["--direct_num_workers=1"]) as args:
        assert f"--runner={local_runner()}" in args and "--direct_num_workers=1" in args


def test_unknown_engine_is_refused() -> None:
    with pytest.raises(EngineError, match="unknown engine"):
        with engine_session("dask", []):
            pass


def test_existing_cluster_options_pass_through_to_beam(tmp_path: Path) -> None:
    """A named cluster or job server: nothing is started, Beam's runner options go through."""
    jar = tmp_path / "server.jar"
    jar.write_bytes(b"")  # only its path is handed on here; nothing runs it
    flink = cluster_args("flink", ["--flink_master=host:8081", f"--flink_job_server_jar={jar}"])
    assert flink is not None and "--runner=FlinkRunner" in flink and "--flink_master=host:8081" in flink
    spark = cluster_args("spark", ["--spark_master_url=spark://host:7077", "--runner=SparkRunner", f"--spark_job_server_jar={jar}"])
    assert spark is not None and spark.count("--runner=SparkRunner") == 1
    if not engines.job_server_path("flink").is_file():  # Beam's FlinkRunner would download one
        with pytest.raises(EngineError, match="download"):
            cluster_args("flink", ["--flink_master=host:8081"])
    endpoint = cluster_args("spark", ["--job_endpoint=host:8099"])
    assert endpoint == ["--job_endpoint=host:8099", "--runner=PortableRunner"]
    assert cluster_args("flink", ["--parallelism=2"]) is None  # no cluster: start one locally
    with engine_session("flink", ["--job_endpoint=host:8099"]) as args:  # no JVM, no jar needed
        assert args[:2] == ["--job_endpoint=host:8099", "--runner=PortableRunner"]


def test_portable_options_spill_to_disk() -> None:
    flink = portable_args("flink", ["--default_sdk_harness_log_level=WARNING"], 1, 2, 3, verbose=False)
    assert "--execution_mode_for_batch=BATCH_FORCED" in flink
    assert "--job_endpoint=localhost:1" in flink and "--environment_config=localhost:2" in flink
    assert "--environment_type=EXTERNAL" in flink and "--sdk_worker_parallelism=3" in flink
    assert "--default_sdk_harness_log_level=WARN" in flink  # the Java side has no WARNING
    spark = portable_args("spark", ["--storage_level=DISK_ONLY"], 1, 2, 3, verbose=True)
    assert "--storage_level=DISK_ONLY" in spark and "--storage_level=MEMORY_AND_DISK" not in spark
    # the Java runners' options must reach the job server: PortableRunner only sends declared ones
    from apache_beam.options.pipeline_options import PipelineOptions

    sent = PipelineOptions(flink + ["--storage_level=MEMORY_AND_DISK"]).get_all_options()
    assert sent["execution_mode_for_batch"] == "BATCH_FORCED" and sent["storage_level"] == "MEMORY_AND_DISK"


def test_flink_conf_puts_spills_under_the_work_dir(tmp_path: Path) -> None:
    conf = Path(flink_conf(str(tmp_path / "conf"), str(tmp_path / "spill"), 2)) / "flink-conf.yaml"
    values = yaml.safe_load(conf.read_text())
    assert values["io.tmp.dirs"] == str(tmp_path / "spill")
    assert values["taskmanager.numberOfTaskSlots"] == 2 and "taskmanager.memory.managed.size" in values
    assert values["taskmanager.memory.network.min"] == values["taskmanager.memory.network.max"]


def test_job_server_jvm_exits_on_out_of_memory(tmp_path: Path) -> None:
    """A job server out of heap must die (the run then fails) rather than hang: at 300k ~4 KB
    documents its gRPC threads died of OutOfMemoryError and the job never finished."""
    cmd = engines.job_server_command("flink", tmp_path / "jar", 1, str(tmp_path / "work"), 2)
    assert "-XX:+ExitOnOutOfMemoryError" in cmd and f"-Xmx{engines.job_server_heap(2)}" in cmd
    if engines.JOB_SERVER_HEAP is None:  # ~1 GB of SDK output may wait per running bundle (slot)
        assert engines.job_server_heap(1) == engines.job_server_heap(2) == "3g"
        assert engines.job_server_heap(4) == "5g"
    gc_log = next(a for a in cmd if a.startswith("-Xlog:gc:file="))
    assert gc_log.startswith(f"-Xlog:gc:file={tmp_path}/flink-gc.log")
    if engines.shutil.which("java") is None:
        pytest.skip("no java on PATH")
    proc = subprocess.run(["java", *[a for a in cmd[1:] if a.startswith("-X")], "-version"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr  # the JVM accepts every flag


def test_missing_job_server_is_a_configuration_error(tmp_path: Path) -> None:
    """Without the jar the run stops before anything starts, exit 2, saying what to do."""
    env = dict(os.environ, CORPUSMILL_ENGINES_DIR=str(tmp_path / "no-engines"))
    proc = subprocess.run(
        [*CLI, "run", str(SAMPLE), "--output", str(tmp_path / "out"), "--engine", "spark"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=300,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "make engines" in proc.stderr and "spark" in proc.stderr


def test_worker_pool_process_group_is_stopped(tmp_path: Path) -> None:
    """The SDK worker pool (the real one, no JVM) stops with everything it started."""
    proc = engines._start_worker_pool(str(tmp_path), str(tmp_path / "pool.log"), dict(os.environ))
    port = engines._wait_for_port_file(proc, str(tmp_path / "worker-pool.port"), 120)
    with socket.create_connection(("localhost", port), timeout=5):  # it listens where it said
        pass
    assert process_group_members(proc.popen.pid)
    stop_process_group(proc)
    assert process_group_members(proc.popen.pid) == []
    assert proc.popen.poll() is not None


def test_worker_pool_listens_on_a_given_port(tmp_path: Path) -> None:
    """`--port N` (a cluster host's pool, which runners are configured with): it listens there."""
    port = engines.free_port()
    pool = subprocess.Popen(
        [sys.executable, "-m", "corpusmill.workflows.worker_pool", f"--port={port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and pool.poll() is None:
            with contextlib.suppress(OSError), socket.create_connection(("localhost", port), timeout=1):
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"the pool never listened on {port}: {pool.stderr.read().decode()[-2000:] if pool.stderr else ''}")
    finally:
        os.killpg(pool.pid, signal.SIGKILL)
        pool.wait(timeout=30)


# ---------------------------------------------------------------- real engines (slow)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _outputs(out: Path) -> dict[str, str]:
    files = {}
    for kind in ("corpus", "rejected", "failed", "tokens"):
        for path in sorted((out / kind).glob("part-*.parquet")):
            files[f"{kind}/{path.name}"] = _digest(path)
    return files


def _counts(out: Path) -> dict:
    manifest = json.loads((out / "manifest.json").read_text())
    return {k: manifest.get(k) for k in ("counts", "accounting", "tokens")} | {
        "shards": {kind: manifest["shards"][kind] for kind in manifest["shards"]}
    }


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=ROOT, timeout=RUN_TIMEOUT, **kwargs)


@pytest.fixture(scope="module")
def workflow(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample workflow (all four sources, exact + MinHash dedup, token shards) with a
    smaller tokenizer and no validation: both run in the launching process whatever the engine
    (tests/workflows/test_end_to_end.py covers them), and they took most of each run."""
    config = yaml.safe_load(SAMPLE.read_text())
    for source in config["sources"]:
        source["paths"] = [str((SAMPLE.parent / p).resolve()) for p in source["paths"]]
    config["tokenizer"]["vocab_size"] = 4000  # the sample needs >= 3,370 pieces for its characters
    config["tokenizer"]["sampling"]["max_chars"] = 300_000
    config["validate"] = False
    path = tmp_path_factory.mktemp("engines") / "sample.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def local_run(workflow: Path) -> Path:
    if engines.available("flink") and engines.available("spark"):
        pytest.skip(f"neither Flink nor Spark available: {engines.available('flink')}")
    out = workflow.parent / "local"
    proc = _run(["run", str(workflow), "--output", str(out)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["flink", "spark"])
def test_sample_workflow_is_byte_identical_to_local(engine: str, workflow: Path, local_run: Path, tmp_path: Path) -> None:
    _needs(engine)
    out = tmp_path / engine
    started = time.monotonic()
    # 2 KB data messages instead of 10 MB: the SDK workers' output spool (workflows/output_spool.py)
    # then holds and replays hundreds of messages per stage, more than the runner's queue takes
    env = dict(os.environ, CORPUSMILL_OUTPUT_FLUSH_BYTES="2048")
    proc = _run(["run", str(workflow), "--output", str(out), "--engine", engine], env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    print(f"{engine}: sample workflow in {time.monotonic() - started:.0f}s")
    ours, local = _outputs(out), _outputs(local_run)
    assert len([k for k in local if k.startswith("tokens/")]) >= 1 and ours.keys() == local.keys()
    assert ours == local
    assert _counts(out) == _counts(local_run)
    run_info = json.loads((out / "run_info.json").read_text())
    assert run_info["engine"] == engine and run_info["runner"] == "PortableRunner"
    assert (out / "_stats" / "engine" / f"{engine}-job-server.log").is_file()
    assert not [p for p in (out / "_stats" / "engine").iterdir() if p.is_dir()], "engine temp dirs left behind"
    assert _marked_processes_prefix(str(out)) == []
    # progress of every stage came back from the engine's workers, with the run's own counts
    manifest = json.loads((out / "manifest.json").read_text())
    stages = read_stages(str(out / PROGRESS_DIR))
    assert read_progress(str(out / PROGRESS_DIR))[1] == manifest["accounting"]["documents_read"]
    assert stages["steps"] == manifest["accounting"]["documents_read"]
    assert stages["minhash dedup: kept"] == manifest["accounting"]["kept"]
    assert stages["corpus shards written"] == len(manifest["shards"]["corpus"])
    assert any(k.startswith("minhash: edges after round") for k in stages)
    assert (out / "report" / "index.html").stat().st_size > 10_000


@pytest.mark.slow
def test_flink_run_killed_after_the_corpus_stage_resumes_identically(workflow: Path, local_run: Path, tmp_path: Path) -> None:
    """Killed (the whole process group, JVM and workers included) once the corpus stage is
    done, then rerun: the corpus stage is skipped, the rest runs on Flink again, and the
    outputs equal the local runner's."""
    _needs("flink")
    out = tmp_path / "flink"
    args = [*CLI, "run", str(workflow), "--output", str(out), "--engine", "flink"]
    kill_after_corpus_stage(args, out, ROOT, RUN_TIMEOUT, lambda: [pid for pid, _ in _marked_processes_prefix(str(out))])
    resumed = _run(args[len(CLI):])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "stage corpus: already complete" in resumed.stderr
    assert json.loads((out / "run_info.json").read_text())["stage_seconds"]["corpus"] == "skipped"
    assert _outputs(out) == _outputs(local_run)
    assert _counts(out) == _counts(local_run)
    assert _marked_processes_prefix(str(out)) == []


@pytest.mark.slow
def test_nothing_survives_a_failing_pipeline(tmp_path: Path) -> None:
    """An exception inside the session (here: a pipeline that raises on the engine) stops the
    job server and the worker pool and every worker they started."""
    _needs("flink")
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    def explode(x: int) -> int:
        raise RuntimeError(f"planted failure on {x}")

    work = tmp_path / "work"
    with pytest.raises(Exception, match="planted failure"):
        with engine_session("flink", [], str(work), workers=1) as args:
            assert len(_marked_processes_prefix(str(work))) >= 2  # the JVM and the worker pool
            pipeline = beam.Pipeline(options=PipelineOptions(args))
            _ = pipeline | beam.Create([1, 2, 3]) | beam.Map(explode)
            pipeline.run().wait_until_finish()
    assert _marked_processes_prefix(str(work)) == []


@pytest.mark.slow
def test_nothing_survives_sigterm(tmp_path: Path) -> None:
    """SIGTERM to `corpusmill run --engine flink` while it runs: it exits, nothing it started survives."""
    _needs("flink")
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [*CLI, "run", str(SAMPLE), "--output", str(out), "--engine", "flink"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and len(_marked_processes_prefix(str(out))) < 2:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:] if proc.stderr else ""
            time.sleep(0.5)
        assert len(_marked_processes_prefix(str(out))) >= 2
        time.sleep(3)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _marked_processes_prefix(str(out)):
        time.sleep(0.5)
    assert _marked_processes_prefix(str(out)) == []
