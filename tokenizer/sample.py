"""A seeded, balanced, bounded sample of corpus text for tokenizer training.

Two streaming passes over the corpus shards (Parquet, `schemas.document.DOCUMENT_SCHEMA`),
one record batch at a time, never a copy of the corpus:

1. `plan_sample` reads `id`, `text`, `source`, `language`, counts characters per group and
   keeps, per group, the documents with the smallest `rank(seed, id)` whose characters add up
   to the largest budget the group could get (`max_chars`). Memory: two integers per kept
   document, at most ~`max_chars / mean document length` per group.
2. `iter_training_lines` reads the shards again and yields the lines of the chosen
   documents, counting what was actually sampled.

The choice depends only on (seed, id, text length, group): the same corpus in any file order
or sharding gives the same sample (the order of lines follows the files).
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from corpusmill.schemas import outputs
from corpusmill.tokenizer.config import SamplingConfig

UNKNOWN_LANGUAGE = "und"
READ_COLUMNS = ["id", "text", "source", "language"]
BATCH_ROWS = 1024


def doc_rank(seed: int, doc_id: str) -> int:
    """A 64-bit rank, uniform over ids, that changes with the seed."""
    h = hashlib.blake2b(digest_size=8, key=str(seed).encode())
    h.update(doc_id.encode("utf-8", "surrogatepass"))
    return int.from_bytes(h.digest(), "big")


def group_of(source: str | None, language: str | None, balance_by: str) -> str:
    lang = language or UNKNOWN_LANGUAGE
    src = source or "unknown"
    if balance_by == "language":
        return lang
    if balance_by == "source":
        return src
    return f"{src}/{lang}"


def iter_corpus_batches(files: Sequence[str], columns: Sequence[str] = READ_COLUMNS) -> Iterator[dict[str, list]]:
    """The requested columns of every shard, one record batch (<= BATCH_ROWS rows) at a time.

    A column missing from a shard's schema comes back as None values (e.g. `language` when
    language ID did not run)."""
    for path in files:
        pf = outputs.parquet_file(path)
        present = [c for c in columns if c in pf.schema_arrow.names]
        for batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=present):
            data = batch.to_pydict()
            for c in columns:
                if c not in data:
                    data[c] = [None] * batch.num_rows
            yield data


def split_lines(text: str, max_chars: int, min_chars: int = 1) -> Iterator[str]:
    """Training lines of a document: its non-blank lines, a line longer than `max_chars` cut
    at the last whitespace before the limit (or at the limit when there is none).
    SentencePiece skips lines over `max_sentence_length` bytes; 4 * max_chars stays under it."""
    for line in text.splitlines():
        line = line.strip()
        while len(line) > max_chars:
            cut = line.rfind(" ", max_chars // 2, max_chars)
            if cut <= 0:
                cut = max_chars
            head, line = line[:cut].strip(), line[cut:].strip()
            if len(head) >= min_chars:
                yield head
        if len(line) >= min_chars:
            yield line


@dataclass
class GroupStats:
    available_docs: int = 0
    available_chars: int = 0
    budget_chars: int = 0
    sampled_docs: int = 0
    sampled_chars: int = 0
    sampled_lines: int = 0


@dataclass
class SamplePlan:
    """The documents chosen for training (by rank) and the per-group accounting."""

    seed: int
    config: SamplingConfig
    selected: set[int] = field(default_factory=set)
    groups: dict[str, GroupStats] = field(default_factory=dict)
    by_source: dict[str, dict[str, int]] = field(default_factory=dict)  # sampled docs/chars/lines
    by_language: dict[str, dict[str, int]] = field(default_factory=dict)
    truncated: bool = False  # input_sentence_size was reached before the sample ended

    def mix(self) -> dict:
        """The sample per group as JSON-able data (goes to tokenizer_config.json)."""
        return {
            "balance_by": self.config.balance_by,
            "temperature": self.config.temperature,
            "weights": dict(self.config.weights),
            "seed": self.seed,
            "truncated_at_input_sentence_size": self.truncated,
            "groups": {g: vars(s).copy() for g, s in sorted(self.groups.items())},
            "by_source": {k: dict(v) for k, v in sorted(self.by_source.items())},
            "by_language": {k: dict(v) for k, v in sorted(self.by_language.items())},
            "total_sampled_chars": sum(s.sampled_chars for s in self.groups.values()),
            "total_sampled_docs": sum(s.sampled_docs for s in self.groups.values()),
            "total_sampled_lines": sum(s.sampled_lines for s in self.groups.values()),
        }


def allocate_budgets(available: dict[str, int], config: SamplingConfig) -> dict[str, int]:
    """Characters per group: total `max_chars` split by `(chars * weight) ** (1/temperature)`,
    capped at what a group has, the excess given to the uncapped groups (water filling)."""
    share = {
        g: (n * config.weights.get(g, 1.0)) ** (1.0 / config.temperature) if n > 0 else 0.0
        for g, n in available.items()
    }
    budget: dict[str, int] = {g: 0 for g in available}
    open_groups = {g for g, s in share.items() if s > 0}
    remaining = config.max_chars
    while open_groups and remaining > 0:
        total = sum(share[g] for g in open_groups)
        capped = {g for g in open_groups if remaining * share[g] / total >= available[g]}
        if not capped:
            for g in open_groups:
                budget[g] = int(remaining * share[g] / total)
            break
        for g in capped:
            budget[g] = available[g]
            remaining -= available[g]
        open_groups -= capped
    return budget


def plan_sample(files: Sequence[str], config: SamplingConfig, seed: int) -> SamplePlan:
    """Pass 1: choose the documents (see the module docstring)."""
    cap_doc = config.max_chars_per_document
    heaps: dict[str, list[tuple[int, int]]] = {}  # group -> max-heap of (-rank, chars)
    held: dict[str, int] = {}
    groups: dict[str, GroupStats] = {}
    for batch in iter_corpus_batches(files):
        for doc_id, text, source, language in zip(batch["id"], batch["text"], batch["source"], batch["language"]):
            if not text:
                continue
            g = group_of(source, language, config.balance_by)
            n = min(len(text), cap_doc)
            st = groups.setdefault(g, GroupStats())
            st.available_docs += 1
            st.available_chars += n
            heap = heaps.setdefault(g, [])
            heapq.heappush(heap, (-doc_rank(seed, doc_id), n))
            held[g] = held.get(g, 0) + n
            # drop the largest rank while the rest still fills the largest possible budget
            while held[g] - heap[0][1] >= config.max_chars:
                held[g] -= heapq.heappop(heap)[1]
    budgets = allocate_budgets({g: s.available_chars for g, s in groups.items()}, config)
    plan = SamplePlan(seed=seed, config=config, groups=groups)
    for g, heap in heaps.items():
        groups[g].budget_chars = budgets[g]
        used = 0
        for neg_rank, n in sorted(heap, reverse=True):  # ascending rank
            if used >= budgets[g]:
                break
            plan.selected.add(-neg_rank)
            used += n
    return plan


def iter_training_lines(files: Sequence[str], plan: SamplePlan) -> Iterator[str]:
    """Pass 2: the lines of the chosen documents, at most `input_sentence_size` of them.
    Updates `plan.groups[*].sampled_*` as it goes."""
    cfg = plan.config
    lines_left = cfg.input_sentence_size
    for batch in iter_corpus_batches(files):
        for doc_id, text, source, language in zip(batch["id"], batch["text"], batch["source"], batch["language"]):
            if not text or doc_rank(plan.seed, doc_id) not in plan.selected:
                continue
            st = plan.groups[group_of(source, language, cfg.balance_by)]
            text = text[: cfg.max_chars_per_document]
            counters = [
                plan.by_source.setdefault(source or "unknown", {"docs": 0, "chars": 0, "lines": 0}),
                plan.by_language.setdefault(language or UNKNOWN_LANGUAGE, {"docs": 0, "chars": 0, "lines": 0}),
            ]
            st.sampled_docs += 1
            st.sampled_chars += len(text)
            for c in counters:
                c["docs"] += 1
                c["chars"] += len(text)
            for line in split_lines(text, cfg.max_sentence_chars, cfg.min_sentence_chars):
                if lines_left <= 0:
                    plan.truncated = True
                    return
                st.sampled_lines += 1
                for c in counters:
                    c["lines"] += 1
                lines_left -= 1
                yield line


__all__ = [
    "GroupStats",
    "SamplePlan",
    "allocate_budgets",
    "doc_rank",
    "group_of",
    "iter_corpus_batches",
    "iter_training_lines",
    "plan_sample",
    "split_lines",
]
