"""Encoding detection on real text re-encoded in the test (bytes made here, text from samples)."""

from __future__ import annotations

import codecs
import lzma
import re
from pathlib import Path

import pytest

from corpusmill.pipelines.sources.encoding import Binary, Decoded, decode_text


@pytest.fixture(scope="module")
def chinese(samples: Path) -> str:
    text = (samples / "books" / "tang300-poems.zh.txt").read_text(encoding="utf-8")
    return re.sub(r"\x1b\[[0-9;]*m", "", text)[:20_000]


@pytest.fixture(scope="module")
def english(samples: Path) -> str:
    with lzma.open(samples / "books" / "kjv-bible.en.txt.xz", "rt", encoding="utf-8") as f:
        return f.read(20_000)


FRENCH = "Le cœur a ses raisons que la raison ne connaît point. Où êtes-vous, déjà ? À bientôt, garçon.\n" * 20
DUTCH = "Het was een prachtige zomerdag; de ééndagsvlieg zweefde boven de beek, en Gabriël zag hoe zij verdween.\n" * 20
RUSSIAN = "В начале июля, в чрезвычайно жаркое время, под вечер, один молодой человек вышел из своей каморки.\n" * 20


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
@pytest.mark.parametrize("bom", [True, False])
def test_utf16_and_utf32_with_and_without_bom(chinese: str, english: str, encoding: str, bom: bool) -> None:
    for text in (chinese, english):
        data = text.encode(encoding)
        if bom:
            data = "\ufeff".encode(encoding) + data
        result = decode_text(data)
        assert isinstance(result, Decoded), result
        assert result.text == text
        assert result.encoding == encoding


def test_utf8_with_bom_and_plain(chinese: str) -> None:
    assert decode_text(codecs.BOM_UTF8 + chinese.encode()).text == chinese
    plain = decode_text(chinese.encode())
    assert isinstance(plain, Decoded) and plain.encoding == "utf-8" and plain.text == chinese


def test_mostly_utf8_with_stray_bytes(chinese: str) -> None:
    data = chinese.encode()
    cut = data[:-1]  # last character cut in half
    stray = data[:3000] + b"\xa9 2024 " + data[3000:]  # a Latin-1 copyright sign
    for damaged in (cut, stray):
        result = decode_text(damaged)
        assert isinstance(result, Decoded) and result.encoding == "utf-8"
        assert result.text.count("\ufffd") <= 2
        assert chinese[:200] in result.text


def test_gb18030_detected(chinese: str) -> None:
    result = decode_text(chinese.encode("gb18030"))
    assert isinstance(result, Decoded)
    assert result.text == chinese


def test_gb18030_with_ansi_colour_codes(samples: Path) -> None:
    """charset-normalizer gives up on escape codes; the decoder must not."""
    text = (samples / "books" / "tang300-poems.zh.txt").read_text(encoding="utf-8")[:20_000]
    assert "\x1b[" in text
    result = decode_text(text.encode("gb18030"))
    assert isinstance(result, Decoded) and result.text == text


@pytest.mark.parametrize(
    ("text", "encoding", "probe"),
    [(DUTCH, "latin-1", "ééndagsvlieg"), (FRENCH, "cp1252", "cœur"), (RUSSIAN, "cp1251", "чрезвычайно"), (RUSSIAN, "koi8-r", "каморки")],
)
def test_single_byte_encodings(text: str, encoding: str, probe: str) -> None:
    result = decode_text(text.encode(encoding))
    assert isinstance(result, Decoded), result
    assert probe in result.text
    assert result.text == text


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" * 10,
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
        b"\x7fELF\x02\x01\x01" + bytes(500),
        bytes(range(256)) * 40,  # NULs everywhere, no UTF-16 pattern
    ],
)
def test_binary_is_not_text(data: bytes) -> None:
    assert isinstance(decode_text(data), Binary)


def test_control_heavy_bytes_are_binary() -> None:
    data = bytes([1, 2, 3, 4, 5, 6, 65, 66]) * 500
    assert isinstance(decode_text(data), Binary)


def test_empty_is_empty_text() -> None:
    assert decode_text(b"") == Decoded("", "utf-8")
