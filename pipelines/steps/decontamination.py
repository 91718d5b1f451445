"""Benchmark decontamination: `decontamination` rejects (or, in annotate mode, flags) documents
that share a word n-gram with an evaluation set.

Method (GPT-3, Brown et al. 2020, appendix C): text is normalised (lowercased, punctuation
removed, split into words) and a training document is contaminated when it contains any
13-gram of a benchmark example. GPT-3 lowered N for benchmarks with short examples (never below
8 words); here that is per item:

  * an eval string of at least `n` words contributes all its `n`-grams;
  * a string of `min_item_words` (default 8) to `n - 1` words contributes itself, whole, as one
    shorter n-gram (so a 9-word question still counts);
  * a string shorter than `min_item_words` is ignored: answers such as "Paris" or "True"
    occur everywhere and would reject innocent documents.

Each string of an eval record is a separate item (fields are not concatenated: "question" +
"answer" never occur glued together in a document in that order). Han, kana characters are
words of their own (CJK text has no spaces); other unsegmented scripts (Thai, Lao, Khmer) count
one word per run of letters, so n-grams there are coarse.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from corpusmill.pipelines.steps.registry import step
from corpusmill.schemas.document import Document, Drop

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# A word: one Han/kana character, or a run of letters/digits of any other script.
_WORD = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+")


def normalize_words(text: str) -> list[str]:
    """Lowercase words of `text`, punctuation and underscores removed."""
    return _WORD.findall(text.lower())


def iter_grams(words: list[str], length: int) -> Iterator[tuple[str, ...]]:
    """All `length`-word windows of `words`, as tuples."""
    return zip(*(words[k:] for k in range(length)))


def iter_strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value: the value itself, items of lists, values of objects."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from iter_strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from iter_strings(item)


def iter_eval_items(path: str | Path, fields: list[str] | None = None) -> Iterator[str]:
    """The strings of a JSONL eval set: of the listed top-level `fields` (all fields when None).

    Gzip-compressed files are detected by their magic bytes. A line that is not JSON raises
    ValueError with `path:line` (a broken eval set is a configuration error)."""
    with open(path, "rb") as raw:
        gz = raw.read(2) == b"\x1f\x8b"
    opener = gzip.open if gz else open
    with opener(path, "rt", encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{lineno}: not a JSON line ({e.msg})") from None
            if fields is not None and isinstance(record, dict):
                for name in fields:
                    if name in record:
                        yield from iter_strings(record[name])
            else:
                yield from iter_strings(record)


def item_grams(words: list[str], n: int, min_item_words: int) -> Iterator[tuple[str, ...]]:
    """The n-grams one eval item contributes (see the module docstring)."""
    if len(words) >= n:
        yield from iter_grams(words, n)
    elif len(words) >= min_item_words:
        yield tuple(words)


@step("decontamination")
class Decontamination:
    """Drop documents sharing a word n-gram with user-provided evaluation sets.

    Params: `eval_sets` (JSONL paths, optionally gzip), `fields` (top-level keys to read, e.g.
    ["question", "choices", "answer", "prompt", "canonical_solution"]; None = every string
    value, strings inside lists and objects included), `n` (default 13, GPT-3),
    `min_item_words` (default 8, GPT-3's smallest N), `min_matches` (distinct matching
    n-grams needed to reject; default 1, as GPT-3).

    Drops:
      * `benchmark_overlap`: at least `min_matches` distinct n-grams of the document are
        n-grams of an eval item. Detail: the eval file of the first match, the number of
        distinct matches and the first matching n-gram, e.g.
        `eval=mmlu.jsonl matches=3 ngram='the quick brown ...'`.

    The eval n-grams are hashed into one table at `setup()`, once per worker: Python's 64-bit
    tuple hash, fast because word strings cache their hash. It is salted per process, but
    the table and the lookups live in the same process; a false match needs a 64-bit
    collision (about 1e-19 per lookup for a million-gram table), so verdicts are
    reproducible in practice.
    """

    def __init__(
        self,
        *,
        eval_sets: list[str],
        fields: list[str] | None = None,
        n: int = 13,
        min_item_words: int = 8,
        min_matches: int = 1,
    ) -> None:
        if not eval_sets:
            raise ValueError("decontamination: eval_sets is empty")
        if n < 1 or not 1 <= min_item_words <= n or min_matches < 1:
            raise ValueError("decontamination: need n >= 1, 1 <= min_item_words <= n, min_matches >= 1")
        self.eval_sets = list(eval_sets)
        self.fields = list(fields) if fields is not None else None
        self.n = n
        self.min_item_words = min_item_words
        self.min_matches = min_matches
        self._table: dict[int, int] | None = None  # gram hash -> index of its (first) eval file
        self._lengths: tuple[int, ...] = ()  # gram lengths present, longest first

    def setup(self) -> None:
        """Read the eval sets and hash their n-grams (once)."""
        if self._table is not None:
            return
        table: dict[int, int] = {}
        lengths: set[int] = set()
        for index, path in enumerate(self.eval_sets):
            for item in iter_eval_items(path, self.fields):
                for gram in item_grams(normalize_words(item), self.n, self.min_item_words):
                    table.setdefault(hash(gram), index)
                    lengths.add(len(gram))
        if not table:
            raise ValueError(
                f"decontamination: no item of {self.eval_sets} has >= {self.min_item_words} words"
                f" in fields {self.fields or 'all'}"
            )
        self._table = table
        self._lengths = tuple(sorted(lengths, reverse=True))

    @property
    def size(self) -> int:
        """Number of distinct eval n-grams (after setup)."""
        return len(self._table or {})

    def __call__(self, doc: Document) -> Document | Drop:
        if self._table is None:
            self.setup()
        table = self._table
        assert table is not None
        words = normalize_words(doc.text)
        matched: set[int] = set()
        first: tuple[int, tuple[str, ...]] | None = None
        for length in self._lengths:
            for gram in iter_grams(words, length):
                h = hash(gram)
                if h in table and h not in matched:
                    matched.add(h)
                    if first is None:
                        first = (table[h], gram)
        if first is None or len(matched) < self.min_matches:
            return doc
        name = Path(self.eval_sets[first[0]]).name
        shown = " ".join(first[1])
        if len(shown) > 80:
            shown = shown[:77] + "..."
        return Drop("benchmark_overlap", f"eval={name} matches={len(matched)} ngram={shown!r}")
