"""Speed of the Wikipedia source, and its wikitext stripper against mwparserfromhell.

1. Reader: `pipelines.sources.wiki.read` (decompression, page cutting, lxml per page,
   filters, wikitext -> text) over the bundled enwiki sample (206 pages) and, when present,
   the real dumps of ../shared/data/wiki (enwiki excerpt, ja/uk/vi repaired excerpts).
   Reported: pages (every <page>), documents, pages per CPU-second and per wall-second, and
   the share of CPU spent only decompressing (a read-through of `open_input`).
2. Converter: `wikitext.to_plain_text` vs `mwparserfromhell.parse(t).strip_code()` (the
   obvious alternative, installed as a project dependency) on the same article wikitexts:
   documents per CPU-second and leftover markup in the output (`{{`, `[[`, `<ref`, `{|`,
   `|}` occurrences), as a rough quality check.

CPU time is process time of this process (one core); the machine is shared and noisy, so
each number is the best of `--rounds` rounds.

Run: .venv/bin/python -m benchmarks.wiki [--rounds R]
Writes benchmarks/results/wiki.json and wiki.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path
from typing import Any

from lxml import etree

from benchmarks.provenance import write_json, write_markdown
from corpusmill.pipelines.sources import wiki
from corpusmill.pipelines.sources.base import open_input
from corpusmill.pipelines.sources.wikitext import to_plain_text
from corpusmill.schemas.document import Document, Failure, Rejection

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("CORPUSMILL_SHARED_DATA", ROOT.parent / "shared" / "data"))
RESULTS = ROOT / "benchmarks" / "results"
MARKUP = ("{{", "[[", "<ref", "{|", "|}")


def _inputs() -> list[Path]:
    files = [ROOT / "samples" / "wiki" / "enwiki-pages-articles-sample.xml.bz2"]
    if SHARED.is_dir():
        files += sorted((SHARED / "wiki").glob("gensim_enwiki-latest-*.xml.bz2"))
        files += sorted((SHARED / "wiki" / "truncated").glob("*-repaired.xml.bz2"))
    return [f for f in files if f.is_file()]


def _best(fn, rounds: int) -> tuple[float, float, Any]:
    """(best CPU seconds, best wall seconds, last result) of `rounds` calls."""
    cpu, wall, result = float("inf"), float("inf"), None
    for _ in range(rounds):
        c0, w0 = time.process_time(), time.perf_counter()
        result = fn()
        cpu = min(cpu, time.process_time() - c0)
        wall = min(wall, time.perf_counter() - w0)
    return cpu, wall, result


def _decompress_only(path: Path) -> int:
    n = 0
    with open_input(str(path)) as stream:
        while chunk := stream.read(1 << 20):
            n += len(chunk)
    return n


def bench_reader(files: list[Path], rounds: int) -> list[dict[str, Any]]:
    config = wiki.Config(paths=["x"])
    list(wiki.read(str(files[0]), config))  # warm-up: imports Beam's filesystem layer
    rows = []
    for path in files:
        cpu, wall, records = _best(lambda: list(wiki.read(str(path), config)), rounds)
        dcpu, _, nbytes = _best(lambda: _decompress_only(path), rounds)
        docs = [r for r in records if isinstance(r, Document)]
        rows.append(
            {
                "file": path.name,
                "compressed_bytes": path.stat().st_size,
                "xml_bytes": nbytes,
                "pages": len(records),
                "documents": len(docs),
                "rejections": sum(isinstance(r, Rejection) for r in records),
                "failures": sum(isinstance(r, Failure) for r in records),
                "text_chars": sum(len(d.text) for d in docs),
                "cpu_s": round(cpu, 3),
                "wall_s": round(wall, 3),
                "pages_per_cpu_s": round(len(records) / cpu, 1),
                "pages_per_wall_s": round(len(records) / wall, 1),
                "docs_per_cpu_s": round(len(docs) / cpu, 1),
                "decompress_cpu_share": round(dcpu / cpu, 2),
            }
        )
    return rows


def _article_wikitexts(path: Path) -> list[str]:
    """Wikitext of the namespace-0, non-redirect pages of one dump (what the converter sees)."""
    with open_input(str(path)) as stream:
        data = stream.read()
    texts: list[str] = []
    for chunk in wiki.page_chunks([data], 1 << 26):
        if chunk.kind != "page":
            continue
        page = etree.fromstring(chunk.data, wiki._parser())
        if page.findtext("ns") == "0" and page.find("redirect") is None:
            texts.append(page.findtext("revision/text") or "")
    return texts


def bench_converters(files: list[Path], rounds: int) -> dict[str, Any]:
    import mwparserfromhell

    texts = _article_wikitexts(files[0])
    chars = sum(len(t) for t in texts)
    out: dict[str, Any] = {"articles": len(texts), "wikitext_chars": chars}
    converters = {
        "corpusmill to_plain_text": lambda: [to_plain_text(t) for t in texts],
        "mwparserfromhell strip_code": lambda: [mwparserfromhell.parse(t).strip_code() for t in texts],
    }
    for name, fn in converters.items():
        cpu, _, results = _best(fn, rounds)
        out[name] = {
            "cpu_s": round(cpu, 3),
            "docs_per_cpu_s": round(len(texts) / cpu, 1),
            "wikitext_mb_per_cpu_s": round(chars / cpu / 1e6, 2),
            "leftover_markup": {m: sum(r.count(m) for r in results) for m in MARKUP},
            "output_chars": sum(len(r) for r in results),
        }
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    files = _inputs()
    result = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "note": "shared, noisy; best of rounds"},
        "rounds": args.rounds,
        "reader": bench_reader(files, args.rounds),
        "converter (enwiki sample articles)": bench_converters(files, args.rounds),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_json(RESULTS / "wiki.json", result, ensure_ascii=False)
    write_markdown(RESULTS / "wiki.md", _markdown(result))
    print(_markdown(result))
    return result


def _markdown(result: dict[str, Any]) -> str:
    lines = [
        "# Wikipedia source benchmark",
        "",
        f"Best of {result['rounds']} rounds, CPU = process time (one core), machine shared and noisy.",
        "",
        "## Reader (`pipelines.sources.wiki.read`)",
        "",
        "| file | pages | docs | failures | pages/CPU-s | pages/wall-s | docs/CPU-s | decompression share of CPU |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["reader"]:
        lines.append(
            f"| {r['file']} | {r['pages']} | {r['documents']} | {r['failures']} | {r['pages_per_cpu_s']} "
            f"| {r['pages_per_wall_s']} | {r['docs_per_cpu_s']} | {r['decompress_cpu_share']:.0%} |"
        )
    conv = result["converter (enwiki sample articles)"]
    lines += [
        "",
        f"## Wikitext -> text ({conv['articles']} enwiki sample articles, {conv['wikitext_chars'] / 1e6:.1f} M chars)",
        "",
        "| converter | docs/CPU-s | MB wikitext/CPU-s | leftover `{{` `[[` `<ref` `{\\|` `\\|}` |",
        "|---|---:|---:|---|",
    ]
    for name in ("corpusmill to_plain_text", "mwparserfromhell strip_code"):
        c = conv[name]
        left = " ".join(str(c["leftover_markup"][m]) for m in MARKUP)
        lines.append(f"| {name} | {c['docs_per_cpu_s']} | {c['wikitext_mb_per_cpu_s']} | {left} |")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
