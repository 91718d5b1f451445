"""Guard for optimizing the web chain's steps: every step's verdict and signals on real documents.

Records, for every document of several real sets, what each step of the web preset's quality
chain says about it, and checks later code against that record:

  * `language`: the label, score and script it sets, or its drop reason and detail;
  * `gopher_repetition`, `gopher_quality`, `c4_quality`, `fineweb_quality` (web-preset
    parameters), each run on the document labelled by `language` (every document through every
    step, as benchmarks/steps.py times them), twice: with `record_signals=False` (what a
    pipeline runs: the drop reason and its detail string with the measured value, or "kept" and
    the SHA-1 of the text it returns, which C4 changes) and with `record_signals=True` (every
    measured signal, exact floats). The two runs must agree on the verdict.

Document sets (real text only, from ../shared/data):
  * `steps_bench`: the 600 documents of benchmarks/steps.py (`build_documents`);
  * `udhr`, `wiki-ja/uk/vi`, `debian`: the documents of benchmarks/scripts_coverage.py;
  * `web`, `wiki`, `books`: the files of benchmarks/steps.py's PRESET_SAMPLES (web pages incl.
    the Japanese clueweb sample, en/bg Wikipedia, Gutenberg, Chinese books, KJV) through the
    project's readers, at most `PER_FILE` documents per file.

    python -m benchmarks.step_verdicts --write   # record the current code's verdicts
    python -m benchmarks.step_verdicts           # check: exit 1 and list the documents that differ

The record is benchmarks/results/step_verdicts.jsonl.gz (one JSON object per document, sorted
by set and id; its first line gives the commit and date it was recorded at). The documents
themselves are cached in out/step_verdicts_docs.jsonl.gz (readers are not what is checked);
`--rebuild-docs` reads them again.
"""

from __future__ import annotations

import argparse
import dataclasses
import glob
import gzip
import hashlib
import importlib
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.provenance import provenance
import yaml

from benchmarks.steps import PRESET_SAMPLES, SHARED, WEB_PRESET, _our_steps, build_documents
from corpusmill.schemas.document import Document, Drop

ROOT = Path(__file__).resolve().parent.parent
RECORD = ROOT / "benchmarks" / "results" / "step_verdicts.jsonl.gz"
DOCS_CACHE = ROOT / "out" / "step_verdicts_docs.jsonl.gz"
PER_FILE = 300
QUALITY_STEPS = ("gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality")


# ---------------------------------------------------------------------------------------------
# Documents


def _reader_documents() -> list[tuple[str, Document]]:
    out: list[tuple[str, Document]] = []
    for preset in ("web", "wiki", "books"):
        kind, options, patterns, _per_file = PRESET_SAMPLES[preset]
        module = importlib.import_module(f"corpusmill.pipelines.sources.{kind}")
        files = sorted(f for p in patterns for f in glob.glob(str(SHARED / p)))
        if preset == "web":  # the Debian manuals are their own set below
            files = [f for f in files if "debian-docs" not in f]
        config = module.Config(paths=files or ["none"], **options)
        for path in files:
            n = 0
            for record in module.read(path, config):
                if isinstance(record, Document):
                    out.append((preset, record))
                    n += 1
                    if n >= PER_FILE:
                        break
    return out


def build_sets() -> list[tuple[str, Document]]:
    """(set name, document) for every document checked, in a fixed order."""
    from benchmarks import scripts_coverage as sc

    docs: list[tuple[str, Document]] = []
    for r in build_documents(600):
        docs.append(("steps_bench", Document(id=r["id"], text=r["text"], source="bench", location=r["id"])))
    docs += [("udhr", d) for d in sc.udhr_documents()]
    for name in sc.WIKI_DUMPS:
        docs += [(f"wiki-{name[:2]}", d) for d in sc.wiki_documents(name)]
    docs += [("debian", d) for d in sc.debian_documents()]
    docs += _reader_documents()
    return docs


def load_sets(rebuild: bool = False) -> list[tuple[str, Document]]:
    """The documents, from the cache when present (`rebuild` reads them again)."""
    if DOCS_CACHE.is_file() and not rebuild:
        with gzip.open(DOCS_CACHE, "rt", encoding="utf-8") as f:
            return [(r["set"], Document(id=r["id"], text=r["text"], source=r["source"], location=r["location"])) for r in map(json.loads, f)]
    docs = build_sets()
    DOCS_CACHE.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(DOCS_CACHE, "wt", encoding="utf-8") as f:
        for name, d in docs:
            f.write(json.dumps({"set": name, "id": d.id, "source": d.source, "location": d.location, "text": d.text}, ensure_ascii=False) + "\n")
    return docs


# ---------------------------------------------------------------------------------------------
# Verdicts


def _sha(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


def _verdict(result: Document | Drop) -> dict[str, Any]:
    if isinstance(result, Drop):
        return {"drop": result.reason, "detail": result.detail}
    return {"kept": _sha(result.text)}


def verdicts(docs: list[tuple[str, Document]]) -> list[dict[str, Any]]:
    """One record per document: the language step's outcome and each quality step's verdict
    and signals (see the module docstring)."""
    from corpusmill.pipelines.steps import text as text_mod

    steps = dict(_our_steps())
    preset = {s["step"]: s.get("params") or {} for s in yaml.safe_load(WEB_PRESET.read_text())["steps"]}
    signal_steps = {name: type(steps[name])(**preset.get(name, {}), record_signals=True) for name in QUALITY_STEPS}
    lang = steps["language"]
    out: list[dict[str, Any]] = []
    batch = 256
    for start in range(0, len(docs), batch):
        chunk = docs[start : start + batch]
        plain = [d for _, d in chunk]
        predictions = lang.predict([d.text for d in plain])
        decided = lang.batch(plain)
        for (set_name, doc), (code, label_script, score), lang_result in zip(chunk, predictions, decided, strict=True):
            rec: dict[str, Any] = {"set": set_name, "id": doc.id}
            if isinstance(lang_result, Drop):
                rec["language"] = {"drop": lang_result.reason, "detail": lang_result.detail}
                labelled = dataclasses.replace(
                    doc, language=code, language_score=score, script=label_script or text_mod.detect_script(doc.text)
                )
            else:
                rec["language"] = {"language": lang_result.language, "score": lang_result.language_score, "script": lang_result.script}
                labelled = lang_result
            for name in QUALITY_STEPS:
                plain_result = steps[name](labelled)
                signal_result = signal_steps[name](labelled)
                v = _verdict(plain_result)
                if v != _verdict(signal_result):
                    v["record_signals_differs"] = _verdict(signal_result)
                if isinstance(signal_result, Document):
                    v["signals"] = {s.name: s.value for s in signal_result.signals}
                rec[name] = v
            out.append(rec)
    out.sort(key=lambda r: (r["set"], r["id"]))
    return out


def write_record(records: list[dict[str, Any]], path: Path = RECORD) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(path, "wb", mtime=0) as raw:
        raw.write((json.dumps(provenance()) + "\n").encode())
        for r in records:
            raw.write((json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8"))


def read_record(path: Path = RECORD) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        header = json.loads(next(f))
        return header, [json.loads(line) for line in f]


def compare(expected: list[dict[str, Any]], got: list[dict[str, Any]]) -> list[str]:
    """Human-readable differences (empty when identical)."""
    want = {(r["set"], r["id"]): r for r in expected}
    have = {(r["set"], r["id"]): r for r in got}
    diffs: list[str] = []
    for key in sorted(want.keys() - have.keys()):
        diffs.append(f"{key}: missing")
    for key in sorted(have.keys() - want.keys()):
        diffs.append(f"{key}: new document")
    for key in sorted(want.keys() & have.keys()):
        a, b = want[key], have[key]
        for field in sorted(set(a) | set(b)):
            if a.get(field) != b.get(field):
                diffs.append(f"{key} {field}: {a.get(field)} -> {b.get(field)}")
    return diffs


def summary(records: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per step: kept / drop-reason counts."""
    out: dict[str, Counter[str]] = {}
    for r in records:
        for name in ("language", *QUALITY_STEPS):
            v = r[name]
            out.setdefault(name, Counter())["kept" if "drop" not in v else v["drop"]] += 1
    return {k: dict(v.most_common()) for k, v in out.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="record the current code's verdicts")
    parser.add_argument("--rebuild-docs", action="store_true", help="read the documents again")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    docs = load_sets(args.rebuild_docs)
    t1 = time.perf_counter()
    records = verdicts(docs)
    t2 = time.perf_counter()
    print(f"{len(docs)} documents ({Counter(s for s, _ in docs)}); read {t1 - t0:.0f} s, steps {t2 - t1:.0f} s")
    split = [r for r in records if any("record_signals_differs" in r[n] for n in QUALITY_STEPS)]
    if split:
        print(f"{len(split)} documents where record_signals changes the verdict")
    if args.write:
        write_record(records)
        print(f"wrote {RECORD.relative_to(ROOT)}")
        print(json.dumps(summary(records), indent=1))
        return 0
    header, expected = read_record()
    diffs = compare(expected, records)
    if diffs:
        print(f"{len(diffs)} differences from the record of {header.get('commit')}:")
        print("\n".join(diffs[:200]))
        return 1
    print(f"identical to the record of {header.get('commit')} ({len(records)} documents)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
