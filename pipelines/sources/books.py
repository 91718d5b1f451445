"""Books: plain-text files (Project Gutenberg and the like), one document per book.

A unit is one file, plain or compressed (gzip, bz2, xz, zstd: `open_input` sniffs the magic).
For each file the reader
  * reads at most `max_record_bytes` decompressed bytes (more -> Failure `book_too_large`);
  * rejects binary files (PDF, images, NUL-heavy data): Rejection(step="read",
    reason="binary_file");
  * decodes the bytes with a detected encoding (`encoding.decode_text`: BOM, UTF-16/32 NUL
    patterns, strict UTF-8, charset-normalizer);
  * normalizes line ends to "\\n" and removes ANSI escape sequences (terminal colours in
    fortune files) and control characters other than "\\n" and "\\t" (form feed and vertical
    tab become "\\n");
  * removes the Project Gutenberg header (everything up to "*** START OF THIS/THE PROJECT
    GUTENBERG EBOOK ... ***", or up to the older "*END*THE SMALL PRINT! ..." line), the
    "Produced by ..." credit paragraph right after it, and the license footer (from "*** END
    OF ...", "End of the Project Gutenberg EBook ..." or "End of Project Gutenberg's ...");
  * takes the title from the header's "Title:" field (continuation lines joined), else from
    "The Project Gutenberg EBook of <title>, by <author>", else None;
  * fortune files (entries separated by lines of just "%"): with `fortunes="document"` (the
    default) the file is one document whose entries are separated by a blank line; with
    `fortunes="entries"` each non-empty entry is its own document (part = entry number).
    The default keeps short entries (a 20-character poem) from being lost to document-length
    filters, and the file's identity stable;
  * optionally splits a book longer than `max_chars` characters at paragraph boundaries
    (blank lines; a longer paragraph at line ends; a longer line hard) into parts 0..n-1.

Ids: `make_id("books", path, part)` with the file's recorded path (`config.recorded`: relative
to the workflow's directory when the source's globs are written relative, so the id does not
change when the checkout moves; else the path as matched) and part 0 for an unsplit book;
location is that path, plus "#part=N" when the book has several parts.
A book that is empty after cleaning -> Rejection reason `empty`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

from pydantic import Field

from corpusmill.pipelines.sources.base import LimitExceeded, SourceConfig, describe_error, open_input
from corpusmill.pipelines.sources.encoding import Binary, decode_text
from corpusmill.schemas.document import PREVIEW_CHARS, Document, Failure, Rejection, make_id

KIND = "books"


class Config(SourceConfig):
    kind: Literal["books"] = "books"
    max_chars: int | None = Field(
        default=None,
        gt=0,
        description="split a book longer than this many characters into parts at paragraph "
        "boundaries (None: one document per book)",
    )
    fortunes: Literal["document", "entries"] = Field(
        default="document",
        description="fortune files ('%' separator lines): one document per file, or per entry",
    )
    strip_gutenberg: bool = Field(default=True, description="remove Project Gutenberg header/footer")


# --- cleaning -------------------------------------------------------------------------------

_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC: window titles, hyperlinks
    r"|\x1b[@-Z\\-_]"  # other two-byte escapes
)
# C0 and C1 controls and DEL, except \t and \n (CR and FF/VT are handled before).
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_text(text: str) -> str:
    """Line ends to "\\n"; ANSI escape sequences and control characters (not \\n, \\t) removed;
    form feed and vertical tab become newlines; a leading BOM is dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n").replace("\v", "\n")
    text = _ANSI.sub("", text)
    text = _CONTROLS.sub("", text)
    return text.lstrip("\ufeff")


# --- Project Gutenberg ----------------------------------------------------------------------

_PG_START = re.compile(
    r"^[ \t]*\*{3}[ \t]*START[ \t]+OF[ \t]+(?:THIS|THE)[ \t]+PROJECT[ \t]+GUTENBERG[ \t]+E-?(?:BOOK|TEXT)\b.*$"
    r"|^.*\*END\*?[ \t]*THE[ \t]+SMALL[ \t]+PRINT!.*$",
    re.IGNORECASE | re.MULTILINE,
)
_PG_END = re.compile(
    r"^[ \t]*\*{3}[ \t]*END[ \t]+OF[ \t]+(?:THIS|THE)[ \t]+PROJECT[ \t]+GUTENBERG\b.*$"
    r"|^[ \t]*End[ \t]+of[ \t]+(?:the[ \t]+)?Project[ \t]+Gutenberg\b.*$"
    r"|^[ \t]*\*{3}[ \t]*START:[ \t]+FULL[ \t]+LICENSE[ \t]*\*{3}.*$",
    re.IGNORECASE | re.MULTILINE,
)
_PG_TITLE = re.compile(r"^Title:[ \t]*(.+)$((?:\n[ \t]+\S.*$)*)", re.MULTILINE)
_PG_FIRST_LINE = re.compile(
    r"^\W*(?:The[ \t]+)?Project[ \t]+Gutenberg(?:'s)?[ \t]+E-?(?:Book|Text)?,?[ \t]*(?:of[ \t]+)?(.+?)(?:,[ \t]+by[ \t]+.*)?$",
    re.IGNORECASE,
)
_CREDIT = re.compile(
    r"^(?:Produced[ \t]+by|E-?text[ \t]+prepared[ \t]+by|This[ \t]+e-?(?:text|book)[ \t]+was[ \t]+(?:produced|prepared)"
    r"|Transcribed[ \t]+(?:from|by)|Prepared[ \t]+by)\b",
    re.IGNORECASE,
)
_HEADER_WINDOW = 60_000  # the PG header (old "small print" ones included) is well within this


def gutenberg_title(text: str) -> str | None:
    """The book title from a PG header ("Title:" field, continuation lines joined with a
    space), else from the "Project Gutenberg EBook of X, by Y" first line; None if neither or
    if the text has no PG header (a START marker, or "Project Gutenberg" on its first line)."""
    start = _PG_START.search(text, 0, _HEADER_WINDOW)
    if start:
        head = text[: start.start()]
    elif "project gutenberg" in text.lstrip()[:300].split("\n", 1)[0].lower():
        head = text[:_HEADER_WINDOW]
    else:
        return None
    m = _PG_TITLE.search(head)
    if m:
        parts = [m.group(1).strip()] + [line.strip() for line in m.group(2).splitlines() if line.strip()]
        return " ".join(parts) or None
    first = head.lstrip().split("\n", 1)[0]
    m = _PG_FIRST_LINE.match(first)
    if m and m.group(1).strip(" *"):
        return m.group(1).strip(" *")
    return None


def strip_gutenberg(text: str) -> str:
    """The book between the PG header and the license footer (text unchanged without markers).

    Header: up to the end of the START line (or the old "*END*THE SMALL PRINT!" line), plus a
    first paragraph that credits the producers ("Produced by ..."). Footer: from the first END
    line after the header ("*** END OF ...", "End of [the] Project Gutenberg ...", or "*** START:
    FULL LICENSE ***")."""
    start = 0
    m = _PG_START.search(text, 0, _HEADER_WINDOW)
    if m:
        start = m.end()
    end_m = _PG_END.search(text, start)
    end = end_m.start() if end_m else len(text)
    body = text[start:end]
    if start:
        lead = body.lstrip("\n")
        if _CREDIT.match(lead):
            cut = re.search(r"\n[ \t]*\n", lead)
            body = lead[cut.end() :] if cut else ""
    return body.strip("\n")


# --- fortunes -------------------------------------------------------------------------------

_FORTUNE_SEP = re.compile(r"^%[ \t]*$", re.MULTILINE)
MIN_FORTUNE_SEPARATORS = 3  # fewer "%" lines than this: an ordinary text that has a "%" line
MAX_LINES_PER_SEPARATOR = 200  # a fortune file has at least one "%" per 200 lines


def fortune_entries(text: str) -> list[str] | None:
    """The entries of a fortune file (separator lines of just "%"), stripped, empty ones
    dropped; None when `text` is not a fortune file."""
    seps = len(_FORTUNE_SEP.findall(text))
    if seps < MIN_FORTUNE_SEPARATORS or text.count("\n") > seps * MAX_LINES_PER_SEPARATOR:
        return None
    entries = [e.strip("\n") for e in _FORTUNE_SEP.split(text)]
    return [e for e in entries if e.strip()]


# --- splitting ------------------------------------------------------------------------------


def split_paragraphs(text: str, max_chars: int) -> list[str]:
    """`text` in parts of at most `max_chars` characters, cut at blank lines (paragraphs); a
    paragraph longer than that is cut at line ends, a line longer than that hard. Inside a
    part the original separators are kept; the separator at a cut is dropped."""
    if len(text) <= max_chars:
        return [text]
    tokens = re.split(r"(\n[ \t]*\n(?:[ \t]*\n)*)", text)  # paragraph, separator, paragraph, ...
    pieces: list[tuple[str, str]] = []  # (separator before, piece)
    sep = ""
    for i, token in enumerate(tokens):
        if i % 2:
            sep = token
            continue
        if len(token) <= max_chars:
            pieces.append((sep, token))
        else:
            for j, line in enumerate(token.split("\n")):
                for k in range(0, max(len(line), 1), max_chars):
                    pieces.append((sep if j == 0 and k == 0 else "\n" if k == 0 else "", line[k : k + max_chars]))
        sep = ""
    parts: list[str] = []
    current = ""
    for sep, piece in pieces:
        if not current:
            current = piece
        elif len(current) + len(sep) + len(piece) <= max_chars:
            current += sep + piece
        else:
            parts.append(current)
            current = piece
    if current or not parts:
        parts.append(current)
    return [p for p in parts if p.strip()] or [""]


# --- reader ---------------------------------------------------------------------------------


def _read_bytes(path: str, config: Config) -> bytes:
    with open_input(path, config.max_decompressed_bytes) as f:
        data = f.read(config.max_record_bytes + 1)
    if len(data) > config.max_record_bytes:
        raise LimitExceeded(f"book_too_large: more than {config.max_record_bytes} bytes")
    return data


def book_documents(path: str, text: str, config: Config) -> Iterator[Document | Rejection]:
    """Documents of one decoded book (pure: no I/O). See the module docstring."""
    text = clean_text(text)
    title = None
    if config.strip_gutenberg:
        title = gutenberg_title(text)
        text = strip_gutenberg(text)
    entries = fortune_entries(text)
    if entries is not None:
        if config.fortunes == "entries":
            parts = entries
        else:
            text = "\n\n".join(entries)
            parts = split_paragraphs(text, config.max_chars) if config.max_chars else [text]
    else:
        text = text.strip("\n")
        parts = split_paragraphs(text, config.max_chars) if config.max_chars else [text]
    if not any(p.strip() for p in parts):
        yield Rejection(
            id=make_id(KIND, path, 0), source=KIND, step="read", reason="empty", location=path, detail="no text"
        )
        return
    several = len(parts) > 1
    for n, part in enumerate(parts):
        location = f"{path}#part={n}" if several else path
        yield Document(
            id=make_id(KIND, path, n),
            text=part,
            source=KIND,
            location=location,
            title=title,
            part=n,
        )


def read(unit: str, config: Config) -> Iterator[Document | Rejection | Failure]:
    """One book file -> its document(s); binary files -> Rejection `binary_file`; unreadable
    files (corrupt compression, over the size limits) -> Failure. Never raises for bad input.
    The file is opened at `unit`; ids and locations name it by `config.recorded(unit)`."""
    name = config.recorded(unit)
    try:
        data = _read_bytes(unit, config)
    except (OSError, EOFError, ValueError, LimitExceeded) as e:
        yield Failure(source=KIND, step="read", location=name, error=describe_error(e))
        return
    except Exception as e:  # noqa: BLE001 - e.g. zstandard.ZstdError: a corrupt file, not a crash
        yield Failure(source=KIND, step="read", location=name, error=describe_error(e))
        return
    decoded = decode_text(data)
    if isinstance(decoded, Binary):
        yield Rejection(
            id=make_id(KIND, name, 0),
            source=KIND,
            step="read",
            reason="binary_file",
            location=name,
            detail=decoded.why,
            text_preview=data[:PREVIEW_CHARS].decode("latin-1").encode("unicode_escape").decode("ascii")[:PREVIEW_CHARS],
        )
        return
    yield from book_documents(name, decoded.text, config)
