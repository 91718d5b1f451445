"""Exact-duplicate keys: a 128-bit hash of the normalised text.

Normalisations (ExactConfig.normalization): "none" hashes the text as is; "whitespace"
collapses runs of whitespace to one space and strips the ends; "nfkc_casefold" applies NFKC
and casefold, then collapses whitespace. Documents with equal keys are one cluster.
"""

from __future__ import annotations

import hashlib
import unicodedata
from typing import Literal

ExactNormalization = Literal["none", "whitespace", "nfkc_casefold"]


def normalize_exact(text: str, normalization: ExactNormalization) -> str:
    if normalization == "none":
        return text
    if normalization == "nfkc_casefold":
        text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(text.split())


def exact_key(text: str, normalization: ExactNormalization) -> bytes:
    """16-byte BLAKE2b digest of the normalised text (UTF-8, lone surrogates kept)."""
    data = normalize_exact(text, normalization).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(data, digest_size=16).digest()
