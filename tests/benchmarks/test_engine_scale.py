"""benchmarks/engine_scale.py: the per-process memory attribution (roles of the processes of a
run, operator starts read from a Flink job server log, peaks per operator interval)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.engine_scale import memory_by_stage, process_role, stage_starts

LOG = """Dec 05, 2026 11:01:24 AM org.apache.flink.runtime.metrics.groups.TaskMetricGroup getOrAddOperator
WARNING: The operator name MapPartition (MapPartition at [1]ReadJsonl0/Paths/FlatMap(<lambda at core.py:3970>)) exceeded the 80 characters length limit and was truncated.
Dec 05, 2026 11:01:25 AM org.apache.flink.runtime.metrics.groups.TaskMetricGroup getOrAddOperator
WARNING: The operator name MapPartition (MapPartition at [1]ReadJsonl0/Paths/FlatMap(<lambda at core.py:3970>)) exceeded the 80 characters length limit and was truncated.
Dec 05, 2026 11:03:21 AM org.apache.flink.runtime.metrics.groups.TaskMetricGroup getOrAddOperator
WARNING: The operator name GroupReduce (GroupReduce at WriteFailed/ShardRows/CombinePerKey(CountCombineFn)/Group) exceeded the 80 characters length limit and was truncated.
Dec 05, 2026 1:07:48 PM org.apache.beam.runners.jobsubmission.JobInvocation start
INFO: something else
"""


def _epoch(clock: str) -> float:
    return time.mktime(time.strptime(f"Dec 05, 2026 {clock}", "%b %d, %Y %I:%M:%S %p"))


def test_stage_starts_reads_each_operator_once_per_start(tmp_path: Path) -> None:
    log = tmp_path / "flink-job-server.log"
    log.write_text(LOG)
    starts = stage_starts(log)
    # the second slot's start of the same operator a second later is the same stage
    assert starts == [
        (_epoch("11:01:24 AM"), "MapPartition [1]ReadJsonl0/Paths/FlatMap(<lambda at core.py:3970>)"),
        (_epoch("11:03:21 AM"), "GroupReduce WriteFailed/ShardRows/CombinePerKey(CountCombineFn)/Group"),
    ]
    assert stage_starts(tmp_path / "missing.log") == []


def test_memory_by_stage_takes_the_peak_of_each_process_in_each_interval() -> None:
    mb = 2**20
    timeline = [
        (100.0, {"jvm": 500 * mb, "launcher": 100 * mb}),
        (110.0, {"jvm": 700 * mb, "launcher": 100 * mb, "sdk:1": 300 * mb}),
        (120.0, {"jvm": 600 * mb, "launcher": 100 * mb, "sdk:1": 900 * mb}),
        (130.0, {"jvm": 650 * mb, "launcher": 150 * mb, "sdk:1": 200 * mb}),
    ]
    rows = memory_by_stage(timeline, [(105.0, "read"), (125.0, "write")])
    assert [r["operator"] for r in rows] == ["(before the first operator)", "read", "write"]
    assert rows[1]["peak_by_process_mb"] == {"jvm": 700, "launcher": 100, "sdk:1": 900}
    assert rows[1]["peak_total_mb"] == 1600  # the largest simultaneous sum, not the sum of peaks
    assert rows[2]["peak_by_process_mb"] == {"jvm": 650, "launcher": 150, "sdk:1": 200} and rows[2]["seconds"] == 5


def test_process_role_names_the_sdk_worker_and_its_id() -> None:
    code = "import time; time.sleep(30)"
    proc = subprocess.Popen([sys.executable, "-c", code, "-m", "corpusmill.workflows.sdk_worker", "--worker-id=7-2"])
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and process_role(proc.pid, "python") == "python":
            time.sleep(0.05)  # until the child has exec'd
        assert process_role(proc.pid, "python") == "sdk:7-2"
        assert process_role(os.getpid(), "java") == "jvm"
        assert process_role(os.getpid(), "python") == "python"  # pytest: none of the run's roles
    finally:
        proc.kill()
        proc.wait()


def test_measure_counts_cpu_of_each_process_of_the_tree(tmp_path: Path) -> None:
    """A parent and the child it waits for each burn 1.5 CPU-s: the poller sees both and its
    per-role CPU adds up to its total, which misses at most the last poll interval of each
    process; the rusage of the reaped tree has it all."""
    from benchmarks.engine_scale import POLL_S, measure

    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 1.5: pass\n"
    child = f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', {burn!r}], check=True)\n{burn}"
    got = measure([sys.executable, "-c", child], tmp_path / "log", tmp_path, timeout_s=60)
    assert got["returncode"] == 0 and got["processes_seen"] == 2
    by_role = got["cpu_s_by_process"]
    assert sum(by_role.values()) == pytest.approx(got["cpu_s_polled"], abs=0.2)
    assert got["cpu_s_polled"] >= 3.0 - 2 * POLL_S - 0.2, by_role
    assert got["cpu_s_rusage"] >= 2.9 and got["cpu_s"] == max(got["cpu_s_rusage"], got["cpu_s_polled"])
