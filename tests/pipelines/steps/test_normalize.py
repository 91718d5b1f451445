"""normalize_text (pipelines/steps/normalize.py)."""

from __future__ import annotations

import lzma
import unicodedata
from pathlib import Path

import pytest

from corpusmill.pipelines.steps.normalize import normalize, normalize_text
from corpusmill.schemas.document import Document, Drop


def doc(text: str) -> Document:
    return Document(id="d", text=text, source="test", location="test#1")


def test_newlines_controls_and_spaces() -> None:
    raw = "  Title\r\nline two\rline\u2028three\x0cfour\x00\x07 with\t\ttabs   and\u00a0nbsp  \n\n\n\n\nend  "
    assert normalize(raw) == "Title\nline two\nline\nthree\nfour with tabs and nbsp\n\nend"


def test_ansi_escapes_removed() -> None:
    assert normalize("\x1b[1;31m床前明月光\x1b[0m\n\x1b[32m疑是地上霜\x1b[m") == "床前明月光\n疑是地上霜"


def test_unicode_forms() -> None:
    decomposed = "Cafe\u0301 nai\u0308ve"
    assert normalize(decomposed) == unicodedata.normalize("NFC", decomposed) == "Café naïve"
    # NFC keeps compatibility characters; NFKC folds them (opt-in).
    assert normalize("ｆｕｌｌ ﬁ") == "ｆｕｌｌ ﬁ"
    assert normalize("ｆｕｌｌ ﬁ", form="NFKC") == "full fi"


def test_zero_width_and_bom_removed_but_joiners_kept() -> None:
    assert normalize("\ufeffhello\u200bworld") == "helloworld"
    persian = "می\u200cخواهم"  # ZWNJ is part of the spelling
    assert normalize(persian) == persian


def test_lone_surrogates_dropped() -> None:
    assert normalize("ok\udcff done") == "ok done"


def test_blank_lines_option() -> None:
    assert normalize("a\n\n\n\nb", max_blank_lines=0) == "a\nb"
    assert normalize("a\n\n\n\nb", max_blank_lines=2) == "a\n\n\nb"
    assert normalize("  a  \n  b", strip_lines=False) == "a \n b"


def test_step_keeps_changes_and_drops_empty() -> None:
    d = doc("x\r\ny")
    out = normalize_text(d)
    assert isinstance(out, Document) and out.text == "x\ny" and out.id == d.id
    same = doc("already clean")
    assert normalize_text(same) is same
    dropped = normalize_text(doc(" \x00\r\n\t\u200b "))
    assert isinstance(dropped, Drop) and dropped.reason == "empty_text"
    with pytest.raises(ValueError):
        normalize_text(doc("x"), form="NFD")  # type: ignore[arg-type]


def test_idempotent_on_real_text(shared_data: Path, samples: Path) -> None:
    kjv = lzma.open(shared_data / "books" / "kjv_bible-kjv-text_4.38.txt.xz", "rt", encoding="utf-8").read(200_000)
    tang = (samples / "books" / "tang300-poems.zh.txt").read_text(encoding="utf-8", errors="replace")
    for text in (kjv, tang):
        once = normalize(text)
        assert normalize(once) == once
        assert "\r" not in once and "\x1b" not in once and "  " not in once
        assert not any(line != line.strip() for line in once.split("\n"))
    # Nothing but whitespace and escapes was removed from the KJV.
    assert "".join(normalize(kjv).split()) == "".join(kjv.split())
