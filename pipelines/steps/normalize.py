"""`normalize_text`: Unicode and whitespace normalisation, the first step of every text preset.

Later steps count lines, words and characters, and dedup hashes text; they should not see
the same text as different because of `\\r\\n`, a stray NUL, ANSI colour codes, runs of
spaces or two Unicode spellings of "é".
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from typing import Literal

from corpusmill.pipelines.steps.registry import step
from corpusmill.schemas.document import Document, Drop

# ANSI/VT100 escape sequences (CSI "ESC [ ... letter" and two-character "ESC x").
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
# Every line-break spelling becomes "\n": CRLF, CR, NEL, line/paragraph separators, VT, FF.
_NEWLINES = re.compile(r"\r\n?|[\x0b\x0c\x85\u2028\u2029]")
# Horizontal whitespace: tab and every Unicode space separator (Zs: NBSP, em space, ...).
_SPACES = re.compile(r"[\t \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")


def _deletion_table() -> dict[int, None]:
    """Control characters (Cc, except \\n and \\t), the BOM/zero-width no-break space, the
    zero-width space, soft hyphen, and unassigned noncharacters U+FFFE/U+FFFF; ZWJ/ZWNJ
    (U+200C/D) stay, scripts such as Persian and Devanagari need them."""
    table: dict[int, None] = {}
    for cp in range(0x00, 0xA0):  # all of Unicode's Cc characters are in C0, DEL and C1
        if cp not in (0x0A, 0x09) and unicodedata.category(chr(cp)) == "Cc":
            table[cp] = None
    for cp in (0x200B, 0xFEFF, 0x00AD, 0xFFFE, 0xFFFF):
        table[cp] = None
    return table


_DELETE = _deletion_table()


def normalize(
    text: str,
    *,
    form: Literal["NFC", "NFKC"] = "NFC",
    strip_lines: bool = True,
    max_blank_lines: int = 1,
) -> str:
    """The normalised text: ANSI escapes removed, newlines unified to `\\n`, control
    characters removed, Unicode normal form `form`, runs of horizontal whitespace collapsed to
    one space, lines stripped (when `strip_lines`), at most `max_blank_lines` empty lines in a
    row, and the whole text trimmed. Surrogates (from undecodable input) are dropped."""
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    text = _NEWLINES.sub("\n", text)
    text = text.translate(_DELETE)
    if not text.isascii():
        text = text.encode("utf-8", "ignore").decode("utf-8")  # lone surrogates
        text = unicodedata.normalize(form, text)
    text = _SPACES.sub(" ", text)
    if strip_lines:
        text = "\n".join(line.strip() for line in text.split("\n"))
    if max_blank_lines >= 0:
        text = re.sub(r"\n{%d,}" % (max_blank_lines + 2), "\n" * (max_blank_lines + 1), text)
    return text.strip()


@step("normalize_text")
def normalize_text(
    doc: Document,
    *,
    form: Literal["NFC", "NFKC"] = "NFC",
    strip_lines: bool = True,
    max_blank_lines: int = 1,
) -> Document | Drop:
    """Keeps the document with its text normalised (see `normalize`): NFC by default (NFKC
    also folds compatibility characters: full-width Latin, ligatures; it changes meaning for
    some scripts, so it is opt-in).

    Drops: `empty_text` when nothing but whitespace/control characters is left.
    """
    if form not in ("NFC", "NFKC"):
        raise ValueError(f"normalize_text: form must be NFC or NFKC, not {form!r}")
    text = normalize(doc.text, form=form, strip_lines=strip_lines, max_blank_lines=max_blank_lines)
    if not text:
        return Drop("empty_text", f"chars={len(doc.text)}")
    if text == doc.text:
        return doc
    return dataclasses.replace(doc, text=text)


__all__ = ["normalize", "normalize_text"]
