"""`corpusmill run`: corpus pipeline -> manifest -> tokenizer -> validation -> report.

Stages are timed into run_info.json (the only non-deterministic output file). The run fails
(exit 1) after writing everything it could when validation fails in `fail` mode or when the
share of failed records exceeds `run.max_failed_fraction`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import os
import shutil
import sys
import time
from pathlib import Path
from collections.abc import Iterator
from typing import Any, TextIO

import apache_beam as beam

from corpusmill.pipelines.transforms.stats import read_stage_counts
from corpusmill.pipelines.transforms.write import finalize_shards
from corpusmill.tokenizer.train import train_tokenizer
from corpusmill.workflows import resume
from corpusmill.workflows.engines import EngineError, engine_session
from corpusmill.workflows.config import ConfigError, Workflow, load_workflow, resolve_path
from corpusmill.workflows.manifest import build_manifest, corpus_checksum, package_versions, read_manifest, write_json_atomically
from corpusmill.workflows.progress import PROGRESS_DIR, ProgressReporter
from corpusmill.workflows.runner import describe_runner

log = logging.getLogger("corpusmill")


class StageClock:
    def __init__(self) -> None:
        self.started = time.monotonic()
        self.seconds: dict[str, float] = {}

    def run(self, name: str, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        log.info("stage %s: started (%.1fs elapsed)", name, time.monotonic() - self.started)
        t = time.monotonic()
        result = fn(*args, **kwargs)
        self.seconds[name] = round(time.monotonic() - t, 3)
        log.info("stage %s: done in %.1fs", name, self.seconds[name])
        return result


WORKER_LOG = "_stats/beam-workers.log"


@contextlib.contextmanager
def quiet_workers(log_path: str, enabled: bool = True) -> Iterator[TextIO]:
    """While the pipeline runs, send file descriptor 2 (inherited by Beam's worker
    subprocesses, whose start-up chatter ignores the log level) to `log_path`; yield a stream
    to the real terminal for progress lines. Disabled with --verbose."""
    if not enabled:
        yield sys.stderr
        return
    sys.stderr.flush()
    saved = os.dup(2)
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    with open(log_path, "ab") as log_file:
        os.dup2(log_file.fileno(), 2)
    terminal = os.fdopen(os.dup(saved), "w", buffering=1, encoding="utf-8", errors="replace")
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)]
    previous = [h.setStream(terminal) for h in handlers]  # our own log lines stay on the terminal
    try:
        yield terminal
    finally:
        for handler, stream in zip(handlers, previous):
            handler.setStream(stream)  # type: ignore[arg-type]
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        terminal.close()


def resolved_config(workflow: Workflow) -> dict[str, Any]:
    """The workflow with every default filled in and each source's step list resolved (its own
    `steps`, else its `preset`, else the top-level `steps`), as it goes into the manifest: a
    later edit of a preset file cannot change what a finished run says it did."""
    config = workflow.model_dump(mode="json", by_alias=True)
    for source, dumped in zip(workflow.sources, config["sources"]):
        dumped["steps"] = [dataclasses.asdict(spec) for spec in workflow.steps_for(source)]
    return config


def run_workflow(
    workflow_path: Path, output: Path | None, beam_args: list[str], verbose: bool = False, engine: str | None = None
) -> int:
    """Run a workflow; `engine` (else the workflow's `run.engine`) picks local / flink / spark.
    Whatever the engine session starts (job server, SDK workers) is stopped when this returns."""
    with contextlib.ExitStack() as session:
        return _run_workflow(workflow_path, output, beam_args, verbose, engine, session)


def _run_workflow(
    workflow_path: Path, output: Path | None, beam_args: list[str], verbose: bool, engine: str | None,
    session: contextlib.ExitStack,
) -> int:
    try:
        workflow = load_workflow(workflow_path)
    except ConfigError as e:
        print(f"corpusmill: {e}", file=sys.stderr)
        return 2
    base_dir = workflow_path.resolve().parent
    out_dir = str(output.resolve()) if output else resolve_path(base_dir, workflow.output.dir)
    started = dt.datetime.now(dt.timezone.utc)
    clock = StageClock()
    volatile: dict[str, Any] = {}
    os.makedirs(out_dir, exist_ok=True)
    for kind in ("corpus", "rejected", "failed", "_stats"):
        os.makedirs(os.path.join(out_dir, kind), exist_ok=True)

    from apache_beam.options.pipeline_options import PipelineOptions

    from corpusmill.pipelines.corpus import build_corpus, rejected_shard_count
    from corpusmill.pipelines.transforms.read import expand_paths

    try:
        source_paths = [expand_paths(resolve_path(base_dir, p) for p in s.paths) for s in workflow.sources]
    except (FileNotFoundError, ValueError) as e:
        print(f"corpusmill: {workflow_path}: {e}", file=sys.stderr)
        return 2
    engine = engine or workflow.run.engine
    try:  # engine logs stay in _stats/engine/; its temporary and spill files are removed on exit
        args = session.enter_context(engine_session(engine, beam_args, os.path.join(out_dir, "_stats", "engine"), verbose=verbose))
    except EngineError as e:
        print(f"corpusmill: {e}", file=sys.stderr)
        return 2
    config = resolved_config(workflow)
    corpus_config = {k: v for k, v in config.items() if k not in ("tokenizer", "validate")}
    # earlier runs' signature indexes are inputs too: a changed index must rerun the corpus stage
    index_dirs = list(workflow.dedup.minhash.index_in) if workflow.dedup.minhash else []
    corpus_print = resume.fingerprint(
        "corpus",
        corpus_config,
        [resume.input_listing(p) for p in source_paths],
        resume.input_listing(index_dirs),
        package_versions(),
    )

    if resume.is_done(out_dir, "corpus", corpus_print):
        log.info("stage corpus: already complete in %s, skipped", out_dir)
        clock.seconds["corpus"] = "skipped"  # type: ignore[assignment]
        manifest = read_manifest(out_dir)
    else:
        resume.clear(out_dir, ["corpus", "tokenizer"])
        index_out = workflow.dedup.minhash.index_out if workflow.dedup.minhash else None
        if index_out and os.path.isdir(index_out):  # a rerun replaces its index, never mixes with it
            for stale in Path(index_out).glob("index-*.parquet"):
                stale.unlink()
        pipeline = beam.Pipeline(options=PipelineOptions(args))
        try:
            build_corpus(pipeline, workflow, source_paths, out_dir)
        except (FileNotFoundError, ValueError) as e:
            print(f"corpusmill: {workflow_path}: {e}", file=sys.stderr)
            return 2
        log.info("running the corpus pipeline on %s", describe_runner(args))
        progress_dir = os.path.join(out_dir, PROGRESS_DIR)
        shutil.rmtree(progress_dir, ignore_errors=True)
        with quiet_workers(os.path.join(out_dir, WORKER_LOG), enabled=not verbose) as terminal:
            with ProgressReporter(progress_dir, sum(len(p) for p in source_paths), stream=terminal):
                volatile["beam_counters"] = clock.run("corpus", run_and_count, pipeline)
        unconverged = volatile["beam_counters"].get("dedup.cc_unconverged_nodes", 0)
        if unconverged:
            log.warning(
                "MinHash connected components did not converge for %d nodes: they were kept rather "
                "than removed; raise dedup.minhash.max_rounds", unconverged,
            )

        def finalize() -> dict[str, Any]:
            shards = {
                "corpus": finalize_shards(out_dir, "corpus", workflow.output.shards),
                "rejected": finalize_shards(out_dir, "rejected", rejected_shard_count(workflow)),
                "failed": finalize_shards(out_dir, "failed", workflow.output.failed_shards),
            }
            return build_manifest(out_dir, config, shards, read_stage_counts(out_dir))

        manifest = clock.run("manifest", finalize)
        write_json_atomically(os.path.join(out_dir, "manifest.json"), manifest)
        resume.mark_done(out_dir, "corpus", corpus_print)

    manifest["config"] = config
    if workflow.tokenizer is not None and workflow.tokenizer.enabled:
        tokenizer_print = resume.fingerprint(corpus_print, config["tokenizer"])
        if resume.is_done(out_dir, "tokenizer", tokenizer_print):
            log.info("stage tokenizer: already complete, skipped")
            clock.seconds["tokenizer"] = "skipped"  # type: ignore[assignment]
        else:
            with quiet_workers(os.path.join(out_dir, WORKER_LOG), enabled=not verbose):
                manifest = clock.run("tokenizer", _tokenizer_stage, workflow, out_dir, manifest, args, volatile)
            write_json_atomically(os.path.join(out_dir, "manifest.json"), manifest)
            resume.mark_done(out_dir, "tokenizer", tokenizer_print)
    else:
        manifest["tokenizer"] = None
        manifest.pop("tokens", None)
        manifest["shards"].pop("tokens", None)
    write_json_atomically(os.path.join(out_dir, "manifest.json"), manifest)

    exit_code = 0
    validation = workflow.validation
    run_info = {
        "started": started.isoformat(timespec="seconds"),
        "finished": None,
        "wall_seconds": None,
        "stage_seconds": clock.seconds,
        "engine": engine,
        **describe_runner(args),
        "beam_args": args,
        **volatile,
    }
    if validation.enabled:
        from corpusmill.workflows.validate import validate_output

        result = clock.run("validate", validate_output, out_dir, mode=validation.mode, sample_rows=validation.sample_rows)
        if not result.success:
            for message in result.messages():
                print(f"corpusmill: validation: {message}", file=sys.stderr)
            if validation.mode == "fail":
                exit_code = 1

    accounting = manifest["accounting"]
    inputs = max(1, accounting["input_records"])
    failed_fraction = (accounting["failed"] + accounting["records_failed_in_readers"]) / inputs
    if failed_fraction > workflow.run.max_failed_fraction:
        print(
            f"corpusmill: {failed_fraction:.1%} of input records failed "
            f"(max_failed_fraction {workflow.run.max_failed_fraction:.1%}); see {out_dir}/failed/",
            file=sys.stderr,
        )
        exit_code = 1
    if not accounting["balanced"]:
        print(f"corpusmill: accounting does not balance: {accounting}", file=sys.stderr)
        exit_code = 1

    finished = dt.datetime.now(dt.timezone.utc)
    run_info["finished"] = finished.isoformat(timespec="seconds")
    run_info["wall_seconds"] = round(time.monotonic() - clock.started, 3)
    write_json_atomically(os.path.join(out_dir, "run_info.json"), run_info)

    try:
        from corpusmill.workflows.report import render_report

        report = clock.run("report", render_report, out_dir)
        run_info["stage_seconds"] = clock.seconds
        write_json_atomically(os.path.join(out_dir, "run_info.json"), run_info)
    except ImportError:
        report = None
    _print_summary(out_dir, manifest, run_info, report)
    return exit_code


VOLATILE_KEYS = ("seconds", "rss", "memory", "out_dir", "started", "finished")


def run_and_count(pipeline: beam.Pipeline) -> dict[str, int]:
    """Run `pipeline` to completion; return its Beam counters as {"namespace.name": total}
    (committed values where the runner reports them, else attempted; {} when it reports none).
    They go to run_info.json, not the manifest: not every runner reports them."""
    result = pipeline.run()
    result.wait_until_finish()
    try:
        counters = result.metrics().query()["counters"]
    except Exception as e:  # a runner without metrics support must not fail the run
        log.info("no Beam counters from this runner: %s", e)
        return {}
    totals: dict[str, int] = {}
    for counter in counters:
        name = f"{counter.key.metric.namespace}.{counter.key.metric.name}"
        value = counter.committed if counter.committed is not None else counter.attempted
        totals[name] = totals.get(name, 0) + int(value or 0)
    return dict(sorted(totals.items()))


def split_volatile(summary: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Separate timings and machine-specific values (for run_info.json) from the deterministic
    part of a stage summary (for manifest.json)."""
    stable, volatile = {}, {}
    for key, value in summary.items():
        (volatile if any(v in key for v in VOLATILE_KEYS) else stable)[key] = value
    return stable, volatile


def _tokenizer_stage(
    workflow: Workflow, out_dir: str, manifest: dict[str, Any], args: list[str], volatile: dict[str, Any]
) -> dict[str, Any]:
    from apache_beam.options.pipeline_options import PipelineOptions

    from corpusmill.tokenizer.report import tokenizer_report, write_report
    from corpusmill.tokenizer.shards import encode_corpus
    from corpusmill.pipelines.transforms.write import describe_file

    config = workflow.tokenizer
    assert config is not None
    corpus_files = [os.path.join(out_dir, e["path"]) for e in manifest["shards"]["corpus"]]
    tok_dir = os.path.join(out_dir, "tokenizer")
    model_path = os.path.join(tok_dir, "tokenizer.model")
    summary, volatile["tokenizer_training"] = split_volatile(
        train_tokenizer(corpus_files, tok_dir, config, corpus_checksum=corpus_checksum(manifest))
    )
    report = tokenizer_report(model_path, corpus_files, baseline=config.baseline, seed=config.seed)
    write_report(os.path.join(tok_dir, "report.json"), report)
    manifest = dict(manifest)
    manifest["tokenizer"] = summary
    manifest["shards"] = dict(manifest["shards"])
    manifest.pop("tokens", None)
    manifest["shards"].pop("tokens", None)
    if config.shards.enabled:
        tokens_dir = os.path.join(out_dir, "tokens")
        totals = encode_corpus(
            corpus_files,
            model_path,
            tokens_dir,
            pipeline_options=PipelineOptions(args),
            pack=config.shards.pack.seq_len if config.shards.pack else None,
            seed=config.shards.seed,
            batch_docs=config.shards.batch_docs,
            num_threads=config.shards.num_threads,
        )
        manifest["tokens"], volatile["token_shards"] = split_volatile(totals)
        manifest["shards"]["tokens"] = [
            describe_file(out_dir, f"tokens/{name}")
            for name in sorted(os.listdir(tokens_dir))
            if name.startswith("part-") and name.endswith(".parquet")
        ]
    return manifest


def _print_summary(out_dir: str, manifest: dict[str, Any], run_info: dict[str, Any], report: Any) -> None:
    try:
        from corpusmill.workflows.summary import summary_lines

        lines = summary_lines(out_dir)
    except ImportError:
        acc = manifest["accounting"]
        lines = [
            f"corpusmill: {acc['documents_read']} documents read, {acc['kept']} kept, "
            f"{acc['rejected']} rejected, {acc['failed']} failed in {run_info['wall_seconds']}s",
            f"output: {out_dir}",
        ]
    print("\n".join(lines))
