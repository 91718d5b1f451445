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

Books are split into parts of at most 20,000 characters (`books.Config.max_chars`); each
source file (and each UDHR language) gives at most `--max-docs-per-source` documents (60), the
Debian manuals an even spread of at most ten times that.

Compared side by side on the same documents (each in its own process, from .venv-bench):
  * better-profanity 0.7.0 (`profanity.contains_profanity`: any word of its English list,
    C4-like "one word drops the page"), on the documents labelled English only;
  * alt-profanity-check (`predict_prob` >= 0.5, a linear SVM trained on English toxic
    comments; the score of a page is its most offensive line's), English documents only;
  * the C4 rule itself: our matcher with `max_terms: 0` (any listed word drops the page);
  * our step with the English list added to every language's (`extra_languages: [en]`).
Our verdicts are recomputed from the stored per-document scores under the step's current
default thresholds (`--from-raw` re-renders without scoring again).

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
import pickle
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
MAX_DOCS_PER_SOURCE = 60  # better-profanity scores ~25k characters per CPU-second: keep the run short
BOOK_PART_CHARS = 20_000  # books are split into parts of at most this many characters (books.Config.max_chars)
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


UDHR_LISTED = {
    "arb": "ar", "ces": "cs", "dan": "da", "deu": "de", "eng": "en", "epo": "eo", "spa": "es", "pes_1": "fa",
    "fin": "fi", "tgl": "fil", "fra": "fr", "hin": "hi", "hun": "hu", "ita": "it", "jpn": "ja", "kor": "ko",
    "nld": "nl", "nob": "no", "pol": "pl", "por_BR": "pt", "rus": "ru", "swe": "sv", "tha": "th", "tur": "tr",
    "cmn_hans": "zh", "cmn_hant": "zh",
    # languages without a list (scored through the script fallback)
    "ukr": "uk", "bul": "bg", "vie": "vi", "ell_monotonic": "el", "heb": "he", "ron": "ro", "ind": "id",
}  # fmt: skip


def clean_samples(max_per_source: int | None) -> Iterator[Sample]:
    """Clean text by source: wiki, books, UDHR, manuals (see the module docstring)."""
    from corpusmill.pipelines.sources import books, wiki
    from corpusmill.schemas.document import make_id

    def capped(items: Iterator[Document]) -> Iterator[Document]:
        for n, doc in enumerate(items):
            if max_per_source is not None and n >= max_per_source:
                return
            yield doc

    wikis = sorted((SHARED / "wiki").glob("*.xml.bz2")) + sorted((SHARED / "wiki" / "truncated").glob("*-repaired.xml.bz2"))
    for path in wikis:
        config = wiki.Config(paths=[str(path)])
        docs = (d for d in wiki.read(str(path), config) if isinstance(d, Document))
        for doc in capped(docs):
            yield Sample(f"{path.name}\t{doc.page_id}", "wiki", doc)
    book_files = [SHARED / "books" / "kjv_bible-kjv-text_4.38.txt.xz", *sorted((SHARED / "books" / "gutenberg").glob("*.txt")),
                  *sorted((SHARED / "books" / "zh").glob("*.txt"))]  # fmt: skip
    for path in book_files:
        config = books.Config(paths=[str(path)], fortunes="entries", max_chars=BOOK_PART_CHARS)
        docs = (d for d in books.read(str(path), config) if isinstance(d, Document))
        for doc in capped(docs):
            yield Sample(f"{path.name}\t{doc.part}", "books", doc)
    with lzma.open(SHARED / "lid" / "udhr2_paragraphs.tsv.xz", "rt", encoding="utf-8") as f:
        seen: dict[str, int] = defaultdict(int)
        for n, line in enumerate(f):
            code, _, text = line.rstrip("\n").partition("\t")
            if code not in UDHR_LISTED or not text.strip():
                continue
            seen[code] += 1
            if max_per_source is not None and seen[code] > max_per_source:
                continue
            doc = Document(id=make_id("udhr", n), text=text, source="udhr", location=f"udhr2_paragraphs.tsv.xz#line={n}")
            yield Sample(f"udhr\t{n}", "udhr", doc)
    rel = "web/debian-docs_multilingual_3560pages.warc.gz"
    pages = list(_web_docs(rel))  # grouped by manual and locale: take an even spread
    stride = max(1, -(-len(pages) // (max_per_source * 10))) if max_per_source else 1
    for doc in pages[::stride]:
        yield Sample(web_key(rel, doc), "manuals", doc)


def labelled_samples(labels: dict[str, tuple[str, str]]) -> Iterator[Sample]:
    for key, doc in labelled_pages():
        label, _ = labels.get(key, ("unlabelled", ""))
        yield Sample(key, "web", doc, label)


def identify_languages(samples: list[Sample]) -> list[Sample]:
    """The `language` step (lid.176, every language, no score threshold) on every document,
    as the web preset runs it before the content step. A document it refuses (script
    mismatch) keeps language None and goes through the script fallback."""
    from corpusmill.pipelines.steps import registry

    lid = registry.build("language", {"keep": None, "min_score": 0.0})
    lid.setup()
    out: list[Sample] = []
    for s in samples:
        result = lid(s.doc)
        out.append(Sample(s.key, s.corpus, result if isinstance(result, Document) else s.doc, s.label))
    return out


# --- the competing tools, each in its own process (.venv-bench) ---------------------------------

COMPETITOR_SCRIPT = r"""
import json, sys, time
tool, path, out = sys.argv[1], sys.argv[2], sys.argv[3]
docs = [json.loads(l) for l in open(path, encoding="utf-8")]
if tool == "better_profanity":
    from better_profanity import profanity
    profanity.load_censor_words()
    def score(t): return 1.0 if profanity.contains_profanity(t) else 0.0
elif tool == "alt_profanity_check":
    from profanity_check import predict_prob
    def score(t):
        lines = [l for l in t.splitlines() if l.strip()] or [""]
        return float(max(predict_prob(lines)))
elif tool == "glin_profanity":
    from glin_profanity import Filter
    f = Filter({"all_languages": True})
    def score(t): return 1.0 if f.is_profane(t) else 0.0
else:
    raise SystemExit("unknown tool " + tool)
score("warm up")
t0 = time.process_time()
scores = [score(d["text"]) for d in docs]
cpu = time.process_time() - t0
json.dump({"scores": scores, "cpu_s": cpu}, open(out, "w"))
"""
# tool -> (description, the languages it is made for: it scores only documents the language
# step labels so; None = every document)
COMPETITORS: dict[str, tuple[str, frozenset[str] | None]] = {
    "better_profanity": ("better-profanity: any word of its English list (English documents only)", frozenset({"en"})),
    "alt_profanity_check": ("alt-profanity-check: most offensive line, predict_prob >= 0.5 (English documents only)", frozenset({"en"})),
}
# glin-profanity 4.1.0 (24 languages, LDNOOBW-derived lists) was tried as a multilingual competitor:
# it scores ~23k characters per CPU-second and, with all its languages on, flagged 9 of the 10
# shortest English clean pages of this set, so it is not run by default (it would take longer than
# every other benchmark together). Add it back here to measure it:
#   "glin_profanity": ("glin-profanity: any word of its lists, all its 24 languages at once", None),


def run_competitor(tool: str, docs: list[Document], workdir: Path) -> dict[str, Any] | None:
    if not BENCH_PY.exists():
        return None
    data = workdir / f"{tool}.docs.jsonl"
    with data.open("w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps({"text": d.text}) + "\n")
    script = workdir / "competitor.py"
    script.write_text(COMPETITOR_SCRIPT, encoding="utf-8")
    out = workdir / f"{tool}.json"
    proc = subprocess.run([str(BENCH_PY), str(script), tool, str(data), str(out)], capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"{tool} failed: {proc.stderr[-2000:]}", file=sys.stderr)
        return None
    result: dict[str, Any] = json.loads(out.read_text())
    result["version"] = subprocess.run(
        [str(BENCH_PY), "-m", "pip", "show", tool.replace("_", "-")], capture_output=True, text=True
    ).stdout.split("Version: ")[-1].split("\n")[0]
    return result


# --- scoring and tables --------------------------------------------------------------------------


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion k/n."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def git_commit() -> str:
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "pipelines/steps/content.py", "pipelines/steps/data"],
                           capture_output=True, text=True).stdout.strip()  # fmt: skip
    return head + (" + uncommitted content-step changes" if dirty else "")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--list", action="store_true", help="print the pages to label and exit (no scoring)")
    parser.add_argument("--list-chars", type=int, default=300)
    parser.add_argument("--max-docs-per-source", type=int, default=MAX_DOCS_PER_SOURCE,
                        help="cap per input file / UDHR language (manuals: 10x, evenly spread); 0 = no cap")
    parser.add_argument("--raw", type=Path, default=ROOT / "out" / "bench-logs" / "content_raw.pkl",
                        help="where the per-document verdicts are kept (to re-render with --from-raw)")
    parser.add_argument("--from-raw", action="store_true", help="re-render the results from --raw, scoring nothing")
    args = parser.parse_args(argv)
    if args.list:
        list_pages(args.list_chars)
        return {}

    labels = read_labels()
    if args.from_raw:
        with args.raw.open("rb") as f:
            raw = pickle.load(f)
    else:
        raw = score_all(labels, args.max_docs_per_source or None)
        args.raw.parent.mkdir(parents=True, exist_ok=True)
        with args.raw.open("wb") as f:
            pickle.dump(raw, f)
    return summarise(raw, labels)


def score_all(labels: dict[str, tuple[str, str]], max_docs_per_source: int | None) -> dict[str, Any]:
    """Read, identify the language of and score every document with every method."""
    from corpusmill.pipelines.steps.content import HarmfulContent, lists_for, score_text
    from corpusmill.pipelines.steps.text import detect_script

    t0 = time.time()
    samples = list(clean_samples(max_docs_per_source)) + list(labelled_samples(labels))
    unlabelled = [s.key for s in samples if s.label == "unlabelled"]
    if unlabelled:
        raise SystemExit(f"{len(unlabelled)} crawl pages have no hand label, e.g. {unlabelled[:3]}; label them first")
    samples = identify_languages(samples)
    print(f"{len(samples)} documents read and language-identified in {time.time() - t0:.0f} s", file=sys.stderr)

    default = HarmfulContent()
    docs = [s.doc for s in samples]
    t = time.process_time()
    for d in docs:
        default(d)
    ours_cpu = time.process_time() - t
    scores, scores_en = [], []  # own-language lists; the same plus English
    for d in docs:
        script = d.script or detect_script(d.text)
        lists = lists_for(d.language, script, d.text)
        scores.append(score_text(d.text, lists, script))
        scores_en.append(score_text(d.text, lists + ("en",), script) if lists else None)
    methods: dict[str, list[bool | None]] = {}
    method_names: dict[str, str] = {}
    speed = {"ours": {"docs": len(docs), "cpu_s": round(ours_cpu, 3), "docs_per_cpu_s": round(len(docs) / ours_cpu, 1)}}
    with tempfile.TemporaryDirectory() as tmp:
        for tool, (name, languages) in COMPETITORS.items():
            chosen = [i for i, d in enumerate(docs) if languages is None or d.language in languages]
            result = run_competitor(tool, [docs[i] for i in chosen], Path(tmp))
            if result is None:
                continue
            verdict: list[bool | None] = [None] * len(docs)
            for i, v in zip(chosen, result["scores"]):
                verdict[i] = v >= 0.5
            methods[tool] = verdict
            method_names[tool] = f"{name} ({tool.replace('_', '-')} {result['version']})"
            n = len(chosen)
            speed[tool] = {"docs": n, "cpu_s": round(result["cpu_s"], 3),
                           "docs_per_cpu_s": round(n / result["cpu_s"], 1) if result["cpu_s"] else None}  # fmt: skip
            if languages is not None:
                ours_sub = time.process_time()
                for i in chosen:
                    default(docs[i])
                sub_cpu = time.process_time() - ours_sub
                speed[f"ours on the same {n} documents"] = {"docs": n, "cpu_s": round(sub_cpu, 3),
                                                            "docs_per_cpu_s": round(n / sub_cpu, 1) if sub_cpu else None}  # fmt: skip

    return {"samples": samples, "methods": methods, "method_names": method_names, "scores": scores,
            "scores_en": scores_en, "speed": speed}  # fmt: skip


def summarise(raw: dict[str, Any], labels: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """Tables (a) and (b) from the per-document verdicts; writes content.json and content.md."""
    from corpusmill.pipelines.steps.content import HarmfulContent, available_languages, verdict

    samples: list[Sample] = raw["samples"]
    scores = raw["scores"]
    speed = raw["speed"]
    # our verdicts from the stored scores, under the step's current default thresholds
    d = HarmfulContent()

    def drops(scored: list[Any], max_terms: int | None, max_rate: float | None) -> list[bool | None]:
        return [sc is not None and verdict(sc, max_terms, max_rate) is not None for sc in scored]

    methods: dict[str, list[bool | None]] = {
        "ours": drops(scores, d.max_terms, d.max_per_1000_words),
        "ours_plus_en": drops(raw["scores_en"], d.max_terms, d.max_per_1000_words),
        "c4_rule": drops(scores, 0, None),
        **raw["methods"],
    }
    method_names = {
        "ours": f"harmful_content defaults: drop at more than {d.max_terms} distinct listed terms and more than "
        f"{d.max_per_1000_words} occurrences per 1,000 words",
        "ours_plus_en": "the same, with the English list added to every language's (extra_languages: [en])",
        "c4_rule": "C4's rule with the same lists and matching (max_terms: 0: any listed word drops the page)",
        **raw["method_names"],
    }
    ours_c4 = methods["c4_rule"]
    # (a) clean text dropped, per corpus and language
    clean_rows: dict[tuple[str, str], dict[str, Any]] = {}
    fp_terms: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for i, s in enumerate(samples):
        if s.label != "clean":
            continue
        corpus = "web (hand-labelled clean)" if s.corpus == "web" else s.corpus
        lang = s.doc.language or "und"
        row = clean_rows.setdefault((corpus, lang), {"corpus": corpus, "language": lang, "docs": 0, "words": 0,
                                                     "scored": 0, "dropped": defaultdict(int), "judged": defaultdict(int)})  # fmt: skip
        row["docs"] += 1
        score = scores[i]
        if score is not None:
            row["scored"] += 1
            row["words"] += score.words
            if ours_c4[i]:
                for term in score.matched:
                    fp_terms[lang][term] += 1
        for m, v in methods.items():
            if v[i] is not None:
                row["judged"][m] += 1
                row["dropped"][m] += int(bool(v[i]))
    clean = []
    for key in sorted(clean_rows):
        row = clean_rows[key]
        row["dropped"] = dict(row["dropped"])
        row["judged"] = dict(row["judged"])
        row["dropped_share"] = {m: round(row["dropped"][m] / n, 4) for m, n in row["judged"].items() if n}
        clean.append(row)
    clean_by_language: dict[str, dict[str, Any]] = {}
    for row in clean:
        agg = clean_by_language.setdefault(row["language"], {"language": row["language"], "docs": 0, "dropped": defaultdict(int), "judged": defaultdict(int)})
        agg["docs"] += row["docs"]
        for m, n in row["judged"].items():
            agg["judged"][m] += n
            agg["dropped"][m] += row["dropped"].get(m, 0)
    for agg in clean_by_language.values():
        agg["dropped"] = dict(agg["dropped"])
        agg["judged"] = dict(agg["judged"])
        agg["dropped_share"] = {m: round(agg["dropped"][m] / n, 4) for m, n in agg["judged"].items() if n}

    # (b) harmful pages caught, per hand-labelled language
    caught: dict[str, dict[str, Any]] = {}
    for i, s in enumerate(samples):
        if s.label not in HARMFUL_LABELS:
            continue
        lang = labels[s.key][1]
        row = caught.setdefault(lang, {"language": lang, "pages": 0, "labels": defaultdict(int), "caught": defaultdict(int),
                                       "judged": defaultdict(int), "pages_detail": []})  # fmt: skip
        row["pages"] += 1
        row["labels"][s.label] += 1
        for m, v in methods.items():
            if v[i] is not None:
                row["judged"][m] += 1
                row["caught"][m] += int(bool(v[i]))
        sc = scores[i]
        row["pages_detail"].append({"key": s.key, "label": s.label, "language_step": s.doc.language,
                                    "terms": sc.terms if sc else None, "hits": sc.hits if sc else None,
                                    "per_1000_words": round(sc.per_1000_words, 2) if sc else None,
                                    "matched": list(sc.matched[:12]) if sc else [],
                                    "caught": {m: v[i] for m, v in methods.items()}})  # fmt: skip
    for row in caught.values():
        row["labels"] = dict(row["labels"])
        row["caught"] = dict(row["caught"])
        row["judged"] = dict(row["judged"])
        row["catch_rate"] = {m: round(row["caught"][m] / n, 4) for m, n in row["judged"].items() if n}
        row["catch_rate_ci95_ours"] = [round(x, 3) for x in wilson(row["caught"]["ours"], row["pages"])]

    result = {
        "benchmark": "content",
        "commit": git_commit(),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "lists": {"source": "LDNOOBW via npm naughty-words 1.2.0", "license": "CC-BY-4.0", "languages": list(available_languages())},
        "documents": len(samples),
        "labelled_pages": sum(1 for s in samples if s.corpus == "web"),
        "labels": {lab: sum(1 for s in samples if s.corpus == "web" and s.label == lab) for lab in ("clean", "adult", "hateful", "violent", "unclear")},
        "methods": method_names,
        "clean_dropped_by_corpus_language": clean,
        "clean_dropped_by_language": [clean_by_language[k] for k in sorted(clean_by_language)],
        "clean_terms_behind_c4_drops": {lang: dict(sorted(t.items(), key=lambda kv: -kv[1])[:12]) for lang, t in sorted(fp_terms.items())},
        "harmful_caught_by_language": [caught[k] for k in sorted(caught)],
        "speed": speed,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "content.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (RESULTS / "content.md").write_text(render_md(result), encoding="utf-8")
    print((RESULTS / "content.md").read_text(encoding="utf-8"))
    return result


def _pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.1f} %"


def render_md(r: dict[str, Any]) -> str:
    methods = list(r["methods"])
    lines = [
        "# harmful_content: clean text dropped and harmful pages caught",
        "",
        f"Produced by `benchmarks/content.py` at commit {r['commit']} on {r['date']}. Lists: {r['lists']['source']} "
        f"({r['lists']['license']}), {len(r['lists']['languages'])} languages. {r['documents']} documents; "
        f"{r['labelled_pages']} crawl pages labelled by hand before scoring ({r['labels']}), "
        "see benchmarks/data/content_labels.tsv. Language = the `language` step's label (lid.176).",
        "",
        "Methods:",
        *[f"- `{m}`: {r['methods'][m]}" for m in methods],
        "",
        *([] if "better_profanity" in r["methods"] else [
            "",
            "better-profanity is missing from this run: it was stopped when it had not finished the 687 English "
            "documents (7.4 M characters) after 466 CPU-seconds, i.e. under 16,000 characters per CPU-second; "
            "glin-profanity is not run by default (see COMPETITORS in the script).",
        ]),  # fmt: skip
        "",
        "## (a) Clean text dropped, per language (all clean sources together)",
        "",
        "Share of clean documents each method would drop (empty: the tool does not handle that language).",
        "",
        "| language | docs | " + " | ".join(f"`{m}`" for m in methods) + " |",
        "|---|---:|" + "---:|" * len(methods),
    ]
    for row in r["clean_dropped_by_language"]:
        if row["docs"] < 5:
            continue
        lines.append(f"| {row['language']} | {row['docs']} | " + " | ".join(_pct(row["dropped_share"].get(m)) for m in methods) + " |")
    lines += ["", "Languages with fewer than 5 clean documents are in the JSON only.", "",
              "## (a) Clean text dropped, per source and language", "",
              "| source | language | docs | " + " | ".join(f"`{m}`" for m in methods) + " |",
              "|---|---|---:|" + "---:|" * len(methods)]  # fmt: skip
    for row in r["clean_dropped_by_corpus_language"]:
        if row["docs"] < 5:
            continue
        lines.append(f"| {row['corpus']} | {row['language']} | {row['docs']} | " + " | ".join(_pct(row["dropped_share"].get(m)) for m in methods) + " |")
    lines += ["", "Terms behind the C4 rule's drops of clean documents (documents per term, top 12 per language):", ""]
    for lang, terms in r["clean_terms_behind_c4_drops"].items():
        if terms:
            lines.append(f"- {lang}: " + ", ".join(f"{t} ({n})" for t, n in terms.items()))
    lines += ["", "## (b) Harmful pages caught, per language (hand labels)", "",
              "| language | pages | labels | " + " | ".join(f"`{m}`" for m in methods) + " | 95 % CI (`ours`) |",
              "|---|---:|---|" + "---:|" * len(methods) + "---|"]  # fmt: skip
    for row in r["harmful_caught_by_language"]:
        ci = row["catch_rate_ci95_ours"]
        lines.append(f"| {row['language']} | {row['pages']} | {row['labels']} | " + " | ".join(_pct(row["catch_rate"].get(m)) for m in methods)
                     + f" | {_pct(ci[0])} .. {_pct(ci[1])} |")  # fmt: skip
    lines += ["", "Per page:", ""]
    for row in r["harmful_caught_by_language"]:
        for p in row["pages_detail"]:
            lines.append(f"- {p['key'].replace(chr(9), ' ')}: {p['label']}, lid {p['language_step']}, terms {p['terms']}, "
                         f"per 1,000 words {p['per_1000_words']}, matched {', '.join(p['matched']) or '-'}; caught by: {', '.join(m for m, v in p['caught'].items() if v) or 'none'}")  # fmt: skip
    lines += ["", "## Speed (CPU seconds for all documents, one process each)", "", "| method | docs | CPU s | docs / CPU s |", "|---|---:|---:|---:|"]
    for m, s in r["speed"].items():
        lines.append(f"| {m} | {s['docs']} | {s['cpu_s']} | {s['docs_per_cpu_s']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
