"""Word segmentation of the unspaced scripts: the heuristics of pipelines/steps/text.py against
real segmenters, on real text, by word counts and by the verdicts of the word-based steps.

Segmenters (each sees one whitespace-free token holding letters of the script; punctuation-only
words are glued to the word before, as `text.words` does for every segmenter):
  * Japanese (`Jpan`): the heuristic (script runs, Han runs cut into 2-character chunks);
    MeCab with the UniDic-lite dictionary through `fugashi` (the reference: a morphological
    analyser, UniDic short units); ICU's word BreakIterator (`PyICU`, dictionary-based).
  * Thai: the heuristic (4-character pseudo-words); `pythainlp`'s `newmm` engine (maximal
    matching over its bundled dictionary; the reference); ICU's BreakIterator.
  * Lao, Khmer, Myanmar: the heuristic; ICU's BreakIterator (the reference: the only
    dictionary segmenter installed for them).
Nothing is downloaded at run time: unidic-lite, pythainlp's dictionary and ICU's data are in
their wheels.

Documents (real text, ../shared/data): Japanese: the jawiki excerpt's articles (wiki reader),
the clueweb09-ja WARC's pages and the Japanese Debian manual pages (web reader), the Japanese
UDHR; Thai, Lao, Khmer, Myanmar: UDHR documents (benchmarks/scripts_coverage.py builds them: 1-3k
characters of consecutive paragraphs; the only real text in these scripts in the shared data).

Measured per script and segmenter:
  * words: total words and words per character; ratio of the heuristic's count to the
    reference's (over all documents, and the median per document); word-boundary precision,
    recall and F1 against the reference's boundaries;
  * verdicts: each document labelled by the `language` step, then through each word-based step
    of the web preset (gopher_repetition, gopher_quality, c4_quality, fineweb_quality, every
    document through every step): kept or the drop reason; documents whose verdict differs
    from the reference segmenter's, per step and for the chain (first drop of the five steps);
  * speed: CPU seconds of the four word-based steps over the documents (one process, best of
    `--rounds` interleaved rounds; the `words` cache cleared before each step, as in
    benchmarks/steps.py), as documents per CPU-second.

Decision rule (stated before the run): a script switches to its real segmenter when the web
chain's keep/drop decision differs from the heuristic's on at least 2 % of its documents, the
real segmenter's decisions are the right ones on those documents (read: clean prose kept,
junk dropped), and the web chain stays at >= 600 docs per CPU-s on benchmarks/steps.py.
Result (results/segmentation.md): Japanese, Thai, Lao, Khmer: no keep/drop decision differs;
Myanmar: 2 of 7 UDHR documents differ, and it is the real words that drop clean prose; so the
heuristics stay, and `text.set_word_segmenter` lets a user plug a real segmenter in.

Run: .venv/bin/python -m benchmarks.segmentation [--rounds R]
Writes benchmarks/results/segmentation.json and segmentation.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.provenance import write_json, write_markdown

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
WORD_STEPS = ("gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality")
ICU_LOCALES = {"Jpan": "ja", "Thai": "th", "Laoo": "lo", "Khmr": "km", "Mymr": "my"}


# ---------------------------------------------------------------------------------------------
# Segmenters (one whitespace-free token -> its words)


def mecab_segmenter() -> Callable[[str], list[str]]:
    """MeCab (fugashi) with the UniDic-lite dictionary bundled in `unidic-lite`; surface forms."""
    import fugashi
    import unidic_lite

    tagger = fugashi.Tagger(f'-Owakati -d "{unidic_lite.DICDIR}" -r "{os.path.join(unidic_lite.DICDIR, "mecabrc")}"')
    return lambda token: tagger.parse(token).split()


def newmm_segmenter() -> Callable[[str], list[str]]:
    """pythainlp's `newmm` (dictionary maximal matching, the bundled Thai word list)."""
    from pythainlp.tokenize import word_tokenize

    return lambda token: word_tokenize(token, engine="newmm", keep_whitespace=False)


def icu_segmenter(locale: str) -> Callable[[str], list[str]]:
    """ICU's word BreakIterator for `locale` (one iterator per thread)."""
    import icu

    local = threading.local()

    def segment(token: str) -> list[str]:
        bi = getattr(local, "bi", None)
        if bi is None:
            bi = local.bi = icu.BreakIterator.createWordInstance(icu.Locale(locale))
        bi.setText(token)
        out: list[str] = []
        start = bi.first()
        for end in bi:
            piece = token[start:end]
            if not piece.isspace():
                out.append(piece)
            start = end
        return out

    return segment


def segmenters(script: str) -> dict[str, Callable[[str], list[str]] | None]:
    """name -> segmenter (None: the heuristic of text.py), the reference second."""
    icu = icu_segmenter(ICU_LOCALES[script])
    if script == "Jpan":
        return {"heuristic": None, "fugashi+unidic-lite": mecab_segmenter(), "icu": icu}
    if script == "Thai":
        return {"heuristic": None, "pythainlp newmm": newmm_segmenter(), "icu": icu}
    return {"heuristic": None, "icu": icu}


REFERENCE = {"Jpan": "fugashi+unidic-lite", "Thai": "pythainlp newmm", "Laoo": "icu", "Khmr": "icu", "Mymr": "icu"}


# ---------------------------------------------------------------------------------------------
# Documents


def documents() -> dict[str, list[tuple[str, Any]]]:
    """script -> [(corpus name, Document)] of the real documents in that script."""
    from benchmarks import scripts_coverage as sc
    from corpusmill.pipelines.sources import web
    from corpusmill.pipelines.steps.text import detect_script
    from corpusmill.schemas.document import Document

    out: dict[str, list[tuple[str, Any]]] = {s: [] for s in REFERENCE}
    for d in sc.udhr_documents():
        script = detect_script(d.text)
        if script in out:
            out[script].append((f"udhr/{d.title}", d))
    out["Jpan"] += [("jawiki", d) for d in sc.wiki_documents("jawiki") if detect_script(d.text) == "Jpan"]
    clueweb = sc.SHARED / "web" / "resiliparse_clueweb09-ja_quirk.warc.gz"
    for r in web.read(str(clueweb), web.Config(paths=[str(clueweb)])):
        if isinstance(r, Document) and detect_script(r.text) == "Jpan":
            out["Jpan"].append(("clueweb09-ja", r))
    out["Jpan"] += [("debian-ja", d) for d in sc.debian_documents() if d.title.endswith("/Jpan")]
    return out


# ---------------------------------------------------------------------------------------------
# Measurements


def _boundaries(text: str, ws: tuple[str, ...]) -> set[int]:
    """End offsets of the words in `text` (words are substrings, in order)."""
    ends: set[int] = set()
    pos = 0
    for w in ws:
        i = text.find(w, pos)
        if i < 0:
            continue
        pos = i + len(w)
        ends.add(pos)
    return ends


def _steps() -> tuple[Any, dict[str, Any]]:
    import yaml

    from corpusmill.pipelines.steps.language import LanguageId
    from corpusmill.pipelines.steps.quality import C4Quality, FineWebQuality, GopherQuality, GopherRepetition

    preset = {s["step"]: s.get("params") or {} for s in yaml.safe_load((ROOT / "workflows" / "presets" / "web.yaml").read_text())["steps"]}
    classes = {"gopher_repetition": GopherRepetition, "gopher_quality": GopherQuality, "c4_quality": C4Quality, "fineweb_quality": FineWebQuality}
    lang = LanguageId(**preset["language"])
    lang.setup()
    return lang, {name: classes[name](**preset.get(name, {})) for name in WORD_STEPS}


def measure_script(script: str, docs: list[tuple[str, Any]], rounds: int) -> dict[str, Any]:
    from corpusmill.pipelines.steps import text as text_mod
    from corpusmill.schemas.document import Document, Drop

    lang, steps = _steps()
    plain = [d for _, d in docs]
    decided = lang.batch(plain)
    labels = lang.predict([d.text for d in plain])
    labelled = [
        dataclasses.replace(d, language=code, language_score=score, script=script)
        for d, (code, _s, score) in zip(plain, labels, strict=True)
    ]
    lang_verdicts = [r.reason if isinstance(r, Drop) else "kept" for r in decided]
    segs = segmenters(script)
    per: dict[str, Any] = {}
    words_of: dict[str, list[tuple[str, ...]]] = {}
    for name, seg in segs.items():
        text_mod.set_word_segmenter(script, seg)
        try:
            words_of[name] = [text_mod.words(d.text, script) for d in labelled]
            verdicts = {st: [] for st in WORD_STEPS}
            for st_name, st in steps.items():
                for d in labelled:
                    r = st(d)
                    verdicts[st_name].append(r.reason if isinstance(r, Drop) else "kept")
            chain = []
            for i in range(len(labelled)):
                first = "language:" + lang_verdicts[i] if lang_verdicts[i] != "kept" else None
                for st_name in WORD_STEPS:
                    if first is None and verdicts[st_name][i] != "kept":
                        first = f"{st_name}:{verdicts[st_name][i]}"
                chain.append(first or "kept")
        finally:
            text_mod.set_word_segmenter(script, None)
        n_chars = sum(len(d.text) for d in labelled)
        n_words = sum(map(len, words_of[name]))
        per[name] = {
            "words": n_words,
            "chars_per_word": n_chars / max(1, n_words),
            "verdicts": verdicts,
            "chain": chain,
            "kept_per_step": {st: v.count("kept") for st, v in verdicts.items()},
            "chain_kept": chain.count("kept"),
            "chain_outcomes": dict(Counter(chain).most_common()),
        }

    # speed: interleaved rounds, CPU time of the four steps over all documents
    best = {name: float("inf") for name in segs}
    for _ in range(rounds):
        for name, seg in segs.items():
            text_mod.set_word_segmenter(script, seg)
            try:
                total = 0.0
                for st in steps.values():
                    text_mod.words.cache_clear()
                    t0 = time.process_time()
                    for d in labelled:
                        st(d)
                    total += time.process_time() - t0
            finally:
                text_mod.set_word_segmenter(script, None)
            best[name] = min(best[name], total)

    ref = REFERENCE[script]
    for name in segs:
        p = per[name]
        p["steps_cpu_s"] = best[name]
        p["docs_per_cpu_s"] = len(labelled) / best[name] if best[name] > 0 else None
        counts = [len(a) / max(1, len(b)) for a, b in zip(words_of[name], words_of[ref], strict=True) if b]
        p["word_ratio_to_reference"] = p["words"] / max(1, per[ref]["words"])
        p["median_doc_word_ratio_to_reference"] = statistics.median(counts) if counts else None
        tp = fp = fn = 0
        for d, a, b in zip(labelled, words_of[name], words_of[ref], strict=True):
            x, y = _boundaries(d.text, a), _boundaries(d.text, b)
            tp += len(x & y)
            fp += len(x - y)
            fn += len(y - x)
        prec, rec = tp / max(1, tp + fp), tp / max(1, tp + fn)
        p["boundary_precision"], p["boundary_recall"] = prec, rec
        p["boundary_f1"] = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        p["verdicts_differ_from_reference"] = {
            st: sum(1 for a, b in zip(p["verdicts"][st], per[ref]["verdicts"][st], strict=True) if a != b) for st in WORD_STEPS
        }
        differ = [i for i, (a, b) in enumerate(zip(p["chain"], per[ref]["chain"], strict=True)) if a != b]
        p["chain_differs_from_reference"] = len(differ)
        p["chain_differences"] = [
            {"doc": docs[i][0], "id": labelled[i].id, "this": p["chain"][i], "reference": per[ref]["chain"][i]} for i in differ[:30]
        ]
    corpora = dict(Counter(c.split("/")[0] for c, _ in docs))
    for p in per.values():
        del p["verdicts"], p["chain"]
    return {"documents": len(docs), "chars": sum(len(d.text) for d in labelled), "corpora": corpora, "reference": ref, "segmenters": per}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    from importlib.metadata import version

    by_script = documents()
    results = {
        "benchmark": "segmentation",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "rounds": args.rounds,
        "versions": {p: version(p) for p in ("fugashi", "unidic-lite", "pythainlp", "pyicu-wheels")},
        "scripts": {script: measure_script(script, docs, args.rounds) for script, docs in by_script.items() if docs},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_json(RESULTS / "segmentation.json", results, ensure_ascii=False)
    md = render(results)
    write_markdown(RESULTS / "segmentation.md", md)
    print(md)
    return results


def render(r: dict[str, Any]) -> str:
    v = r["versions"]
    lines = [
        "# Word segmentation of unspaced scripts: heuristics vs real segmenters",
        "",
        f"fugashi {v['fugashi']} (MeCab) + unidic-lite {v['unidic-lite']}, pythainlp {v['pythainlp']} (newmm), "
        f"PyICU {v['pyicu-wheels']} (pyicu-wheels, ICU BreakIterator). Verdicts: web-preset parameters, every "
        f"document through every step; speed: CPU of the four word-based steps, best of {r['rounds']} interleaved rounds.",
        "",
        "| script | documents | segmenter | words / reference | median per doc | boundary F1 | chars/word "
        "| verdicts differing (rep / qual / c4 / fineweb) | chain differs | chain kept | steps docs/CPU-s |",
        "|---|---:|---|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for script, s in r["scripts"].items():
        for name, p in s["segmenters"].items():
            ref = " (reference)" if name == s["reference"] else ""
            diff = " / ".join(str(p["verdicts_differ_from_reference"][st]) for st in WORD_STEPS)
            med = p["median_doc_word_ratio_to_reference"]
            lines.append(
                f"| {script} | {s['documents']} | {name}{ref} | {p['word_ratio_to_reference']:.2f} | "
                f"{med:.2f} | {p['boundary_f1']:.3f} | {p['chars_per_word']:.2f} | {diff} | "
                f"{p['chain_differs_from_reference']} | {p['chain_kept']} | {p['docs_per_cpu_s']:.0f} |"
            )
    lines += ["", "Documents: " + "; ".join(f"{k}: {s['corpora']}" for k, s in r["scripts"].items()), ""]
    for script, s in r["scripts"].items():
        for name, p in s["segmenters"].items():
            if p["chain_differences"]:
                lines.append(f"Chain verdicts of `{name}` that differ from the reference ({script}):")
                lines.append("")
                lines += [f"- {d['doc']} {d['id'][:8]}: {d['this']} (reference: {d['reference']})" for d in p["chain_differences"][:12]]
                lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
