"""Reader speed of the books and code sources (pure `read(unit, config)`, no Beam runner).

Inputs: the bundled samples (samples/books/*, samples/code/*) and, when present, the real
files of ../shared/data/books and ../shared/data/code. Each unit is read `--rounds` times;
the best round's CPU time (process time, one core; the machine is shared and noisy) is kept.
Reported per source: units, documents, rejections, failures, input bytes (as stored),
decompressed text MB of documents, documents per CPU-second and text MB per CPU-second.

The first call imports Beam's filesystem layer (through `open_raw`); a warm-up read is done
before timing.

Run: .venv/bin/python -m benchmarks.read_books_code [--rounds R]
Writes benchmarks/results/read_books_code.json and read_books_code.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path
from typing import Any

from benchmarks.provenance import write_json, write_markdown
from corpusmill.pipelines.sources import books, code
from corpusmill.schemas.document import Document, Failure, Rejection

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("CORPUSMILL_SHARED_DATA", ROOT.parent / "shared" / "data"))
RESULTS = ROOT / "benchmarks" / "results"


def _inputs() -> dict[str, tuple[Any, list[Path]]]:
    sets: dict[str, tuple[Any, list[Path]]] = {
        "books (samples)": (books, sorted((ROOT / "samples" / "books").glob("*"))),
        "code (samples)": (code, sorted((ROOT / "samples" / "code").glob("*"))),
    }
    if SHARED.is_dir():
        sets["books (shared data)"] = (books, sorted((SHARED / "books").rglob("*.txt*")))
        sets["code (shared data)"] = (code, sorted((SHARED / "code").glob("*.tar.gz")))
    return sets


def _measure(module: Any, paths: list[Path], rounds: int) -> dict[str, Any]:
    best = float("inf")
    counts: dict[str, float] = {}
    for _ in range(rounds):
        docs = rejected = failed = 0
        chars = 0
        start = time.process_time()
        for path in paths:
            config = module.Config(paths=[str(path)])
            for record in module.read(str(path), config):
                if isinstance(record, Document):
                    docs += 1
                    chars += len(record.text.encode("utf-8"))
                elif isinstance(record, Rejection):
                    rejected += 1
                elif isinstance(record, Failure):
                    failed += 1
        elapsed = time.process_time() - start
        best = min(best, elapsed)
        counts = {"documents": docs, "rejected": rejected, "failed": failed, "text_mb": chars / 1e6}
    return {
        "units": len(paths),
        "input_mb": sum(p.stat().st_size for p in paths) / 1e6,
        **counts,
        "cpu_seconds": best,
        "docs_per_cpu_second": counts["documents"] / best if best else None,
        "text_mb_per_cpu_second": counts["text_mb"] / best if best else None,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    sets = _inputs()
    warm = next(iter(sets.values()))
    list(warm[0].read(str(warm[1][0]), warm[0].Config(paths=["x"])))  # import Beam's filesystems once
    results = {name: _measure(module, paths, args.rounds) for name, (module, paths) in sets.items()}
    out = {
        "benchmark": "read_books_code",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "rounds": args.rounds,
        "results": results,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_json(RESULTS / "read_books_code.json", out)
    lines = [
        "# Reader speed: books and code sources",
        "",
        f"Pure `read()` calls, best of {args.rounds} rounds, CPU seconds of one process "
        f"({os.cpu_count()} shared cores, noisy). Run: `.venv/bin/python -m benchmarks.read_books_code`.",
        "",
        "| input | units | input MB | docs | rejected | failed | text MB | CPU s | docs/CPU-s | text MB/CPU-s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['units']} | {r['input_mb']:.2f} | {r['documents']} | {r['rejected']} | {r['failed']} | "
            f"{r['text_mb']:.2f} | {r['cpu_seconds']:.3f} | {r['docs_per_cpu_second']:.0f} | {r['text_mb_per_cpu_second']:.1f} |"
        )
    lines += [
        "",
        "Books are one document per file (the KJV is one 4.3 MB document), so books are better",
        "compared by text MB/CPU-s; code is one document per source file.",
    ]
    write_markdown(RESULTS / "read_books_code.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
