"""`make bench`: run every benchmark module of benchmarks/ that has a `main()`, one at a time.

    python -m benchmarks.run            # all of them
    python -m benchmarks.run steps scale   # a subset, in the order given
    python -m benchmarks.run --list
    python -m benchmarks.run --index-only   # rewrite results/index.md, run nothing

Each benchmark runs in its own subprocess (`from benchmarks.NAME import main; main()`, with
no arguments, so each uses its defaults), sequentially, so they do not compete for the cores.
A failure is reported and the next benchmark still runs. One status line per benchmark;
the full output of each goes to out/bench-logs/NAME.log. At the end
benchmarks/results/index.md lists every benchmark with its status, duration and links to its
results files (benchmarks/results/NAME.md / .json). Every results file, index.md included, records
the commit and date it was produced at (benchmarks/provenance.py).
Exit status: 0 when all ran, 1 otherwise.
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.provenance import write_markdown

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "benchmarks"
RESULTS = BENCH_DIR / "results"
LOGS = ROOT / "out" / "bench-logs"

# The usual order: quick, focused benchmarks first, the end-to-end one last.
ORDER = ["extraction", "steps", "dedup_quality", "dedup_speed", "dedup_scale", "dedup_whole", "tokenize", "read_books_code", "wiki", "scale"]
NOT_BENCHMARKS = {"run", "__init__"}


@dataclass(frozen=True)
class Outcome:
    name: str
    status: str  # "ok", "failed (exit N)", "missing"
    seconds: float


def has_main(path: Path) -> bool:
    """True when the module defines a top-level `main` function (read with ast, not imported)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return False
    return any(isinstance(node, ast.FunctionDef) and node.name == "main" for node in tree.body)


def discover(bench_dir: Path = BENCH_DIR) -> list[str]:
    """Benchmark module names with a `main()`: those of ORDER first, in that order, then the rest
    alphabetically."""
    found = {p.stem for p in bench_dir.glob("*.py") if p.stem not in NOT_BENCHMARKS and has_main(p)}
    return [n for n in ORDER if n in found] + sorted(found - set(ORDER))


def run_one(name: str, python: str = sys.executable, logs: Path = LOGS) -> Outcome:
    """Run benchmarks.NAME.main() in a subprocess; its output goes to logs/NAME.log."""
    logs.mkdir(parents=True, exist_ok=True)
    code = (
        "import sys\n"
        f"from benchmarks.{name} import main\n"
        "result = main()\n"
        "sys.exit(result if isinstance(result, int) and not isinstance(result, bool) else 0)\n"
    )
    t0 = time.perf_counter()
    with open(logs / f"{name}.log", "wb") as log:
        proc = subprocess.run([python, "-c", code], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - t0
    return Outcome(name, "ok" if proc.returncode == 0 else f"failed (exit {proc.returncode})", seconds)


def write_index(outcomes: list[Outcome], results: Path = RESULTS) -> Path:
    """benchmarks/results/index.md: this run's status per benchmark and links to its results;
    results files of benchmarks not run this time are listed below it."""
    results.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = ["# Benchmark results", ""]
    if outcomes:
        lines += [
            f"Last `make bench` run: {now} (logs in out/bench-logs/). See benchmarks/README.md.",
            "",
            "| benchmark | status | minutes | results |",
            "|---|---|---:|---|",
        ]
    else:
        lines += [f"Index written {now} from the files in this directory. See benchmarks/README.md."]
    for o in outcomes:
        links = [f"[{p.name}]({p.name})" for p in (results / f"{o.name}.md", results / f"{o.name}.json") if p.is_file()]
        lines.append(f"| {o.name} | {o.status} | {o.seconds / 60:.1f} | {', '.join(links) or '-'} |")
    ran = {o.name for o in outcomes}
    others = sorted(p for p in results.glob("*.md") if p.stem not in ran and p.name != "index.md")
    if others:
        lines += ["", "Results from earlier runs:" if outcomes else "Results:", ""]
        lines += [f"- [{p.name}]({p.name})" for p in others]
    path = results / "index.md"
    write_markdown(path, "\n".join(lines) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--index-only", action="store_true", help="only rewrite results/index.md from the files there")
    args = parser.parse_args(argv)
    if args.index_only:
        print(f"index: {write_index([]).relative_to(ROOT)}")
        return 0
    available = discover()
    if args.list:
        print("\n".join(available))
        return 0
    unknown = [n for n in args.names if n not in available]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available)}")
    names = args.names or available
    outcomes: list[Outcome] = []
    for name in names:
        print(f"{name:>16} ...", end="", flush=True)
        outcome = run_one(name)
        outcomes.append(outcome)
        print(f"\r{name:>16} {outcome.status:<18} {outcome.seconds:7.1f} s  log: out/bench-logs/{name}.log", flush=True)
    index = write_index(outcomes)
    print(f"index: {index.relative_to(ROOT)}")
    return 0 if all(o.status == "ok" for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
