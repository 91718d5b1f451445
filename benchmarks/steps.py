"""Speed of the web-preset filter chain against datatrove's filters, on the same documents.

Ours (in this process): `language` -> `gopher_repetition` -> `gopher_quality` -> `c4_quality`
(terminal-punctuation line filter off, as in FineWeb) -> `fineweb_quality`, with the web
preset's parameters.
datatrove (in /work/main/.venv-bench, by subprocess): LanguageFilter -> GopherRepetitionFilter
-> GopherQualityFilter -> C4QualityFilter(filter_no_terminal_punct=False), and, for a
like-for-like five-step chain, + FineWebQualityFilter.

The web preset also runs `normalize_text`, `harmful_content` (annotate mode) and
`pii_redaction`; they are not part of this chain (issue #14 defines it as language, Gopher
repetition and quality, C4, FineWeb, the filters datatrove has too). PII redaction is timed in
benchmarks/pii.py; every step of the preset runs in the keep-share measurement below.

Offline configuration of datatrove: its LanguageFilter would download lid.176.bin; it is
given the same lid.176.ftz model object ours uses (shipped in corpusmill) instead. Its English
word tokenizer is spaCy's blank "en" pipeline (no model download; spaCy is installed in the
bench venv); NLTK punkt is not needed by these filters.

Documents: real web pages (the 346-page extraction benchmark WARC, main text extracted with
resiliparse, cut at a line boundary to at most 4 KB), plus 4 KB chunks of the KJV bible and
of the Python 3.11 documentation pages, so a mix of prose, reference text and boilerplate.

Two measurements, CPU seconds of the process (one core; the machine is shared and noisy,
each number is the best of `--rounds` rounds):
  * per step, every document through every step (no early exit): the cost of the work itself;
  * the chain, as a pipeline runs it (a document leaves at its first drop).
The headline ratio is docs per CPU-second of ours over datatrove's four-filter chain, both
on the full per-step work (sum of the per-step times).

Run: .venv/bin/python -m benchmarks.steps [--max-docs N] [--rounds R]
Writes benchmarks/results/steps.json and steps.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import lzma
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.provenance import write_json, write_markdown

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("CORPUSMILL_SHARED_DATA", ROOT.parent / "shared" / "data"))
BENCH_PY = Path(os.environ.get("CORPUSMILL_BENCH_PYTHON", ROOT / ".venv-bench" / "bin" / "python"))
RESULTS = ROOT / "benchmarks" / "results"
MAX_DOC_CHARS = 4096


def _cut(text: str, limit: int = MAX_DOC_CHARS) -> str:
    if len(text) <= limit:
        return text
    cut = text.rfind("\n", 0, limit)
    return text[: cut if cut > limit // 2 else limit]


def _warc_texts(path: Path, limit: int) -> list[str]:
    from fastwarc.warc import ArchiveIterator, WarcRecordType
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.encoding import bytes_to_str, detect_encoding

    out: list[str] = []
    with open(path, "rb") as f:
        for record in ArchiveIterator(f, record_types=WarcRecordType.response):
            body = record.reader.read()
            if b"<html" not in body[:4096].lower() and b"<!doctype" not in body[:4096].lower():
                continue
            html = bytes_to_str(body, detect_encoding(body))
            text = extract_plain_text(html, main_content=True, alt_texts=False)
            if len(text) >= 500:
                out.append(_cut(text))
            if len(out) >= limit:
                break
    return out


def build_documents(max_docs: int) -> list[dict[str, str]]:
    """Real documents, each at most 4 KB: web pages first, then KJV and Python-doc chunks."""
    texts: list[str] = []
    web = SHARED / "web" / "extraction-eval_pages.warc.gz"
    texts += _warc_texts(web, max_docs)
    kjv = lzma.open(SHARED / "books" / "kjv_bible-kjv-text_4.38.txt.xz", "rt", encoding="utf-8").read()
    texts += [_cut(kjv[i : i + 2 * MAX_DOC_CHARS]) for i in range(0, min(len(kjv), 150 * 8192), 8192)]
    pydocs = SHARED / "web" / "python3.11-docs_html.warc.gz"
    texts += _warc_texts(pydocs, 150)
    return [{"id": f"d{i}", "text": t} for i, t in enumerate(texts[:max_docs])]


# ---------------------------------------------------------------------------------------------
# ours

WEB_PRESET = ROOT / "workflows" / "presets" / "web.yaml"
OUR_STEPS = ("language", "gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality")


def _our_steps() -> list[tuple[str, Any]]:
    import yaml

    from corpusmill.pipelines.steps.language import LanguageId
    from corpusmill.pipelines.steps.quality import C4Quality, FineWebQuality, GopherQuality, GopherRepetition

    # The classes of the steps timed here (not registry.build: that imports every step module).
    classes = {
        "language": LanguageId,
        "gopher_repetition": GopherRepetition,
        "gopher_quality": GopherQuality,
        "c4_quality": C4Quality,
        "fineweb_quality": FineWebQuality,
    }
    preset = yaml.safe_load(WEB_PRESET.read_text())["steps"]
    params = {s["step"]: s.get("params") or {} for s in preset}
    built = []
    for name in OUR_STEPS:
        st = classes[name](**params.get(name, {}))
        if hasattr(st, "setup"):
            st.setup()
        built.append((name, st))
    return built


def _run_step(st: Any, docs: list[Any]) -> list[Any]:
    if hasattr(st, "batch"):
        out: list[Any] = []
        for i in range(0, len(docs), 256):
            out += st.batch(docs[i : i + 256])
        return out
    return [st(d) for d in docs]


def run_ours(raw: list[dict[str, str]], rounds: int) -> dict[str, Any]:
    from corpusmill.pipelines.steps import text as text_mod
    from corpusmill.schemas.document import Document

    steps = _our_steps()
    base = [Document(id=r["id"], text=r["text"], source="bench", location=r["id"]) for r in raw]
    # Quality steps see what they would see in the chain: language and script set.
    lang_step = dict(steps)["language"]
    labelled = [
        dataclasses.replace(d, language=code, language_score=score, script=sc or text_mod.detect_script(d.text))
        for d, (code, sc, score) in zip(base, lang_step.predict([d.text for d in base]), strict=True)
    ]
    for name, st in steps:  # warm-up (jieba, regex compilation)
        _run_step(st, (base if name == "language" else labelled)[:20])

    per_step: dict[str, float] = {}
    for name, st in steps:
        inputs = base if name == "language" else labelled
        best = float("inf")
        for _ in range(rounds):
            text_mod.words.cache_clear()
            t0 = time.process_time()
            _run_step(st, inputs)
            best = min(best, time.process_time() - t0)
        per_step[name] = best

    best_chain = float("inf")
    kept = 0
    for _ in range(rounds):
        text_mod.words.cache_clear()
        t0 = time.process_time()
        current: list[Any] = list(base)
        for _name, st in steps:
            current = [d for d in _run_step(st, current) if isinstance(d, Document)]
        best_chain = min(best_chain, time.process_time() - t0)
        kept = len(current)
    return {"per_step_cpu_s": per_step, "chain_cpu_s": best_chain, "chain_kept": kept}


# ---------------------------------------------------------------------------------------------
# datatrove (runs in the bench venv)

DATATROVE_SCRIPT = r"""
import json, sys, time
from datatrove.data import Document
from datatrove.pipeline.filters import (LanguageFilter, GopherRepetitionFilter, GopherQualityFilter,
    C4QualityFilter, FineWebQualityFilter)
from fasttext.FastText import _FastText

docs_path, model_path, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
raw = [json.loads(line) for line in open(docs_path, encoding="utf-8")]

def make_filters():
    lang = LanguageFilter(languages=None, language_threshold=0.5)
    lang.model._model = _FastText(model_path)  # offline: same lid.176.ftz as ours, no download
    return [
        ("LanguageFilter", lang),
        ("GopherRepetitionFilter", GopherRepetitionFilter()),
        ("GopherQualityFilter", GopherQualityFilter()),
        ("C4QualityFilter", C4QualityFilter(filter_no_terminal_punct=False)),
        ("FineWebQualityFilter", FineWebQualityFilter()),
    ]

def fresh():
    return [Document(text=r["text"], id=r["id"], metadata={}) for r in raw]

def verdict(f, d):
    out = f.filter(d)
    return out[0] if isinstance(out, tuple) else bool(out)

filters = make_filters()
for name, f in filters:  # warm-up: spaCy tokenizer load etc.
    for d in fresh()[:20]:
        verdict(f, d)

per_step = {}
for name, f in filters:
    best = float("inf")
    for _ in range(rounds):
        docs = fresh()
        t0 = time.process_time()
        for d in docs:
            verdict(f, d)
        best = min(best, time.process_time() - t0)
    per_step[name] = best

def chain(names):
    best, kept = float("inf"), 0
    for _ in range(rounds):
        docs = fresh()
        t0 = time.process_time()
        n = 0
        for d in docs:
            if all(verdict(f, d) for name, f in filters if name in names):
                n += 1
        best = min(best, time.process_time() - t0)
        kept = n
    return best, kept

four = ["LanguageFilter", "GopherRepetitionFilter", "GopherQualityFilter", "C4QualityFilter"]
c4, k4 = chain(four)
c5, k5 = chain(four + ["FineWebQualityFilter"])
from importlib.metadata import version
print(json.dumps({"version": version("datatrove"), "per_step_cpu_s": per_step,
                  "chain4_cpu_s": c4, "chain4_kept": k4, "chain5_cpu_s": c5, "chain5_kept": k5}))
"""


def run_datatrove(raw: list[dict[str, str]], rounds: int) -> dict[str, Any]:
    from corpusmill.pipelines.steps.language import default_model_path

    with tempfile.TemporaryDirectory() as tmp:
        docs_path = Path(tmp) / "docs.jsonl"
        with open(docs_path, "w", encoding="utf-8") as f:
            for r in raw:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        script = Path(tmp) / "dt_bench.py"
        script.write_text(DATATROVE_SCRIPT)
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_ASSETS_CACHE": tmp, "LOGURU_LEVEL": "WARNING"}
        proc = subprocess.run(
            [str(BENCH_PY), str(script), str(docs_path), default_model_path(), str(rounds)],
            capture_output=True,
            text=True,
            env=env,
            timeout=3600,
        )
    if proc.returncode != 0:
        raise RuntimeError(f"datatrove run failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------
# share of documents each preset keeps (real text through the project's own readers)

PRESET_SAMPLES: dict[str, tuple[str, dict[str, Any], list[str], int]] = {
    # preset: (source kind, reader options, files under ../shared/data, max documents per file)
    "web": (
        "web",
        {},
        [
            "web/extraction-eval_pages.warc.gz",
            "web/resiliparse_CC-MAIN-2020-34_sample.warc.gz",
            "web/resiliparse_clueweb09-ja_quirk.warc.gz",
            "web/dolma_wget_sample-0000.warc.gz",
            "web/dolma_wget_sample-0001.warc.gz",
            "web/debian-docs_multilingual_3560pages.warc.gz",
        ],
        300,
    ),
    "wiki": (
        "wiki",
        {},
        [
            "wiki/gensim_enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.xml.bz2",
            "wiki/gensim_bgwiki-latest-pages-articles-shortened.xml.bz2",
            "wiki/truncated/jawiki-truncated-repaired.xml.bz2",
            "wiki/truncated/ukwiki-truncated-repaired.xml.bz2",
            "wiki/truncated/viwiki-truncated-repaired.xml.bz2",
        ],
        200,
    ),
    "books": (
        "books",
        {"max_chars": 200_000},
        [
            "books/gutenberg/*",
            "books/zh/*",
            "books/kjv_bible-kjv-text_4.38.txt.xz",
        ],
        50,
    ),
    "code": ("code", {}, ["code/*.tar.gz"], 150),
}


def measure_presets() -> dict[str, Any]:
    """Run each preset, as the runner does (drop mode stops a document, annotate mode only
    flags it), over real documents read by the project's readers; count kept and dropped."""
    import glob
    import importlib
    from collections import Counter

    from corpusmill.pipelines.steps import registry
    from corpusmill.schemas.document import Document, Drop
    from corpusmill.workflows.config import load_preset

    out: dict[str, Any] = {}
    for preset, (kind, options, patterns, per_file) in PRESET_SAMPLES.items():
        module = importlib.import_module(f"corpusmill.pipelines.sources.{kind}")
        files = sorted(f for p in patterns for f in glob.glob(str(SHARED / p)))
        config = module.Config(paths=files or ["none"], **options)
        steps = []
        for cfg in load_preset(preset):
            st: Any = registry.build(cfg.step, cfg.params)
            if hasattr(st, "setup"):
                st.setup()
            steps.append((cfg.step, st, cfg.mode))
        outcomes: Counter[str] = Counter()
        per_source: dict[str, Counter[str]] = {}
        for path in files:
            name = Path(path).name
            per_source[name] = Counter()
            n = 0
            for record in module.read(path, config):
                if not isinstance(record, Document):
                    continue
                n += 1
                verdict = "kept"
                d = record
                for step_name, st, mode in steps:
                    result = st(d)
                    if isinstance(result, Drop):
                        if mode == "drop":
                            verdict = f"{step_name}:{result.reason}"
                            break
                    else:
                        d = result
                outcomes[verdict] += 1
                per_source[name]["kept" if verdict == "kept" else "dropped"] += 1
                if n >= per_file:
                    break
        total = sum(outcomes.values())
        out[preset] = {
            "documents": total,
            "kept": outcomes["kept"],
            "kept_share": outcomes["kept"] / total if total else None,
            "outcomes": dict(outcomes.most_common()),
            "per_source": {k: dict(v) for k, v in per_source.items()},
        }
    return out


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-docs", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-presets", action="store_true", help="skip the preset keep-share measurement")
    args = parser.parse_args(argv)

    raw = build_documents(args.max_docs)
    n = len(raw)
    mean_chars = sum(len(r["text"]) for r in raw) / max(1, n)
    # Interleaved rounds (ours, datatrove, ours, ...), one round per call; best of each.
    ours_runs: list[dict[str, Any]] = []
    theirs_runs: list[dict[str, Any]] = []
    for _ in range(args.rounds):
        ours_runs.append(run_ours(raw, 1))
        theirs_runs.append(run_datatrove(raw, 1))
    ours, theirs = _best_of(ours_runs), _best_of(theirs_runs)
    presets = {} if args.no_presets else measure_presets()

    our_total = sum(ours["per_step_cpu_s"].values())
    dt4 = ["LanguageFilter", "GopherRepetitionFilter", "GopherQualityFilter", "C4QualityFilter"]
    dt_total4 = sum(theirs["per_step_cpu_s"][k] for k in dt4)
    dt_total5 = dt_total4 + theirs["per_step_cpu_s"]["FineWebQualityFilter"]
    result = {
        "benchmark": "steps",
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "documents": {"count": n, "mean_chars": round(mean_chars, 1),
                      "sources": "extraction-eval web pages (resiliparse main text), KJV 4 KB chunks, Python docs pages"},
        "rounds": args.rounds,
        "ours": ours,
        "datatrove": theirs,
        "docs_per_cpu_s": {
            "ours_5_steps_all_docs": n / our_total,
            "datatrove_4_filters_all_docs": n / dt_total4,
            "datatrove_5_filters_all_docs": n / dt_total5,
            "ours_chain": n / ours["chain_cpu_s"],
            "datatrove_chain4": n / theirs["chain4_cpu_s"],
            "datatrove_chain5": n / theirs["chain5_cpu_s"],
        },
        "ratio": {
            "all_docs_ours5_vs_datatrove4": dt_total4 / our_total,
            "all_docs_ours5_vs_datatrove5": dt_total5 / our_total,
            "chain_ours5_vs_datatrove_chain4": theirs["chain4_cpu_s"] / ours["chain_cpu_s"],
            "chain_ours5_vs_datatrove_chain5": theirs["chain5_cpu_s"] / ours["chain_cpu_s"],
        },
        "preset_keep": presets,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_json(RESULTS / "steps.json", result)
    write_markdown(RESULTS / "steps.md", _markdown(result))
    print(_markdown(result))
    return result


def _best_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One result from several rounds: the least CPU time of each measurement (a dict of them,
    or a number whose key ends in `_cpu_s`); other values from the first round."""
    best = dict(runs[0])
    for key, value in best.items():
        if isinstance(value, dict):
            best[key] = {k: min(r[key][k] for r in runs) for k in value}
        elif key.endswith("_cpu_s"):
            best[key] = min(r[key] for r in runs)
    return best


def _markdown(r: dict[str, Any]) -> str:
    d = r["docs_per_cpu_s"]
    ratio = r["ratio"]
    lines = [
        "# Web-preset filter chain vs datatrove",
        "",
        f"{r['documents']['count']} real documents (mean {r['documents']['mean_chars']:.0f} chars): "
        f"{r['documents']['sources']}. CPU time of one process, best of {r['rounds']} interleaved rounds "
        f"(ours, datatrove, ours, ...), {r['machine']['cpus']} shared CPUs. datatrove {r['datatrove']['version']} "
        "(LanguageFilter given the same lid.176.ftz; spaCy blank 'en' tokenizer).",
        "",
        "| | docs / CPU-s |",
        "|---|---:|",
        f"| ours: language, gopher_repetition, gopher_quality, c4_quality, fineweb_quality (every doc, every step) | {d['ours_5_steps_all_docs']:.0f} |",
        f"| datatrove: Language, GopherRepetition, GopherQuality, C4Quality (every doc, every filter) | {d['datatrove_4_filters_all_docs']:.0f} |",
        f"| datatrove: the same + FineWebQuality | {d['datatrove_5_filters_all_docs']:.0f} |",
        f"| ours, as a chain (early exit), kept {r['ours']['chain_kept']} | {d['ours_chain']:.0f} |",
        f"| datatrove 4 filters as a chain, kept {r['datatrove']['chain4_kept']} | {d['datatrove_chain4']:.0f} |",
        "",
        "The web preset's other steps (normalize_text, harmful_content in annotate mode, "
        "pii_redaction) are not in this chain; pii_redaction: benchmarks/results/pii.md.",
        "",
        f"**Ratio (ours 5 steps vs datatrove 4 filters, every doc through every step): "
        f"{ratio['all_docs_ours5_vs_datatrove4']:.1f}x**; vs datatrove 5 filters "
        f"{ratio['all_docs_ours5_vs_datatrove5']:.1f}x; as chains {ratio['chain_ours5_vs_datatrove_chain4']:.1f}x.",
        "",
        "Per step (CPU s for all documents):",
        "",
        "| ours | s | datatrove | s |",
        "|---|---:|---|---:|",
    ]
    ours = list(r["ours"]["per_step_cpu_s"].items())
    theirs = list(r["datatrove"]["per_step_cpu_s"].items())
    for (a, x), (b, y) in zip(ours, theirs, strict=False):
        lines.append(f"| {a} | {x:.3f} | {b} | {y:.3f} |")
    lines.append("")
    if r.get("preset_keep"):
        lines += [
            "## Share of documents each preset keeps",
            "",
            "Real documents through the project's readers and the preset's steps (drop mode stops, "
            "annotate mode flags), at most N documents per file (see PRESET_SAMPLES).",
            "",
            "| preset | documents | kept | share | top drop reasons |",
            "|---|---:|---:|---:|---|",
        ]
        for name, p in r["preset_keep"].items():
            top = ", ".join(f"{k} {v}" for k, v in list(p["outcomes"].items()) if k != "kept")
            share = f"{p['kept_share']:.1%}" if p["kept_share"] is not None else "-"
            lines.append(f"| {name} | {p['documents']} | {p['kept']} | {share} | {top[:300]} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
