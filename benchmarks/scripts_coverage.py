"""How the presets' step chains treat clean prose in every script: kept share and drop reasons.

Inputs (real text, nothing synthetic):
  * UDHR paragraphs in ~380 languages (../shared/data/lid/udhr2_paragraphs.tsv.xz, `lang<TAB>
    text`). Each language's paragraphs, in order, are joined with newlines into documents of
    realistic length: a document takes paragraphs until it reaches its target length, the
    targets cycling through 1,000 / 2,000 / 3,000 characters; a remainder under 500 characters
    is appended to the language's previous document. UDHR is clean, edited prose, so a
    well-behaved chain keeps nearly all of it; what it drops is a finding.
  * Wikipedia articles from the ja/uk/vi dump excerpts
    (../shared/data/wiki/truncated/*-repaired.xml.bz2), through the project's wiki reader.
  * Parallel web pages: the Debian manuals in 26 locales
    (../shared/data/web/debian-docs_multilingual_3560pages.warc.gz) through the project's web
    reader (default extractor), grouped by the WARC language hint and the script of the text
    (untranslated pages fall back to English). The same manuals in every locale: a script bias
    shows as a locale keeping less than the others. Not clean prose (commands, lists, code).

Each preset (workflows/presets/{web,wiki,books}.yaml) runs its step chain
(`pipelines.steps.runner.StepChain`, the same code a pipeline runs) over every document.
Outcomes are grouped
  * per script: ISO 15924 code of the text (`pipelines.steps.text.detect_script`);
  * per language: the UDHR file code (ISO 639-3, with a variant suffix), or the wiki dump.
A drop by the `language` step (`low_language_score`, `language_not_kept`) is a language-ID
outcome, reported apart from the quality drops (every other step). For UDHR, a language counts
as "known to lid.176" when the table `LID_LABELS` below maps its code to one of lid.176's 176
labels; lid.176 cannot recognise the others, and dropping those for a low score is expected.
The "quality kept" share is kept / (documents that passed the language step): it is what the
quality steps do to text they were given.

Also reported: lid.176's agreement with the UDHR labels (the label it gives each document and
its score, per script), and the quality kept share without each language's first document
(the UDHR preamble, one long sentence of clauses that C4's 5-sentence rule drops in every
language, English included).

Run: .venv/bin/python -m benchmarks.scripts_coverage [--presets web wiki books] [--baseline J]
Writes benchmarks/results/scripts_coverage.json and scripts_coverage.md. With `--baseline`
(a previous scripts_coverage.json), the markdown puts the baseline's figures beside the new.
The committed baseline, results/scripts_coverage_before.json, is this same script run on the
same commit with the three step modules the script-coverage fixes changed put back as they were
at 974e25f (so readers and everything else are the same in both runs):
    git worktree add /tmp/before HEAD && cd /tmp/before
    for f in text quality language; do git show 974e25f:pipelines/steps/$f.py > pipelines/steps/$f.py; done
    CORPUSMILL_SHARED_DATA=<repo>/../shared/data PYTHONPATH=. <repo>/.venv/bin/python \
        -m benchmarks.scripts_coverage --label before --out <repo>/benchmarks/results/scripts_coverage_before
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import lzma
import os
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from benchmarks.provenance import write_json, write_markdown
from corpusmill.pipelines.sources import web, wiki
from corpusmill.pipelines.steps.language import LanguageId
from corpusmill.pipelines.steps.runner import StepChain
from corpusmill.pipelines.steps.text import detect_script
from corpusmill.schemas.document import Document, make_id
from corpusmill.workflows.config import load_preset

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("CORPUSMILL_SHARED_DATA", ROOT.parent / "shared" / "data"))
RESULTS = ROOT / "benchmarks" / "results"
UDHR = SHARED / "lid" / "udhr2_paragraphs.tsv.xz"
WIKI_DUMPS = ("jawiki", "ukwiki", "viwiki")
DEBIAN_WARC = SHARED / "web" / "debian-docs_multilingual_3560pages.warc.gz"
TARGETS = (1000, 2000, 3000)
MIN_TAIL = 500
LANGUAGE_STEP = "language"

# UDHR language code (the part before any "_variant") -> lid.176 label, for the languages
# lid.176 has a label for. Written by hand from ISO 639-3 / 639-1 (macrolanguages map to
# their lid.176 label: Standard Arabic arb -> ar, Quechua varieties -> qu, ...).
LID_LABELS: dict[str, str] = {
    "afr": "af", "als": "sq", "amh": "am", "arb": "ar", "ast": "ast", "azj": "az", "bcl": "bcl",
    "bel": "be", "ben": "bn", "bho": "bh", "bod": "bo", "bos": "bs", "bre": "br", "bul": "bg",
    "cat": "ca", "ceb": "ceb", "ces": "cs", "ckb": "ckb", "cmn": "zh", "cos": "co", "cym": "cy",
    "dan": "da", "deu": "de", "div": "dv", "ell": "el", "eml": "eml", "eng": "en", "epo": "eo",
    "est": "et", "eus": "eu", "fin": "fi", "fra": "fr", "gla": "gd", "gle": "ga", "glg": "gl",
    "gug": "gn", "guj": "gu", "hat": "ht", "heb": "he", "hin": "hi", "hrv": "hr", "hsb": "hsb",
    "hun": "hu", "hye": "hy", "ido": "io", "ilo": "ilo", "ina": "ia", "ind": "id", "isl": "is",
    "ita": "it", "jav": "jv", "jpn": "ja", "kan": "kn", "kat": "ka", "kaz": "kk", "khk": "mn",
    "khm": "km", "kir": "ky", "kor": "ko", "lat": "la", "lav": "lv", "lit": "lt", "ltz": "lb",
    "mai": "mai", "mal": "ml", "mar": "mr", "min": "min", "mkd": "mk", "mlt": "mt", "mly": "ms",
    "mya": "my", "nds": "nds", "nep": "ne", "nld": "nl", "nno": "nn", "nob": "no", "oss": "os",
    "pam": "pam", "pan": "pa", "pbu": "ps", "pes": "fa", "plt": "mg", "pnb": "pnb", "pol": "pl",
    "por": "pt", "quy": "qu", "quz": "qu", "qva": "qu", "qvc": "qu", "qvh": "qu", "qvm": "qu",
    "qvn": "qu", "qwh": "qu", "qxa": "qu", "qxn": "qu", "qxu": "qu", "qud": "qu", "qug": "qu",
    "roh": "rm", "ron": "ro", "rus": "ru", "sah": "sah", "san": "sa", "sco": "sco", "slk": "sk",
    "slv": "sl", "som": "so", "spa": "es", "srp": "sr", "sun": "su", "swe": "sv", "swh": "sw",
    "tam": "ta", "tat": "tt", "tgk": "tg", "tgl": "tl", "tha": "th", "tuk": "tk", "tur": "tr",
    "tyv": "tyv", "uig": "ug", "ukr": "uk", "urd": "ur", "uzn": "uz", "vec": "vec", "vep": "vep",
    "vie": "vi", "war": "war", "wln": "wa", "ydd": "yi", "yor": "yo",
}  # fmt: skip


# UDHR files in a script lid.176 was not trained on for that language (its Wikipedia data):
# Tagalog in Baybayin, Mongolian in Mongolian script (mn is Cyrillic), Malay in Jawi, Uyghur
# in Latin letters (ug is Arabic script), Central Kurdish in Latin letters (ckb is Arabic).
LID_OTHER_SCRIPT = frozenset({"tgl_tglg", "khk_mong", "mly_arab", "uig_latn", "ckb"})


def lid_label(udhr_code: str) -> str | None:
    """lid.176's label for a UDHR file code ("uzn_cyrl" -> "uz"), None when it has none or the
    file is in a script lid.176 does not know for the language (`LID_OTHER_SCRIPT`)."""
    if udhr_code in LID_OTHER_SCRIPT:
        return None
    return LID_LABELS.get(udhr_code.split("_")[0])


# ---------------------------------------------------------------------------------------------
# Documents


def udhr_documents(path: Path = UDHR) -> list[Document]:
    """UDHR paragraphs joined into documents of 1-3k characters per language (see module doc)."""
    by_lang: dict[str, list[str]] = defaultdict(list)
    with lzma.open(path, "rt", encoding="utf-8") as f:
        next(f)  # header
        for line in f:
            lang, _, text = line.rstrip("\n").partition("\t")
            if text.strip():
                by_lang[lang].append(text.strip())
    docs: list[Document] = []
    for lang in sorted(by_lang):
        texts: list[str] = []
        current: list[str] = []
        size = 0
        for para in by_lang[lang]:
            current.append(para)
            size += len(para) + 1
            if size >= TARGETS[len(texts) % len(TARGETS)]:
                texts.append("\n".join(current))
                current, size = [], 0
        if current:
            tail = "\n".join(current)
            if texts and len(tail) < MIN_TAIL:
                texts[-1] += "\n" + tail
            else:
                texts.append(tail)
        for i, text in enumerate(texts):
            locator = f"udhr2/{lang}/{i}"  # i = 0: the language's first document (the preamble)
            docs.append(Document(id=make_id("udhr2", lang, i), text=text, source="udhr", location=locator, title=lang))
    return docs


def wiki_documents(name: str) -> list[Document]:
    """The article documents the wiki reader makes from one repaired dump excerpt."""
    path = SHARED / "wiki" / "truncated" / f"{name}-truncated-repaired.xml.bz2"
    config = wiki.Config(paths=[str(path)])
    docs = [r for r in wiki.read(str(path), config) if isinstance(r, Document)]
    return [dataclasses.replace(d, title=name) for d in docs]


def debian_documents() -> list[Document]:
    """The Debian manual pages the web reader makes, titled "<locale hint>/<script>"."""
    config = web.Config(paths=[str(DEBIAN_WARC)])
    docs = [r for r in web.read(str(DEBIAN_WARC), config) if isinstance(r, Document)]
    return [dataclasses.replace(d, title=f"{d.content_language or '?'}/{detect_script(d.text)}") for d in docs]


# ---------------------------------------------------------------------------------------------
# Running and tallying


def run_preset(preset: str, docs: list[Document], batch: int = 256) -> dict[str, tuple[str, str]]:
    """doc id -> ("kept", "") or (step, reason) of the first drop, for one preset's chain."""
    chain = StepChain(load_preset(preset))
    chain.setup()
    out: dict[str, tuple[str, str]] = {}
    for i in range(0, len(docs), batch):
        result = chain.run(docs[i : i + batch])
        for d in result.kept:
            out[d.id] = ("kept", "")
        for r in result.rejected:
            out[r.id] = (r.step, r.reason)
        for f in result.failed:
            out[f.id] = (f.step, "failed")
    return out


def _group_stats(outcomes: list[tuple[str, str]]) -> dict[str, Any]:
    n = len(outcomes)
    kept = sum(1 for s, _ in outcomes if s == "kept")
    lang = Counter(r for s, r in outcomes if s == LANGUAGE_STEP)
    quality = Counter(f"{s}:{r}" for s, r in outcomes if s not in ("kept", LANGUAGE_STEP))
    passed = n - sum(lang.values())
    return {
        "docs": n,
        "kept": kept,
        "language_drops": dict(lang.most_common()),
        "quality_drops": dict(quality.most_common()),
        "passed_language": passed,
        "quality_kept_share": round(kept / passed, 4) if passed else None,
        "kept_share": round(kept / n, 4) if n else None,
    }


def tally(docs: list[Document], outcomes: dict[str, tuple[str, str]], known: dict[str, bool]) -> dict[str, Any]:
    """Per script (split by lid.176-known or not) and per language."""
    by_script: dict[str, list[tuple[str, str]]] = defaultdict(list)
    by_script_known: dict[str, list[tuple[str, str]]] = defaultdict(list)
    by_lang: dict[str, list[tuple[str, str]]] = defaultdict(list)
    by_lang_articles: dict[str, list[tuple[str, str]]] = defaultdict(list)
    lang_script: dict[str, Counter[str]] = defaultdict(Counter)
    for d in docs:
        script = detect_script(d.text)
        lang = d.title or "?"
        o = outcomes[d.id]
        by_script[script].append(o)
        if known.get(lang, True):
            by_script_known[script].append(o)
        by_lang[lang].append(o)
        if not d.location.endswith("/0"):
            by_lang_articles[lang].append(o)
        lang_script[lang][script] += 1
    return {
        "scripts": {s: {**_group_stats(v), "languages": len({d.title for d in docs if detect_script(d.text) == s})}
                    for s, v in sorted(by_script.items())},
        "scripts_lid_known": {s: _group_stats(v) for s, v in sorted(by_script_known.items())},
        "languages": {
            lang: {
                **_group_stats(v),
                "script": lang_script[lang].most_common(1)[0][0],
                "lid_known": known.get(lang, True),
                "articles": _group_stats(by_lang_articles[lang]),
            }
            for lang, v in sorted(by_lang.items())
        },
    }


def lid_agreement(docs: list[Document]) -> dict[str, Any]:
    """lid.176 on each UDHR document (as the `language` step sees it): per language the most
    frequent label, the share of documents labelled with the expected language, and the share
    with a score >= 0.5 (cc_net's threshold, the presets' minimum)."""
    predictions = LanguageId().predict([d.text for d in docs])
    per_lang: dict[str, list[tuple[str, float]]] = defaultdict(list)
    scripts: dict[str, Counter[str]] = defaultdict(Counter)
    for d, (code, _, score) in zip(docs, predictions, strict=True):
        per_lang[d.title or ""].append((code, score))
        scripts[d.title or ""][detect_script(d.text)] += 1
    out: dict[str, Any] = {}
    for lang, preds in sorted(per_lang.items()):
        expected = lid_label(lang)
        labels = Counter(c for c, _ in preds)
        out[lang] = {
            "docs": len(preds),
            "script": scripts[lang].most_common(1)[0][0],
            "expected": expected,
            "top_label": labels.most_common(1)[0][0],
            "correct_share": round(sum(1 for c, _ in preds if c == expected) / len(preds), 4) if expected else None,
            "score_ge_0_5_share": round(sum(1 for _, s in preds if s >= 0.5) / len(preds), 4),
            "mean_score": round(sum(s for _, s in preds) / len(preds), 3),
        }
    return out


def measure(presets: list[str]) -> dict[str, Any]:
    udhr = udhr_documents()
    known = {d.title or "": lid_label(d.title or "") is not None for d in udhr}
    wikis = {name: wiki_documents(name) for name in WIKI_DUMPS}
    debian = debian_documents() if DEBIAN_WARC.is_file() else []
    results: dict[str, Any] = {
        "inputs": {
            "udhr_languages": len(known),
            "udhr_languages_lid_known": sum(known.values()),
            "udhr_documents": len(udhr),
            "udhr_chars": sum(len(d.text) for d in udhr),
            "wiki_documents": {k: len(v) for k, v in wikis.items()},
            "debian_documents": len(debian),
        },
        "presets": {},
        "lid": lid_agreement(udhr),
    }
    wiki_docs = [d for v in wikis.values() for d in v]
    for preset in presets:
        t0 = time.process_time()
        udhr_out = run_preset(preset, udhr)
        wiki_out = run_preset(preset, wiki_docs)
        results["presets"][preset] = {
            "udhr": tally(udhr, udhr_out, known),
            "wiki": tally(wiki_docs, wiki_out, {}),
            "debian": tally(debian, run_preset(preset, debian), {}),
            "cpu_seconds": round(time.process_time() - t0, 1),
        }
        # every drop of a lid.176-known UDHR language by a quality step, for reading
        results["presets"][preset]["udhr_quality_drop_details"] = _drop_details(preset, udhr, known)
    return results


def _drop_details(preset: str, docs: list[Document], known: dict[str, bool], limit: int = 60) -> list[str]:
    chain = StepChain(load_preset(preset))
    result = chain.run([d for d in docs if known.get(d.title or "", False)])
    by_id = {d.id: d for d in docs}
    lines = []
    for r in result.rejected:
        if r.step != LANGUAGE_STEP:
            lines.append(f"{by_id[r.id].title} {detect_script(by_id[r.id].text)} {r.step}:{r.reason} {r.detail}")
    return sorted(lines)[:limit]


# ---------------------------------------------------------------------------------------------
# Report


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def _reasons(d: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in d.items()) or "-"


def _was(base: dict[str, Any] | None, *path: str) -> Any:
    node: Any = base
    for p in path:
        if not isinstance(node, dict) or p not in node:
            return None
        node = node[p]
    return node


def render(results: dict[str, Any], baseline: dict[str, Any] | None) -> str:
    inp = results["inputs"]
    out = [
        "# Script coverage: clean prose through the presets' step chains",
        "",
        "Written by `benchmarks/scripts_coverage.py` (see its docstring for the method).",
        f"UDHR: {inp['udhr_documents']} documents of 1-3k characters ({inp['udhr_chars']:,} characters) in "
        f"{inp['udhr_languages']} language files, {inp['udhr_languages_lid_known']} of them in a language "
        f"lid.176 has a label for. Wikipedia: {inp['wiki_documents']} article documents.",
        "",
        "`kept %` = kept / documents; `quality kept %` = kept / documents that passed the language "
        "step. Language-step drops (expected for languages lid.176 does not know, e.g. low scores) "
        "are counted apart from quality drops.",
    ]
    if baseline:
        out.append("Figures `before -> after`: before = the baseline run (" + baseline.get("label", "baseline") + ").")
    out += ["", "## Summary", ""]
    out += ["`articles` leaves out each UDHR language's first document, which holds the preamble (one long "
            "sentence of clauses, see below); for Wikipedia it is every article.", ""]
    out += ["| preset | corpus | docs | passed language | quality kept % | quality kept %, articles | kept % |",
            "|---|---|---|---|---|---|---|"]
    for preset, res in results["presets"].items():
        for corpus, select in (
            ("UDHR, languages lid.176 knows", lambda st: st["lid_known"]),
            ("UDHR, all languages", lambda st: True),
        ):
            out.append(_summary_row(preset, corpus, res["udhr"]["languages"], select,
                                    _was(baseline, "presets", preset, "udhr", "languages")))
        out.append(_summary_row(preset, "Wikipedia ja+uk+vi", res["wiki"]["languages"], lambda st: True,
                                _was(baseline, "presets", preset, "wiki", "languages")))
    out += _lid_section(results.get("lid") or {}, _was(baseline, "lid"))
    out += ["", NOTES.strip()]
    for preset, res in results["presets"].items():
        out += ["", f"## Preset `{preset}`", ""]
        out += ["### UDHR per script, languages lid.176 knows", ""]
        out += ["| script | docs | quality kept % | kept % | language drops | quality drops |", "|---|---|---|---|---|---|"]
        for s, st in res["udhr"]["scripts_lid_known"].items():
            was = _was(baseline, "presets", preset, "udhr", "scripts_lid_known", s)
            qk = _pct(st["quality_kept_share"])
            k = _pct(st["kept_share"])
            if was:
                qk = f"{_pct(was['quality_kept_share'])} -> {qk}"
                k = f"{_pct(was['kept_share'])} -> {k}"
            out.append(
                f"| {s} | {st['docs']} | {qk} | {k} | {_reasons(st['language_drops'])} | {_reasons(st['quality_drops'])} |"
            )
        out += ["", "### UDHR per script, all languages", ""]
        out += ["| script | languages | docs | quality kept % | kept % | language drops | quality drops |",
                "|---|---|---|---|---|---|---|"]
        for s, st in res["udhr"]["scripts"].items():
            was = _was(baseline, "presets", preset, "udhr", "scripts", s)
            qk, k = _pct(st["quality_kept_share"]), _pct(st["kept_share"])
            if was:
                qk = f"{_pct(was['quality_kept_share'])} -> {qk}"
                k = f"{_pct(was['kept_share'])} -> {k}"
            out.append(
                f"| {s} | {st['languages']} | {st['docs']} | {qk} | {k} | "
                f"{_reasons(st['language_drops'])} | {_reasons(st['quality_drops'])} |"
            )
        out += ["", "### Wikipedia (ja, uk, vi)", ""]
        out += ["| dump | script | docs | quality kept % | kept % | language drops | quality drops |",
                "|---|---|---|---|---|---|---|"]
        for lang, st in res["wiki"]["languages"].items():
            was = _was(baseline, "presets", preset, "wiki", "languages", lang)
            qk = _pct(st["quality_kept_share"])
            if was:
                qk = f"{_pct(was['quality_kept_share'])} -> {qk}"
            out.append(
                f"| {lang} | {st['script']} | {st['docs']} | {qk} | {_pct(st['kept_share'])} | "
                f"{_reasons(st['language_drops'])} | {_reasons(st['quality_drops'])} |"
            )
        if preset == "web" and res.get("debian", {}).get("languages"):
            out += ["", "### Debian manuals, parallel pages by locale and script (web pages, not clean prose)", ""]
            out += ["| locale/script | docs | kept % | language drops | quality drops |", "|---|---|---|---|---|"]
            for key, st in res["debian"]["languages"].items():
                if st["docs"] < 20:
                    continue
                was = _was(baseline, "presets", preset, "debian", "languages", key)
                k = _pct(st["kept_share"]) if not was else f"{_pct(was['kept_share'])} -> {_pct(st['kept_share'])}"
                out.append(f"| {key} | {st['docs']} | {k} | {_reasons(st['language_drops'])} | {_reasons(st['quality_drops'])} |")
        losers = [
            (lang, st) for lang, st in res["udhr"]["languages"].items()
            if st["articles"]["quality_drops"]
            or _was(baseline, "presets", preset, "udhr", "languages", lang, "articles", "quality_drops")
            or st["quality_drops"] != (_was(baseline, "presets", preset, "udhr", "languages", lang, "quality_drops") or {})
        ]
        first_only = sum(
            1 for st in res["udhr"]["languages"].values() if st["quality_drops"] and not st["articles"]["quality_drops"]
        )
        out += ["", "### UDHR languages with a quality drop after their first document, or whose drops changed", ""]
        out += [f"({first_only} languages lose only their first, preamble document and are not listed.)", ""]
        out += ["| language | script | lid.176 knows | docs | passed language | kept | quality drops | baseline quality drops |",
                "|---|---|---|---|---|---|---|---|"]
        for lang, st in losers:
            was = _was(baseline, "presets", preset, "udhr", "languages", lang, "quality_drops")
            out.append(
                f"| {lang} | {st['script']} | {'yes' if st['lid_known'] else 'no'} | {st['docs']} | "
                f"{st['passed_language']} | {st['kept']} | {_reasons(st['quality_drops'])} | "
                f"{_reasons(was) if was is not None else '-'} |"
            )
        out += ["", f"CPU seconds for this preset (UDHR + wiki + Debian pages): {res['cpu_seconds']}"]
    return "\n".join(out) + "\n"


NOTES = """
## What the baseline lacked (pipelines/steps/text.py, quality.py, language.py)

* Sentence ends: every Unicode Sentence_Terminal mark (Canadian syllabics ᙮, Vai ꘎, Mongolian
  ᠃, full-width ．, ...), the Ethiopic double wordspace ፡፡ (Tigrinya), the Hebrew sof pasuq ׃,
  and in Greek the question mark ";".
* Segmentation: Yi (unspaced) in pseudo-words of 2 syllables; detect_script knows the smaller
  scripts (Baybayin, Ol Chiki, Adlam, Javanese, ...).
* Gopher word length: syllabic scripts (Hangul, Ethiopic, Cherokee, Canadian syllabics, Vai)
  from 1.5; Dravidian scripts (Tamil, Telugu, Kannada, Malayalam) up to 15.
* Gopher stop words: matched without optional marks in Greek, Cyrillic, Arabic, Hebrew
  (polytonic Greek, harakat, niqqud, stress marks, tatweel); not counted when the label's list
  is in another script than the text.
* Gopher repetition: n-gram sizes doubled for Japanese (script-run units) and Vietnamese
  (space-separated syllables).
* Language ID: the Ethiopic wordspace is a space for fastText (Amharic); a label in a script
  the text does not use is `language_script_mismatch`.

## Reading the drops

Quality drops of UDHR text that are not about the script, and stay:
* `c4_quality:too_few_sentences` on the first document of a language: the UDHR preamble is one
  sentence of clauses ending in ";" or ",", under C4's 5 sentences (English too); also on a
  language's last, shorter document.
* `fineweb_quality:few_terminal_punctuation_lines` on the same preamble documents.
* `gopher_quality:too_few_words`: the language's whole UDHR file is a fragment under 50 words.
* `gopher_quality:too_few_stop_words` with a wrong lid.176 label: the stop words of a related
  language are counted (Maithili and Sanskrit labelled "hi", Ossetian "ru", Malay in Jawi "ar").
* `gopher_quality:mean_word_length` for Greenlandic (polysynthetic, 14-16 letters per word), a
  language lid.176 does not know.

Language-step drops: `low_language_score` where lid.176 is unsure (most languages it has no
label for, and some it has: Somali, Sundanese, Javanese, Quechua, ...), and
`language_script_mismatch` where its label is a language not written in the text's script
(scripts lid.176 never saw: Mongolian, Yi, Vai, Canadian syllabics, Tifinagh, Syriac, Baybayin).
"""


def _summary_row(preset: str, corpus: str, langs: dict[str, Any], select: Any, was: dict[str, Any] | None) -> str:
    def totals(ls: dict[str, Any]) -> tuple[int, int, int, int, int]:
        chosen = [st for lang, st in ls.items() if select(langs.get(lang, st))]
        arts = [st.get("articles", st) for st in chosen]
        return (
            sum(st["docs"] for st in chosen), sum(st["passed_language"] for st in chosen),
            sum(st["kept"] for st in chosen), sum(a["passed_language"] for a in arts), sum(a["kept"] for a in arts),
        )

    def share(a: int, b: int) -> str:
        return _pct(a / b if b else None)

    docs, passed, kept, a_passed, a_kept = totals(langs)
    qk, qa, k, p = share(kept, passed), share(a_kept, a_passed), share(kept, docs), str(passed)
    if was:
        bd, bp, bk, bap, bak = totals(was)
        qk, qa, k = f"{share(bk, bp)} -> {qk}", f"{share(bak, bap)} -> {qa}", f"{share(bk, bd)} -> {k}"
        p = f"{bp} -> {p}"
    return f"| {preset} | {corpus} | {docs} | {p} | {qk} | {qa} | {k} |"


def _lid_section(lid: dict[str, Any], was: dict[str, Any] | None) -> list[str]:
    """lid.176's agreement with the UDHR labels, per script of the known languages."""
    if not lid:
        return []

    def per_script(stats: dict[str, Any]) -> dict[str, tuple[int, int, float, float]]:
        by_script: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for lang, st in stats.items():
            if lid.get(lang, {}).get("expected"):
                by_script[lid[lang]["script"]].append(st)
        out: dict[str, tuple[int, int, float, float]] = {}
        for script, sts in by_script.items():
            n = sum(st["docs"] for st in sts)
            right = sum(st["correct_share"] * st["docs"] for st in sts if st.get("correct_share") is not None)
            confident = sum(st["score_ge_0_5_share"] * st["docs"] for st in sts)
            out[script] = (len(sts), n, right / n, confident / n)
        return out

    now = per_script(lid)
    before = per_script(was) if was else {}
    out = ["", "## Language ID (lid.176) on UDHR, languages it has a label for", ""]
    out += ["| script | languages | docs labelled as expected % | docs with score >= 0.5 % |", "|---|---|---|---|"]
    for script, (langs, _, right, confident) in sorted(now.items()):
        r, c = _pct(right), _pct(confident)
        if script in before:
            r, c = f"{_pct(before[script][2])} -> {r}", f"{_pct(before[script][3])} -> {c}"
        out.append(f"| {script} | {langs} | {r} | {c} |")
    wrong = [(lang, st) for lang, st in lid.items() if st["expected"] and st["top_label"] != st["expected"]]
    out += ["", "Known languages whose documents lid.176 mostly labels as another language: " + ", ".join(
        f"{lang} ({st['expected']}) -> {st['top_label']} ({st['mean_score']:.2f})" for lang, st in wrong
    ) + "."]
    low = [lang for lang, st in lid.items() if st["expected"] and st["top_label"] == st["expected"] and st["score_ge_0_5_share"] < 0.5]
    out += ["", "Known languages labelled right but mostly below score 0.5 (dropped by `web` and `books` as "
            "`low_language_score`): " + ", ".join(low) + "."]
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presets", nargs="+", default=["web", "wiki", "books"])
    parser.add_argument("--baseline", type=Path, default=None, help="a previous scripts_coverage.json")
    parser.add_argument("--label", default="", help="a label stored in the JSON (e.g. the commit)")
    parser.add_argument("--out", type=Path, default=RESULTS / "scripts_coverage")
    args = parser.parse_args(argv)
    if not UDHR.is_file():
        raise SystemExit(f"missing {UDHR}: the shared data is needed")
    results = measure(args.presets)
    results["label"] = args.label
    baseline = json.loads(args.baseline.read_text(encoding="utf-8")) if args.baseline else None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out.with_suffix(".json"), results, ensure_ascii=False, separators=(",", ":"), indent=None)
    write_markdown(args.out.with_suffix(".md"), render(results, baseline))
    print(f"wrote {args.out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
