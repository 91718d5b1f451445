"""Progress of a run in the terminal (workflows/progress.py) fed by the readers' progress files
(schemas/outputs.py, written by `ReadUnitFn` after each unit of work)."""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import apache_beam as beam
import pytest

from corpusmill.pipelines.sources.jsonl import Config as JsonlConfig
from corpusmill.pipelines.transforms.read import ReadSource
from corpusmill.schemas.outputs import read_progress, record_progress
from corpusmill.workflows.progress import ProgressReporter

LINE = re.compile(r"^corpusmill: reading: (\d+) parts of (\d+) input files done, ([\d,]+) documents, (\d+):(\d\d):(\d\d) elapsed$")


def parsed(output: str) -> list[tuple[int, int, int]]:
    """(units, total files, documents) of each progress line; fails on any other line."""
    out = []
    for line in output.splitlines():
        m = LINE.match(line)
        assert m, f"not a progress line: {line!r}"
        out.append((int(m[1]), int(m[2]), int(m[3].replace(",", ""))))
    return out


def wait_for(predicate: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def test_read_progress_sums_every_worker_file(tmp_path: Path) -> None:
    folder = tmp_path / "progress"
    assert read_progress(str(folder)) == (0, 0)  # no folder yet: nothing read
    record_progress(str(folder), "w1", "a.warc.gz", 10)
    record_progress(str(folder), "w2", "b.warc.gz\twith tab", 5)  # a tab in a unit name
    record_progress(str(folder), "w1", "c.warc.gz#streams=0-9", 0)
    assert sorted(p.name for p in folder.iterdir()) == ["w1.tsv", "w2.tsv"]
    assert read_progress(str(folder)) == (3, 15)
    # a line cut short by a worker that died mid-write is not a unit
    with open(folder / "w3.tsv", "a", encoding="utf-8") as f:
        f.write("d.warc.gz\t7\ne.warc.gz\t")
    assert read_progress(str(folder)) == (4, 22)


def test_reporter_prints_while_running_and_only_on_change(tmp_path: Path) -> None:
    folder = str(tmp_path / "progress")
    stream = io.StringIO()
    with ProgressReporter(folder, total_files=3, interval=0.02, stream=stream):
        record_progress(folder, "w1", "a", 12_345)
        assert wait_for(lambda: "1 parts of 3 input files done, 12,345 documents" in stream.getvalue())
        printed = stream.getvalue()
        time.sleep(0.3)  # ~15 intervals without news: nothing more is printed
        assert stream.getvalue() == printed
        record_progress(folder, "w2", "b", 5)
        assert wait_for(lambda: "2 parts of 3" in stream.getvalue())
        record_progress(folder, "w1", "c", 0)
    lines = parsed(stream.getvalue())
    assert lines[0] == (1, 3, 12_345) and lines[-1] == (3, 3, 12_350)
    assert (2, 3, 12_350) in lines
    assert len(set(lines)) == len(lines)  # each state printed once
    assert [u for u, _, _ in lines] == sorted(u for u, _, _ in lines)


def test_reporter_prints_the_final_state_on_exit_without_waiting(tmp_path: Path) -> None:
    """A stage shorter than the interval still ends with one line, and leaving the `with`
    does not wait for the interval (the thread wakes on the stop event)."""
    folder = str(tmp_path / "progress")
    stream = io.StringIO()
    reporter = ProgressReporter(folder, total_files=2, interval=60.0, stream=stream)
    with reporter:
        record_progress(folder, "w1", "a", 3)
        record_progress(folder, "w1", "b", 4)
        started = time.monotonic()
    assert time.monotonic() - started < 1.5
    assert parsed(stream.getvalue()) == [(2, 2, 7)]


def test_record_progress_never_raises_and_writes_nothing_it_cannot(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    record_progress(str(blocker / "sub"), "w", "u", 1)  # a file where the folder should be: no error
    assert blocker.read_text() == "x"
    assert read_progress(str(blocker / "sub")) == (0, 0)


def test_readers_record_each_unit_in_a_real_pipeline(tmp_path: Path) -> None:
    """ReadSource (Beam, in-process runner) writes one progress line per file with its document
    count; the reporter around the run ends on the totals."""
    files = []
    for name, n in (("a.jsonl", 3), ("b.jsonl", 2)):
        path = tmp_path / name
        path.write_text("".join(json.dumps({"id": f"{name}-{i}", "text": f"text {i}"}) + "\n" for i in range(n)))
        files.append(str(path))
    (tmp_path / "c.jsonl").write_text('{"id": "bad", "text": 5}\nnot json\n')  # no documents, 2 failures
    files.append(str(tmp_path / "c.jsonl"))
    folder = str(tmp_path / "out" / "_stats" / "progress")
    stream = io.StringIO()
    with ProgressReporter(folder, total_files=len(files), interval=0.05, stream=stream):
        with beam.Pipeline() as p:
            out = p | ReadSource(JsonlConfig(kind="jsonl", paths=files), files, folder)
            _ = out["documents"] | beam.Map(lambda d: d.id)
    assert read_progress(folder) == (3, 5)
    units = sorted(line.rsplit("\t", 1)[0] for f in Path(folder).glob("*.tsv") for line in f.read_text().splitlines())
    assert units == sorted(files)
    assert parsed(stream.getvalue())[-1] == (3, 3, 5)


@pytest.mark.parametrize("documents, shown", [(0, "0 documents"), (999, "999 documents"), (1_234_567, "1,234,567 documents")])
def test_document_counts_have_thousands_separators(tmp_path: Path, documents: int, shown: str) -> None:
    folder = str(tmp_path / "progress")
    record_progress(folder, "w", "u", documents)
    stream = io.StringIO()
    with ProgressReporter(folder, total_files=1, interval=60.0, stream=stream):
        pass
    assert f"1 parts of 1 input files done, {shown}, 0:00:0" in stream.getvalue()
