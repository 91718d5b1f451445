"""Workflow files become run plans: good ones load, bad ones fail before anything runs, naming
file and key (with a suggestion for a misspelt key); the CLI refuses bad Beam options and folders
that are not runs the same way (exit 2, one line)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from corpusmill.pipelines.plan import RunPlan
from corpusmill.workflows.config import ConfigError, load_plan

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "wf.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_sample_workflow_loads() -> None:
    plan = load_plan(ROOT / "workflows" / "sample.yaml")
    assert [s.kind for s in plan.sources] == ["web", "wiki", "books", "code"]
    assert plan.dedup.exact is not None and plan.dedup.minhash is not None
    assert plan.tokenizer is not None and plan.validation.enabled
    assert plan.engine == "local"
    assert [s.step for s in plan.sources[0].steps][:2] == ["normalize_text", "language"]
    assert [s.preset for s in plan.sources] == ["web", "wiki", "books", "code"]
    assert plan.sources[0].source.paths == [str(ROOT / "samples" / "web" / "*.warc.gz")]
    assert plan.output.dir == str(ROOT / "out" / "sample") and plan.output.rejected_shards == plan.output.shards


def test_plan_round_trips_through_json_and_is_frozen() -> None:
    plan = load_plan(ROOT / "workflows" / "sample.yaml")
    again = RunPlan.model_validate(json.loads(json.dumps(plan.to_json())))
    assert again == plan
    assert type(again.sources[2].source).__module__.endswith("sources.books")  # the kind's own Config
    with pytest.raises(ValidationError):
        plan.run.batch_size = 1  # type: ignore[misc]  (frozen: what ran cannot be edited)


def test_steps_resolve_once_own_then_preset_then_top_level(tmp_path: Path) -> None:
    path = _write(tmp_path, (
        "steps: [{step: gopher_quality, params: {min_words: 10}}]\n"
        "sources:\n"
        "  - {kind: jsonl, paths: [a], preset: code}\n"
        "  - {kind: jsonl, paths: [b], steps: [{step: normalize_text}]}\n"
        "  - {kind: jsonl, paths: [c]}\n"
        "run: {engine: flink}\n"
        "tokenizer: {enabled: false}\n"
        "validate: false\n"
    ))
    plan = load_plan(path)
    assert [[s.step for s in src.steps] for src in plan.sources] == [
        ["code_quality", "pii_redaction"], ["normalize_text"], ["gopher_quality"]
    ]
    assert plan.sources[2].steps[0].params == {"min_words": 10}
    assert plan.engine == "flink" and plan.tokenizer is None and not plan.validation.enabled


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sources: [{kind: web, paths: [a.warc.gz]}]\nstepz: []\n", "stepz: unknown key (did you mean 'steps'?)"),
        ("sources: [{kind: web, pahts: [a]}]\n", "sources.0.web.pahts: unknown key (did you mean 'paths'?)"),
        ("sources: [{kind: web, paths: [a]}]\ndedup: {minhash: {treshold: 0.5}}\n", "dedup.minhash.treshold: unknown key (did you mean 'threshold'?)"),
        ("sources: [{kind: web, paths: [a]}]\ntokenizer: {sampling: {max_char: 5}}\n", "tokenizer.sampling.max_char: unknown key (did you mean 'max_chars'?)"),
        ("sources: [{kind: web, paths: [a]}]\nsteps: [{step: language, mdoe: drop}]\n", "steps.0.mdoe: unknown key (did you mean 'mode'?)"),
        ("sources: [{kind: web, paths: [a]}]\nrun: {engin: flink}\n", "run.engin: unknown key (did you mean 'engine'?)"),
        ("sources: [{kind: web, paths: [a]}]\nrun: {engine: dask}\n", "run.engine: Input should be 'local', 'flink' or 'spark'"),
        ("sources: [{kind: web, paths: [a]}]\nsteps: [{step: gopher_quality, params: {min_words: ten}}]\n",
         "steps.0: step 'gopher_quality': min_words: Input should be a valid integer"),
        ("sources: [{kind: web, paths: [a]}]\nsteps: [{step: language, params: {keep: en}}]\n", "steps.0: step 'language': keep:"),
        ("sources: [{kind: web, paths: [a]}]\nsteps: [{step: language, params: {min_score: 1.5}}]\n", "steps.0: language: min_score must be in [0, 1]"),
        ("sources: [{kind: web, paths: [a], steps: [{step: gopher_quality, params: {min_word: 5}}]}]\n",
         "sources.0.steps.0: step 'gopher_quality': unknown parameter 'min_word' (did you mean 'min_words'?)"),
        ("sources: [{kind: web, paths: [a], preset: wbe}]\n", "sources.0.preset: unknown preset 'wbe' (did you mean 'web'?)"),
        ("sources: [{kind: tape, paths: [a]}]\n", "sources.0"),
        ("sources: [{kind: web}]\n", "sources.0.web.paths: Field required"),
        ("sources: [{kind: web, paths: [a], extractor: magic}]\n", "sources.0.web.extractor"),
        ("sources: [{kind: web, paths: [a]}]\nsteps: [{step: no_such_step}]\n", "unknown step 'no_such_step'"),
        ("sources: [{kind: web, paths: [a]}]\nsteps: [{step: gopher_qualty}]\n", "unknown step 'gopher_qualty' (did you mean 'gopher_quality'?)"),
        ("sources: [{kind: web, paths: [a]}]\nsteps: [{step: language, params: {min_scor: 1}}]\n", "did you mean 'min_score'?"),
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
        load_plan(path)
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
    plan = load_plan(path)
    [spec] = plan.sources[0].steps
    assert spec.params["eval_sets"] == [str(folder / "evals" / "quiz.jsonl")]
    assert plan.sources[0].source.paths == [str(folder / "a.warc.gz")]
    assert plan.dedup.minhash is not None
    assert plan.dedup.minhash.index_out == str(folder / "index" / "new")
    assert plan.dedup.minhash.index_in == (str(folder / "index" / "old"), "/abs/old")


def test_location_root_is_the_workflow_directory_when_every_glob_is_relative(tmp_path: Path) -> None:
    """Records name inputs relative to the workflow's directory only for sources written with
    relative globs (they move with the workflow); an absolute glob or a URL in a source keeps
    its records' paths as matched; the key is not the workflow's to set."""
    path = _write(tmp_path, (
        "sources:\n"
        "  - {kind: books, paths: [../books/*.txt, b/*.txt]}\n"
        "  - {kind: books, paths: [a/*.txt, /abs/books/*.txt]}\n"
        "  - {kind: jsonl, paths: ['s3://bucket/x/*.jsonl']}\n"
    ))
    plan = load_plan(path)
    assert [s.source.location_root for s in plan.sources] == [str(tmp_path.resolve()), None, None]
    assert plan.sources[0].source.recorded(str(tmp_path.resolve().parent / "books" / "a.txt")) == "../books/a.txt"
    assert RunPlan.model_validate(plan.to_json()) == plan
    refused = _write(tmp_path, f"sources: [{{kind: books, paths: [a], location_root: {tmp_path}}}]\n")
    with pytest.raises(ConfigError, match="sources.0.location_root: set from the workflow's directory"):
        load_plan(refused)


def _cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "corpusmill", *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def _one_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("corpusmill: ")
    return lines[0]


def test_cli_refuses_a_wrongly_typed_step_parameter(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text('{"id": "1", "text": "one two three"}\n')
    path = _write(tmp_path, "sources: [{kind: jsonl, paths: [a.jsonl]}]\nsteps: [{step: gopher_quality, params: {min_words: ten}}]\n")
    line = _one_line(_cli("run", str(path), "--output", str(tmp_path / "out")))
    assert "min_words" in line and "valid integer" in line and "'ten'" in line
    assert not (tmp_path / "out").exists()


def test_cli_refuses_an_unknown_beam_option_with_a_suggestion(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text('{"id": "1", "text": "one two three"}\n')
    path = _write(tmp_path, "sources: [{kind: jsonl, paths: [a.jsonl]}]\n")
    line = _one_line(_cli("run", str(path), "--output", str(tmp_path / "out"), "--direct_num_wrkers=2"))
    assert "'--direct_num_wrkers=2'" in line and "did you mean --direct_num_workers?" in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["report", "validate"])
def test_cli_refuses_a_folder_that_is_not_a_run(tmp_path: Path, command: str) -> None:
    (tmp_path / "notes.txt").write_text("not a run")
    line = _one_line(_cli(command, str(tmp_path)))
    assert str(tmp_path) in line and "no manifest.json" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]  # nothing written


def test_cli_prints_its_version() -> None:
    import corpusmill

    for args in (["-m", "corpusmill"], ["-m", "corpusmill.workflows.cli"]):
        proc = subprocess.run([sys.executable, *args, "--version"], capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert proc.returncode == 0 and proc.stdout.strip() == f"corpusmill {corpusmill.__version__}"
