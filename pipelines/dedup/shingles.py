"""Text normalisation, script-aware shingle choice and vectorised shingle hashing.

Shingles are word n-grams for space-delimited scripts and character n-grams for scripts
written without spaces between words (Chinese, Japanese, Thai, Lao, Khmer, Myanmar,
Tibetan). The choice is made per document from its `script` (ISO 15924), else its
`language`, else from the characters of the text (see `is_unsegmented`).

Normalised text (see `normalize`): word mode ends as tokens separated by exactly one space;
char mode (with collapse_whitespace) drops all whitespace, so reflowed lines of CJK text
give the same shingles.

Shingle hash ("poly"): every shingle is a substring of the normalised text (a word n-gram is
the span from its first word's start to its last word's end, i.e. the words joined by one
space). Its 32-bit hash is the high half of fmix64(G + len * K), where G is the polynomial
hash  B * sum c_i B^(len-1-i)  mod 2^64 over (code point + 1). Prefix sums make every
substring's G a few numpy operations, so a whole document hashes without a Python loop per
shingle. `poly_hash32(bytes)` computes the same value for one shingle and can be passed to
`datasketch.MinHash(hashfunc=...)`. Polynomial hashes mod 2^64 have known adversarial
collisions (Thue-Morse strings); the fmix finaliser does not remove those, it only spreads
values. A collision can only merge two shingles, not two documents.
"""

from __future__ import annotations

import functools
import hashlib
import unicodedata
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
import regex

from corpusmill.pipelines.dedup.config import Normalization

ShingleMode = Literal["word", "char"]

# ISO 15924 scripts and ISO 639-1/3 languages written without spaces between words.
UNSEGMENTED_SCRIPTS = frozenset(
    {"hani", "hans", "hant", "jpan", "hira", "kana", "hrkt", "thai", "laoo", "khmr", "mymr", "tibt", "bopo"}
)
UNSEGMENTED_LANGUAGES = frozenset(
    {"zh", "zho", "chi", "cmn", "yue", "wuu", "gan", "hak", "nan", "lzh", "ja", "jpn", "th", "tha",
     "lo", "lao", "km", "khm", "my", "mya", "bur", "bo", "bod", "tib", "dz", "dzo"}
)
# Code point ranges of those scripts (start, end inclusive).
_UNSEGMENTED_RANGES = np.array(
    [
        (0x0E00, 0x0EFF),  # Thai, Lao
        (0x0F00, 0x0FFF),  # Tibetan
        (0x1000, 0x109F),  # Myanmar
        (0x1780, 0x17FF),  # Khmer
        (0x19E0, 0x19FF),  # Khmer symbols
        (0x2E80, 0x2FDF),  # CJK radicals
        (0x3040, 0x30FF),  # Hiragana, Katakana
        (0x3100, 0x312F),  # Bopomofo
        (0x31F0, 0x31FF),  # Katakana ext
        (0x3400, 0x4DBF),  # CJK ext A
        (0x4E00, 0x9FFF),  # CJK unified
        (0xF900, 0xFAFF),  # CJK compatibility
        (0xFF66, 0xFF9F),  # half-width Katakana
        (0x20000, 0x3134F),  # CJK ext B..G
    ],
    dtype=np.uint32,
)
# Share of letters in unsegmented scripts from which a text is shingled by characters.
# 0.3 rather than 0.5: Japanese/Chinese web and wiki text carries Latin markup, URLs, names.
UNSEGMENTED_MIN_SHARE = 0.3

_PUNCT_ONE = regex.compile(r"[\p{P}\p{S}]")
_MASK64 = (1 << 64) - 1
_BASE = 0x9E3779B97F4A7C15  # odd: invertible mod 2^64
_BASE_INV = pow(_BASE, -1, 1 << 64)
_LEN_K = 0xC2B2AE3D27D4EB4F
_FMIX64 = (33, 0xFF51AFD7ED558CCD, 33, 0xC4CEB9FE1A85EC53, 33)


@functools.lru_cache(maxsize=1)
def _tables() -> tuple[NDArray[Any], NDArray[Any]]:
    """(is punctuation or symbol, is whitespace) per code point, built once per process."""
    all_cps = np.arange(0x110000, dtype=np.uint32)
    cps = all_cps[(all_cps < 0xD800) | (all_cps > 0xDFFF)]
    every = cps.astype("<u4").tobytes().decode("utf-32-le")
    punct = np.zeros(0x110000, dtype=bool)
    idx = np.array([m.start() for m in _PUNCT_ONE.finditer(every)], dtype=np.int64)
    punct[cps[idx]] = True
    space = np.zeros(0x110000, dtype=bool)
    space[[i for i in range(0x3100) if chr(i).isspace()]] = True
    return punct, space


def normalized_codepoints(text: str, norm: Normalization, mode: ShingleMode) -> NDArray[Any]:
    """The canonical text shingles are cut from, as uint32 code points (see `normalize`)."""
    if norm.nfkc and not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    if norm.lowercase:
        text = text.casefold()
    cp = codepoints(text)
    if cp.size == 0:
        return cp
    punct, space = _tables()
    blank = space[cp]
    if norm.strip_punctuation:
        blank |= punct[cp]
    if mode == "char":
        if norm.collapse_whitespace:
            kept: NDArray[Any] = cp[~blank]
            return kept
        if norm.strip_punctuation:
            cp = cp.copy()
            cp[punct[cp]] = 0x20
        return cp
    # word mode: tokens separated by exactly one space, no leading or trailing space
    keep = ~blank
    keep[1:] |= blank[1:] & ~blank[:-1]  # the first blank of each run becomes the separator
    out: NDArray[Any] = cp[keep].copy()
    out[blank[keep]] = 0x20
    if out.size and out[0] == 0x20:
        out = out[1:]
    if out.size and out[-1] == 0x20:
        out = out[:-1]
    return out


def normalize(text: str, norm: Normalization, mode: ShingleMode) -> str:
    """NFKC (if set), casefold (if set), punctuation and symbols (Unicode P*, S*) to spaces (if
    set); word mode: whitespace runs become one space, ends stripped; char mode: whitespace
    removed (if collapse_whitespace)."""
    return decode(normalized_codepoints(text, norm, mode))


def codepoints(text: str) -> NDArray[Any]:
    """The text as a uint32 array of code points (lone surrogates kept, never raising)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def decode(cp: NDArray[Any]) -> str:
    return cp.astype("<u4").tobytes().decode("utf-32-le", "surrogatepass")


@functools.lru_cache(maxsize=1)
def _letter_classes() -> NDArray[Any]:
    """Per code point: 0 not a letter, 1 a letter, 2 a letter of a script written without word
    spaces (`is_unsegmented`'s classes), built once per process (1.1 MB)."""
    cp = np.arange(0x110000, dtype=np.uint32)
    ascii_letter = ((cp >= 0x41) & (cp <= 0x5A)) | ((cp >= 0x61) & (cp <= 0x7A))
    punct = ((cp >= 0x2000) & (cp <= 0x206F)) | ((cp >= 0x3000) & (cp <= 0x303F)) | ((cp >= 0xFF00) & (cp <= 0xFF0F))
    classes: NDArray[Any] = (ascii_letter | ((cp >= 0x80) & ~punct & (cp != 0xA0))).astype(np.uint8)
    for lo, hi in _UNSEGMENTED_RANGES:
        classes[lo : hi + 1] = 2
    return classes


def is_unsegmented(text: str, min_share: float = UNSEGMENTED_MIN_SHARE) -> bool:
    """True when at least `min_share` of the text's letters (non-ASCII code points other
    than spaces and general/CJK punctuation, plus ASCII letters) are in scripts written
    without word spaces. Looks at the first 20,000 characters."""
    cp = codepoints(text[:20000])
    if cp.size == 0:
        return False
    counts = np.bincount(_letter_classes()[cp], minlength=3)
    n_letters = int(counts[1] + counts[2])
    if n_letters == 0:
        return False
    return int(counts[2]) >= min_share * n_letters


def shingle_mode(text: str, language: str | None, script: str | None, setting: str) -> ShingleMode:
    """"word" or "char" for one document: `setting` if forced, else from script, language, text."""
    if setting == "word":
        return "word"
    if setting == "char":
        return "char"
    if script:
        return "char" if script.strip().lower() in UNSEGMENTED_SCRIPTS else "word"
    if language:
        code = regex.split(r"[-_]", language.strip().lower(), maxsplit=1)[0]
        return "char" if code in UNSEGMENTED_LANGUAGES else "word"
    return "char" if is_unsegmented(text) else "word"


def shingle_spans(norm_text: str, mode: ShingleMode, n: int, cp: NDArray[Any] | None = None) -> tuple[NDArray[Any], NDArray[Any]]:
    """(starts, ends) of every shingle in the normalised text, as int64 arrays.

    A text shorter than one n-gram (but not empty) is one shingle; an empty text has none."""
    if cp is None:
        cp = codepoints(norm_text)
    length = cp.size
    if length == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    if mode == "char":
        if length <= n:
            return np.array([0], dtype=np.int64), np.array([length], dtype=np.int64)
        starts = np.arange(length - n + 1, dtype=np.int64)
        return starts, starts + n
    spaces = np.flatnonzero(cp == 0x20).astype(np.int64)
    word_starts = np.concatenate(([0], spaces + 1))
    word_ends = np.concatenate((spaces, [length]))
    if word_starts.size <= n:
        return np.array([0], dtype=np.int64), np.array([length], dtype=np.int64)
    return word_starts[: word_starts.size - n + 1], word_ends[n - 1 :]


def shingle_strings(norm_text: str, mode: ShingleMode, n: int) -> list[str]:
    """The shingles as strings (for tests, the sha1 hash and datasketch comparisons)."""
    starts, ends = shingle_spans(norm_text, mode, n)
    return [norm_text[s:e] for s, e in zip(starts.tolist(), ends.tolist())]


def _fmix64(h: NDArray[Any]) -> NDArray[Any]:
    s1, m1, s2, m2, s3 = _FMIX64
    h = h ^ (h >> np.uint64(s1))
    h = h * np.uint64(m1)
    h = h ^ (h >> np.uint64(s2))
    h = h * np.uint64(m2)
    h = h ^ (h >> np.uint64(s3))
    return h


def poly_hashes(cp: NDArray[Any], starts: NDArray[Any], ends: NDArray[Any]) -> NDArray[Any]:
    """32-bit shingle hashes (uint32) of the substrings [starts[i], ends[i]) of `cp`."""
    if starts.size == 0:
        return np.zeros(0, dtype=np.uint32)
    length = cp.size
    with np.errstate(over="ignore"):
        c = cp.astype(np.uint64) + np.uint64(1)
        powers = np.empty(length + 1, dtype=np.uint64)
        powers[0] = 1
        np.cumprod(np.full(length, _BASE, dtype=np.uint64), out=powers[1:])
        inv_powers = np.empty(length, dtype=np.uint64)
        inv_powers[0] = 1
        if length > 1:
            np.cumprod(np.full(length - 1, _BASE_INV, dtype=np.uint64), out=inv_powers[1:])
        prefix = np.zeros(length + 1, dtype=np.uint64)
        np.cumsum(c * inv_powers, out=prefix[1:])
        prefix *= powers  # prefix[k] = B * sum_{i<k} c_i B^(k-1-i)
        lengths = (ends - starts).astype(np.uint64)
        g = prefix[ends] - prefix[starts] * powers[ends - starts]
        h = _fmix64(g + lengths * np.uint64(_LEN_K))
        return (h >> np.uint64(32)).astype(np.uint32)


def poly_hash32(shingle: bytes | str) -> int:
    """The "poly" hash of one shingle (UTF-8 bytes or str): a `datasketch.MinHash` hashfunc."""
    text = shingle.decode("utf-8", "surrogatepass") if isinstance(shingle, bytes) else shingle
    g = 0
    for ch in text:
        g = (g * _BASE + ord(ch) + 1) & _MASK64
    g = (g * _BASE + len(text) * _LEN_K) & _MASK64
    s1, m1, s2, m2, s3 = _FMIX64
    g ^= g >> s1
    g = (g * m1) & _MASK64
    g ^= g >> s2
    g = (g * m2) & _MASK64
    g ^= g >> s3
    return g >> 32


def sha1_hashes(norm_text: str, starts: NDArray[Any], ends: NDArray[Any]) -> NDArray[Any]:
    """datasketch's default `sha1_hash32` of every shingle's UTF-8 bytes (a loop per shingle:
    the compatibility mode, slower than "poly")."""
    if starts.size == 0:
        return np.zeros(0, dtype=np.uint32)
    digests = b"".join(
        hashlib.sha1(norm_text[s:e].encode("utf-8", "surrogatepass")).digest()[:4]
        for s, e in zip(starts.tolist(), ends.tolist())
    )
    return np.frombuffer(digests, dtype="<u4").astype(np.uint32)


def shingle_hashes(
    text: str,
    *,
    mode: ShingleMode,
    n: int,
    norm: Normalization,
    hash_name: str = "poly",
) -> NDArray[Any]:
    """The uint32 hashes of a document's shingles (with repeats, in text order)."""
    cp = normalized_codepoints(text, norm, mode)
    starts, ends = shingle_spans("", mode, n, cp)
    if hash_name == "sha1":
        return sha1_hashes(decode(cp), starts, ends)
    return poly_hashes(cp, starts, ends)
