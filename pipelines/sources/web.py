"""Web source: WARC, WET and legacy ARC files (per-record or whole-file gzip) to Documents.

What is read:
  * `response` and `resource` records whose payload is HTML or plain text: HTML is decoded
    (charset from the HTTP header, then `<meta>`, then detection: `html.decode_body`) and
    reduced to its main text (`html.extract_main_text`); plain text is decoded and kept;
  * `conversion` records (Common Crawl WET) as they are (their text/plain payload);
  * legacy ARC records (ARC v1 and v2 headers), handled like WARC responses.

Ids: `make_id("web", url, warc_record_id)` (ARC records, which have no record id:
`make_id("web", url, "ARC:" + date)`).

Every other record becomes a `Rejection(step="read")` (same id), so it is counted:
  warc_request, warc_metadata, warc_revisit, warc_warcinfo (also the ARC `filedesc://`
  header; `metadata://` and `dns:` resources about the crawl itself), warc_continuation,
  warc_other (unknown WARC-Type), http_redirect (HTTP 3xx),
  http_error (HTTP 4xx/5xx), non_text_content (images, CSS, JS, PDF, feeds...),
  page_too_large (record or decoded payload above `max_page_bytes`/`max_record_bytes`),
  empty_text (nothing left after extraction), too_little_text (fewer than
  `min_text_chars` characters).

Anything broken becomes a `Failure(source="web", step="read", location=path#offset=N)` and
the reader goes on: a corrupt or truncated gzip member, garbage between records, a record
cut short, an input that is no WARC/ARC at all, an empty file, an extraction that raised or
ran out of time. How the reader resynchronises after damage, what the offsets are and why
the framing is parsed here: `warc.py`.

Limits per page: `max_page_bytes` (after HTTP content decoding; larger -> page_too_large,
never inflated beyond it) and `page_timeout_s` (extraction time; -> Failure). The time
limit works in any thread (Beam worker threads included; `html.call_with_time_limit`) and
interrupts Python code (trafilatura); one long call into C (an lxml parse, resiliparse's
C++ extractor) runs to its end, which `max_page_bytes` bounds.

The reader is three modules: `warc.py` cuts a file into records, `http_payload.py` decodes
a record's HTTP payload and says whether it is HTML, text or neither, and this one turns
each record into a Document, Rejection or Failure (`record_to_item`, `read`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from pydantic import Field

from corpusmill.pipelines.sources import html as htmlx
from corpusmill.pipelines.sources.base import SourceConfig, describe_error
from corpusmill.pipelines.sources.http_payload import PayloadTooLarge, classify_payload, decode_content, media_type, split_http
from corpusmill.pipelines.sources.warc import SOURCE, RawRecord, iter_records
from corpusmill.schemas.document import Document, Failure, Rejection, make_id

# Default per-page limits. 4 MiB of HTML is far above real article pages (the 346 pages of
# the extraction benchmark: median 100 KB, largest 1.27 MB); bigger payloads are data dumps
# or traps. 10 s is ~100x the slowest page's trafilatura time there.
DEFAULT_MAX_PAGE_BYTES = 4 * 1024**2
DEFAULT_PAGE_TIMEOUT_S = 10.0


class Config(SourceConfig):
    """Options of the web source (all keys of `SourceConfig` plus these)."""

    kind: Literal["web"] = "web"
    extractor: Literal["routed", "hybrid", "resiliparse_clean", "resiliparse", "trafilatura", "trafilatura_fast"] = Field(
        default="routed",
        description="HTML main-text extractor; see pipelines/sources/html.py and benchmarks/results/extraction.md",
    )
    max_page_bytes: int = Field(
        default=DEFAULT_MAX_PAGE_BYTES,
        gt=0,
        description="larger payloads (after HTTP content decoding) are rejected as page_too_large",
    )
    page_timeout_s: float = Field(
        default=DEFAULT_PAGE_TIMEOUT_S,
        ge=0,
        description="time limit of one page's extraction (0 = none); see html.extract_main_text",
    )
    min_text_chars: int = Field(default=1, ge=1, description="fewer extracted characters -> too_little_text")


# ---------------------------------------------------------------------------------------
# Records to documents

_NOT_DOCUMENTS = {
    "request": "warc_request",
    "metadata": "warc_metadata",
    "revisit": "warc_revisit",
    "warcinfo": "warc_warcinfo",
    "continuation": "warc_continuation",
}
_DOCUMENT_TYPES = {"response", "resource", "conversion"}
# Records about the crawl itself (wget's `metadata://` log resources, Heritrix `dns:` lookups).
_CRAWLER_SCHEMES = {"metadata", "dns", "whois", "filedesc"}


def _strip_uri(uri: str | None) -> str | None:
    if not uri:
        return None
    uri = uri.strip()
    if uri.startswith("<") and uri.endswith(">"):  # WARC/0.17-0.18 style
        uri = uri[1:-1]
    return uri or None


def record_to_item(path: str, rec: RawRecord, config: Config) -> Document | Rejection | Failure:
    """One record to a Document, or the Rejection/Failure saying why it is none."""
    h = rec.headers
    rtype = h.get("warc-type", "").strip().lower()
    url = _strip_uri(h.get("warc-target-uri"))
    record_id = h.get("warc-record-id") or None
    crawl_date = h.get("warc-date") or None
    location = f"{path}#offset={rec.offset}"
    doc_id = make_id(SOURCE, url or "", record_id or f"{rec.version}:{crawl_date or rec.offset}")

    def reject(reason: str, detail: str = "") -> Rejection:
        return Rejection(id=doc_id, source=SOURCE, step="read", reason=reason, location=location, url=url, detail=detail)

    if rtype not in _DOCUMENT_TYPES:
        return reject(_NOT_DOCUMENTS.get(rtype, "warc_other"), rtype)
    if url and url.split(":", 1)[0].lower() in _CRAWLER_SCHEMES:
        return reject("warc_metadata", url.split(":", 1)[0].lower())  # e.g. wget's log as a resource
    if rec.block is None:
        return reject("page_too_large", f"record of {rec.length} bytes")
    block = rec.block
    warc_type = h.get("content-type")
    http_headers: dict[str, str]
    content_type: str | None
    if rtype == "conversion":
        status, http_headers, body = None, {}, block
        content_type = warc_type or "text/plain"
    elif block.startswith(b"HTTP/"):
        status, http_headers, body = split_http(block)
        content_type = http_headers.get("content-type") or ""
    else:
        status, http_headers, body = None, {}, block
        content_type = warc_type if media_type(warc_type) != "application/http" else ""
    if status is not None and 300 <= status < 400:
        return reject("http_redirect", str(status))
    if status is not None and (status >= 400 or status < 200):
        return reject("http_error", str(status))
    try:
        body = decode_content(body, http_headers, config.max_page_bytes)
    except PayloadTooLarge as e:
        return reject("page_too_large", str(e))
    except Exception as e:  # corrupt gzip/deflate/br body
        return Failure(SOURCE, "read", location, f"content decoding: {describe_error(e)}", id=doc_id)
    if len(body) > config.max_page_bytes:
        return reject("page_too_large", f"{len(body)} bytes")
    identified = media_type(h.get("warc-identified-payload-type"))
    kind = "text" if rtype == "conversion" else classify_payload(media_type(content_type), identified, body)
    if kind is None:
        return reject("non_text_content", media_type(content_type) or identified or "unknown")
    title = None
    if kind == "html":
        html_text, codec = htmlx.decode_body(body, content_type, is_html=True)
        try:
            text, title = htmlx.extract_main_text(html_text, config.extractor, config.page_timeout_s)
        except htmlx.ExtractionTimeout as e:
            return Failure(SOURCE, "read", location, f"extraction: {e}", id=doc_id)
        except Exception as e:  # the extractor broke on this page
            return Failure(SOURCE, "read", location, f"extraction: {describe_error(e)}", id=doc_id)
    else:
        text, codec = htmlx.decode_body(body, content_type, is_html=False)
        text = text.strip() if rtype == "conversion" else htmlx.tidy_text(text)
    if not text.strip():
        return reject("empty_text", kind)
    if len(text) < config.min_text_chars:
        return reject("too_little_text", f"{len(text)} chars")
    return Document(
        id=doc_id,
        text=text,
        source=SOURCE,
        location=location,
        url=url,
        title=title,
        warc_record_id=record_id,
        crawl_date=crawl_date,
        content_language=(http_headers.get("content-language") or h.get("warc-identified-content-language-hint") or None),
        crawl_language=h.get("warc-identified-content-language") or None,
    )


def read(unit: str, config: Config) -> Iterator[Document | Rejection | Failure]:
    """All records of one WARC/WET/ARC file as Documents, Rejections and Failures, in file
    order. Never raises for bad input (see the module docstring for every outcome)."""
    max_block = min(config.max_record_bytes, config.max_page_bytes + (1 << 16))
    for item in iter_records(unit, config.max_decompressed_bytes, max_block):
        if isinstance(item, Failure):
            yield item
            continue
        try:
            yield record_to_item(unit, item, config)
        except Exception as e:  # a bug or an input nobody foresaw: one record, not the file
            yield Failure(SOURCE, "read", f"{unit}#offset={item.offset}", describe_error(e))
