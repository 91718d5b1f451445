"""HTTP payloads of web records: what a record's block holds and whether it is a text document.

  * `split_http`: an HTTP response block as (status, headers, body);
  * `decode_content`: the body with its transfer and content encodings undone (chunked,
    gzip, deflate, br), its decoded size bounded (a compressed bomb raises
    `PayloadTooLarge` after at most the limit was inflated);
  * `classify_payload`: `html`, `text`, or None (not a text document), from the declared
    and the crawler-identified media types and the payload's first bytes.
"""

from __future__ import annotations

import re
import zlib

from corpusmill.pipelines.sources.warc import parse_header_lines


def split_http(block: bytes) -> tuple[int | None, dict[str, str], bytes]:
    """(status, headers, body) of an HTTP response block; (None, {}, block) if the block
    does not start with an HTTP status line. Accepts bare-LF header lines (ClueWeb09)."""
    if not block.startswith(b"HTTP/"):
        return None, {}, block
    head_end = len(block)
    body_start = len(block)
    for sep in (b"\r\n\r\n", b"\n\n", b"\n\r\n"):
        i = block.find(sep, 0, 1 << 17)
        if 0 <= i < head_end:
            head_end, body_start = i, i + len(sep)
    lines = block[:head_end].split(b"\n")
    status: int | None = None
    parts = lines[0].split(None, 2)
    if len(parts) >= 2 and parts[1][:3].isdigit():
        status = int(parts[1][:3])
    return status, parse_header_lines([line + b"\n" for line in lines[1:]]), block[body_start:]


class PayloadTooLarge(Exception):
    pass


def _dechunk(body: bytes) -> bytes | None:
    """Undo HTTP chunked transfer coding; None if the body is not validly chunked."""
    out = bytearray()
    pos = 0
    n = len(body)
    while pos < n:
        eol = body.find(b"\n", pos, pos + 1024)
        if eol < 0:
            return None
        size_text = body[pos:eol].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            return None
        if size == 0:
            return bytes(out)
        start = eol + 1
        if start + size > n:
            out += body[start:]  # cut short: keep what is there
            return bytes(out)
        out += body[start : start + size]
        pos = start + size
        while pos < n and body[pos] in (10, 13):
            pos += 1
    return bytes(out)


def _inflate(body: bytes, wbits: int, limit: int) -> bytes:
    d = zlib.decompressobj(wbits)
    out = d.decompress(body, limit + 1)
    if len(out) > limit:
        raise PayloadTooLarge(f"content decodes to more than {limit} bytes")
    return out


def decode_content(body: bytes, headers: dict[str, str], limit: int) -> bytes:
    """Undo HTTP Transfer-Encoding: chunked and Content-Encoding: gzip/deflate/br, with the
    decoded size bounded by `limit` (a compressed bomb raises PayloadTooLarge after at most
    `limit` bytes were inflated). A body that is not actually encoded as declared (crawlers
    often store it decoded but keep the header) is returned unchanged. Raises zlib.error /
    ValueError on a body that is encoded but corrupt."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        dechunked = _dechunk(body)
        if dechunked is not None:
            body = dechunked
    encoding = headers.get("content-encoding", "").strip().lower()
    if encoding in ("gzip", "x-gzip") and body.startswith(b"\x1f\x8b"):
        return _inflate(body, 31, limit)
    if encoding == "deflate" and not _looks_textual(body):
        try:
            return _inflate(body, 15, limit)
        except zlib.error:
            return _inflate(body, -15, limit)
    if encoding == "br" and not _looks_textual(body):
        try:
            import brotli  # optional: not a dependency; without it br bodies are non-text
        except ImportError:
            raise ValueError("brotli content encoding and no brotli module") from None
        try:
            out: bytes = brotli.Decompressor().process(body, output_buffer_limit=limit + 1)
        except TypeError:  # brotli < 1.2: no output limit
            out = brotli.decompress(body)
        if len(out) > limit:
            raise PayloadTooLarge(f"content decodes to more than {limit} bytes")
        return out
    return body


def _looks_textual(body: bytes) -> bool:
    head = body[:512]
    return bool(head) and head.count(0) == 0 and sum(b < 9 or 13 < b < 32 for b in head) < 8


# ---------------------------------------------------------------------------------------
# Media types

HTML_TYPES = {
    "text/html",
    "application/xhtml+xml",
    "application/xhtml",
    "text/xhtml",
    "application/vnd.wap.xhtml+xml",
}
TEXT_TYPES = {"text/plain"}
_UNKNOWN_TYPES = {"", "application/octet-stream", "unknown/unknown", "unk", "no-type", "application/unknown", "*/*"}
_BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"PK\x03\x04", b"RIFF", b"\x00\x00\x01\x00", b"wOFF", b"wOF2", b"OggS", b"ID3", b"\x1f\x8b")
_HTML_SNIFF = re.compile(rb"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]|<title[\s>]", re.I)


def media_type(content_type: str | None) -> str:
    """The media type of a Content-Type value: lower case, parameters (charset) dropped."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def classify_payload(mime: str, identified: str, body: bytes) -> str | None:
    """`html`, `text`, or None (not a text document). `mime` comes from the HTTP header (or
    the WARC/ARC header for resources), `identified` from WARC-Identified-Payload-Type (the
    crawler's own detection, trusted when it says the payload is not text). Payloads with a
    binary signature are never text, whatever their header claims."""
    if body[:64].lstrip().startswith(_BINARY_MAGIC):
        return None
    if identified and identified not in _UNKNOWN_TYPES and identified not in HTML_TYPES and identified not in TEXT_TYPES:
        return None
    if mime in HTML_TYPES:
        return "html"
    if mime in TEXT_TYPES:
        return "html" if _HTML_SNIFF.search(body[:1024]) else "text"
    if mime in _UNKNOWN_TYPES or mime in ("text/x-server-parsed-html", "text/x-html", "application/html"):
        if identified in HTML_TYPES or _HTML_SNIFF.search(body[:2048]):
            return "html"
        if identified in TEXT_TYPES and _looks_textual(body):
            return "text"
    return None
