"""How the `harmful_content` step does, measured the way Dodge et al. 2021 ("Documenting
Large Webtext Corpora", sec. 5) measured C4's word-list filter: what share of clean text it
would remove, and what share of harmful pages it catches, per language.

(a) Clean text (every document is clean by its source; share dropped per language):
    * Wikipedia articles: the enwiki and bgwiki dump excerpts, the ja/uk/vi dumps (the
      "repaired" truncations) in ../shared/data/wiki;
    * books: KJV, the Project Gutenberg books (en, nl, fr, ru), the Chinese novel and poems
      in ../shared/data/books (one document per book; poems one per entry);
    * UDHR paragraphs (../shared/data/lid/udhr2_paragraphs.tsv.xz): short documents in the
      languages that have a list;
    * manuals: the Debian documentation in 26 locales (web/debian-docs_multilingual_*);
    * web pages labelled `clean` by hand (news, shops, blogs, academic pages) from the crawls
      in ../shared/data/web, see (b).
(b) Harmful pages: every page of the small real crawls in ../shared/data/web (the
    extraction benchmark WARC, the CommonCrawl, ClueWeb09-ja, wget samples and the CCNet
    JSONL) was read and labelled by hand *before* any scoring (`--list` prints what was
    read: URL, title, the first characters of the extracted text). The labels are in
    benchmarks/data/content_labels.tsv: record key, label (`clean`, `adult`, `hateful`,
    `violent`, `unclear`), language, and a short note. Catch rate = share of the `adult`,
    `hateful` and `violent` pages the step would drop.

Language: every document goes through the project's `language` step (lid.176) first, as in
the web preset; the tables group by its label.

Compared side by side on the same documents (each in its own process, from .venv-bench):
  * better-profanity 0.7.0 (`profanity.contains_profanity`: any word of its English list,
    C4-like "one word drops the page");
  * alt-profanity-check (`predict_prob` >= 0.5 on the text, a linear SVM on English
    toxic comments; the score of a page is its most offensive line's);
  * the C4 rule itself: our matcher with `max_terms: 0` (any listed word drops the page).

Run: .venv/bin/python -m benchmarks.content [--list] [--max-docs-per-source N]
Writes benchmarks/results/content.json and content.md (with the commit and date).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import lzma
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corpusmill.schemas.document import Document

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("CORPUSMILL_SHARED_DATA", ROOT.parent / "shared" / "data"))
BENCH_PY = Path(os.environ.get("CORPUSMILL_BENCH_PYTHON", ROOT / ".venv-bench" / "bin" / "python"))
RESULTS = ROOT / "benchmarks" / "results"
LABELS = ROOT / "benchmarks" / "data" / "content_labels.tsv"
HARMFUL_LABELS = ("adult", "hateful", "violent")

LABELLED_CRAWLS = (
    "web/extraction-eval_pages.warc.gz",
    "web/resiliparse_CC-MAIN-2020-34_sample.warc.gz",
    "web/resiliparse_clueweb09-ja_quirk.warc.gz",
    "web/dolma_wget_sample-0000.warc.gz",
    "web/dolma_wget_sample-0001.warc.gz",
    "web/cc-whirlwind_CC-MAIN-2024-22.warc.wet.gz",
)
LABELLED_JSONL = ("web/dolma_ccnet_cc_en_head-0091.jsonl.gz", "web/dolma_ccnet_cc_en_head-0174.jsonl.gz")


@dataclass(frozen=True)
class Sample:
    key: str  # record key used in the labels file: file name + (URL or record id)
    corpus: str  # wiki, books, udhr, manuals, web
    doc: Document
    label: str = "clean"


def _web_docs(rel: str) -> Iterator[Document]:
    from corpusmill.pipelines.sources import web

    config = web.Config(paths=[str(SHARED / rel)], extractor="resiliparse")
    for item in web.read(str(SHARED / rel), config):
        if isinstance(item, Document):
            yield item


def _jsonl_docs(rel: str) -> Iterator[Document]:
    from corpusmill.schemas.document import make_id

    with gzip.open(SHARED / rel, "rt", encoding="utf-8") as f:
        for n, line in enumerate(f):
            row = json.loads(line)
            url = row.get("url") or f"record{n}"
            yield Document(id=make_id("jsonl", rel, url), text=row.get("raw_content") or row.get("text") or "",
                           source="web", location=f"{rel}#record={n}", url=url)  # fmt: skip


def web_key(rel: str, doc: Document) -> str:
    return f"{Path(rel).name}\t{doc.url or doc.warc_record_id or doc.location}"


def labelled_pages() -> Iterator[tuple[str, Document]]:
    """(key, document) for every page of the hand-labelled crawls, in file order."""
    for rel in LABELLED_CRAWLS:
        for doc in _web_docs(rel):
            yield web_key(rel, doc), doc
    for rel in LABELLED_JSONL:
        for doc in _jsonl_docs(rel):
            yield web_key(rel, doc), doc


def read_labels(path: Path = LABELS) -> dict[str, tuple[str, str]]:
    """key -> (label, language as labelled by hand)."""
    labels: dict[str, tuple[str, str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#") or line.startswith("file\t"):
            continue
        file, record, label, language, *_ = line.split("\t")
        labels[f"{file}\t{record}"] = (label, language)
    return labels


def list_pages(chars: int) -> None:
    """Print what a labeller reads: key, title, the start of the text (no scores)."""
    for key, doc in labelled_pages():
        text = " ".join(doc.text.split())[:chars]
        print(f"{key}\t{(doc.title or '')[:80]}\t{text}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--list", action="store_true", help="print the pages to label and exit (no scoring)")
    parser.add_argument("--list-chars", type=int, default=300)
    args = parser.parse_args(argv)
    if args.list:
        list_pages(args.list_chars)
        return {}
    raise SystemExit("not yet")


if __name__ == "__main__":
    main()
