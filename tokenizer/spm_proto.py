"""Read the few fields of a SentencePiece `.model` file that a converter needs.

A `.model` is a serialized `ModelProto` (sentencepiece_model.proto). The `sentencepiece`
wheel ships generated protobuf code, but it requires a newer protobuf runtime than Apache
Beam allows, so this module decodes the protobuf wire format directly for the fields below
(field numbers from sentencepiece_model.proto):

    ModelProto:     1 pieces (repeated SentencePiece), 2 trainer_spec, 3 normalizer_spec
    SentencePiece:  1 piece (string), 2 score (float), 3 type (enum, default NORMAL=1)
    TrainerSpec:    3 model_type (UNIGRAM=1, BPE=2, WORD=3, CHAR=4), 24 treat_whitespace_as_suffix,
                    35 byte_fallback
    NormalizerSpec: 1 name, 2 precompiled_charsmap, 3 add_dummy_prefix (default true),
                    4 remove_extra_whitespaces (default true), 5 escape_whitespaces (default true)
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
MODEL_TYPES = {1: "unigram", 2: "bpe", 3: "word", 4: "char"}


@dataclass(frozen=True)
class Piece:
    piece: str
    score: float
    type: int


@dataclass(frozen=True)
class SpmModel:
    pieces: tuple[Piece, ...]
    model_type: str = "unigram"
    byte_fallback: bool = False
    treat_whitespace_as_suffix: bool = False
    normalizer_name: str = ""
    precompiled_charsmap: bytes = b""
    add_dummy_prefix: bool = True
    remove_extra_whitespaces: bool = True
    escape_whitespaces: bool = True
    extra: dict = field(default_factory=dict)


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes) -> list[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) of one message; length-delimited values as bytes,
    fixed32 as its raw 4 bytes."""
    out: list[tuple[int, int, int | bytes]] = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        num, wire = key >> 3, key & 7
        if wire == 0:
            val, pos = _varint(buf, pos)
            out.append((num, wire, val))
        elif wire == 1:
            out.append((num, wire, buf[pos : pos + 8]))
            pos += 8
        elif wire == 2:
            n, pos = _varint(buf, pos)
            out.append((num, wire, buf[pos : pos + n]))
            pos += n
        elif wire == 5:
            out.append((num, wire, buf[pos : pos + 4]))
            pos += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire} for field {num}")
    return out


def _as_bytes(value: int | bytes) -> bytes:
    if not isinstance(value, bytes):
        raise ValueError("SentencePiece model: a length-delimited field holds a varint")
    return value


def _as_int(value: int | bytes) -> int:
    if not isinstance(value, int):
        raise ValueError("SentencePiece model: a varint field holds bytes")
    return value


def parse_model(data: bytes) -> SpmModel:
    """The pieces and the encoding-relevant settings of a serialized SentencePiece model."""
    pieces: list[Piece] = []
    trainer: dict[int, int] = {}
    normalizer: dict[int, int | bytes] = {}
    for num, _wire, val in _fields(data):
        if num == 1:
            text, score, typ = "", 0.0, NORMAL
            for n, w, v in _fields(_as_bytes(val)):
                if n == 1:
                    text = _as_bytes(v).decode("utf-8")
                elif n == 2 and w == 5:
                    score = struct.unpack("<f", _as_bytes(v))[0]
                elif n == 3:
                    typ = _as_int(v)
            pieces.append(Piece(text, score, typ))
        elif num == 2:
            trainer = {n: _as_int(v) for n, w, v in _fields(_as_bytes(val)) if w == 0}
        elif num == 3:
            normalizer = {n: v for n, _w, v in _fields(_as_bytes(val))}
    name = normalizer.get(1, b"")
    charsmap = normalizer.get(2, b"")
    return SpmModel(
        pieces=tuple(pieces),
        model_type=MODEL_TYPES.get(int(trainer.get(3, 1)), "unigram"),
        byte_fallback=bool(trainer.get(35, 0)),
        treat_whitespace_as_suffix=bool(trainer.get(24, 0)),
        normalizer_name=name.decode() if isinstance(name, bytes) else "",
        precompiled_charsmap=charsmap if isinstance(charsmap, bytes) else b"",
        add_dummy_prefix=bool(normalizer.get(3, 1)),
        remove_extra_whitespaces=bool(normalizer.get(4, 1)),
        escape_whitespaces=bool(normalizer.get(5, 1)),
    )


def read_model(path: str) -> SpmModel:
    from corpusmill.schemas import outputs

    return parse_model(outputs.read_bytes(path))


__all__ = ["BYTE", "CONTROL", "NORMAL", "Piece", "SpmModel", "UNKNOWN", "UNUSED", "USER_DEFINED", "parse_model", "read_model"]
