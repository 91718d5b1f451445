"""Engines: run a workflow's pipelines on `local` (in-process FnApiRunner), `flink` or `spark`.

`engine_session(engine, beam_args, work_dir)` is a context manager that yields the Beam
pipeline arguments to run with:

* `local`: today's FnApiRunner arguments (`workflows/runner.py`), nothing is started.
* `flink` / `spark` on one machine (no cluster named in `beam_args`): it starts
    - Beam's job server JVM for the engine from the jar that `make engines` fetched with Maven
      at set-up time (`.engines/`; never a download at run time), with Java 17 `--add-opens`
      flags, a 3 GB heap on 2 slots (it exits on OutOfMemoryError rather than hang; a GC log is kept next to
      its log; the heap grows with the slots, see `job_server_heap`) and every temporary file
      under `work_dir`:
        Flink: `[local]` master, a generated Flink config (`io.tmp.dirs`, managed memory,
        slots = workers), pipelines in `BATCH_FORCED` mode (blocking shuffles spill to disk;
        the default pipelined exchange can deadlock on diamond-shaped graphs);
        Spark: `local[N]`, `spark.local.dir`, `--storage_level=MEMORY_AND_DISK` (reused
        PCollections are otherwise cached in memory only);
    - a Beam SDK worker pool (Beam's `BeamFnExternalWorkerPoolServicer`, started by
      `workflows/worker_pool.py` on a port it picks itself) from this very Python
      environment, which starts one SDK worker process per worker the runner asks for
      (`--sdk_worker_parallelism=N`); the environment's `bin/` is put first on PATH because the
      pool starts workers as `python`; the pool's environment adds SDK_WORKER_ENV (glibc malloc
      settings, 1 MB data messages; `worker_pool_env`), and each worker gives freed malloc
      memory back every 2 s (`workflows/sdk_worker.py`).
  and yields `--runner=PortableRunner --job_endpoint=localhost:P --environment_type=EXTERNAL
  --environment_config=localhost:W ...`. On exit (normal, exception, Ctrl-C, SIGTERM) both
  process groups are terminated (SIGTERM, then SIGKILL after a grace period), and they are
  started with a parent-death signal, so they also die if this process is killed outright.
* Large stages on Flink and Spark (Beam 2.62; measured, benchmarks/results/engine_scale.md):
  Beam's batch Flink stage (FlinkExecutableStageFunction; Spark's likewise) runs a task's whole
  input partition as ONE bundle; the runner takes the bundle's output only after it has sent
  all of the input and the SDK worker has reported the bundle complete. Output that arrives
  earlier waits in the runner's inbound queue (100 messages of up to 10 MB); once that is full
  the gRPC thread blocks, and so does the task thread sending input: the job deadlocked (exact
  + MinHash dedup of 1M ~4 KB documents on 2 slots, ~2.2 GB of output per partition; a thread
  dump shows the task threads in DirectStreamObserver.onNext and the gRPC threads in
  CancellableQueue.put). The SDK workers of these sessions therefore hold each bundle's output
  on local disk until the bundle's input has ended and send it afterwards
  (`workflows/output_spool.py`, installed by `workflows/worker_pool.py`). `--parallelism`
  does not split partitions here: the job server's local Flink runs every operator with the
  slot count (thread names `(i/2)` with `--parallelism=8` in a probe and 158 in a 1M run).
* `flink` / `spark` against an existing cluster (`--flink_master=`, `--spark_master_url=`, or a
  `--job_endpoint=` of a running job server): nothing is started; Beam's own FlinkRunner /
  SparkRunner / PortableRunner options pass through. Beam's FlinkRunner / SparkRunner start a
  job server from a jar, which they download unless given one: the local jar is handed to them,
  and without one (or an explicit `--flink_job_server_jar` / `--spark_job_server_jar`) the
  session refuses rather than let Beam download at run time.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar
from pathlib import Path

import apache_beam
from apache_beam.options.pipeline_options import PipelineOptions

from corpusmill.workflows.runner import _given, default_workers, pipeline_args
from corpusmill.workflows.worker_pool import read_port

log = logging.getLogger("corpusmill")

ENGINES = ("local", "flink", "spark")
FLINK_VERSION = "1.19"  # Beam's Flink runner for Flink 1.19; runs on Java 17
# `.engines/` at the repository root (Makefile `engines` target); CORPUSMILL_ENGINES_DIR overrides.
ENGINES_DIR = Path(os.environ.get("CORPUSMILL_ENGINES_DIR", Path(__file__).resolve().parent.parent / ".engines"))
# The job server's heap (`job_server_heap`). What it holds at most was measured with a heap dump
# at 1M ~4 KB documents on 2 slots (benchmarks/results/engine_scale.md): 1.1 of 1.2 GB live were
# ~10 MB gRPC messages of SDK output waiting in the inbound queue of a running bundle (Beam
# 2.62's BeamFnDataInboundObserver: a queue of 100 messages; the Python SDK sends its output in
# messages of up to 10 MB), so up to ~1 GB per slot, plus Flink/Beam's own ~0.5 GB. 1536m ran out
# of heap at 300k on 2 slots and the JVM then hung instead of failing: hence 1 GB per slot plus
# 1 GB, at least 3 GB, and -XX:+ExitOnOutOfMemoryError below. CORPUSMILL_JOB_SERVER_HEAP overrides.
JOB_SERVER_HEAP = os.environ.get("CORPUSMILL_JOB_SERVER_HEAP")  # e.g. "6g"; None: job_server_heap()
# Flink's network memory (blocking-shuffle buffers); the MiniCluster's local default is 64m.
FLINK_NETWORK_MEMORY = "128m"
# Environment of the SDK worker pool and its workers (`worker_pool_env`; a variable already set
# in the environment wins). Measured with benchmarks/engine_scale.py (results/engine_scale.md,
# notes "Memory per process"): with glibc's defaults each SDK worker held 200-600 MB of freed
# memory inside its malloc heaps at 100k-300k ~4 KB documents (mallinfo2 `fordblks`, 40-85 %
# of its heap): freed large buffers (data messages, grouped values) raise glibc's dynamic mmap
# threshold, so later ones are carved from the heaps, whose holes are not given back. With
# these settings (and sdk_worker's malloc_trim) the tree's peak fell 4,039 -> 3,837 MB at 100k
# and 6,671 -> 5,727 MB at 300k (without the trim), same outputs.
SDK_WORKER_ENV = {
    "MALLOC_ARENA_MAX": "2",  # glibc: up to 8 arenas per core otherwise (one per busy thread)
    "MALLOC_MMAP_THRESHOLD_": "262144",  # fixed: blocks >= 256 KB are mmapped, unmapped when freed
    "MALLOC_TRIM_THRESHOLD_": "1048576",  # free memory at a heap's top beyond 1 MB goes back
    # data messages of 1 MB instead of Beam's 10 MB (workflows/output_spool.py): the runner's
    # inbound queue of 100 messages per running bundle then holds ~100 MB instead of ~1 GB.
    # Measured gain mixed: JVM 3,337 -> 3,110 MB at 300k, but +300-500 MB at 100k (notes)
    "CORPUSMILL_OUTPUT_FLUSH_BYTES": str(1 << 20),
}
START_TIMEOUT_S = 120.0
SESSION_ENV = "CORPUSMILL_ENGINE_SESSION"  # set to the session's work dir in every process it starts
ENVIRONMENT_CACHE_MS = 10 * 60 * 1000
STOP_GRACE_S = 10.0

ARTIFACTS = {
    "flink": f"beam-runners-flink-{FLINK_VERSION}-job-server",
    "spark": "beam-runners-spark-3-job-server",
}
MAIN_CLASSES = {
    "flink": "org.apache.beam.runners.flink.FlinkJobServerDriver",
    "spark": "org.apache.beam.runners.spark.SparkJobServerDriver",
}
# The union of the module openings Flink (env.java.opts.all of Flink 1.18+) and Spark
# (JavaModuleOptions) set for themselves on Java 17; the job server runs the engine in-process.
JAVA17_FLAGS = [
    *(f"--add-opens=java.base/{p}=ALL-UNNAMED" for p in (
        "java.lang", "java.lang.invoke", "java.lang.reflect", "java.io", "java.net", "java.nio",
        "java.text", "java.time", "java.util", "java.util.concurrent", "java.util.concurrent.atomic",
        "java.util.concurrent.locks", "sun.nio.ch", "sun.nio.cs", "sun.security.action",
        "sun.util.calendar",
    )),
    "--add-exports=java.base/sun.net.util=ALL-UNNAMED",
    "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
    "--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
    "-Djdk.reflect.useDirectMethodHandle=false",
]


class EngineError(RuntimeError):
    """The engine cannot be set up (jar missing, JVM did not start); the message says why."""


class _JavaRunnerOptions(PipelineOptions):
    """Options of Beam's Java Flink/Spark runners that the Python SDK does not declare itself.
    A PortableRunner submission only forwards declared options to the job server, so they are
    declared here (the job server maps `execution_mode_for_batch` to FlinkPipelineOptions and
    `storage_level` to SparkPipelineOptions)."""

    @classmethod
    def _add_argparse_args(cls, parser) -> None:  # type: ignore[no-untyped-def]
        parser.add_argument("--execution_mode_for_batch", default=None, help="Flink: BATCH_FORCED spills shuffles to disk")
        parser.add_argument("--storage_level", default=None, help="Spark: storage level of cached PCollections")


def beam_version() -> str:
    return apache_beam.__version__


def job_server_path(engine: str, engines_dir: Path | None = None) -> Path:
    """The job server of `engine` for the installed Beam version (it must match exactly): Beam's
    jar, else the folder `make engines` assembled from the runner's artifacts (see `fetch`)."""
    base = (engines_dir or ENGINES_DIR) / f"{ARTIFACTS[engine]}-{beam_version()}"
    jar = base.with_name(base.name + ".jar")
    if not jar.is_file() and (base / ".complete").is_file():
        return base
    return jar


def _java_target(engine: str, path: Path) -> list[str]:
    if path.is_dir():
        return ["-cp", f"{path}/lib/*", MAIN_CLASSES[engine]]
    return ["-jar", str(path)]


def available(engine: str) -> str | None:
    """None when `engine` can run here, else the reason it cannot."""
    if engine == "local":
        return None
    jar = job_server_path(engine)
    if not jar.exists():
        return f"{jar} is missing (run `make engines`; {_fetch_note(engine)})"
    if shutil.which("java") is None:
        return "no `java` on PATH (Java 17 is needed for the Flink and Spark job servers)"
    return None


def _fetch_note(engine: str) -> str:
    note = ENGINES_DIR / f"{ARTIFACTS[engine]}-{beam_version()}.unavailable"
    if note.is_file():
        return "Maven said: " + note.read_text(encoding="utf-8").strip()
    return "it fetches org.apache.beam:%s:%s from Maven Central" % (ARTIFACTS[engine], beam_version())


def _value(args: list[str], flag: str) -> str | None:
    for a in args:
        if a.startswith(flag + "="):
            return a.split("=", 1)[1]
    return None


def cluster_args(engine: str, beam_args: list[str]) -> list[str] | None:
    """`beam_args` completed for an existing cluster or job server, or None when none is named."""
    args = list(beam_args)
    if _given(args, "--job_endpoint"):
        if not _given(args, "--runner"):
            args.append("--runner=PortableRunner")
        return args
    flag, runner = {"flink": ("--flink_master", "FlinkRunner"), "spark": ("--spark_master_url", "SparkRunner")}[engine]
    if not _given(args, flag):
        return None
    if not _given(args, "--runner"):
        args.append(f"--runner={runner}")
    jar_flag = f"--{engine}_job_server_jar"
    jar = job_server_path(engine)
    if not _given(args, jar_flag):
        if not jar.is_file():  # an assembled folder cannot be handed to Beam's runner
            raise EngineError(
                f"{flag} needs Beam's {engine} job server jar, and {jar} is not there: Beam's "
                f"{runner} would download one at run time. Pass {jar_flag}=PATH, or start a job "
                "server for the cluster and pass --job_endpoint=HOST:PORT"
            )
        args.append(f"{jar_flag}={jar}")  # Beam's runner would otherwise download one
    if engine == "flink":
        args.append(f"--flink_version={FLINK_VERSION}")
    return args


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("localhost", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:  # runs in the child between fork and exec (Linux)
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:  # pragma: no cover - not glibc
        pass

T = TypeVar("T")


@dataclass
class _Process:
    name: str
    popen: subprocess.Popen
    log_path: str


def _start(name: str, cmd: list[str], log_path: str, env: dict[str, str] | None = None) -> _Process:
    log.info("starting %s (log: %s)", name, log_path)
    log.debug("%s command: %s", name, " ".join(cmd))
    with open(log_path, "ab") as out:
        popen = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # its own process group: stopped as a whole
            preexec_fn=_die_with_parent,
        )
    return _Process(name, popen, log_path)


def stop_process_group(proc: _Process, grace: float = STOP_GRACE_S) -> None:
    """SIGTERM the process group, SIGKILL it after `grace` seconds, reap the leader."""
    pgid = proc.popen.pid  # start_new_session: the leader's pid is the group id
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and _group_alive(pgid):
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.popen.wait(timeout=0.1)
        if not _group_alive(pgid):
            break
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.popen.wait(timeout=5)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover
        return True
    # zombies of the group still count for killpg(0); the leader is reaped by wait()
    return any(_pgid_of(pid) == pgid and not _is_zombie(pid) for pid in _all_pids())


def _all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as f:
            data = f.read()
    except OSError:
        return None
    return data[data.rfind(")") + 2:].split()  # fields from `state` on


def _pgid_of(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[2]) if fields else None


def _is_zombie(pid: int) -> bool:
    fields = _stat_fields(pid)
    return fields is None or fields[0] == "Z"


def process_group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group `pgid`."""
    return [pid for pid in _all_pids() if _pgid_of(pid) == pgid and not _is_zombie(pid)]


def _wait_until(proc: _Process, ready: Callable[[], T | None], timeout: float, waiting_for: str) -> T:
    """Poll `ready()` until it returns a value; EngineError if `proc` exits first or after
    `timeout` seconds (`waiting_for` says what did not happen)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise EngineError(f"{proc.name} exited with status {proc.popen.returncode}; see {proc.log_path}:\n{_tail(proc.log_path)}")
        value = ready()
        if value is not None:
            return value
        time.sleep(0.2)
    raise EngineError(f"{proc.name} did not {waiting_for} within {timeout:.0f}s; see {proc.log_path}")


def _listening(port: int) -> bool | None:
    with contextlib.suppress(OSError), socket.create_connection(("localhost", port), timeout=1):
        return True
    return None


def _wait_for_port(proc: _Process, port: int, timeout: float) -> None:
    _wait_until(proc, lambda: _listening(port), timeout, f"listen on port {port}")


def worker_pool_env(env: dict[str, str]) -> dict[str, str]:
    """`env` with SDK_WORKER_ENV's settings where `env` does not set them itself. With
    CORPUSMILL_SDK_WORKER_ENV=0 none, and no malloc_trim thread: glibc's defaults and Beam's
    10 MB messages, as before these settings (to compare)."""
    if env.get("CORPUSMILL_SDK_WORKER_ENV", "1") == "0":
        return {"CORPUSMILL_SDK_MALLOC_TRIM_S": "0", **env}
    return {**SDK_WORKER_ENV, **env}


def _start_worker_pool(work: str, log_path: str, env: dict[str, str]) -> _Process:
    """Beam's SDK worker pool on a port it picks itself (`workflows/worker_pool.py`: a port
    picked here and handed over could be shared by another gRPC server in the meantime)."""
    port_file = os.path.join(work, "worker-pool.port")
    cmd = [sys.executable, "-m", "corpusmill.workflows.worker_pool", f"--port-file={port_file}"]
    return _start("SDK worker pool", cmd, log_path, env)


def _wait_for_port_file(proc: _Process, path: str, timeout: float) -> int:
    """The port `proc` wrote to `path` once it listens (`worker_pool.write_port`)."""
    return _wait_until(proc, lambda: read_port(path), timeout, "report its port")


def _tail(path: str, lines: int = 15) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


def flink_conf_values(tmp_dir: str, workers: int, managed_memory: str = "256m") -> dict[str, str]:
    """The Flink configuration of the job server's embedded MiniCluster."""
    return {
        "io.tmp.dirs": tmp_dir,  # spilled sort/shuffle files
        "taskmanager.memory.managed.size": managed_memory,  # sorts beyond it spill to io.tmp.dirs
        "taskmanager.memory.network.min": FLINK_NETWORK_MEMORY,
        "taskmanager.memory.network.max": FLINK_NETWORK_MEMORY,
        "taskmanager.numberOfTaskSlots": str(workers),
        "parallelism.default": str(workers),
    }


def flink_conf(conf_dir: str, tmp_dir: str, workers: int, managed_memory: str = "256m") -> str:
    """Write a Flink config for the job server's embedded MiniCluster; return its directory."""
    os.makedirs(conf_dir, exist_ok=True)
    lines = flink_conf_values(tmp_dir, workers, managed_memory)
    with open(os.path.join(conf_dir, "flink-conf.yaml"), "w", encoding="utf-8") as f:
        f.writelines(f"{k}: {v}\n" for k, v in lines.items())
    return conf_dir


def job_server_heap(workers: int) -> str:
    """The job server's -Xmx for `workers` slots: CORPUSMILL_JOB_SERVER_HEAP, else 1 GB per slot
    plus 1 GB, at least 3 GB (see JOB_SERVER_HEAP)."""
    return JOB_SERVER_HEAP or f"{max(3, 1 + workers)}g"


def job_server_command(engine: str, jar: Path, job_port: int, work: str, workers: int) -> list[str]:
    java = [
        shutil.which("java") or "java",
        f"-Xmx{job_server_heap(workers)}",
        "-XX:+ExitOnOutOfMemoryError",  # a JVM out of heap otherwise hangs the job (grpc threads die)
        # garbage-collection log next to the job server's log (kept after the run)
        f"-Xlog:gc:file={os.path.dirname(work)}/{engine}-gc.log:time,uptime",
        f"-Djava.io.tmpdir={work}/java-tmp",
        *JAVA17_FLAGS,
    ]
    os.makedirs(f"{work}/java-tmp", exist_ok=True)
    common = [
        f"--job-port={job_port}",
        "--artifact-port=0",
        "--expansion-port=0",
        f"--artifacts-dir={work}/artifacts",
    ]
    if engine == "flink":
        conf = flink_conf(f"{work}/flink-conf", f"{work}/flink-tmp", workers)
        os.makedirs(f"{work}/flink-tmp", exist_ok=True)
        return [*java, *_java_target(engine, jar), "--flink-master=[local]", f"--flink-conf-dir={conf}", *common]
    os.makedirs(f"{work}/spark-local", exist_ok=True)
    java += [f"-Dspark.local.dir={work}/spark-local", "-Dspark.ui.enabled=false"]
    return [*java, *_java_target(engine, jar), f"--spark-master-url=local[{workers}]", *common]


def portable_args(engine: str, beam_args: list[str], job_port: int, pool_port: int, workers: int, verbose: bool) -> list[str]:
    # the Java job server only knows the level names DEBUG, TRACE, INFO, WARN, ERROR, OFF
    args = [a.replace("=WARNING", "=WARN") if a.startswith("--default_sdk_harness_log_level=") else a for a in beam_args]
    defaults = {
        "--runner": "PortableRunner",
        "--job_endpoint": f"localhost:{job_port}",
        "--environment_type": "EXTERNAL",
        "--environment_config": f"localhost:{pool_port}",
        "--sdk_worker_parallelism": str(workers),
        # keep SDK workers between stages: each new worker process costs seconds of start-up
        "--environment_cache_millis": str(ENVIRONMENT_CACHE_MS),
    }
    if engine == "flink":
        defaults["--parallelism"] = str(workers)
        defaults["--execution_mode_for_batch"] = "BATCH_FORCED"
    else:
        defaults["--storage_level"] = "MEMORY_AND_DISK"
    if not verbose:
        defaults["--default_sdk_harness_log_level"] = "WARN"
    for flag, value in defaults.items():
        if not _given(args, flag):
            args.append(f"{flag}={value}")
    return args


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """While the engine runs, SIGTERM raises KeyboardInterrupt in the main thread, so that the
    `finally` below stops the JVM and workers (Python's default would exit without cleanup)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum, frame):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def local_engine(engine: str, beam_args: list[str], work_dir: str, workers: int | None = None, verbose: bool = False) -> Iterator[list[str]]:
    """Start `engine`'s job server and an SDK worker pool on this machine; yield pipeline args."""
    reason = available(engine)
    if reason:
        raise EngineError(f"engine {engine} is not available: {reason}")
    workers = workers or int(_value(beam_args, "--sdk_worker_parallelism") or 0) or default_workers()
    os.makedirs(work_dir, exist_ok=True)
    work = tempfile.mkdtemp(prefix=f"{engine}-", dir=work_dir)
    processes: list[_Process] = []
    try:
        with _sigterm_raises():
            env = dict(os.environ)
            env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
            env["TMPDIR"] = work
            env[SESSION_ENV] = work
            pool_env = worker_pool_env(env)
            pool = _start_worker_pool(work, os.path.join(work_dir, f"{engine}-worker-pool.log"), pool_env)
            processes.append(pool)
            pool_port = _wait_for_port_file(pool, os.path.join(work, "worker-pool.port"), START_TIMEOUT_S)
            # The JVM binds without SO_REUSEPORT: if the port was taken meanwhile it fails loudly.
            job_port = free_port()
            processes.append(_start(
                f"{engine} job server",
                job_server_command(engine, job_server_path(engine), job_port, work, workers),
                os.path.join(work_dir, f"{engine}-job-server.log"),
                env,
            ))
            _wait_for_port(processes[-1], job_port, START_TIMEOUT_S)
            yield portable_args(engine, beam_args, job_port, pool_port, workers, verbose)
    finally:
        for proc in reversed(processes):
            stop_process_group(proc)
        shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def engine_session(
    engine: str, beam_args: list[str], work_dir: str | None = None, workers: int | None = None, verbose: bool = False
) -> Iterator[list[str]]:
    """Yield the Beam pipeline arguments for `engine` (see the module docstring); everything the
    session started is stopped when the block exits. `work_dir` holds the engine's temporary
    and spill files (default: the system temporary directory)."""
    if engine not in ENGINES:
        raise EngineError(f"unknown engine {engine!r}; known: {', '.join(ENGINES)}")
    if engine == "local":
        yield pipeline_args(beam_args, verbose)
        return
    remote = cluster_args(engine, beam_args)
    if remote is not None:
        yield remote
        return
    with local_engine(engine, beam_args, work_dir or tempfile.gettempdir(), workers, verbose) as args:
        yield args


# ---------------------------------------------------------------- set-up time (make engines)

RUNNER_ARTIFACTS = {"flink": f"beam-runners-flink-{FLINK_VERSION}", "spark": "beam-runners-spark-3"}
# Beam's Spark runner declares Spark as `provided`; its job server bundles Spark 3 for Scala 2.12.
SPARK_VERSION = os.environ.get("CORPUSMILL_SPARK_VERSION", "3.5.0")
RETRY_AFTER_S = 24 * 3600
SLF4J_VERSION = "1.7.30"  # Beam's slf4j-api
SPARK_SLF4J_VERSION = "2.0.7"  # Spark 3.5's slf4j-api
POM = """<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>corpusmill.engines</groupId><artifactId>{name}</artifactId><version>1</version>
<dependencies>{deps}</dependencies></project>
"""
DEP = "<dependency><groupId>{g}</groupId><artifactId>{a}</artifactId><version>{v}</version></dependency>"


def _maven(args: list[str], cwd: Path) -> tuple[bool, str]:
    proc = subprocess.run(["mvn", "-B", "-q", "-U", *args], cwd=cwd, capture_output=True, text=True)
    text = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
    errors = [ln.split("[ERROR] ", 1)[1] for ln in text.splitlines() if "[ERROR] " in ln]
    return proc.returncode == 0, (errors[0] if errors else f"mvn exited {proc.returncode}")


def fetch(engine: str, engines_dir: Path = ENGINES_DIR) -> str:
    """Fetch `engine`'s job server for the installed Beam version with Maven (set-up time only).

    1. Beam's self-contained job server jar, org.apache.beam:<ARTIFACTS[engine]>:<beam version>;
    2. when Maven Central does not serve it: the same job server assembled from the engine's
       runner artifact of the same Beam version and its dependencies (a `lib/` folder of jars,
       started with the runner's job server main class);
    3. when neither is served: `<artifact>-<version>.unavailable` records Maven's errors, and
       the engine reports them instead of running.
    Idempotent: nothing is fetched when the jar (or the assembled folder) is present."""
    version = beam_version()
    engines_dir.mkdir(parents=True, exist_ok=True)
    jar = engines_dir / f"{ARTIFACTS[engine]}-{version}.jar"
    assembled = engines_dir / f"{ARTIFACTS[engine]}-{version}"
    note = engines_dir / f"{ARTIFACTS[engine]}-{version}.unavailable"
    if jar.is_file():
        return f"{engine}: {jar} present"
    if (assembled / "lib").is_dir() and (assembled / ".complete").is_file():
        return f"{engine}: {assembled} present"
    recent = note.is_file() and time.time() - note.stat().st_mtime < RETRY_AFTER_S
    if recent and not os.environ.get("CORPUSMILL_ENGINES_RETRY"):  # Maven takes ~25 s to say no again
        return f"{engine}: NOT AVAILABLE for Beam {version} (checked within a day; CORPUSMILL_ENGINES_RETRY=1 asks again): " + note.read_text(encoding="utf-8").strip()
    coordinate = f"org.apache.beam:{ARTIFACTS[engine]}:{version}"
    ok, jar_error = _maven(["dependency:copy", f"-Dartifact={coordinate}", f"-DoutputDirectory={engines_dir}"], engines_dir)
    if ok and jar.is_file():
        note.unlink(missing_ok=True)
        return f"{engine}: fetched {coordinate}"
    deps = [("org.apache.beam", RUNNER_ARTIFACTS[engine], version), ("org.apache.beam", "beam-runners-java-job-service", version)]
    if engine == "flink":
        deps.append(("org.slf4j", "slf4j-jdk14", SLF4J_VERSION))  # the job server jar's log binding
    else:  # Spark 3.5 logs through slf4j 2 (bound to its log4j 2); Beam's slf4j 1.7 calls still work
        deps.append(("org.slf4j", "slf4j-api", SPARK_SLF4J_VERSION))
        deps += [("org.apache.spark", f"spark-{m}_2.12", SPARK_VERSION) for m in ("core", "streaming")]
    shutil.rmtree(assembled, ignore_errors=True)
    assembled.mkdir()
    (assembled / "pom.xml").write_text(
        POM.format(name=ARTIFACTS[engine], deps="".join(DEP.format(g=g, a=a, v=v) for g, a, v in deps)), encoding="utf-8"
    )
    ok, lib_error = _maven(["dependency:copy-dependencies", "-DincludeScope=runtime", "-DoutputDirectory=lib"], assembled)
    if ok:
        (assembled / ".complete").write_text(" ".join(f"{g}:{a}:{v}" for g, a, v in deps) + "\n", encoding="utf-8")
        note.unlink(missing_ok=True)
        return f"{engine}: {coordinate} is not served; assembled from {RUNNER_ARTIFACTS[engine]}:{version} into {assembled}"
    shutil.rmtree(assembled, ignore_errors=True)
    message = f"{coordinate}: {jar_error} | assembling from {RUNNER_ARTIFACTS[engine]}:{version}: {lib_error}"
    note.write_text(message + "\n", encoding="utf-8")
    return f"{engine}: NOT AVAILABLE for Beam {version}: {message}"


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m corpusmill.workflows.engines")
    parser.add_argument("command", choices=["fetch", "check"])
    parser.add_argument("engines", nargs="*", default=["flink", "spark"])
    args = parser.parse_args(argv)
    if args.command == "check":
        for engine in args.engines:
            print(f"{engine}: {available(engine) or 'available'}")
        return 0
    if shutil.which("mvn") is None:
        print("make engines: `mvn` not found; Flink and Spark will be unavailable", file=sys.stderr)
        return 0
    for engine in args.engines:
        print(fetch(engine), flush=True)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
