"""great-expectations suites for the outputs of a run.

The suites do not run on the raw shards: `workflows/validate.py` reads each Parquet shard by
row batches and column subsets and hands great-expectations a small *derived frame* per shard
(ids, lengths and hashes of texts, languages and scores, token-id ranges), never the texts
themselves. The frames and the expectations on them, per suite:

- `schema`   one row per (shard, column) of the Parquet schemas of all shards of a kind (`path`,
  `column`, `signature` = `name:type` or `name:missing` for an absent required column,
  `required_nulls` = nulls counted in a column the schema declares non-null). Columns and
  types must be the expected ones (`expected_columns`); required columns hold no nulls.
- `corpus`   one row per document: `id` non-null and unique in the shard, `source` non-null,
  `text_length` (characters; null when the text is null) inside
  [`min_text_chars`, `max_text_chars`], `text_hash` (64-bit xxh3 of the UTF-8 text) unique in
  the shard (no exact duplicate texts), `source_language` (`source:language`) in the `keep`
  set of that source's language step and `language_score >= language_min_score` (that
  step's threshold for the document's language), `cluster_size >= 1`.
- `rejected` one row per rejection: id, source, step, reason non-null, `reason` a snake_case
  word, `text_preview_length <= PREVIEW_CHARS`.
- `failed`   one row per failure: `source`, `step`, `location`, `error` non-null.
- `tokens`   one row per tokenized document: `id` non-null and unique, `num_tokens` equal to the
  length of `input_ids`, every token id in `[0, vocab_size)` (via per-row `min_token_id` /
  `max_token_id`).
- `shards`   one row per shard listed in the manifest or present on disk: rows (and sha256
  when computed) on disk equal the manifest's; no shard missing, none unlisted.
- `counts`   one row per counter: documents per source / rejections per (step, reason) /
  failures per step found in the shards equal the manifest's counters.

Cross-shard properties (ids unique across shards, texts unique across shards, token rows
pointing at corpus documents) are checked by hash buckets in `workflows/validate.py`, so no
check needs more than one shard (or one hash bucket) in memory.

Thresholds come from the run's own plan (`workflows/validate.py: suite_params`, which reads
manifest.json's `plan` through `pipelines.plan.RunPlan`): per source, the `keep`, `min_score`
and `min_scores` of its language step, when that step drops (not in annotate mode). Text length
bounds default to 1 .. 10,000,000 characters (a whole long book is ~4.5 M; readers split longer
ones into parts).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import great_expectations as gx
import great_expectations.expectations as gxe
import pyarrow as pa

from corpusmill.schemas.document import DOCUMENT_SCHEMA, FAILURE_SCHEMA, PREVIEW_CHARS, REJECTION_SCHEMA

DEFAULT_MIN_TEXT_CHARS = 1
DEFAULT_MAX_TEXT_CHARS = 10_000_000

# Token shards (tokenizer/encode.py): one row per document (id, source, language, input_ids,
# num_tokens) or packed rows (id, input_ids, num_tokens, doc_ids). Integer widths vary with the
# vocabulary size (uint16 up to 65,536 pieces, else int32).
TOKEN_ID_TYPES = frozenset({"uint16", "int16", "uint32", "int32", "int64", "uint64"})
TOKENS_COLUMNS: dict[str, tuple[frozenset[str], bool]] = {
    "id": (frozenset({"string"}), True),
    "input_ids": (frozenset(f"list<{t}>" for t in TOKEN_ID_TYPES), True),
    "num_tokens": (frozenset({"int32", "int64", "uint32", "uint64"}), True),
    "source": (frozenset({"string"}), False),
    "language": (frozenset({"string"}), False),
    "doc_ids": (frozenset({"list<string>"}), False),
}

KINDS: tuple[str, ...] = ("corpus", "rejected", "failed", "tokens")
ARROW_SCHEMAS: dict[str, pa.Schema] = {
    "corpus": DOCUMENT_SCHEMA,
    "rejected": REJECTION_SCHEMA,
    "failed": FAILURE_SCHEMA,
}

# The column of each derived frame that names a row in failure messages.
INDEX_COLUMN: dict[str, str] = {
    "corpus": "id",
    "rejected": "id",
    "failed": "location",
    "tokens": "id",
        "shards": "path",
    "counts": "key",
}


# The language step's default threshold (pipelines/steps/language.py: cc_net's 0.5); the rules
# built from a run's plan take the step's own default instead (workflows/validate.py).
LANGUAGE_DEFAULT_MIN_SCORE = 0.5
ANY_SOURCE = "*"


@dataclass(frozen=True)
class LanguageRule:
    """What a dropping `language` step lets through: languages in `keep` (None = any) whose
    score reaches `min_scores.get(language, min_score)`."""

    keep: frozenset[str] | None = None
    min_score: float = LANGUAGE_DEFAULT_MIN_SCORE
    min_scores: Mapping[str, float] = field(default_factory=dict)

    def threshold(self, language: str | None) -> float | None:
        if language is None:
            return None
        return float(self.min_scores.get(language, self.min_score))


@dataclass(frozen=True)
class SuiteParams:
    """The thresholds the suites check, taken from the run's plan (workflows/validate.py).

    `language_rules` maps a source label (the documents' `source`) to the rule of the language
    step that source ran in drop mode; `ANY_SOURCE` applies to sources not listed. A source
    without a rule is not checked for languages or scores.
    `vocab_size` is None when there is no tokenizer (token ids are then only checked >= 0).
    """

    language_rules: Mapping[str, LanguageRule] = field(default_factory=dict)
    min_text_chars: int = DEFAULT_MIN_TEXT_CHARS
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS
    vocab_size: int | None = None
    unique_texts: bool = True

    def _rule_key(self, source: str | None) -> str | None:
        if source in self.language_rules:
            return source
        return ANY_SOURCE if ANY_SOURCE in self.language_rules else None

    def rule(self, source: str | None) -> LanguageRule | None:
        key = self._rule_key(source)
        return self.language_rules[key] if key is not None else None

    def language_min_score(self, source: str | None, language: str | None) -> float | None:
        """The score a document of `source` in `language` must reach (None: no threshold)."""
        rule = self.rule(source)
        return rule.threshold(language) if rule is not None else None

    def source_language(self, source: str | None, language: str | None) -> str | None:
        """`<rule>:<language>` when the rule that governs `source` (its own, keyed by its label,
        or the one for any source, `*`) restricts languages; else None (unchecked)."""
        key = self._rule_key(source)
        if key is None or self.language_rules[key].keep is None:
            return None
        return f"{key}:{language}"

    def allowed_source_languages(self) -> list[str]:
        """Every accepted `<rule>:<language>` value of `source_language`."""
        return sorted(
            f"{key}:{lang}" for key, rule in self.language_rules.items() if rule.keep is not None for lang in rule.keep
        )

    @property
    def checks_languages(self) -> bool:
        return any(r.keep is not None for r in self.language_rules.values())


def type_name(t: pa.DataType) -> str:
    """A short, stable name of an Arrow type (large_string and dictionary-encoded strings =
    string; lists by value type)."""
    if pa.types.is_dictionary(t):
        return type_name(t.value_type)
    if pa.types.is_large_string(t) or pa.types.is_string(t):
        return "string"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"list<{type_name(t.value_type)}>"
    if pa.types.is_struct(t):
        return "struct<" + ",".join(f"{f.name}:{type_name(f.type)}" for f in t) + ">"
    return str(t)


def expected_columns(kind: str) -> dict[str, tuple[frozenset[str], bool]]:
    """Expected columns of a `kind` shard: name -> (accepted type names, must be present)."""
    if kind == "tokens":
        return dict(TOKENS_COLUMNS)
    return {f.name: (frozenset({type_name(f.type)}), True) for f in ARROW_SCHEMAS[kind]}


def required_columns(kind: str) -> tuple[str, ...]:
    """Columns that must hold no nulls (non-nullable fields of the Arrow schema)."""
    if kind == "tokens":
        return ("id", "input_ids", "num_tokens")
    return tuple(f.name for f in ARROW_SCHEMAS[kind] if not f.nullable)


def _not_null(column: str, note: str) -> gxe.Expectation:
    return gxe.ExpectColumnValuesToNotBeNull(column=column, meta={"checks": note})


def schema_suite(kind: str) -> gx.ExpectationSuite:
    """Columns and types of a `kind` shard (one row per column of its Parquet schema)."""
    columns = expected_columns(kind)
    signatures = sorted(f"{name}:{t}" for name, (types, _) in columns.items() for t in types)
    must = sorted(name for name, (_, present) in columns.items() if present)
    exps: list[gxe.Expectation] = [
        gxe.ExpectColumnValuesToBeInSet(
            column="signature",
            value_set=signatures,
            meta={"checks": f"every column of a {kind} shard is expected, with an expected type; "
                  f"`name:missing` marks a required column ({', '.join(must)}) that is absent"},
        ),
        gxe.ExpectCompoundColumnsToBeUnique(
            column_list=["path", "column"], meta={"checks": "column names are unique within a shard"}
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="required_nulls",
            min_value=0,
            max_value=0,
            meta={"checks": "columns declared non-null hold no nulls: " + ", ".join(required_columns(kind))},
        ),
    ]
    return gx.ExpectationSuite(name=f"{kind}_schema", expectations=exps)


def corpus_suite(params: SuiteParams) -> gx.ExpectationSuite:
    """Per-shard expectations on documents (derived frame, see the module docstring)."""
    name = "corpus"
    exps: list[gxe.Expectation] = []
    exps.append(_not_null("id", "document ids are set"))
    exps.append(gxe.ExpectColumnValuesToBeUnique(column="id", meta={"checks": "ids unique in the shard"}))
    exps.append(_not_null("source", "source is set"))
    exps.append(_not_null("text_length", "text is not null"))
    exps.append(
        gxe.ExpectColumnValuesToBeBetween(
            column="text_length",
            min_value=params.min_text_chars,
            max_value=params.max_text_chars,
            meta={"checks": f"text length in characters within [{params.min_text_chars}, {params.max_text_chars}]"},
        )
    )
    if params.unique_texts:
        exps.append(
            gxe.ExpectColumnValuesToBeUnique(
                column="text_hash", meta={"checks": "no exact duplicate texts in the shard (xxh3-64 of the text)"}
            )
        )
    if params.checks_languages:
        exps.append(
            gxe.ExpectColumnValuesToBeInSet(
                column="source_language",
                value_set=params.allowed_source_languages(),
                meta={"checks": "language in the keep set of the source's language step (`source:language`; "
                      f"{ANY_SOURCE} = any source)"},
            )
        )
    if params.language_rules:
        exps.append(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="language_score",
                column_B="language_min_score",
                or_equal=True,
                ignore_row_if="either_value_is_missing",
                meta={"checks": "language_score reaches the language step's threshold for its language"},
            )
        )
    exps.append(
        gxe.ExpectColumnValuesToBeBetween(
            column="cluster_size", min_value=1, meta={"checks": "duplicate cluster sizes are >= 1 when set"}
        )
    )
    return gx.ExpectationSuite(name=name, expectations=exps)


def rejected_suite() -> gx.ExpectationSuite:
    """Per-shard expectations on rejection records."""
    name = "rejected"
    exps: list[gxe.Expectation] = []
    for column in ("id", "source", "step", "reason"):
        exps.append(_not_null(column, f"rejections name their {column}"))
    exps.append(
        gxe.ExpectColumnValuesToMatchRegex(
            column="reason", regex=r"^[a-z][a-z0-9_]*$", meta={"checks": "reasons are snake_case words"}
        )
    )
    exps.append(
        gxe.ExpectColumnValuesToBeBetween(
            column="text_preview_length",
            min_value=0,
            max_value=PREVIEW_CHARS,
            meta={"checks": f"previews are at most {PREVIEW_CHARS} characters"},
        )
    )
    return gx.ExpectationSuite(name=name, expectations=exps)


def failed_suite() -> gx.ExpectationSuite:
    """Per-shard expectations on failure records."""
    name = "failed"
    exps: list[gxe.Expectation] = []
    for column in ("source", "step", "location", "error"):
        exps.append(_not_null(column, f"failures name their {column}"))
    return gx.ExpectationSuite(name=name, expectations=exps)


def tokens_suite(params: SuiteParams) -> gx.ExpectationSuite:
    """Per-shard expectations on token rows."""
    name = "tokens"
    exps: list[gxe.Expectation] = []
    exps.append(_not_null("id", "token rows name their document"))
    exps.append(gxe.ExpectColumnValuesToBeUnique(column="id", meta={"checks": "one token row per document"}))
    exps.append(
        gxe.ExpectColumnPairValuesToBeEqual(
            column_A="num_tokens",
            column_B="input_ids_length",
            ignore_row_if="either_value_is_missing",
            meta={"checks": "num_tokens equals len(input_ids)"},
        )
    )
    exps.append(
        gxe.ExpectColumnValuesToBeBetween(column="min_token_id", min_value=0, meta={"checks": "token ids are >= 0"})
    )
    if params.vocab_size is not None:
        exps.append(
            gxe.ExpectColumnValuesToBeBetween(
                column="max_token_id",
                min_value=0,
                max_value=params.vocab_size - 1,
                meta={"checks": f"token ids inside the vocabulary (size {params.vocab_size})"},
            )
        )
    return gx.ExpectationSuite(name=name, expectations=exps)


def shards_suite() -> gx.ExpectationSuite:
    """Shard inventory: the manifest's shards exist, with the rows (and sha256) it records."""
    name = "shards"
    exps: list[gxe.Expectation] = []
    exps.append(_not_null("file_rows", "every shard listed in the manifest exists on disk"))
    exps.append(_not_null("manifest_rows", "every shard on disk is listed in the manifest"))
    exps.append(
        gxe.ExpectColumnPairValuesToBeEqual(
            column_A="manifest_rows",
            column_B="file_rows",
            ignore_row_if="either_value_is_missing",
            meta={"checks": "row count of each shard equals the manifest's"},
        )
    )
    exps.append(
        gxe.ExpectColumnPairValuesToBeEqual(
            column_A="manifest_sha256",
            column_B="file_sha256",
            ignore_row_if="either_value_is_missing",
            meta={"checks": "sha256 of each shard equals the manifest's"},
        )
    )
    return gx.ExpectationSuite(name=name, expectations=exps)


def counts_suite() -> gx.ExpectationSuite:
    """Counters: what the shards hold equals what the manifest counted."""
    name = "counts"
    exps: list[gxe.Expectation] = []
    exps.append(
        gxe.ExpectColumnPairValuesToBeEqual(
            column_A="manifest",
            column_B="observed",
            meta={"checks": "manifest counters equal the rows found in the shards"},
        )
    )
    return gx.ExpectationSuite(name=name, expectations=exps)


def build_suites(params: SuiteParams) -> dict[str, gx.ExpectationSuite]:
    """All suites by name: `<kind>` for shard frames, `<kind>_schema`, `shards`, `counts`."""
    suites = {
        "corpus": corpus_suite(params),
        "rejected": rejected_suite(),
        "failed": failed_suite(),
        "tokens": tokens_suite(params),
        "shards": shards_suite(),
        "counts": counts_suite(),
    }
    for kind in KINDS:
        suites[f"{kind}_schema"] = schema_suite(kind)
    return suites


__all__ = [
    "ANY_SOURCE",
    "INDEX_COLUMN",
    "KINDS",
    "LanguageRule",
    "SuiteParams",
    "build_suites",
    "expected_columns",
    "required_columns",
    "type_name",
]
