"""`corpusmill`: run a workflow, validate or report on an output directory, list steps.

    corpusmill run WORKFLOW.yaml [--output DIR] [extra Beam pipeline options]
    corpusmill validate OUTPUT_DIR [--warn] [--sample-rows N] [Beam filesystem options]
    corpusmill report OUTPUT_DIR [Beam filesystem options]

OUTPUT_DIR / DIR may be a local directory or any path Beam's FileSystems can write
(`s3://bucket/prefix`, `gs://...`); their options (`--s3_endpoint_url`, `--s3_region_name`,
credentials, ...) are Beam pipeline options, given after the command.
    corpusmill steps
    corpusmill --version            (also: python -m corpusmill ...)

Exit status: 0 success; 2 configuration error (one line on stderr, before anything runs: a bad
workflow, an unknown Beam option, a folder that is not a run's output); 1 the run finished but
failed a check (validation, too many failed records).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

log = logging.getLogger("corpusmill")

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # great-expectations never phones home
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    # Beam warns at import that optional GCP client libraries are missing: not our concern.
    logging.getLogger().addFilter(lambda record: "apitools not found" not in record.getMessage())
    if not verbose:  # other libraries' INFO chatter (some reset their own levels at import)
        for handler in logging.getLogger().handlers:
            handler.addFilter(lambda r: r.levelno >= logging.WARNING or r.name.startswith("corpusmill"))
    logging.getLogger("corpusmill").setLevel(logging.INFO)
    logging.getLogger("corpusmill.pipelines").setLevel(logging.INFO if verbose else logging.WARNING)
    for noisy in ("apache_beam", "great_expectations", "jieba"):
        logging.getLogger(noisy).setLevel(logging.WARNING if verbose else logging.ERROR)


def main(argv: list[str] | None = None) -> int:
    from corpusmill import __version__

    parser = argparse.ArgumentParser(prog="corpusmill", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"corpusmill {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every file read and Beam's progress")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a workflow (extra arguments go to Beam)")
    run.add_argument("workflow", type=Path)
    run.add_argument("--output", "-o", help="output directory or s3://, gs://... prefix (default: the workflow's output.dir)")
    run.add_argument(
        "--engine", choices=["local", "flink", "spark"], default=None,
        help="where the pipelines run (default: the workflow's run.engine, else local); see README 'Running at scale'",
    )
    validate = sub.add_parser("validate", help="validate an output directory with great-expectations")
    validate.add_argument("output")
    validate.add_argument("--warn", action="store_true", help="report failed expectations but exit 0")
    validate.add_argument("--sample-rows", type=int, default=None, help="validate a sample of rows per shard")
    report = sub.add_parser("report", help="render report/index.html of an output directory")
    report.add_argument("output")
    sub.add_parser("steps", help="list the registered steps")

    args, extra = parser.parse_known_args(argv)
    if extra and args.command not in ("run", "validate", "report"):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    _setup_logging(args.verbose)
    if extra and args.command in ("validate", "report"):  # filesystem options for a remote output
        from corpusmill.workflows.runner import unknown_options

        refused = unknown_options(extra)
        if refused:
            print(f"corpusmill: {refused[0]}", file=sys.stderr)
            return 2
        from corpusmill.schemas.outputs import set_filesystem_options

        set_filesystem_options(extra)

    if args.command == "run":
        from corpusmill.workflows.run import run_workflow

        return run_workflow(args.workflow, args.output, extra, args.verbose, engine=args.engine)
    from corpusmill.schemas.outputs import NotARun, require_run

    try:
        if args.command == "validate":
            require_run(args.output)
            return _validate(args.output, "warn" if args.warn else "fail", args.sample_rows)
        if args.command == "report":
            from corpusmill.workflows.report import render_report

            require_run(args.output)
            print(render_report(args.output))
            return 0
    except NotARun as e:
        print(f"corpusmill: {e}", file=sys.stderr)
        return 2
    if args.command == "steps":
        from corpusmill.pipelines.steps import registry

        for name in registry.names():
            doc = (registry.lookup(name).__doc__ or "").strip().splitlines()
            print(f"{name:20s} {doc[0] if doc else ''}")
        return 0
    return 2


def _validate(output: str, mode: str, sample_rows: int | None) -> int:
    from corpusmill.workflows.validate import validate_output

    result = validate_output(output, mode=mode, sample_rows=sample_rows)
    for line in result.lines():
        print(line)
    for message in result.messages():
        print(message, file=sys.stderr)
    return result.exit_code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
