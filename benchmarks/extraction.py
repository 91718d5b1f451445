"""Main-text extraction quality and speed of the web source's extractors, and reader throughput.

Quality: `corpusmill.pipelines.sources.web.read` (the real reader: WARC framing, HTTP, charset, the
extractor) runs over ../shared/data/web/extraction-eval_pages.warc.gz (346 real pages) once
per extractor; the documents' `url` and `text` are written to Parquet and scored by the
project-independent scorer ../shared/tools/score_extraction.py (run by subprocess), which
counts must-have snippets found (recall) and boilerplate snippets found (precision).

Speed: CPU seconds of this process for the whole `read` of that file (one core; the machine
is shared and noisy, each number is the best of `--rounds` rounds), as pages per CPU-second.

Throughput: documents per second (wall and CPU) of `read` with the default extractor on the
bundled samples/web WARCs and on the larger shared WARCs (Python docs, Debian manuals, the
real Common Crawl sample).

Run: .venv/bin/python -m benchmarks.extraction [--rounds R] [--skip-large]
Writes benchmarks/results/extraction.json and extraction.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.provenance import write_json, write_markdown

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("CORPUSMILL_SHARED_DATA", ROOT.parent / "shared" / "data"))
SCORER = SHARED.parent / "tools" / "score_extraction.py"
RESULTS = ROOT / "benchmarks" / "results"
EXTRACTORS = ("resiliparse", "resiliparse_clean", "hybrid", "trafilatura")
REFERENCE = {
    "trafilatura.extract": {"f1": 0.915, "precision": 0.898, "recall": 0.932, "pages_per_cpu_s": 47},
    "resiliparse main_content": {"f1": 0.842, "precision": 0.760, "recall": 0.944, "pages_per_cpu_s": 560},
}


def _read_all(path: Path, extractor: str) -> tuple[list[Any], float, float]:
    from corpusmill.pipelines.sources.web import Config, read

    from corpusmill.pipelines.sources.html import extract_main_text

    config = Config(paths=[str(path)], extractor=extractor)  # type: ignore[arg-type]
    extract_main_text("<html><body><p>warm-up</p></body></html>", "trafilatura")  # imports outside the timing
    wall, cpu = time.perf_counter(), time.process_time()
    items = list(read(str(path), config))
    return items, time.perf_counter() - wall, time.process_time() - cpu


def _score(docs: list[Any], truth: Path) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "corpus.parquet"
        pq.write_table(pa.table({"url": [d.url for d in docs], "text": [d.text for d in docs]}), out)
        res = subprocess.run(
            [sys.executable, str(SCORER), str(truth), str(out)], capture_output=True, text=True, check=True
        )
    return json.loads(res.stdout.strip().splitlines()[-1])


def quality(rounds: int) -> dict[str, Any]:
    from corpusmill.schemas.document import Document

    pages = SHARED / "web" / "extraction-eval_pages.warc.gz"
    truth = SHARED / "web" / "extraction-eval_truth.json"
    out: dict[str, Any] = {}
    for name in EXTRACTORS:
        best_cpu = float("inf")
        docs: list[Any] = []
        n_records = 0
        for _ in range(rounds if name != "trafilatura" else max(1, rounds // 2)):
            items, _wall, cpu = _read_all(pages, name)
            best_cpu = min(best_cpu, cpu)
            docs = [i for i in items if isinstance(i, Document)]
            n_records = len(items)
        pages_n = n_records - 1  # minus the warcinfo record
        result = _score(docs, truth)
        result["pages_per_cpu_s"] = round(pages_n / best_cpu, 1)
        result["documents"] = len(docs)
        out[name] = result
        print(name, result, flush=True)
    return out


def throughput(skip_large: bool) -> dict[str, Any]:
    from corpusmill.pipelines.sources.web import Config
    from corpusmill.schemas.document import Document, Failure

    files = sorted((ROOT / "samples" / "web").glob("*.warc.gz"))
    files.append(SHARED / "web" / "resiliparse_CC-MAIN-2020-34_sample.warc.gz")
    if not skip_large:
        files += [SHARED / "web" / "python3.11-docs_html.warc.gz", SHARED / "web" / "debian-docs_multilingual_3560pages.warc.gz"]
    out: dict[str, Any] = {}
    for path in files:
        if not path.exists():
            continue
        items, wall, cpu = _read_all(path, Config.model_fields["extractor"].default)
        docs = sum(isinstance(i, Document) for i in items)
        out[path.name] = {
            "records": len(items),
            "documents": docs,
            "failures": sum(isinstance(i, Failure) for i in items),
            "docs_per_s_wall": round(docs / wall, 1),
            "docs_per_cpu_s": round(docs / cpu, 1),
            "mb_per_cpu_s": round(path.stat().st_size / 1e6 / cpu, 2),
        }
        print(path.name, out[path.name], flush=True)
    return out


def _markdown(result: dict[str, Any]) -> str:
    lines = [
        "# Main-text extraction (web source)",
        "",
        "Produced by `benchmarks/extraction.py` on "
        f"{result['machine']}; CPU seconds of one process, best of {result['rounds']} rounds "
        "(trafilatura: fewer rounds). Whole reader (`corpusmill.pipelines.sources.web.read`: WARC, HTTP, "
        "charset, extraction) over the 346-page extraction benchmark, scored by "
        "`../shared/tools/score_extraction.py`.",
        "",
        "| extractor | F1 | precision | recall | pages / CPU-s |",
        "|---|---|---|---|---|",
    ]
    for name, r in result["quality"].items():
        lines.append(f"| `{name}` | {r['f1']:.3f} | {r['precision']:.3f} | {r['recall']:.3f} | {r['pages_per_cpu_s']:.0f} |")
    for name, r in REFERENCE.items():
        lines.append(f"| reference: {name} (scorer docstring) | {r['f1']:.3f} | {r['precision']:.3f} | {r['recall']:.3f} | {r['pages_per_cpu_s']} |")
    lines += [
        "",
        f"Default: `{result['default']}`. {result['why_default']}",
        "",
        "`resiliparse_clean` = resiliparse main content, restricted to the article-body container "
        "when the page has one (schema.org articleBody, common CMS class names, `<article>`, `<main>`), "
        "minus lines that are only a link (\"Read more: ...\"), trimmed to the span of sentence-like "
        "body lines (`pipelines/sources/html.py`). It did not reach trafilatura's F1: it loses "
        "recall on lists and short trailing lines, and keeps inline boilerplate (captions, share "
        "prompts) that trafilatura's class-name rules remove. `hybrid` = `resiliparse_clean`, and "
        "trafilatura's text on the pages where the fast path kept under 500 characters of a page "
        "showing at least 4,000 outside links, less than half of it link text (resiliparse's "
        "heuristics missed the article): 9 of these 346 pages; 1 of 612 pages of the real crawl "
        "samples (CC-MAIN-2020-34, ClueWeb09-ja, wget, Python docs).",
        "",
        "The thresholds of `resiliparse_clean` and `hybrid` were chosen on this same benchmark (no "
        "held-out split), so expect somewhat lower F1 on other pages. Speed numbers move by up to "
        "~40 % between runs on this shared 2-core machine; compare within one run.",
        "",
        "## Reader throughput (default extractor)",
        "",
    ]
    lines += ["| file | records | documents | failures | docs/s (wall) | docs / CPU-s | MB (gz) / CPU-s |", "|---|---|---|---|---|---|---|"]
    for name, r in result["throughput"].items():
        lines.append(
            f"| {name} | {r['records']} | {r['documents']} | {r['failures']} | {r['docs_per_s_wall']} | {r['docs_per_cpu_s']} | {r['mb_per_cpu_s']} |"
        )
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-large", action="store_true", help="only the small WARCs for throughput")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from corpusmill.pipelines.sources.web import Config

    q = quality(args.rounds)
    default = Config.model_fields["extractor"].default
    best = max(q, key=lambda k: q[k]["f1"])
    why = (
        f"Best F1 is `{best}` ({q[best]['f1']:.3f} at {q[best]['pages_per_cpu_s']:.0f} pages/CPU-s); "
        f"`{default}` gives {q[default]['f1']:.3f} at {q[default]['pages_per_cpu_s']:.0f} pages/CPU-s, "
        f"{q[default]['pages_per_cpu_s'] / max(1e-9, q['trafilatura']['pages_per_cpu_s']):.0f}x trafilatura's speed: "
        "at crawl scale the extractor dominates the cost, and the quality filters downstream remove "
        "much of the short-line boilerplate the fast path leaves. Choose `trafilatura` when quality "
        "matters more than throughput, `resiliparse_clean` for the most speed at a small loss."
    )
    result = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "rounds": args.rounds,
        "quality": q,
        "reference": REFERENCE,
        "default": default,
        "why_default": why,
        "throughput": throughput(args.skip_large),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_json(RESULTS / "extraction.json", result)
    write_markdown(RESULTS / "extraction.md", _markdown(result))
    return result


if __name__ == "__main__":
    main()
