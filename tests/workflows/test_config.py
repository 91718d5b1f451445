"""Workflow files: good ones load, bad ones fail before anything runs, naming file and key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from corpusmill.workflows.config import ConfigError, load_workflow

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "wf.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_sample_workflow_loads() -> None:
    wf = load_workflow(ROOT / "workflows" / "sample.yaml")
    assert [s.kind for s in wf.sources] == ["web", "wiki", "books", "code"]
    assert wf.dedup.exact_config is not None and wf.dedup.minhash is not None
    assert wf.tokenizer is not None and wf.validation.enabled
    web = wf.steps_for(wf.sources[0])
    assert [s.step for s in web][:2] == ["normalize_text", "language"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sources: [{kind: web, paths: [a.warc.gz]}]\nstepz: []\n", "stepz: Extra inputs are not permitted"),
        ("sources: [{kind: tape, paths: [a]}]\n", "sources.0"),
        ("sources: [{kind: web}]\n", "sources.0.web.paths: Field required"),
        ("sources: [{kind: web, paths: [a], extractor: magic}]\n", "sources.0.web.extractor"),
        ("sources: [{kind: web, paths: [a]}]\nsteps: [{step: no_such_step}]\n", "unknown step 'no_such_step'"),
        ("sources: [{kind: web, paths: [a]}]\nsteps: [{step: language, params: {min_scor: 1}}]\n", "min_scor"),
        ("sources: [{kind: web, paths: [a]}]\nsteps: [{step: language, mode: maybe}]\n", "steps.0.mode"),
        ("sources: [{kind: web, paths: [a]}]\noutput: {shards: 0}\n", "output.shards"),
        ("sources: [{kind: web, paths: [a], preset: nope}]\n", "unknown preset 'nope'"),
        ("sources: [{kind: jsonl, paths: [a], id_field: 3}]\n", "sources.0.jsonl.id_field"),
        ("- just a list\n", "a workflow is a mapping"),
        ("sources: [\n", "invalid YAML"),
    ],
)
def test_bad_workflows_name_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_workflow(path)
    message = str(info.value)
    assert str(path) in message and expected in message
    assert "\n" not in message


def test_cli_exits_2_with_one_line_on_config_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "sources: [{kind: web, paths: [a.warc.gz]}]\nbogus: 1\n")
    proc = subprocess.run(
        [sys.executable, "-m", "corpusmill.workflows.cli", "run", str(path), "--output", str(tmp_path / "out")],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert proc.returncode == 2
    lines = [l for l in proc.stderr.splitlines() if l.startswith("corpusmill:")]
    assert len(lines) == 1 and "bogus" in lines[0] and str(path) in lines[0]
    assert not (tmp_path / "out").exists()


def test_cli_exits_2_when_no_input_matches(tmp_path: Path) -> None:
    path = _write(tmp_path, "sources: [{kind: books, paths: [nothing-here/*.txt]}]\n")
    proc = subprocess.run(
        [sys.executable, "-m", "corpusmill.workflows.cli", "run", str(path), "--output", str(tmp_path / "out")],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert proc.returncode == 2
    assert "no input files match" in proc.stderr


def test_file_paths_in_step_params_and_dedup_resolve_against_the_workflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Like source paths, decontamination's eval sets and the MinHash index directories are
    relative to the workflow file, not to the directory the command runs in."""
    folder = tmp_path / "project"
    (folder / "evals").mkdir(parents=True)
    (folder / "evals" / "quiz.jsonl").write_text('{"text": "what is the boiling point of water at sea level"}\n')
    path = folder / "wf.yaml"
    path.write_text(
        "sources:\n"
        "  - kind: web\n"
        "    paths: [a.warc.gz]\n"
        "    steps: [{step: decontamination, params: {eval_sets: [evals/quiz.jsonl]}}]\n"
        "dedup: {minhash: {index_out: index/new, index_in: [index/old, /abs/old]}}\n",
        encoding="utf-8",
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    wf = load_workflow(path)
    [spec] = wf.steps_for(wf.sources[0])
    assert spec.params["eval_sets"] == [str(folder / "evals" / "quiz.jsonl")]
    assert wf.dedup.minhash is not None
    assert wf.dedup.minhash.index_out == str(folder / "index" / "new")
    assert wf.dedup.minhash.index_in == (str(folder / "index" / "old"), "/abs/old")
