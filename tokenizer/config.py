"""Settings of the tokenizer stage: SentencePiece training, its input sample, token shards.

Defaults follow the usual choice for a lossless pretraining tokenizer (the Llama/Mistral
SentencePiece recipe): identity normalization and no whitespace collapsing (so a document
decodes back to exactly its text), byte fallback (no `<unk>` for rare characters), digits
split into single tokens, whitespace-only pieces allowed (code indentation).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class SamplingConfig(BaseModel):
    """Which text the tokenizer is trained on.

    Documents are grouped by `balance_by` (missing language -> "und"). Each group gets a share
    of the `max_chars` budget proportional to `(chars_g * weight_g) ** (1 / temperature)`:
    temperature 1 keeps the corpus mix, larger values flatten it towards uniform (XLM-R's
    exponent alpha=0.3 is temperature ~3.3). A group never gets more than it has; the excess
    goes to the others. Within a group, documents are taken in the order of
    `blake2b(seed, id)` (a seeded, order-independent sample) until the group's budget is used.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    balance_by: Literal["language", "source", "source_language"] = "language"
    temperature: float = Field(1.0, gt=0)
    weights: dict[str, float] = Field(default_factory=dict)  # group name -> multiplier (0 excludes)
    max_chars: int = Field(200_000_000, gt=0)  # total characters fed to the trainer
    max_chars_per_document: int = Field(100_000, gt=0)  # a long book counts (and is cut) at this
    input_sentence_size: int = Field(10_000_000, gt=0)  # cap on training lines (after max_chars)
    max_sentence_chars: int = Field(1_000, gt=0)  # longer lines are cut at whitespace
    min_sentence_chars: int = Field(1, ge=1)


class PackConfig(BaseModel):
    """Packed token shards: documents joined with the end-of-text token, cut into rows of
    `seq_len` tokens, rows shuffled with a seeded permutation within each shard."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seq_len: int = Field(2048, gt=1)


class TokenShardsConfig(BaseModel):
    """Encoding the corpus into `<output>/tokens/` (see `tokenizer.shards.encode_corpus`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    pack: PackConfig | None = None
    seed: int = 0
    batch_docs: int = Field(256, gt=0)  # documents per SentencePiece batch call
    num_threads: int = Field(1, ge=1)  # SentencePiece threads per worker


class TokenizerConfig(BaseModel):
    """SentencePiece training settings (names follow `spm_train` flags where they exist)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    vocab_size: int = Field(32_000, ge=300)
    model_type: Literal["unigram", "bpe"] = "unigram"
    character_coverage: float = Field(0.9995, gt=0, le=1)
    byte_fallback: bool = True
    split_digits: bool = True
    allow_whitespace_only_pieces: bool = True
    normalization_rule_name: Literal["identity", "nmt_nfkc", "nfkc", "nmt_nfkc_cf", "nfkc_cf"] = "identity"
    remove_extra_whitespaces: bool = False
    add_dummy_prefix: bool = True
    max_sentencepiece_length: int = Field(16, ge=1)
    unk_piece: str = "<unk>"
    bos_piece: str = "<s>"
    eos_piece: str = "<|endoftext|>"  # also the separator between packed documents
    control_symbols: tuple[str, ...] = ()  # special tokens never produced from text
    user_defined_symbols: tuple[str, ...] = ()  # always one token when they occur in text
    seed: int = 0
    num_threads: int = Field(1, ge=1)  # 1 = byte-identical model for the same sample
    sampling: SamplingConfig = Field(default_factory=SamplingConfig)
    baseline: str | None = None  # a SentencePiece .model or HF tokenizer.json for the report
    shards: TokenShardsConfig = Field(default_factory=TokenShardsConfig)

    @model_validator(mode="after")
    def _distinct_specials(self) -> TokenizerConfig:
        names = [self.unk_piece, self.bos_piece, self.eos_piece, *self.control_symbols, *self.user_defined_symbols]
        if len(set(names)) != len(names):
            raise ValueError(f"special pieces must be distinct: {names}")
        return self


__all__ = ["PackConfig", "SamplingConfig", "TokenShardsConfig", "TokenizerConfig"]
