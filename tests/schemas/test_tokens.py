"""Token-shard schemas: id width follows the vocabulary size."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from corpusmill.schemas.tokens import document_token_schema, id_type, packed_token_schema


def test_ids_are_uint16_up_to_65536_pieces_then_int32() -> None:
    assert id_type(65_536) == pa.uint16()
    assert id_type(65_537) == pa.int32()
    # every id of a 65,536-piece vocabulary fits the chosen type
    assert int(np.iinfo(id_type(65_536).to_pandas_dtype()).max) == 65_535


def test_layouts() -> None:
    docs = document_token_schema(32_000)
    assert docs.names == ["id", "source", "language", "input_ids", "num_tokens"]
    assert docs.field("input_ids").type == pa.list_(pa.uint16())
    packed = packed_token_schema(100_000)
    assert packed.names == ["id", "input_ids", "num_tokens", "doc_ids"]
    assert packed.field("input_ids").type == pa.list_(pa.int32())
