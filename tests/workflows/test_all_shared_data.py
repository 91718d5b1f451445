"""Every real file of ../shared/data (web crawls in WARC/WET/ARC, CCNet JSONL, five Wikipedia
dumps including three truncated ones, Gutenberg and Chinese books, nine code archives) through
one workflow with the default presets, dedup and validation: the run succeeds, validation
passes, every record is accounted for and the truncated dumps are the only failures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.dataset as ds
import pytest

ROOT = Path(__file__).resolve().parents[2]
# The run takes ~110 s on two cores; pytest's limit stays above the subprocess's, so a hung run
# fails with its command line (subprocess.TimeoutExpired) rather than a pytest-timeout dump.
RUN_TIMEOUT = 900


@pytest.mark.slow
@pytest.mark.timeout(RUN_TIMEOUT + 120)
def test_all_shared_data_end_to_end(shared_data: Path, tmp_path: Path) -> None:
    d = shared_data
    workflow = {
        "sources": [
            {"kind": "web", "preset": "web",
             "paths": [f"{d}/web/*.warc.gz", f"{d}/web/*.wet.gz", f"{d}/web/*.arc.gz", f"{d}/neardup/pywb_dupes_revisits.warc.gz"]},
            {"kind": "jsonl", "preset": "web", "paths": [f"{d}/web/dolma_ccnet*.jsonl.gz"]},
            {"kind": "wiki", "preset": "wiki", "paths": [f"{d}/wiki/*.xml.bz2", f"{d}/wiki/truncated/*.xml.xz"]},
            {"kind": "books", "preset": "books", "max_chars": 200000,
             "paths": [f"{d}/books/gutenberg/*", f"{d}/books/zh/*", f"{d}/books/*.xz"]},
            {"kind": "code", "preset": "code", "paths": [f"{d}/code/*.tar.gz"]},
        ],
        "dedup": {"exact": True, "minhash": {}},
        "output": {"dir": str(tmp_path / "out"), "shards": 4},
        "tokenizer": None,
        "validate": True,
    }
    path = tmp_path / "wf.yaml"
    path.write_text(json.dumps(workflow), encoding="utf-8")  # JSON is YAML
    proc = subprocess.run([sys.executable, "-m", "corpusmill.workflows.cli", "run", str(path)],
                          capture_output=True, text=True, cwd=ROOT, timeout=RUN_TIMEOUT)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "validation passed" in proc.stdout
    out = tmp_path / "out"
    manifest = json.loads((out / "manifest.json").read_text())
    acc = manifest["accounting"]
    assert acc["balanced"] and acc["documents_read"] > 8000
    assert set(manifest["counts"]["kept"]) == {"web", "jsonl", "wiki", "books", "code"}
    failed = ds.dataset(out / "failed").to_table(columns=["location", "error"]).to_pylist()
    # the three dumps cut mid-page each end with one failure; nothing else fails
    assert sorted(Path(f["location"].split("#")[0]).name for f in failed) == [
        "jawiki-truncated-100k.xml.xz", "ukwiki-truncated-100k.xml.xz", "viwiki-truncated-100k.xml.xz"
    ]
    languages = manifest["languages"]
    for lang in ("en", "zh", "ja", "uk", "vi", "ru", "bg", "nl", "fr", "de"):
        assert languages.get(lang, 0) > 0, (lang, languages)
