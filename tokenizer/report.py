"""How well a tokenizer fits the corpus, per language and per source, optionally beside a
baseline tokenizer (a SentencePiece `.model` or a Hugging Face `tokenizer.json`).

Sample: per group (language, and separately source), the `max_docs_per_group` documents with
the smallest `rank(seed, id)`, each cut at `max_chars_per_doc` characters; one streaming pass.

Metrics per group and tokenizer:
- fertility: tokens per word, where words are `\\w+` runs; for text written without spaces
  (more than half of its letters Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar or
  Tibetan) tokens per non-space character instead (`fertility_unit` says which)
- tokens_per_word, tokens_per_char, bytes_per_token (UTF-8 bytes of the text / tokens)
- byte_fallback_rate: share of tokens that are byte pieces (`<0xNN>`) other than those for
  tab, newline and carriage return (with the default settings a newline is always its byte
  piece, since training lines hold no newlines); unk_rate: share of unknown tokens
- vocab_used: distinct token ids seen in the group
and `vocab_usage`: distinct ids over the whole sample / vocabulary size.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Sequence
from typing import Any

import regex
import sentencepiece as spm
from tokenizers import Tokenizer

from corpusmill.schemas import outputs
from corpusmill.tokenizer.sample import UNKNOWN_LANGUAGE, doc_rank, iter_corpus_batches

WORD = regex.compile(r"\w+")
LETTER = regex.compile(r"\p{L}")
CONTINUA = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}\p{Tibetan}]")
BYTE_PIECE = re.compile(r"^<0x[0-9A-Fa-f]{2}>$")
SPACE = regex.compile(r"\s")
WHITESPACE_BYTES = {"<0x09>", "<0x0A>", "<0x0D>"}


class LoadedTokenizer:
    """A SentencePiece model or a `tokenizer.json`, behind one small interface."""

    def __init__(self, path: str) -> None:
        self.path = path
        if path.endswith(".json"):
            self.hf: Tokenizer | None = Tokenizer.from_file(path)
            self.sp = None
            self.vocab_size = self.hf.get_vocab_size(with_added_tokens=True)
            vocab = self.hf.get_vocab(with_added_tokens=True)
            self.byte_ids = {i for t, i in vocab.items() if BYTE_PIECE.match(t) and t not in WHITESPACE_BYTES}
            unk = self.hf.token_to_id("<unk>")
            self.unk_ids = {unk} if unk is not None else set()
        else:
            self.hf = None
            self.sp = spm.SentencePieceProcessor(model_proto=outputs.read_bytes(path))
            self.vocab_size = self.sp.get_piece_size()
            self.byte_ids = {
                i for i in range(self.vocab_size) if self.sp.is_byte(i) and self.sp.id_to_piece(i) not in WHITESPACE_BYTES
            }
            self.unk_ids = {self.sp.unk_id()}

    def encode(self, texts: list[str]) -> list[list[int]]:
        if self.sp is not None:
            return self.sp.encode(texts)
        assert self.hf is not None
        return [e.ids for e in self.hf.encode_batch(texts, add_special_tokens=False)]


def text_counts(text: str) -> dict[str, int]:
    """Characters, non-space characters, UTF-8 bytes, words, letters, scriptio-continua letters."""
    return {
        "chars": len(text),
        "nonspace_chars": len(text) - len(SPACE.findall(text)),
        "bytes": len(text.encode("utf-8", "surrogatepass")),
        "words": len(WORD.findall(text)),
        "letters": len(LETTER.findall(text)),
        "continua_letters": len(CONTINUA.findall(text)),
    }


def group_metrics(texts: list[str], tok: LoadedTokenizer, seen: set[int]) -> dict[str, Any]:
    counts = {"chars": 0, "nonspace_chars": 0, "bytes": 0, "words": 0, "letters": 0, "continua_letters": 0}
    for t in texts:
        for k, v in text_counts(t).items():
            counts[k] += v
    ids_lists = tok.encode(texts)
    tokens = sum(len(x) for x in ids_lists)
    used: set[int] = set()
    byte_tokens = unk_tokens = 0
    for ids in ids_lists:
        used.update(ids)
        byte_tokens += sum(1 for i in ids if i in tok.byte_ids)
        unk_tokens += sum(1 for i in ids if i in tok.unk_ids)
    seen.update(used)
    continua = counts["letters"] > 0 and counts["continua_letters"] / counts["letters"] > 0.5
    per_word = tokens / counts["words"] if counts["words"] else None
    per_char = tokens / counts["nonspace_chars"] if counts["nonspace_chars"] else None
    return {
        "documents": len(texts),
        **{k: counts[k] for k in ("chars", "bytes", "words")},
        "tokens": tokens,
        "fertility_unit": "char" if continua else "word",
        "fertility": round(per_char if continua else per_word, 4) if (per_char if continua else per_word) else None,
        "tokens_per_word": round(per_word, 4) if per_word else None,
        "tokens_per_char": round(per_char, 4) if per_char else None,
        "bytes_per_token": round(counts["bytes"] / tokens, 4) if tokens else None,
        "byte_fallback_rate": round(byte_tokens / tokens, 6) if tokens else 0.0,
        "unk_rate": round(unk_tokens / tokens, 6) if tokens else 0.0,
        "vocab_used": len(used),
    }


def _sample(files: Sequence[str], max_docs: int, max_chars: int, seed: int) -> tuple[dict, dict]:
    heaps: dict[str, dict[str, list[tuple[int, str]]]] = {"language": {}, "source": {}}
    for batch in iter_corpus_batches(files):
        for doc_id, text, source, language in zip(batch["id"], batch["text"], batch["source"], batch["language"]):
            if not text:
                continue
            r = doc_rank(seed, doc_id)
            for kind, key in (("language", language or UNKNOWN_LANGUAGE), ("source", source or "unknown")):
                heap = heaps[kind].setdefault(key, [])
                item = (-r, text[:max_chars])
                if len(heap) < max_docs:
                    heapq.heappush(heap, item)
                elif item[0] > heap[0][0]:
                    heapq.heapreplace(heap, item)
    def ordered(h: dict[str, list[tuple[int, str]]]) -> dict[str, list[str]]:
        return {k: [t for _, t in sorted(v, reverse=True)] for k, v in sorted(h.items())}
    return ordered(heaps["language"]), ordered(heaps["source"])


def tokenizer_report(
    model_path: str,
    corpus_files: Sequence[str],
    *,
    baseline: str | None = None,
    max_docs_per_group: int = 200,
    max_chars_per_doc: int = 20_000,
    seed: int = 0,
) -> dict[str, Any]:
    """The report described in the module docstring, as JSON-able data."""
    by_language, by_source = _sample(sorted(corpus_files), max_docs_per_group, max_chars_per_doc, seed)
    toks = {"model": LoadedTokenizer(model_path)}
    if baseline:
        toks["baseline"] = LoadedTokenizer(baseline)
    seen: dict[str, set[int]] = {name: set() for name in toks}
    report: dict[str, Any] = {
        "model": model_path,
        "baseline": baseline,
        "vocab_size": {name: t.vocab_size for name, t in toks.items()},
        "sample": {"max_docs_per_group": max_docs_per_group, "max_chars_per_doc": max_chars_per_doc, "seed": seed},
        "by_language": {},
        "by_source": {},
    }
    for kind, groups in (("by_language", by_language), ("by_source", by_source)):
        for key, texts in groups.items():
            report[kind][key] = {name: group_metrics(texts, t, seen[name]) for name, t in toks.items()}
    report["vocab_usage"] = {name: round(len(seen[name]) / t.vocab_size, 4) for name, t in toks.items()}
    return report


def write_report(path: str, report: dict[str, Any]) -> None:
    """Write the report as JSON (temporary file, then rename)."""
    outputs.write_json(path, report)


__all__ = ["LoadedTokenizer", "group_metrics", "text_counts", "tokenizer_report", "write_report"]
