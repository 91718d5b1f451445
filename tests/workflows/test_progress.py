from __future__ import annotations

from pathlib import Path

import pytest

from corpusmill.schemas.outputs import read_progress, record_progress
from corpusmill.workflows.progress import ProgressReporter


def test_progress_sums_units_and_documents_across_workers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "progress"
    assert read_progress(str(folder)) == (0, 0)
    with ProgressReporter(str(folder), total_files=3, interval=0.05):
        record_progress(str(folder), "w1", "a.warc.gz", 10)
        record_progress(str(folder), "w2", "b.warc.gz\twith tab", 5)
        record_progress(str(folder), "w1", "c.warc.gz", 0)
    assert read_progress(str(folder)) == (3, 15)
    assert "3 parts of 3 input files done, 15 documents" in capsys.readouterr().err


def test_record_progress_never_raises(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    record_progress(str(blocker / "sub"), "w", "u", 1)  # a file where a folder should be
