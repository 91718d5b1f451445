"""Harmful-content signal: `harmful_content` counts the terms of a per-language word list
(sexual, obscene, slurs) that a document contains, in the document's own language.

Lists: "List of Dirty, Naughty, Obscene, and Otherwise Bad Words" (LDNOOBW, CC BY 4.0), the
list C4 filtered its pages with (Raffel et al. 2020, sec. 2.2), as packaged by the npm
package `naughty-words` 1.2.0: 26 languages, shipped in `data/content/<lang>.txt` with their
`NOTICE` and license. The lists have no categories; they are mostly sexual and obscene terms,
with some slurs, and barely any violence.

Matching, per list entry (entries and text are both Unicode NFKC-normalised and case-folded):
  * entries in a space-delimited script match whole words: the text is cut into words
    (runs of letters, marks and digits; `&` inside a word is kept, so "s&m" is one word) and
    an entry of n words matches n consecutive words. "Essex", "cocktail", "Dickens",
    "analysis", "Scunthorpe" contain listed words but are none of them: no match.
  * Korean entries (Hangul) also match a word that is the entry plus one of the common
    particles (josa: 를, 는, 이, ...), since Korean glues particles to the noun.
  * entries in Chinese characters, kana or Thai script (written without spaces) match as
    substrings; a katakana entry must not be glued to more katakana ("グロ" is not found in
    "グローバル"). Single-character entries in these scripts are skipped ("乳", milk/breast,
    is in every other Chinese word about dairy).
  * entries without any letter or digit (the emoji "🖕") match as substrings.

Which list: the document's `language` (from the `language` step; "zh-Hans", "pt_BR",
"eng" and lid.176's "tl", "nb", "nn" are mapped to the list's code). When there is no
language or it is `und`, the document's script (`doc.script`, else detected) picks a
fallback (`SCRIPT_FALLBACK`: Latin -> en, Han -> zh, Cyrillic -> ru, Arabic -> ar + fa, ...).
A known language without a list (vi, uk, bg, ...) and a script without one leave the
document unscored (no signals): another language's list flags ordinary words (Vietnamese
"mong", hope, is on the English list).
`extra_languages` adds lists matched in every document (e.g. ["en"]: English porn
vocabulary on pages in other languages).

Signals (recorded on every scored document, also when it is dropped in annotate mode):
  * `harmful_terms`: distinct list entries found;
  * `harmful_hits`: occurrences of them;
  * `harmful_per_1000_words`: occurrences per 1,000 words (words counted as the quality steps
    count them, `text.words`: jieba for Chinese, script runs for Japanese).

Drop (thresholds from `benchmarks/content.py`, see benchmarks/results/content.md; C4's own
rule is `max_terms: 0, max_per_1000_words: null`, any listed word):
  * `harmful_terms`: more than `max_terms` (1) distinct entries AND more than
    `max_per_1000_words` (2.0) occurrences per 1,000 words (detail:
    `terms=3>1 per_1000_words=7.1>2.0 matched=...`). Both conditions, so that a long book
    with a few listed words (the KJV's "whore" and "ass") and a short page that names one
    (news of a "sex" trial) are kept. A threshold set to null is no condition.
The presets run this step in `annotate` mode: the scores go into `signals`, a document over
the thresholds gets the flag `harmful_content:harmful_terms`, and nothing is dropped.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import regex

from corpusmill.pipelines.steps.registry import step
from corpusmill.pipelines.steps.text import detect_script, words
from corpusmill.schemas.document import Document, Drop, Signal

DATA_PACKAGE = "corpusmill.pipelines"
DATA_DIR = ("steps", "data", "content")

# Language codes as the language step may write them -> the code of a shipped list.
LANGUAGE_ALIASES: dict[str, str] = {
    "tl": "fil", "tgl": "fil", "fil": "fil", "nb": "no", "nn": "no", "nob": "no", "nno": "no", "nor": "no",
    "ara": "ar", "arb": "ar", "ces": "cs", "dan": "da", "deu": "de", "eng": "en", "epo": "eo", "spa": "es",
    "fas": "fa", "pes": "fa", "fin": "fi", "fra": "fr", "hin": "hi", "hun": "hu", "ita": "it", "jpn": "ja",
    "kab": "kab", "kor": "ko", "nld": "nl", "pol": "pl", "por": "pt", "rus": "ru", "swe": "sv", "tha": "th",
    "tur": "tr", "zho": "zh", "cmn": "zh", "yue": "zh", "wuu": "zh",
}  # fmt: skip

# Lists used when the language is unknown (`und`, None) or has no list, by the text's script.
SCRIPT_FALLBACK: dict[str, tuple[str, ...]] = {
    "Latn": ("en",),
    "Hani": ("zh",),
    "Jpan": ("ja",),
    "Hira": ("ja",),
    "Kana": ("ja",),
    "Hang": ("ko",),
    "Thai": ("th",),
    "Cyrl": ("ru",),
    "Arab": ("ar", "fa"),
    "Deva": ("hi",),
}

# Korean particles (josa) that may follow a listed noun inside one written word.
KOREAN_PARTICLES: frozenset[str] = frozenset(
    "은 는 이 가 을 를 의 에 에게 에서 께 도 만 로 으로 와 과 랑 이랑 야 아 이야 이다 들 들은 들이 들을 한테".split()
)

_WORD = regex.compile(r"[\p{L}\p{M}\p{N}]+(?:&[\p{L}\p{M}\p{N}]+)*")
_HAS_WORD_CHAR = regex.compile(r"[\p{L}\p{N}]")
_UNSPACED_CHAR = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}]")
_KATAKANA_ONLY = regex.compile(r"^[\p{Katakana}\u30FC\u30FB\uFF70]+$")
_HANGUL = regex.compile(r"\p{Hangul}")
_KATAKANA_CHAR = r"[\p{Katakana}\u30FC\uFF70]"


def fold(text: str) -> str:
    """The form both entries and texts are compared in: NFKC, case-folded."""
    return unicodedata.normalize("NFKC", text).casefold()


def data_files() -> resources.abc.Traversable:
    """The folder of the shipped lists (package data)."""
    folder = resources.files(DATA_PACKAGE)
    for part in DATA_DIR:
        folder = folder / part
    return folder


def available_languages() -> tuple[str, ...]:
    """Codes of the shipped lists, sorted."""
    return tuple(sorted(f.name[:-4] for f in data_files().iterdir() if f.name.endswith(".txt") and not f.name.startswith("LICENSE")))


def read_list(language: str) -> tuple[str, ...]:
    """The raw entries of the shipped list `language` (blank lines and `#` comments skipped)."""
    text = (data_files() / f"{language}.txt").read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#"))


@dataclass(frozen=True)
class Matcher:
    """One or more lists compiled for matching (see the module docstring)."""

    phrases: dict[str, tuple[tuple[str, ...], ...]]  # first word -> entries as word tuples
    korean: frozenset[str]  # one-word Hangul entries that may carry a particle
    substrings: regex.Pattern[str] | None  # unspaced-script and symbol entries
    skipped: tuple[str, ...]  # entries left out (single unspaced characters)

    def find(self, text: str) -> dict[str, int]:
        """Occurrences of each entry in `text` (entries in folded form)."""
        folded = fold(text)
        found: dict[str, int] = {}
        if self.phrases or self.korean:
            tokens = _WORD.findall(folded)
            for i, token in enumerate(tokens):
                for entry in self.phrases.get(token, ()):
                    n = len(entry)
                    if n == 1 or tuple(tokens[i : i + n]) == entry:
                        key = " ".join(entry)
                        found[key] = found.get(key, 0) + 1
                if self.korean and token not in self.phrases and _HANGUL.match(token):
                    for cut in range(1, min(len(token), 4)):
                        stem, particle = token[:-cut], token[-cut:]
                        if stem in self.korean and particle in KOREAN_PARTICLES:
                            found[stem] = found.get(stem, 0) + 1
                            break
        if self.substrings is not None:
            for m in self.substrings.finditer(folded):
                found[m.group(0)] = found.get(m.group(0), 0) + 1
        return found


def compile_entries(entries: list[str] | tuple[str, ...]) -> Matcher:
    """Compile list entries (raw) into a `Matcher`."""
    phrases: dict[str, set[tuple[str, ...]]] = {}
    korean: set[str] = set()
    substrings: set[str] = set()
    skipped: list[str] = []
    for raw in entries:
        entry = fold(raw).strip()
        if not entry:
            continue
        if not _HAS_WORD_CHAR.search(entry):
            substrings.add(entry)
            continue
        if _UNSPACED_CHAR.search(entry):
            compact = " ".join(entry.split())
            if len(compact) < 2:
                skipped.append(raw)
                continue
            substrings.add(compact)
            continue
        tokens = tuple(_WORD.findall(entry))
        if not tokens:
            skipped.append(raw)
            continue
        phrases.setdefault(tokens[0], set()).add(tokens)
        if len(tokens) == 1 and _HANGUL.search(tokens[0]):
            korean.add(tokens[0])
    pattern = None
    if substrings:
        parts = []
        for s in sorted(substrings, key=lambda s: (-len(s), s)):  # longest first
            escaped = regex.escape(s)
            if _KATAKANA_ONLY.match(s):
                escaped = f"(?<!{_KATAKANA_CHAR}){escaped}(?!{_KATAKANA_CHAR})"
            parts.append(escaped)
        pattern = regex.compile("|".join(parts))
    return Matcher(
        phrases={k: tuple(sorted(v, key=lambda t: (-len(t), t))) for k, v in phrases.items()},
        korean=frozenset(korean),
        substrings=pattern,
        skipped=tuple(skipped),
    )


@lru_cache(maxsize=64)
def matcher_for(languages: tuple[str, ...]) -> Matcher:
    """The compiled union of the shipped lists `languages` (cached per process)."""
    entries: list[str] = []
    for language in languages:
        entries.extend(read_list(language))
    return compile_entries(entries)


def list_code(language: str | None) -> str | None:
    """The shipped list for a language label, or None ("und", unknown, no list)."""
    if not language:
        return None
    code = language.replace("_", "-").split("-", 1)[0].lower()
    code = LANGUAGE_ALIASES.get(code, code)
    return code if code in _available() else None


@lru_cache(maxsize=1)
def _available() -> frozenset[str]:
    return frozenset(available_languages())


UNKNOWN_LANGUAGES: frozenset[str] = frozenset({"", "und", "unk", "zxx", "mul", "mis"})


def lists_for(language: str | None, script: str | None, text: str) -> tuple[str, ...]:
    """The lists that score a document: its language's; for an unknown language (None, "und")
    the fallback of its script; none for a known language without a list (another language's
    list would flag its ordinary words: Vietnamese "mong", hope, is an English slur)."""
    code = list_code(language)
    if code is not None:
        return (code,)
    if language is not None and language.lower() not in UNKNOWN_LANGUAGES:
        return ()
    return SCRIPT_FALLBACK.get(script or detect_script(text), ())


@dataclass(frozen=True)
class ContentScore:
    terms: int  # distinct entries found
    hits: int  # occurrences
    words: int
    matched: tuple[str, ...]  # the distinct entries, sorted

    @property
    def per_1000_words(self) -> float:
        return 1000.0 * self.hits / self.words if self.words else 0.0


def score_text(text: str, lists: tuple[str, ...], script: str | None = None) -> ContentScore | None:
    """Score `text` against the shipped `lists` (None when `lists` is empty)."""
    if not lists:
        return None
    found = matcher_for(tuple(sorted(set(lists)))).find(text)
    script = script or detect_script(text)
    return ContentScore(
        terms=len(found), hits=sum(found.values()), words=len(words(text, script)), matched=tuple(sorted(found))
    )


def verdict(score: ContentScore, max_terms: int | None, max_per_1000_words: float | None) -> Drop | None:
    """The drop a score earns (None: keep): more than `max_terms` distinct entries AND more than
    `max_per_1000_words` occurrences per 1,000 words; a None threshold is no condition, both
    None never drop. See `HarmfulContent`."""
    if max_terms is None and max_per_1000_words is None:
        return None
    rate = score.per_1000_words
    if max_terms is not None and score.terms <= max_terms:
        return None
    if max_per_1000_words is not None and rate <= max_per_1000_words:
        return None
    matched = ",".join(score.matched[:10])
    return Drop("harmful_terms", f"terms={score.terms}>{max_terms} per_1000_words={rate:.1f}>{max_per_1000_words} matched={matched}")


@step("harmful_content")
class HarmfulContent:
    """Score a document for sexual, obscene and hateful terms of its language's list (LDNOOBW);
    see the module docstring for the lists, the matching and the fallback for `und`.

    Keeps every document it cannot score (no list for its language or script) unchanged, and
    every scored document at or under both thresholds, with the signals `harmful_terms`,
    `harmful_hits` and `harmful_per_1000_words`.

    Drops:
      * `harmful_terms`: more than `max_terms` distinct listed entries (default 1) AND more
        than `max_per_1000_words` occurrences per 1,000 words (default 2.0); a threshold set to
        null is no condition. Source of the defaults: benchmarks/results/content.md, where
        they drop 0.4 % of ~3,600 clean documents (wiki, books, UDHR, manuals, hand-checked
        web pages; at most 1.4 % in any language with 20+ documents) and catch the same adult
        pages as C4's rule, which is `max_terms: 0, max_per_1000_words: null` (any listed
        word) and drops 8.4 % of the same clean text.
    A dropped document's `Drop` carries the same signals, so in annotate mode the flagged
    document keeps its scores.
    """

    def __init__(
        self,
        *,
        max_terms: int | None = 1,
        max_per_1000_words: float | None = 2.0,
        extra_languages: list[str] | None = None,
    ) -> None:
        if max_terms is not None and max_terms < 0:
            raise ValueError("harmful_content: max_terms must be >= 0 or null")
        if max_per_1000_words is not None and max_per_1000_words < 0:
            raise ValueError("harmful_content: max_per_1000_words must be >= 0 or null")
        extra = tuple(extra_languages or ())
        unknown = [x for x in extra if list_code(x) is None]
        if unknown:
            raise ValueError(f"harmful_content: no shipped list for {unknown}; lists: {', '.join(available_languages())}")
        self.max_terms = max_terms
        self.max_per_1000_words = max_per_1000_words
        self.extra = tuple(list_code(x) or x for x in extra)

    def setup(self) -> None:
        """Compile the extra lists once (the per-language ones compile on first use)."""
        if self.extra:
            matcher_for(tuple(sorted(set(self.extra))))

    def score(self, doc: Document) -> ContentScore | None:
        script = doc.script or detect_script(doc.text)
        lists = lists_for(doc.language, script, doc.text)
        if not lists:
            return None
        return score_text(doc.text, lists + self.extra, script)

    def __call__(self, doc: Document) -> Document | Drop:
        result = self.score(doc)
        if result is None:
            return doc
        signals = (
            Signal("harmful_terms", float(result.terms)),
            Signal("harmful_hits", float(result.hits)),
            Signal("harmful_per_1000_words", round(result.per_1000_words, 3)),
        )
        drop = verdict(result, self.max_terms, self.max_per_1000_words)
        if drop is not None:
            return Drop(drop.reason, drop.detail, signals)
        for s in signals:
            doc = doc.with_signal(s.name, s.value)
        return doc
