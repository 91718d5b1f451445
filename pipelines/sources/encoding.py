"""Text decoding for sources whose bytes carry no declared charset (books, source files).

`decode_text(data)` detects the encoding, it does not assume one. Order:
  1. binary signatures (PDF, images, archives, executables) -> `Binary`;
  2. a byte-order mark: UTF-8, UTF-32 LE/BE, UTF-16 LE/BE (UTF-32 checked first: its LE mark
     starts with the UTF-16 LE one);
  3. NUL patterns: text in UTF-16 without a BOM has NULs concentrated at one byte parity (the
     high byte of every ASCII character); UTF-32 has three NULs per ASCII character. Such data
     is decoded strictly as UTF-16/32 of that byte order; if that fails, NULs mean binary;
  4. strict UTF-8 (ASCII included), or UTF-8 with U+FFFD for a few bad bytes when valid
     multi-byte characters outnumber them ten to one (`_mostly_utf8`);
  5. charset-normalizer's best guess (Latin-1/cp1252, GB18030, Shift-JIS, KOI8-R, ...), with
     cp1252 preferred when it reads the bytes about as cleanly (see `_western_fits`); no
     guess -> `Binary`.
A decoded text whose control characters (other than tab, newline, carriage return, form
feed, escape) exceed `MAX_CONTROL_FRACTION` is binary too.

Pure functions, no I/O.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

# Magic numbers of common binary formats a text source may meet (PDF books, images in repos).
BINARY_SIGNATURES: tuple[bytes, ...] = (
    b"%PDF-",
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",  # JPEG
    b"GIF87a",
    b"GIF89a",
    b"PK\x03\x04",  # zip, jar, docx, epub
    b"\x7fELF",
    b"\xca\xfe\xba\xbe",  # Java class, Mach-O fat
    b"\xcf\xfa\xed\xfe",  # Mach-O
    b"\x1f\x8b",  # gzip (not removed by open_input: a nested archive)
    b"BZh",
    b"\xfd7zXZ\x00",
    b"\x28\xb5\x2f\xfd",  # zstd
    b"7z\xbc\xaf\x27\x1c",
    b"Rar!\x1a\x07",
    b"\x00asm",  # WebAssembly
    b"SQLite format 3\x00",
    b"OggS",
    b"wOFF",
    b"wOF2",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",  # OLE2 (doc, xls, msi)
)

BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# How much of the input the heuristics look at (the decode itself uses all of it).
SAMPLE_BYTES = 64 * 1024
# A sample whose NULs are >= 1 % of its bytes and >= 90 % at one parity is taken for UTF-16.
MIN_NUL_FRACTION = 0.01
MIN_NUL_PARITY_SHARE = 0.9
# Decoded text with more than 1 % C0/C1 control characters (besides \t \n \r \f \x1b) is
# not prose or code: binary data that happened to decode.
MAX_CONTROL_FRACTION = 0.01

# Mostly-UTF-8 data: at least this many valid non-ASCII characters per undecodable byte.
MIN_VALID_PER_INVALID = 10
_ESCAPED = re.compile("[\udc80-\udcff]")
_NON_ASCII = re.compile("[^\x00-\x7f]")

# cp1252 wins over charset-normalizer's pick when its mess ratio is at most this much worse.
WESTERN_TOLERANCE = 0.05
MESS_SAMPLE_BYTES = 32 * 1024

# C0/C1 controls and DEL except \t \n \f \r and ESC (terminal colours are cleaned later).
_BAD_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f-\x9f]")
_ANSI_CSI = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]")


@dataclass(frozen=True, slots=True)
class Decoded:
    """Text and the encoding it was decoded from (codec name as Python spells it)."""

    text: str
    encoding: str


@dataclass(frozen=True, slots=True)
class Binary:
    """Not text; `why` says which test decided it."""

    why: str


# Python codecs that are no character set of documents, though `codecs.lookup` knows them:
# besides the bytes-to-bytes and text transforms (base64, zlib, hex, rot13, ...), which
# `charset_codec` refuses by trying them, these decode bytes into something else than the
# text (escape sequences, IDNA labels) or always fail ("undefined"). A page or dump that
# declares one of them is read as if it declared an unknown name (found by
# benchmarks/fuzz_readers.py: `<meta charset="rot13">` raised out of html.decode_body).
NOT_CHARSETS: frozenset[str] = frozenset({"idna", "punycode", "undefined", "unicode-escape", "raw-unicode-escape"})


def charset_codec(label: str) -> str | None:
    """The Python codec name for a declared character-set label, or None when Python knows
    no such codec or it is not a character set (see NOT_CHARSETS)."""
    try:
        name = codecs.lookup(label).name
        b"a".decode(name, "replace")  # LookupError: "... is not a text encoding" (an empty input is not checked)
    except (LookupError, UnicodeError, ValueError):
        return None
    return None if name in NOT_CHARSETS else name


def is_binary_signature(head: bytes) -> bool:
    """True when `head` (the first bytes of a file) starts with a known binary format's magic."""
    return any(head.startswith(sig) for sig in BINARY_SIGNATURES)


def _strip_bom(data: bytes) -> tuple[bytes, str] | None:
    for bom, name in BOMS:
        if data.startswith(bom):
            return data[len(bom) :], name.replace("-sig", "")
    return None


def _nul_guess(sample: bytes) -> str | None:
    """UTF-16/32 byte order from where the NULs of a BOM-less sample sit, or None."""
    nuls = sample.count(0)
    if nuls == 0 or nuls < MIN_NUL_FRACTION * len(sample):
        return None
    n4 = len(sample) - len(sample) % 4
    at = [sample[i:n4:4].count(0) for i in range(4)]
    # UTF-32: the top byte of every code unit is NUL, the next one too outside the astral
    # planes (positions 3 and 2 in LE, 0 and 1 in BE).
    if n4 >= 4:
        quarter = n4 // 4
        if at[3] == quarter and at[2] >= 0.9 * quarter:
            return "utf-32-le"
        if at[0] == quarter and at[1] >= 0.9 * quarter:
            return "utf-32-be"
    even, odd = at[0] + at[2], at[1] + at[3]
    if odd >= MIN_NUL_PARITY_SHARE * nuls:
        return "utf-16-le"
    if even >= MIN_NUL_PARITY_SHARE * nuls:
        return "utf-16-be"
    return None


def _control_fraction(text: str) -> float:
    if not text:
        return 0.0
    sample = text[:SAMPLE_BYTES]
    return len(_BAD_CONTROLS.findall(sample)) / len(sample)


def _checked(text: str, encoding: str) -> Decoded | Binary:
    if _control_fraction(text) > MAX_CONTROL_FRACTION:
        return Binary(f"control characters after decoding as {encoding}")
    return Decoded(text, encoding)


def decode_text(data: bytes) -> Decoded | Binary:
    """Decode `data` to text, detecting its encoding (see the module docstring for the order).

    Keeps: any text in an encoding Python and charset-normalizer know. Returns `Binary` for
    binary signatures, NUL-bearing data that is not UTF-16/32, undetectable bytes and decoded
    text dominated by control characters."""
    if not data:
        return Decoded("", "utf-8")
    bom = _strip_bom(data)
    if bom is not None:
        body, name = bom
        text = body.decode(name, errors="replace")
        return _checked(text, name)
    head = data[:SAMPLE_BYTES]
    if is_binary_signature(head):
        return Binary("binary signature")
    if 0 in head or 0 in data:
        aligned = head[: len(head) - len(head) % 4] or head
        guess = _nul_guess(aligned)
        if guess is not None:
            try:
                # strict on the sample (a cut pair at its end is fine): real UTF-16/32, not binary
                codecs.getincrementaldecoder(guess)().decode(aligned, final=False)
            except UnicodeDecodeError:
                return Binary("NUL bytes")
            return _checked(data.decode(guess, errors="replace"), guess)
        return Binary("NUL bytes")
    try:
        return _checked(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    mostly = _mostly_utf8(data)
    if mostly is not None:
        return _checked(mostly, "utf-8")
    return _guess(data)


def _mostly_utf8(data: bytes) -> str | None:
    """UTF-8 text with a few bad bytes (a stray Latin-1 "©", a character cut at the end) read
    as UTF-8 with U+FFFD for the bad bytes, when valid multi-byte characters outnumber them
    `MIN_VALID_PER_INVALID` to one; None otherwise. A legacy 8-bit text has almost no valid
    multi-byte sequences, so it goes on to detection."""
    text = data.decode("utf-8", errors="surrogateescape")
    invalid = len(_ESCAPED.findall(text))
    valid = len(_NON_ASCII.findall(text)) - invalid
    if valid >= MIN_VALID_PER_INVALID * invalid:
        return data.decode("utf-8", errors="replace")
    return None


def _guess(data: bytes) -> Decoded | Binary:
    from charset_normalizer import from_bytes

    sample = data[: 4 * SAMPLE_BYTES]
    if len(sample) < len(data) and b"\n" in sample:
        sample = sample[: sample.rindex(b"\n") + 1]  # do not cut a multi-byte character
    # charset-normalizer gives up on terminal colour codes (fortune files); ISO-2022 escapes
    # (ESC $ B, ESC ( B) are not CSI sequences and stay.
    clean = _ANSI_CSI.sub(b"", sample)
    best = from_bytes(clean).best()
    if best is None or best.encoding is None:
        return Binary("no text encoding fits")
    encoding = codecs.lookup(best.encoding).name
    if encoding != "cp1252" and _western_fits(clean, str(best)):
        encoding = "cp1252"
    return _checked(data.decode(encoding, errors="replace"), encoding)


def _western_fits(sample: bytes, best_text: str) -> bool:
    """True when cp1252 reads `sample` about as cleanly as charset-normalizer's pick.

    On short Western European texts charset-normalizer's candidates tie (cp1250, mac_latin2
    and cp1252 read "été" alike) and it may pick the rarer one, mangling "œ" or "à".
    cp1252 (a superset of Latin-1's printable range) is by far the most common legacy
    encoding (W3Techs), so within `WESTERN_TOLERANCE` of mess ratio it wins; real Central
    European or Cyrillic text read as cp1252 is far messier (measured: +0.25 .. +3.7)."""
    from charset_normalizer.md import mess_ratio

    try:
        western = sample[:MESS_SAMPLE_BYTES].decode("cp1252")
    except UnicodeDecodeError:
        return False
    return mess_ratio(western, 1.0) <= mess_ratio(best_text[:MESS_SAMPLE_BYTES], 1.0) + WESTERN_TOLERANCE
