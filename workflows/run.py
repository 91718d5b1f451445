"""`corpusmill run`: plan -> corpus pipeline -> tokenizer -> manifest -> validation -> report.

`run_workflow` is the list of stages over the run plan. Everything that can be refused is
refused in `prepare` (exit 2, one line on stderr) before any output is written: the workflow
file, Beam options no options class knows, source globs that match nothing. The producing
stages (corpus, tokenizer) record their result in a resume marker (`workflows/resume.py`), so a
rerun skips what is complete; `manifest.json` is written once, after them. Stages are timed into
run_info.json (the only non-deterministic output file). The run fails (exit 1) after writing
everything it could when validation fails in `fail` mode, when the share of failed records
exceeds `run.max_failed_fraction`, or when the accounting does not balance.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO, TypeVar

from corpusmill.pipelines.plan import RunPlan
from corpusmill.schemas import outputs
from corpusmill.workflows import resume
from corpusmill.workflows.config import ConfigError, load_plan
from corpusmill.workflows.manifest import build_manifest, corpus_checksum, package_versions
from corpusmill.workflows.progress import PROGRESS_DIR, ProgressReporter
from corpusmill.workflows.engines import EngineError, engine_session
from corpusmill.workflows.runner import describe_runner, pipeline_args, unknown_options

log = logging.getLogger("corpusmill")
T = TypeVar("T")
WORKER_LOG = "_stats/beam-workers.log"
VOLATILE_KEYS = ("seconds", "rss", "memory", "out_dir", "started", "finished")


@dataclasses.dataclass
class Run:
    """One run in progress: the plan, where it writes, Beam's arguments, and what it measured."""

    plan: RunPlan
    out_dir: str
    args: list[str]
    source_paths: list[list[str]]
    verbose: bool = False
    engine: str = "local"
    started: dt.datetime = dataclasses.field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    clock_start: float = dataclasses.field(default_factory=time.monotonic)
    seconds: dict[str, float | str] = dataclasses.field(default_factory=dict)
    volatile: dict[str, Any] = dataclasses.field(default_factory=dict)

    def stage(self, name: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one stage, timing it into run_info.json."""
        log.info("stage %s: started (%.1fs elapsed)", name, time.monotonic() - self.clock_start)
        t = time.monotonic()
        result = fn(*args, **kwargs)
        self.seconds[name] = round(time.monotonic() - t, 3)
        log.info("stage %s: done in %.1fs", name, self.seconds[name])
        return result


def run_workflow(
    workflow_path: Path, output: str | Path | None, beam_args: list[str], verbose: bool = False, engine: str | None = None
) -> int:
    """Run a workflow file into `output` (default: its `output.dir`); the process exit status.
    `engine` (else the workflow's `run.engine`) picks local / flink / spark; whatever the engine
    session starts (job server, SDK workers) is stopped when this returns (workflows/engines.py)."""
    with contextlib.ExitStack() as session:
        try:
            run = prepare(workflow_path, output, beam_args, verbose)
            run.engine = engine or run.plan.engine
            # engine logs stay in _stats/engine/; its temporary and spill files go on exit
            engine_dir = outputs.join(run.out_dir, outputs.STATS_DIR, "engine")
            if outputs.is_remote(engine_dir):  # the engine's processes need a local folder
                engine_dir = tempfile.mkdtemp(prefix="corpusmill-engine-")
            run.args = session.enter_context(engine_session(run.engine, beam_args, engine_dir, verbose=verbose))
            corpus = corpus_stage(run)
        except (ConfigError, EngineError) as e:
            print(f"corpusmill: {e}", file=sys.stderr)
            return 2
        manifest = {**corpus, "plan": run.plan.to_json(), **tokenizer_stage(run, corpus)}
        try:
            manifest.update(mixture_stage(run))
        except ConfigError as e:
            print(f"corpusmill: {e}", file=sys.stderr)
            return 2
        outputs.write_manifest(run.out_dir, manifest)
        exit_code = max(validation_stage(run), accounting_check(run, manifest))
        finish(run, manifest)
        return exit_code


def prepare(workflow_path: Path, output: str | Path | None, beam_args: list[str], verbose: bool) -> Run:
    """The plan, the Beam arguments and the input files, or ConfigError; writes nothing.
    The output may be a local directory or an s3://, gs://... prefix: Beam's FileSystems get
    the run's options (`--s3_endpoint_url`, credentials, ...) for the files this process writes."""
    plan = load_plan(workflow_path)
    refused = unknown_options(beam_args)
    if refused:
        raise ConfigError(refused[0] + (f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""))
    outputs.set_filesystem_options(beam_args)
    from corpusmill.pipelines.corpus import source_paths

    try:
        paths = source_paths(plan)
    except (FileNotFoundError, ValueError) as e:
        raise ConfigError(f"{workflow_path}: {e}") from None
    out_dir = outputs.absolute(str(output)) if output else plan.output.dir
    if plan.mixture is not None and outputs.is_remote(out_dir):  # tokenizer/mixture.py writes locally
        raise ConfigError(f"mixture: needs a local output directory for now, not {out_dir}")
    return Run(plan, out_dir, pipeline_args(beam_args, verbose), paths, verbose)


def corpus_stage(run: Run) -> dict[str, Any]:
    """Read, filter, deduplicate and write the shards; the corpus part of the manifest."""
    plan, out_dir = run.plan, run.out_dir
    minhash = plan.dedup.minhash
    # earlier runs' signature indexes are inputs too: a changed index must rerun the corpus stage
    print_ = resume.fingerprint(
        "corpus",
        plan.corpus_part(),
        [resume.input_listing(p) for p in run.source_paths],
        resume.input_listing(list(minhash.index_in) if minhash else []),
        package_versions(),
    )
    done = resume.done_result(out_dir, "corpus", print_)
    if done is not None:
        log.info("stage corpus: already complete in %s, skipped", out_dir)
        run.seconds["corpus"] = "skipped"
        return done
    pipeline = _corpus_pipeline(run)
    resume.clear(out_dir, ["corpus", "tokenizer"])
    if minhash is not None and minhash.index_out:  # a rerun replaces its index, never mixes with it
        for name in outputs.list_dir(minhash.index_out):
            if name.startswith("index-") and name.endswith(".parquet"):
                outputs.remove(outputs.join(minhash.index_out, name))
    log.info("running the corpus pipeline on %s", describe_runner(run.args))
    progress_dir = outputs.join(out_dir, PROGRESS_DIR)
    outputs.remove(progress_dir)
    with quiet_workers(outputs.join(out_dir, WORKER_LOG), enabled=not run.verbose) as terminal:
        with ProgressReporter(progress_dir, sum(len(p) for p in run.source_paths), stream=terminal):
            run.volatile["beam_counters"] = run.stage("corpus", run_and_count, pipeline)
    unconverged = run.volatile["beam_counters"].get("dedup.cc_unconverged_nodes", 0)
    if unconverged:
        log.warning(
            "MinHash connected components did not converge for %d nodes: they were kept rather "
            "than removed; raise dedup.minhash.max_rounds", unconverged,
        )
    manifest = run.stage("manifest", build_manifest, out_dir, plan)
    resume.mark_done(out_dir, "corpus", print_, manifest)
    return manifest


def _corpus_pipeline(run: Run) -> Any:
    """The Beam pipeline of the corpus stage (built, not run), with the output folders made."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from corpusmill.pipelines.corpus import build_corpus

    for kind in (*outputs.KINDS, outputs.STATS_DIR):
        outputs.make_dirs(outputs.join(run.out_dir, kind))
    pipeline = beam.Pipeline(options=PipelineOptions(run.args))
    try:
        build_corpus(pipeline, run.plan, run.source_paths, run.out_dir)
    except (FileNotFoundError, ValueError) as e:
        raise ConfigError(str(e)) from None
    return pipeline


def tokenizer_stage(run: Run, corpus: dict[str, Any]) -> dict[str, Any]:
    """Train the tokenizer and encode token shards when the plan has a tokenizer; the
    manifest's `tokenizer`, `tokens` and `shards` (with `tokens`) entries."""
    shards = {k: v for k, v in corpus["shards"].items() if k != "tokens"}
    config = run.plan.tokenizer
    if config is None:
        return {"tokenizer": None, "shards": shards}
    print_ = resume.fingerprint(resume.fingerprint("corpus", corpus_checksum(corpus)), config.model_dump(mode="json"))
    done = resume.done_result(run.out_dir, "tokenizer", print_)
    if done is not None:
        log.info("stage tokenizer: already complete, skipped")
        run.seconds["tokenizer"] = "skipped"
        return done
    with quiet_workers(outputs.join(run.out_dir, WORKER_LOG), enabled=not run.verbose):
        result = run.stage("tokenizer", _train_and_encode, run, corpus)
    result["shards"] = {**shards, **result.pop("token_shards", {})}
    resume.mark_done(run.out_dir, "tokenizer", print_, result)
    return result


def mixture_stage(run: Run) -> dict[str, Any]:
    """Write the training mixture from the token shards when the plan has one (the manifest's
    `mixture` entry); without one, remove a mixture left by an earlier run of this output."""
    from corpusmill.tokenizer.mixture import MixtureError, write_mixture

    tokens_dir = outputs.join(run.out_dir, "tokens")
    if run.plan.mixture is None:
        outputs.remove(outputs.join(tokens_dir, "mixture"))
        return {}
    model_path = outputs.join(run.out_dir, "tokenizer", "tokenizer.model")
    try:
        return {"mixture": run.stage("mixture", write_mixture, tokens_dir, run.plan.mixture, model_path=model_path)}
    except MixtureError as e:
        raise ConfigError(f"mixture: {e}") from None


def _train_and_encode(run: Run, corpus: dict[str, Any]) -> dict[str, Any]:
    from apache_beam.options.pipeline_options import PipelineOptions

    from corpusmill.tokenizer.report import tokenizer_report, write_report
    from corpusmill.tokenizer.shards import encode_corpus
    from corpusmill.tokenizer.train import train_tokenizer

    config = run.plan.tokenizer
    assert config is not None
    out_dir = run.out_dir
    corpus_files = [outputs.join(out_dir, e["path"]) for e in corpus["shards"]["corpus"]]
    tok_dir = outputs.join(out_dir, "tokenizer")
    model_path = outputs.join(tok_dir, "tokenizer.model")
    summary, run.volatile["tokenizer_training"] = split_volatile(
        train_tokenizer(corpus_files, tok_dir, config, corpus_checksum=corpus_checksum(corpus))
    )
    report = tokenizer_report(model_path, corpus_files, baseline=config.baseline, seed=config.seed)
    write_report(outputs.join(tok_dir, "report.json"), report)
    result: dict[str, Any] = {"tokenizer": summary}
    if config.shards.enabled:
        tokens_dir = outputs.join(out_dir, "tokens")
        totals = encode_corpus(
            corpus_files,
            model_path,
            tokens_dir,
            pipeline_options=PipelineOptions(run.args),
            pack=config.shards.pack.seq_len if config.shards.pack else None,
            seed=config.shards.seed,
            batch_docs=config.shards.batch_docs,
            num_threads=config.shards.num_threads,
        )
        result["tokens"], run.volatile["token_shards"] = split_volatile(totals)
        names = [n for n in outputs.list_dir(tokens_dir) if outputs.is_shard_name(n)]
        result["token_shards"] = {"tokens": [outputs.describe_file(out_dir, f"tokens/{n}") for n in names]}
    return result


def validation_stage(run: Run) -> int:
    """Validate the output with great-expectations: 1 when it fails in `fail` mode, else 0."""
    validation = run.plan.validation
    if not validation.enabled:
        return 0
    from corpusmill.workflows.validate import validate_output

    result = run.stage("validate", validate_output, run.out_dir, mode=validation.mode, sample_rows=validation.sample_rows)
    if result.success:
        return 0
    for message in result.messages():
        print(f"corpusmill: validation: {message}", file=sys.stderr)
    return 1 if validation.mode == "fail" else 0


def accounting_check(run: Run, manifest: dict[str, Any]) -> int:
    """1 when too many records failed or the accounting does not balance, else 0."""
    accounting = manifest["accounting"]
    failed_fraction = (accounting["failed"] + accounting["records_failed_in_readers"]) / max(1, accounting["input_records"])
    limit = run.plan.run.max_failed_fraction
    exit_code = 0
    if failed_fraction > limit:
        print(
            f"corpusmill: {failed_fraction:.1%} of input records failed (max_failed_fraction {limit:.1%}); "
            f"see {run.out_dir}/failed/",
            file=sys.stderr,
        )
        exit_code = 1
    if not accounting["balanced"]:
        print(f"corpusmill: accounting does not balance: {accounting}", file=sys.stderr)
        exit_code = 1
    return exit_code


def finish(run: Run, manifest: dict[str, Any]) -> None:
    """Write run_info.json and the report, print the summary."""
    from corpusmill.workflows.report import render_report
    from corpusmill.workflows.summary import summary_lines

    def run_info() -> dict[str, Any]:
        return {
            "started": run.started.isoformat(timespec="seconds"),
            "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "wall_seconds": round(time.monotonic() - run.clock_start, 3),
            "stage_seconds": run.seconds,
            "engine": run.engine,
            **describe_runner(run.args),
            "beam_args": run.args,
            **run.volatile,
        }

    outputs.write_json(outputs.join(run.out_dir, outputs.RUN_INFO), run_info())  # the report reads it
    run.stage("report", render_report, run.out_dir)
    outputs.write_json(outputs.join(run.out_dir, outputs.RUN_INFO), run_info())
    print("\n".join(summary_lines(run.out_dir)))


def run_and_count(pipeline: Any) -> dict[str, int]:
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


@contextlib.contextmanager
def quiet_workers(log_path: str, enabled: bool = True) -> Iterator[TextIO]:
    """While the pipeline runs, send file descriptor 2 (inherited by Beam's worker
    subprocesses, whose start-up chatter ignores the log level) to `log_path`; yield a stream
    to the real terminal for progress lines. Disabled with --verbose."""
    if not enabled:
        yield sys.stderr
        return
    if outputs.is_remote(log_path):  # file descriptor 2 needs a local file: the temp directory
        log_path = os.path.join(tempfile.gettempdir(), "corpusmill-" + outputs.basename(log_path))
    sys.stderr.flush()
    saved = os.dup(2)
    outputs.make_dirs(os.path.dirname(log_path))
    with open(log_path, "ab") as log_file:
        os.dup2(log_file.fileno(), 2)
    terminal = os.fdopen(os.dup(saved), "w", buffering=1, encoding="utf-8", errors="replace")
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)]
    previous = [h.setStream(terminal) for h in handlers]  # our own log lines stay on the terminal
    try:
        yield terminal
    finally:
        for handler, stream in zip(handlers, previous):
            if stream is not None:
                handler.setStream(stream)
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        terminal.close()
