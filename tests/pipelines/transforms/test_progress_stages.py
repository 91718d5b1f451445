"""Progress of later stages: CountProgress passes elements through and records per-bundle counts
that read_stages sums; the terminal line shows them after the reading part."""

from __future__ import annotations

from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from corpusmill.pipelines.transforms import progress
from corpusmill.pipelines.transforms.progress import CountProgress, count_progress
from corpusmill.schemas.outputs import read_stages, record_progress, record_stage
from corpusmill.workflows.progress import ProgressReporter
from corpusmill.workflows.runner import FN_API_RUNNER


def test_count_progress_passes_through_and_counts(tmp_path: Path) -> None:
    folder = str(tmp_path / "progress")
    with beam.Pipeline(options=PipelineOptions([f"--runner={FN_API_RUNNER}"])) as p:
        out = count_progress(p | beam.Create(list(range(25))), folder, "steps", "Count")
        assert_that(out, equal_to(list(range(25))))
    assert read_stages(folder) == {"steps": 25}


def test_a_long_bundle_reports_while_it_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Flink and Spark batch stages are one bundle per partition: counts must arrive before it ends."""
    monkeypatch.setattr(progress, "RECORD_EVERY_S", 0.0)
    folder = str(tmp_path / "progress")
    fn = CountProgress(folder, "steps")
    fn.setup()
    fn.start_bundle()
    passed = [out for i in range(1000) for out in fn.process(i)]
    assert passed == list(range(1000))
    during = read_stages(folder)["steps"]
    assert 0 < during < 1000  # recorded every 256 elements once the period is over
    fn.finish_bundle()
    assert read_stages(folder) == {"steps": 1000}


def test_no_progress_dir_leaves_the_collection_alone() -> None:
    with beam.Pipeline(options=PipelineOptions([f"--runner={FN_API_RUNNER}"])) as p:
        items = p | beam.Create([1, 2])
        assert count_progress(items, None, "steps", "Count") is items


def test_reporter_prints_later_stages(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = str(tmp_path / "progress")
    with ProgressReporter(folder, total_files=1, interval=0.05):
        record_progress(folder, "w1", "a.warc.gz", 10)
        record_stage(folder, "w1", "steps", 6)
        record_stage(folder, "w2", "steps", 4)
        record_stage(folder, "w2", "corpus shards written", 1)
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "1 parts of 1 input files done, 10 documents, " in line
    assert ", steps 10," in line and ", corpus shards written 1," in line
