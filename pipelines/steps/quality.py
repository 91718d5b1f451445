"""Heuristic quality steps: Gopher quality and repetition, C4 line cleaning, FineWeb's rules.

Four steps, each a small class (the thresholds are resolved once per language/script):

* `gopher_quality`    Rae et al. 2021 ("Scaling Language Models: Methods, Analysis & Insights
                      from Training Gopher"), appendix A.1.1 "quality filters".
* `gopher_repetition` the same paper, table A1 (repetition removal).
* `c4_quality`        Raffel et al. 2020 ("Exploring the Limits of Transfer Learning", sec.
                      2.2), as implemented by TFDS `c4_utils.clean_page`; thresholds follow
                      the paper (3 words per line, 5 sentences per page), not the TFDS code
                      constants (5 words, 3 sentences). It changes the text (drops lines).
* `fineweb_quality`   Penedo et al. 2024 ("The FineWeb Datasets"), datatrove's
                      FineWebQualityFilter defaults.

Words are counted with a segmentation that suits the document's script
(`pipelines.steps.text.words`): jieba for Chinese, script runs for Japanese, whitespace for
spaced scripts. `doc.script` / `doc.language` come from the `language` step; without it the
script is detected from the text and the stop-word check is skipped (no language known).

Per-language and per-script thresholds: every step takes `overrides`, a mapping from a
language code ("zh") or an ISO 15924 script code ("Hani") to parameter values. A script
entry applies to documents in that script, a language entry to documents in that language
and wins over the script entry. Each step has built-in script overrides
(`DEFAULT_OVERRIDES`, documented on the step) for rules whose thresholds are defined in
characters of space-delimited words; the user's `overrides` are merged over them key by key.

Drops carry the measured value and the threshold in `Drop.detail` ("words=12<50"), so
annotate mode shows why. With `record_signals=True`, a kept document also gets its measured
values as signals (`gopher_words`, ...), for tuning thresholds on a sample.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import operator
import re
from collections.abc import Iterable
from collections import Counter

import regex
from typing import Any

from corpusmill.pipelines.steps.registry import step
from corpusmill.pipelines.steps.text import (
    SCRIPT_TERMINAL_MARKS,
    TERMINAL_PUNCTUATION,
    UNSPACED_SCRIPTS,
    count_sentences,
    count_words,
    detect_script,
    ends_with_marks,
    ends_with_terminal_punctuation,
    non_ascii,
    nonempty_lines,
    stop_word_count,
    words,
)
from corpusmill.schemas.document import Document, Drop

Overrides = dict[str, dict[str, Any]]


class _Thresholds:
    """Resolves a step's parameters for one (language, script): base < script < language."""

    def __init__(self, step_name: str, base: dict[str, Any], defaults: Overrides, overrides: Overrides | None) -> None:
        merged: Overrides = {key: dict(values) for key, values in defaults.items()}
        for key, values in (overrides or {}).items():
            if not isinstance(values, dict):
                raise ValueError(f"{step_name}: overrides[{key!r}] must be a mapping of parameters")
            unknown = sorted(set(values) - set(base))
            if unknown:
                raise ValueError(f"{step_name}: overrides[{key!r}] has unknown parameters {unknown}")
            merged.setdefault(str(key), {}).update(values)
        self.base = base
        self.overrides = merged
        self._cache: dict[tuple[str | None, str], dict[str, Any]] = {}

    def get(self, language: str | None, script: str) -> dict[str, Any]:
        key = (language, script)
        found = self._cache.get(key)
        if found is None:
            found = {**self.base, **self.overrides.get(script, {})}
            if language is not None:
                found.update(self.overrides.get(language, {}))
            self._cache[key] = found
        return found


def _script_of(doc: Document) -> str:
    return doc.script or detect_script(doc.text)


def _with_signals(doc: Document, values: dict[str, float]) -> Document:
    for name, value in values.items():
        doc = doc.with_signal(name, value)
    return doc


# ---------------------------------------------------------------------------------------------
# Gopher quality

BULLETS: tuple[str, ...] = ("•", "‣", "●", "○", "◦", "▪", "▫", "■", "□", "►", "▶", "➢", "→", "·", "-", "–", "—", "*")
ELLIPSES: tuple[str, ...] = ("...", "…")
# Punctuation and symbols; combining marks (Devanagari vowel signs, Arabic and Hebrew points)
# are part of their words.
_SYMBOL_RUN = regex.compile(r"[^\w\s\p{M}]+")
_LETTER = re.compile(r"[^\W\d_]")
_LETTER_OR_DIGIT = re.compile(r"[^\W_]")


def alpha_word_counts(ws: tuple[str, ...]) -> tuple[int, int]:
    """(words containing a letter, words containing a letter or digit). Tokens of punctuation
    only (a spaced dash, French " : " and « », a "|" separator) are typography, not words."""
    # Most words are letters only (str.isalpha, a C-level pass); the regexes see the rest.
    no_letter = list(itertools.filterfalse(_LETTER.search, itertools.filterfalse(str.isalpha, ws)))
    alpha = len(ws) - len(no_letter)
    return alpha, alpha + sum(1 for _ in filter(_LETTER_OR_DIGIT.search, no_letter))


# The ASCII characters `_SYMBOL_RUN` matches, as bytes to delete: the ASCII symbols of a text
# are counted in one C-level pass over its UTF-8 bytes (the bytes of other characters are
# >= 0x80), the regex sees only the non-ASCII characters (`non_ascii`).
_ASCII_SYMBOLS = bytes(b for b in range(128) if _SYMBOL_RUN.fullmatch(chr(b)))


def symbol_chars(text: str) -> int:
    """Number of punctuation and symbol characters of `text` (those of `_SYMBOL_RUN`: not a
    word character, whitespace or combining mark)."""
    raw = text.encode("utf-8", "surrogatepass")
    n = len(raw) - len(raw.translate(None, _ASCII_SYMBOLS))
    if not text.isascii():
        n += sum(map(len, _SYMBOL_RUN.findall(non_ascii(raw))))
    return n


@step("gopher_quality")
class GopherQuality:
    """Gopher's document quality rules (Rae et al. 2021, appendix A.1.1).

    Words are the script-aware tokens (`text.words`: whitespace tokens for spaced scripts, as
    Gopher splits) that contain a letter or a digit: a token of punctuation only (a spaced
    dash "—", French " : " or « », a "|" separator) is typography, not a word. Without this,
    Russian/Ukrainian prose (spaced dashes) and French (spaced colons, guillemets) lose a few
    percent of "alphabetic words" for their typography alone.
    Keeps a document that passes all of:
      words in [min_words 50, max_words 100,000]; mean word length (letters and digits per
      word, punctuation not counted) in [min_mean_word_length 3, max_mean_word_length 10];
      `#` per word <= max_hash_ratio 0.1; ellipses ("..." or "…") per word <=
      max_ellipsis_ratio 0.1; lines starting with a bullet <= max_bullet_lines_ratio 0.9;
      lines ending with an ellipsis <= max_ellipsis_lines_ratio 0.3; words containing a
      letter >= min_alpha_words_ratio 0.8; stop words >= min_stop_words 2 (Gopher's English
      list "the, be, to, of, and, that, have, with"; other languages: `stopwords.py`; skipped
      when the language is unknown, has no list, or its list is in another script than the
      text, i.e. the language label is wrong for it; see `text.stop_word_count`).
    Drops (first failing rule): `too_few_words`, `too_many_words`, `mean_word_length`,
      `too_many_hashes`, `too_many_ellipses`, `too_many_bullet_lines`,
      `too_many_ellipsis_lines`, `too_few_alpha_words`, `too_few_stop_words`.
    Built-in script overrides (the word length bounds are Gopher's, measured in letters of an
    alphabet, and mean something else in other kinds of script):
      * Han and Japanese words (jieba / script runs) are 1-3 characters long: range [1, 6];
      * pseudo-words of Thai, Lao, Khmer, Myanmar, Tibetan are at most 4 characters, of Yi
        at most 2: range [1, 10];
      * syllabic scripts, where one character writes a whole syllable (consonant + vowel, two
        letters of an alphabet): Hangul syllable blocks, Ethiopic, Cherokee, Canadian
        syllabics, Vai. Gopher's minimum of 3 letters is 1.5 syllables: range [1.5, 10].
        The maximum stays: polysynthetic languages written in syllabics reach ~10 syllables
        per word (Inuktitut UDHR 9.1-9.8), and junk without spaces runs far longer. Measured
        on UDHR: Korean 2.99-3.06, Amharic 3.1-3.4, Vai 1.7-1.9 characters per word;
      * scripts of the Dravidian languages (Tamil, Telugu, Kannada, Malayalam), which are
        agglutinative (case endings, postpositions and auxiliaries are written into the
        word): range [3, 15]. Measured on UDHR: Tamil 9.3-10.0, Malayalam 11.6-13.5.
    """

    DEFAULT_OVERRIDES: Overrides = {
        "Hani": {"min_mean_word_length": 1.0, "max_mean_word_length": 6.0},
        "Jpan": {"min_mean_word_length": 1.0, "max_mean_word_length": 6.0},
        **{s: {"min_mean_word_length": 1.0} for s in ("Thai", "Laoo", "Khmr", "Mymr", "Tibt", "Yiii")},
        **{s: {"min_mean_word_length": 1.5} for s in ("Hang", "Ethi", "Cher", "Cans", "Vaii")},
        **{s: {"max_mean_word_length": 15.0} for s in ("Taml", "Telu", "Knda", "Mlym")},
    }

    def __init__(
        self,
        *,
        min_words: int = 50,
        max_words: int = 100_000,
        min_mean_word_length: float = 3.0,
        max_mean_word_length: float = 10.0,
        max_hash_ratio: float = 0.1,
        max_ellipsis_ratio: float = 0.1,
        max_bullet_lines_ratio: float = 0.9,
        max_ellipsis_lines_ratio: float = 0.3,
        min_alpha_words_ratio: float = 0.8,
        min_stop_words: int = 2,
        overrides: Overrides | None = None,
        record_signals: bool = False,
    ) -> None:
        base = dict(locals())
        for k in ("self", "overrides", "record_signals", "__class__"):
            base.pop(k, None)
        self.thresholds = _Thresholds("gopher_quality", base, self.DEFAULT_OVERRIDES, overrides)
        self.record_signals = record_signals

    def __call__(self, doc: Document) -> Document | Drop:
        text = doc.text
        script = _script_of(doc)
        t = self.thresholds.get(doc.language, script)
        ws = words(text, script)
        n_alpha, n = alpha_word_counts(ws)
        if n < t["min_words"]:
            return Drop("too_few_words", f"words={n}<{t['min_words']}")
        if n > t["max_words"]:
            return Drop("too_many_words", f"words={n}>{t['max_words']}")
        word_chars = sum(map(len, ws)) - symbol_chars(text)
        mean = word_chars / max(1, n)
        if not t["min_mean_word_length"] <= mean <= t["max_mean_word_length"]:
            lo, hi = t["min_mean_word_length"], t["max_mean_word_length"]
            return Drop("mean_word_length", f"mean_word_length={mean:.2f} not in [{lo}, {hi}]")
        hashes = text.count("#") / n
        if hashes > t["max_hash_ratio"]:
            return Drop("too_many_hashes", f"hash_ratio={hashes:.3f}>{t['max_hash_ratio']}")
        ellipses = (text.count("...") + text.count("…")) / n
        if ellipses > t["max_ellipsis_ratio"]:
            return Drop("too_many_ellipses", f"ellipsis_ratio={ellipses:.3f}>{t['max_ellipsis_ratio']}")
        lines = nonempty_lines(text)
        n_lines = max(1, len(lines))
        bullets = sum(1 for line in lines if line.startswith(BULLETS)) / n_lines
        if bullets > t["max_bullet_lines_ratio"]:
            return Drop("too_many_bullet_lines", f"bullet_lines={bullets:.3f}>{t['max_bullet_lines_ratio']}")
        ellipsis_lines = sum(1 for line in lines if line.endswith(ELLIPSES)) / n_lines
        if ellipsis_lines > t["max_ellipsis_lines_ratio"]:
            limit = t["max_ellipsis_lines_ratio"]
            return Drop("too_many_ellipsis_lines", f"ellipsis_lines={ellipsis_lines:.3f}>{limit}")
        alpha = n_alpha / n
        if alpha < t["min_alpha_words_ratio"]:
            return Drop("too_few_alpha_words", f"alpha_words={alpha:.3f}<{t['min_alpha_words_ratio']}")
        need = t["min_stop_words"]
        stops = stop_word_count(ws, doc.language, text, limit=None if self.record_signals else need, script=script)
        if stops is not None and stops < need:
            return Drop("too_few_stop_words", f"stop_words={stops}<{need} language={doc.language}")
        if self.record_signals:
            values = {
                "gopher_words": n,
                "gopher_mean_word_length": mean,
                "gopher_hash_ratio": hashes,
                "gopher_ellipsis_ratio": ellipses,
                "gopher_bullet_lines": bullets,
                "gopher_ellipsis_lines": ellipsis_lines,
                "gopher_alpha_words": alpha,
            }
            if stops is not None:
                values["gopher_stop_words"] = stops
            return _with_signals(doc, values)
        return doc


# ---------------------------------------------------------------------------------------------
# Gopher repetition

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def duplicate_stats(items: list[str]) -> tuple[int, int]:
    """(number of items that repeat an earlier one, their characters)."""
    counts = Counter(items)
    if len(counts) == len(items):
        return 0, 0
    return len(items) - len(counts), sum(len(x) * (c - 1) for x, c in counts.items() if c > 1)


def _first_positions(items: list[Any] | tuple[Any, ...]) -> list[int]:
    """For each item, the first position where an equal item occurs (one C-level pass:
    `dict.setdefault` keeps the position an item was first stored at)."""
    first: dict[Any, int] = {}
    return list(map(first.setdefault, items, itertools.count()))


class NgramIds:
    """The repeated word n-grams of a word sequence, for every n, by refinement.

    An n-gram's id is the first position where it starts, so two positions hold the same
    n-gram exactly when their ids are equal, and a position repeats an earlier n-gram exactly
    when its id is not its position. Level n keeps only the positions whose n-gram occurs at
    least twice (every occurrence of a repeated (n + 1)-gram starts with a repeated n-gram),
    and level n + 1 is built from them: the (n + 1)-gram at i is (id of the n-gram at i, id
    of the word at i + n), a pair of ints, whatever n. Prose repeats few long n-grams, so the
    levels shrink fast; the loops are C-level (dict, map, zip, compress)."""

    def __init__(self, ws: tuple[str, ...]) -> None:
        self.n_words = len(ws)
        self.words = ws
        self._levels: dict[int, tuple[list[int], list[Any], Counter[Any]]] = {}
        # Level 1: the words themselves stand for their ids (equal exactly when the words are);
        # `level(1)` replaces them with first positions when asked for.
        self._set_level(1, list(range(len(ws))), list(ws))

    def _set_level(self, n: int, positions: list[int], ids: list[Any]) -> None:
        counts = Counter(ids)
        repeated = list(map((1).__lt__, map(counts.__getitem__, ids)))
        self._levels[n] = (list(itertools.compress(positions, repeated)), list(itertools.compress(ids, repeated)), counts)

    def level(self, n: int) -> tuple[list[int], list[Any], Counter[Any]]:
        """(positions of the n-grams that occur at least twice, their ids, the count of each
        n-gram id among the n-grams built at this level: exact for those occurring twice or more)."""
        if n == 1:
            positions = self._levels[1][0]
            first = _first_positions(self.words)
            return positions, [first[i] for i in positions], Counter(first)
        top = max(self._levels)
        while top < n:
            positions, ids, _ = self._levels[top]
            keep = bisect.bisect_left(positions, self.n_words - top)  # an (n + 1)-gram fits
            positions, ids = positions[:keep], ids[:keep]
            nexts = map(self.words.__getitem__, map(operator.add, positions, itertools.repeat(top)))
            # positions ascend: setdefault keeps the first position of each key
            first_at: dict[tuple[Any, str], int] = {}
            self._set_level(top + 1, positions, list(map(first_at.setdefault, zip(ids, nexts), positions)))
            top += 1
        return self._levels[n]


def _covered_chars(starts: Iterable[int], n: int, n_words: int, lengths: list[int]) -> int:
    """Characters of the words covered by n-grams starting at `starts` (each word once)."""
    covered = bytearray(n_words)
    ones = b"\x01" * n
    for i in starts:
        covered[i : i + n] = ones
    return sum(itertools.compress(lengths, covered))


def top_ngram_fraction(
    ws: tuple[str, ...], lengths: list[int], total: int, n: int, ngram_ids: NgramIds | None = None
) -> float:
    """Characters covered by the occurrences of the most frequent word n-gram (overlapping
    occurrences counted once, so at most 1), over the characters of all words; 0 when no
    n-gram occurs twice (one n-gram is not a repetition). Ties: the n-gram seen first.
    `ngram_ids`: the `NgramIds` of `ws`, shared between calls for several n."""
    if len(ws) < n or total == 0:
        return 0.0
    positions, ids, counts = (ngram_ids or NgramIds(ws)).level(n)
    if not positions:
        return 0.0
    # Counter keeps first-seen (position) order; most_common(1) returns the first of equal counts.
    top, _count = counts.most_common(1)[0]
    starts = itertools.compress(positions, map(top.__eq__, ids))
    return _covered_chars(starts, n, len(ws), lengths) / total


def duplicate_ngram_fraction(
    ws: tuple[str, ...], lengths: list[int], total: int, n: int, ngram_ids: NgramIds | None = None
) -> float:
    """Characters of the words covered by repeats of a word n-gram (an occurrence of an n-gram
    seen earlier in the document; the first occurrence is not a duplicate), each character
    counted once even where repeats overlap, over the characters of all words. The same
    reading of Gopher's rule as datatrove's, without its skip-ahead shortcut.
    `ngram_ids`: the `NgramIds` of `ws`, shared between calls for several n."""
    if len(ws) < n or total == 0:
        return 0.0
    if ngram_ids is None:
        # One n-gram's ids by themselves: the first position of each n-gram (setdefault keeps
        # it), repeats where that is not the position.
        first: dict[tuple[str, ...], int] = {}
        ids = map(first.setdefault, zip(*(ws[k:] for k in range(n))), itertools.count())
        repeats = itertools.compress(itertools.count(), map(operator.ne, ids, itertools.count()))
        return _covered_chars(repeats, n, len(ws), lengths) / total
    positions, ids_n, _ = ngram_ids.level(n)
    if not positions:
        return 0.0
    repeats = itertools.compress(positions, map(operator.ne, ids_n, positions))
    return _covered_chars(repeats, n, len(ws), lengths) / total


def top_ngram_bounds(ws: tuple[str, ...]) -> list[int]:
    """Upper bounds of the characters the most frequent n-gram covers, for n = 1, 2, ...:
    item n - 1 is the sum of the n largest `count * len(word)` over the words occurring
    twice or more (the last item holds for every larger n; empty when no word repeats, and
    then no n-gram does). The covered words of a repeated n-gram are its at most n distinct
    words, each position counted once, so they hold at most that many characters."""
    weights = sorted((c * len(w) for w, c in Counter(ws).items() if c > 1), reverse=True)
    return list(itertools.accumulate(weights))


DEFAULT_TOP_NGRAM_MAX: dict[int, float] = {2: 0.20, 3: 0.18, 4: 0.16}
DEFAULT_DUPLICATE_NGRAM_MAX: dict[int, float] = {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}


@step("gopher_repetition")
class GopherRepetition:
    """Gopher's repetition rules (Rae et al. 2021, table A1).

    Keeps a document with: duplicate lines / lines <= max_duplicate_lines 0.3; duplicate
    paragraphs / paragraphs <= max_duplicate_paragraphs 0.3; characters in duplicate lines /
    characters <= max_duplicate_line_chars 0.2; the same for paragraphs <= 0.2; for n = 2, 3,
    4 the characters of the most frequent word n-gram (times its count) / word characters <=
    0.20, 0.18, 0.16 (`max_top_ngram`); for n = 5..10 the characters covered by repeats of a
    word n-gram (not its first occurrence) / word characters <= 0.15, 0.14, 0.13, 0.12, 0.11, 0.10 (`max_duplicate_ngram`).
    Lines are split on newlines, paragraphs on blank lines; "duplicate" means a repeat of an
    earlier one (the first occurrence is not counted). Words are script-aware (`text.words`).
    Drops: `duplicate_lines`, `duplicate_paragraphs`, `duplicate_line_chars`,
      `duplicate_paragraph_chars`, `top_ngram` (detail names n), `duplicate_ngrams` (ditto).
    Built-in overrides: where the units counted as words are about half a word, the n-gram
    sizes are doubled (2, 3, 4 -> 4, 6, 8 and 5..10 -> 10..20, same thresholds), so an n-gram
    spans about as much text as Gopher's:
      * Japanese (`Jpan`): the script-run segmentation gives 2.5 characters per unit (particles
        and 2-kanji chunks) against 6.4 for Ukrainian words on the same kind of text;
      * Vietnamese (`vi`): its orthography puts a space between syllables, not words (a word
        has one to three syllables).
      Measured on the ja/uk/vi Wikipedia excerpts (articles >= 1,000 characters): the 90th
      percentile of the duplicate 5-gram fraction is 0.063 (ja) and 0.098 (vi) against 0.017
      (uk); with doubled n it is 0.013 and 0.017. Chinese (jieba words) is not inflated
      (Hongloumeng 2,000-character chunks: 0.004) and keeps Gopher's sizes. Signals are then
      named after the doubled n (`gopher_duplicate_10gram`, ...).
    """

    DEFAULT_OVERRIDES: Overrides = {
        key: {
            "max_top_ngram": {2 * n: v for n, v in DEFAULT_TOP_NGRAM_MAX.items()},
            "max_duplicate_ngram": {2 * n: v for n, v in DEFAULT_DUPLICATE_NGRAM_MAX.items()},
        }
        for key in ("Jpan", "vi")
    }

    def __init__(
        self,
        *,
        max_duplicate_lines: float = 0.3,
        max_duplicate_paragraphs: float = 0.3,
        max_duplicate_line_chars: float = 0.2,
        max_duplicate_paragraph_chars: float = 0.2,
        max_top_ngram: dict[int, float] | None = None,
        max_duplicate_ngram: dict[int, float] | None = None,
        overrides: Overrides | None = None,
        record_signals: bool = False,
    ) -> None:
        base: dict[str, Any] = {
            "max_duplicate_lines": max_duplicate_lines,
            "max_duplicate_paragraphs": max_duplicate_paragraphs,
            "max_duplicate_line_chars": max_duplicate_line_chars,
            "max_duplicate_paragraph_chars": max_duplicate_paragraph_chars,
            "max_top_ngram": _ngram_limits(max_top_ngram, DEFAULT_TOP_NGRAM_MAX),
            "max_duplicate_ngram": _ngram_limits(max_duplicate_ngram, DEFAULT_DUPLICATE_NGRAM_MAX),
        }
        if overrides:
            overrides = {
                key: {
                    k: _ngram_limits(v, {}) if k in ("max_top_ngram", "max_duplicate_ngram") else v
                    for k, v in values.items()
                }
                for key, values in overrides.items()
            }
        self.thresholds = _Thresholds("gopher_repetition", base, self.DEFAULT_OVERRIDES, overrides)
        self.record_signals = record_signals

    def __call__(self, doc: Document) -> Document | Drop:
        text = doc.text
        script = _script_of(doc)
        t = self.thresholds.get(doc.language, script)
        values: dict[str, float] = {}
        n_chars = max(1, len(text))

        # the pieces between runs of newlines (str.split leaves empty pieces between them)
        lines = [line for line in text.split("\n") if line.strip()]
        if lines:
            dup, dup_chars = duplicate_stats(lines)
            frac = dup / len(lines)
            if frac > t["max_duplicate_lines"]:
                return Drop("duplicate_lines", f"duplicate_lines={frac:.3f}>{t['max_duplicate_lines']}")
            char_frac = dup_chars / n_chars
            if char_frac > t["max_duplicate_line_chars"]:
                limit = t["max_duplicate_line_chars"]
                return Drop("duplicate_line_chars", f"duplicate_line_chars={char_frac:.3f}>{limit}")
            values.update(gopher_duplicate_lines=frac, gopher_duplicate_line_chars=char_frac)

        paragraphs = [p for p in _PARAGRAPH_BREAK.split(text) if p.strip()]
        if paragraphs:
            dup, dup_chars = duplicate_stats([p.strip() for p in paragraphs])
            frac = dup / len(paragraphs)
            if frac > t["max_duplicate_paragraphs"]:
                limit = t["max_duplicate_paragraphs"]
                return Drop("duplicate_paragraphs", f"duplicate_paragraphs={frac:.3f}>{limit}")
            char_frac = dup_chars / n_chars
            if char_frac > t["max_duplicate_paragraph_chars"]:
                limit = t["max_duplicate_paragraph_chars"]
                return Drop("duplicate_paragraph_chars", f"duplicate_paragraph_chars={char_frac:.3f}>{limit}")
            values.update(gopher_duplicate_paragraphs=frac, gopher_duplicate_paragraph_chars=char_frac)

        ws = words(text, script)
        lengths = list(map(len, ws))
        total = sum(lengths)
        # Without signals only "over the limit or not" matters: a top n-gram whose bound
        # (`top_ngram_bounds`) is within the limit is not measured, and the duplicate n-grams
        # are found directly (`duplicate_ngram_fraction` without `NgramIds`) unless the
        # refinement is built already.
        ngram_ids = NgramIds(ws) if self.record_signals else None
        bounds = None if self.record_signals else top_ngram_bounds(ws)
        for n, limit in t["max_top_ngram"].items():
            if bounds is not None and (bounds[min(n, len(bounds)) - 1] if bounds else 0) / max(1, total) <= limit:
                continue
            if ngram_ids is None:
                ngram_ids = NgramIds(ws)
            frac = top_ngram_fraction(ws, lengths, total, n, ngram_ids)
            if frac > limit:
                return Drop("top_ngram", f"n={n} top_ngram_chars={frac:.3f}>{limit}")
            values[f"gopher_top_{n}gram"] = frac
        # The characters covered by repeats of (n + 1)-grams are a subset of those covered by
        # repeats of n-grams (a repeated (n + 1)-gram at i is a repeated n-gram at i and at
        # i + 1), so the fraction never grows with n: once it is within the limit of every
        # larger n, no larger n can drop the document (with signals, every n is measured).
        for n, limit, later in _with_later_min(t["max_duplicate_ngram"]):
            frac = duplicate_ngram_fraction(ws, lengths, total, n, ngram_ids)
            if frac > limit:
                return Drop("duplicate_ngrams", f"n={n} duplicate_ngram_chars={frac:.3f}>{limit}")
            values[f"gopher_duplicate_{n}gram"] = frac
            if frac == 0.0:  # no repeated n-gram: no repeated longer n-gram either
                break
            if frac <= later and not self.record_signals:
                break
        if self.record_signals:
            return _with_signals(doc, values)
        return doc


def _with_later_min(limits: dict[int, float]) -> list[tuple[int, float, float]]:
    """(n, limit, the least limit of the larger n, inf for the last) for sorted `limits`."""
    key = tuple(limits.items())
    found = _LATER_MIN.get(key)
    if found is None:
        found = [(n, v, min((w for _, w in key[i + 1 :]), default=float("inf"))) for i, (n, v) in enumerate(key)]
        _LATER_MIN[key] = found
    return found


_LATER_MIN: dict[tuple[tuple[int, float], ...], list[tuple[int, float, float]]] = {}


def _ngram_limits(given: dict[Any, float] | None, default: dict[int, float]) -> dict[int, float]:
    limits = dict(default) if given is None else {int(k): float(v) for k, v in given.items()}
    if any(n < 1 for n in limits):
        raise ValueError(f"n-gram sizes must be positive: {sorted(limits)}")
    return dict(sorted(limits.items()))


# ---------------------------------------------------------------------------------------------
# C4

# TFDS c4_utils: _POLICY_SUBSTRINGS.
POLICY_SUBSTRINGS: tuple[str, ...] = (
    "terms of use",
    "privacy policy",
    "cookie policy",
    "uses cookies",
    "use of cookies",
    "use cookies",
)
# Each phrase contains one of these (a C-level substring test before the per-phrase tests).
_POLICY_HINTS: tuple[str, ...] = ("terms of use", "privacy policy", "cookie")
_HINT_0, _HINT_1, _HINT_2 = _POLICY_HINTS


def _has_policy_phrase(lower: str) -> bool:
    """Whether the lower-cased line contains one of `POLICY_SUBSTRINGS`."""
    return (_HINT_0 in lower or _HINT_1 in lower or _HINT_2 in lower) and any(p in lower for p in POLICY_SUBSTRINGS)


# TFDS c4_utils citation pattern (Wikipedia-style "[1]", "[edit]", "[citation needed]").
_CITATION = re.compile(r"\[\d*\]|\[edit\]|\[citation needed\]", re.IGNORECASE)
# C4 keeps lines ending in ".", "?", "!" or '"' (TFDS _END_MARKS); here the multilingual
# terminal marks of `text.TERMINAL_PUNCTUATION` and closing quotes, so a Chinese "。" counts.
C4_END_MARKS: tuple[str, ...] = TERMINAL_PUNCTUATION + ('"', "”", "」", "』", "»")
_C4_END_CHARS = frozenset(m for m in C4_END_MARKS if len(m) == 1)
_C4_END_LONGER = tuple(m for m in C4_END_MARKS if len(m) > 1)


def _c4_line_end(line: str, script: str) -> bool:
    """C4's "ends with a terminal mark or a closing quote", plus the marks of the script
    (`text.SCRIPT_TERMINAL_MARKS`: the Greek question mark)."""
    return ends_with_marks(line, _C4_END_CHARS, _C4_END_LONGER) or line.endswith(SCRIPT_TERMINAL_MARKS.get(script, ()))


@step("c4_quality")
class C4Quality:
    """C4's page cleaning (Raffel et al. 2020, sec. 2.2; TFDS `c4_utils.clean_page`).

    Changes the text: keeps only lines (stripped; citation marks "[1]", "[edit]",
    "[citation needed]" removed when `remove_citations`) that
      * end with a terminal punctuation mark (when `require_terminal_punctuation`, the C4
        default; FineWeb turns it off) and do not end with an ellipsis,
      * have at least `min_words_per_line` 3 words (paper; the TFDS constant is 5),
      * have no word longer than `max_word_length` 1000 characters,
      * do not contain "javascript" (`drop_javascript_lines`),
      * do not contain a cookie/privacy-policy phrase (`drop_policy_lines`; TFDS list).
    Kept lines are joined with "\\n"; a blank line of the input between two kept lines stays.
    Drops the whole page:
      * `lorem_ipsum`: a line that passed the line filters contains "lorem ipsum";
      * `curly_bracket`: such a line contains "{" (code, not prose; `drop_curly_bracket`);
      * `too_few_sentences`: fewer than `min_sentences` 5 sentences are left (paper; TFDS
        constant 3). Sentences by `text.split_sentences` (rules; no NLTK punkt download).
    Words are script-aware (`text.count_words`), so Chinese lines are not one word each.
    Built-in script overrides: Thai and Lao have no sentence punctuation, so lines are not
    required to end with it (sentences there are space-separated, see `text.split_sentences`).
    """

    DEFAULT_OVERRIDES: Overrides = {
        "Thai": {"require_terminal_punctuation": False},
        "Laoo": {"require_terminal_punctuation": False},
    }

    def __init__(
        self,
        *,
        require_terminal_punctuation: bool = True,
        min_words_per_line: int = 3,
        max_word_length: int = 1000,
        min_sentences: int = 5,
        drop_javascript_lines: bool = True,
        drop_policy_lines: bool = True,
        drop_lorem_ipsum: bool = True,
        drop_curly_bracket: bool = True,
        remove_citations: bool = True,
        overrides: Overrides | None = None,
        record_signals: bool = False,
    ) -> None:
        base = dict(locals())
        for k in ("self", "overrides", "record_signals", "__class__"):
            base.pop(k, None)
        self.thresholds = _Thresholds("c4_quality", base, self.DEFAULT_OVERRIDES, overrides)
        self.record_signals = record_signals

    def __call__(self, doc: Document) -> Document | Drop:
        script = _script_of(doc)
        t = self.thresholds.get(doc.language, script)
        kept: list[str] = []
        gap = False
        n_lines = 0
        # the parameters as locals: this loop runs once per line
        remove_citations, require_end = t["remove_citations"], t["require_terminal_punctuation"]
        min_words, max_word_length = t["min_words_per_line"], t["max_word_length"]
        lorem, javascript, curly, policy = (
            t["drop_lorem_ipsum"], t["drop_javascript_lines"], t["drop_curly_bracket"], t["drop_policy_lines"]
        )
        spaced = script not in UNSPACED_SCRIPTS and script != "Ethi"  # count_words is str.split
        for raw in doc.text.split("\n"):
            line = raw.strip()
            if not line:
                gap = True
                continue
            n_lines += 1
            if remove_citations and "[" in line:
                line = _CITATION.sub("", line).strip()
            if require_end and (not _c4_line_end(line, script) or line.endswith(ELLIPSES)):
                continue
            if (len(line.split()) if spaced else count_words(line, script)) < min_words:
                continue
            if len(line) > max_word_length and max(map(len, line.split())) > max_word_length:
                continue
            lower = line.lower()
            if lorem and "lorem ipsum" in lower:
                return Drop("lorem_ipsum", f"line={line[:80]!r}")
            if javascript and "javascript" in lower:
                continue
            if curly and "{" in line:
                return Drop("curly_bracket", f"line={line[:80]!r}")
            if policy and _has_policy_phrase(lower):
                continue
            if kept and gap:
                kept.append("")
            kept.append(line)
            gap = False
        text = "\n".join(kept)
        # Without signals only "at least min_sentences" matters: counting stops there.
        limit = None if self.record_signals else t["min_sentences"]
        n_sentences = count_sentences(text, script, limit) if text else 0
        if n_sentences < t["min_sentences"]:
            return Drop("too_few_sentences", f"sentences={n_sentences}<{t['min_sentences']} lines_kept={len(kept)}")
        if text != doc.text:
            doc = dataclasses.replace(doc, text=text)
        if self.record_signals:
            n_kept = sum(1 for line in kept if line)
            return _with_signals(doc, {"c4_sentences": n_sentences, "c4_lines_kept": n_kept / max(1, n_lines)})
        return doc


# ---------------------------------------------------------------------------------------------
# FineWeb


@step("fineweb_quality")
class FineWebQuality:
    """FineWeb's own rules (Penedo et al. 2024, sec. 3.3; datatrove FineWebQualityFilter).

    Over the non-empty lines of the document, drops when
      * `few_terminal_punctuation_lines`: the share of lines ending in terminal punctuation is
        below `min_terminal_punctuation_lines_ratio` 0.12;
      * `too_many_short_lines`: the share of lines of at most `short_line_length` 30
        characters is above `max_short_lines_ratio` 0.67;
      * `duplicate_line_chars`: characters in lines that repeat an earlier line, over the
        characters of the text without newlines, are above `max_duplicate_line_chars_ratio`
        0.01;
      * `too_many_newlines`: newlines per word above `max_newline_word_ratio` 0.3.
    `empty_text` when there is no line at all.
    Built-in script overrides: a Han or Japanese line carries 2-3 times the content of a Latin
    line of the same length, so a "short line" there is at most 15 characters; Thai and Lao
    have no sentence punctuation, so the terminal-punctuation rule is off for them.
    """

    DEFAULT_OVERRIDES: Overrides = {
        "Hani": {"short_line_length": 15},
        "Jpan": {"short_line_length": 15},
        "Thai": {"min_terminal_punctuation_lines_ratio": 0.0},
        "Laoo": {"min_terminal_punctuation_lines_ratio": 0.0},
    }

    def __init__(
        self,
        *,
        min_terminal_punctuation_lines_ratio: float = 0.12,
        max_short_lines_ratio: float = 0.67,
        short_line_length: int = 30,
        max_duplicate_line_chars_ratio: float = 0.01,
        max_newline_word_ratio: float = 0.3,
        overrides: Overrides | None = None,
        record_signals: bool = False,
    ) -> None:
        base = dict(locals())
        for k in ("self", "overrides", "record_signals", "__class__"):
            base.pop(k, None)
        self.thresholds = _Thresholds("fineweb_quality", base, self.DEFAULT_OVERRIDES, overrides)
        self.record_signals = record_signals

    def __call__(self, doc: Document) -> Document | Drop:
        text = doc.text
        script = _script_of(doc)
        t = self.thresholds.get(doc.language, script)
        lines = nonempty_lines(text)
        if not lines:
            return Drop("empty_text", "no non-empty line")
        n = len(lines)
        punct = sum(1 for line in lines if ends_with_terminal_punctuation(line, script)) / n
        if punct < t["min_terminal_punctuation_lines_ratio"]:
            limit = t["min_terminal_punctuation_lines_ratio"]
            return Drop("few_terminal_punctuation_lines", f"terminal_punctuation_lines={punct:.3f}<{limit}")
        short_len = t["short_line_length"]
        short = sum(1 for line in lines if len(line) <= short_len) / n
        if short > t["max_short_lines_ratio"]:
            return Drop("too_many_short_lines", f"short_lines={short:.3f}>{t['max_short_lines_ratio']}")
        _, dup_chars = duplicate_stats(lines)
        dup = dup_chars / max(1, len(text) - text.count("\n"))
        if dup > t["max_duplicate_line_chars_ratio"]:
            limit = t["max_duplicate_line_chars_ratio"]
            return Drop("duplicate_line_chars", f"duplicate_line_chars={dup:.3f}>{limit}")
        n_words = len(words(text, script))
        newline_ratio = text.count("\n") / max(1, n_words)
        if newline_ratio > t["max_newline_word_ratio"]:
            limit = t["max_newline_word_ratio"]
            return Drop("too_many_newlines", f"newlines_per_word={newline_ratio:.3f}>{limit}")
        if self.record_signals:
            values = {
                "fineweb_terminal_punctuation_lines": punct,
                "fineweb_short_lines": short,
                "fineweb_duplicate_line_chars": dup,
                "fineweb_newlines_per_word": newline_ratio,
            }
            return _with_signals(doc, values)
        return doc


__all__ = [
    "BULLETS",
    "C4Quality",
    "FineWebQuality",
    "GopherQuality",
    "GopherRepetition",
    "NgramIds",
    "POLICY_SUBSTRINGS",
    "duplicate_ngram_fraction",
    "duplicate_stats",
    "top_ngram_bounds",
    "top_ngram_fraction",
]
