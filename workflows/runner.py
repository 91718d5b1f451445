"""Beam pipeline options for a run.

Default (no --runner given): Beam's in-process FnApiRunner, set explicitly, with one worker
process per core (up to 4) when the machine has several. Beam's default DirectRunner would
first try to download a Prism binary from the internet; the default here never touches the
network, and `workflows/beam_fixes.py` (applied on import of this module) works around a
FnApiRunner data-plane race that loses data with several worker processes. Any other runner
and its options pass straight through, e.g. `--runner=PortableRunner --job_endpoint=...`,
`--runner=DataflowRunner --project=...`. An option no Beam options class defines
(`--direct_num_wrkers=2`) is an error, not ignored: `unknown_options` names it with the
closest known option.
"""

from __future__ import annotations

import difflib
import os

from apache_beam.options.pipeline_options import PipelineOptions, _BeamArgumentParser

from corpusmill.workflows import beam_fixes  # noqa: F401 - FnApiRunner data-plane work-around, on import

MAX_DEFAULT_WORKERS = 4
FN_API_RUNNER = "apache_beam.runners.portability.fn_api_runner.FnApiRunner"


def local_runner() -> str:
    """`FnApiRunner`, by its short name where this Beam knows it, else by its full path."""
    from apache_beam.options.pipeline_options import StandardOptions

    return "FnApiRunner" if FN_API_RUNNER in StandardOptions.ALL_KNOWN_RUNNERS else FN_API_RUNNER


def default_workers() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_DEFAULT_WORKERS))


def _given(args: list[str], flag: str) -> bool:
    return any(a == flag or a.startswith(flag + "=") for a in args)


def unknown_options(args: list[str]) -> list[str]:
    """One message per argument that no Beam options class defines (the parser Beam itself
    builds in `PipelineOptions.get_all_options`), with the closest known option."""
    parser = _BeamArgumentParser(allow_abbrev=False)
    classes = {str(cls): cls for cls in PipelineOptions.__subclasses__()}
    for cls in classes.values():
        cls._add_argparse_args(parser)
    _known, unknown = parser.parse_known_args(args)
    flags = [flag for action in parser._actions for flag in action.option_strings]
    messages = []
    for arg in unknown:
        name = arg.split("=", 1)[0]
        close = difflib.get_close_matches(name, flags, n=1) if name.startswith("--") else []
        hint = f" (did you mean {close[0]}?)" if close else ""
        messages.append(f"unknown Beam pipeline option {arg!r}{hint}")
    return messages


def pipeline_args(extra_args: list[str], verbose: bool = False) -> list[str]:
    args = list(extra_args)
    if not verbose and not _given(args, "--default_sdk_harness_log_level"):
        args.append("--default_sdk_harness_log_level=WARNING")
    if not _given(args, "--runner"):
        args.append(f"--runner={local_runner()}")
        if not _given(args, "--direct_num_workers"):
            workers = default_workers()
            args.append(f"--direct_num_workers={workers}")
            if workers > 1 and not _given(args, "--direct_running_mode"):
                args.append("--direct_running_mode=multi_processing")
    return args


def pipeline_options(extra_args: list[str]) -> PipelineOptions:
    return PipelineOptions(pipeline_args(extra_args))


def describe_runner(args: list[str]) -> dict[str, str | int]:
    values = dict(a.lstrip("-").split("=", 1) for a in args if a.startswith("--") and "=" in a)
    return {
        "runner": values.get("runner", "FnApiRunner"),
        "workers": int(values.get("direct_num_workers", values.get("sdk_worker_parallelism", 1))),
        "running_mode": values.get("direct_running_mode", "in_memory"),
    }
