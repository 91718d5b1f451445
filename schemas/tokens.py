"""Arrow schemas of the token shards (`tokens/part-*.parquet`, written by tokenizer/encode.py).

Two layouts:
  * documents (default): one row per corpus document, in corpus order: `id`, `source`,
    `language`, `input_ids` (list<uint16> when the vocabulary has <= 65,536 pieces, else
    list<int32>), `num_tokens`;
  * packed: fixed-length rows of concatenated documents: `id` ("<shard>#seq=<k>"),
    `input_ids`, `num_tokens`, `doc_ids` (the documents with tokens in the row).
"""

from __future__ import annotations

import pyarrow as pa

UINT16_VOCAB = 65_536


def id_type(vocab_size: int) -> pa.DataType:
    """The narrowest Arrow type that holds every token id of a vocabulary of `vocab_size`."""
    return pa.uint16() if vocab_size <= UINT16_VOCAB else pa.int32()


def document_token_schema(vocab_size: int) -> pa.Schema:
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("source", pa.string(), nullable=False),
            pa.field("language", pa.string()),
            pa.field("input_ids", pa.list_(id_type(vocab_size)), nullable=False),
            pa.field("num_tokens", pa.int32(), nullable=False),
        ]
    )


def packed_token_schema(vocab_size: int) -> pa.Schema:
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("input_ids", pa.list_(id_type(vocab_size)), nullable=False),
            pa.field("num_tokens", pa.int32(), nullable=False),
            pa.field("doc_ids", pa.list_(pa.string()), nullable=False),
        ]
    )
