"""Web page bytes to Unicode, and HTML to its main text.

Decoding (`decode_body`), in this order, as browsers do (WHATWG "encoding sniffing"):
  1. a byte-order mark;
  2. the charset of the HTTP `Content-Type` header;
  3. for HTML, `<meta charset>` or `<meta http-equiv="Content-Type" content="...charset=">`
     within the first 4 KiB;
  4. detection: valid UTF-8 is UTF-8, else uchardet (resiliparse's `detect_encoding`).
A declared charset that does not fit the bytes (more than 0.5 % undecodable) loses to
detection when detection decodes with fewer errors; labels map to the WHATWG decoders
(gb2312/gbk -> gb18030, iso-8859-1/ascii -> windows-1252, shift_jis -> cp932, euc-kr ->
cp949, ...), because that is what the page author saw in the browser.

Extraction (`extract_main_text`), one option `extractor`:
  * `resiliparse`: resiliparse `extract_plain_text(main_content=True)`, fast (C++);
  * `resiliparse_clean`: the same, restricted to the page's article-body container when it
    has one (schema.org articleBody, common CMS class names, <article>, <main>), then
    `drop_link_lines` (lines that are only a link: "Read more: ...") and `clean_lines`,
    which trims the short lines main-content heuristics leave around the body (menus,
    share widgets, related-article lists);
  * `trafilatura`: `trafilatura.extract` (best quality, slow, pure Python + lxml);
  * `hybrid`: `resiliparse_clean`, falling back to trafilatura on the pages where it kept
    little of a page with much text (FALLBACK_BELOW_CHARS, FALLBACK_PAGE_CHARS);
  * `trafilatura_fast`: trafilatura's own main extractor (the stages `trafilatura.extract`
    runs with `fast=True`: raw-tree prune, tree cleaning, tag conversion, `extract_content`,
    baseline rescue) on a tree stripped of scripts, styles, other never-text elements and
    heading permalinks ("¶"), without the readability/justext comparison and the recall
    escalation, which take about half of `trafilatura.extract`'s time on the benchmark pages;
  * `routed` (default): `resiliparse_clean`, and on the pages where it kept fewer than
    ROUTE_BELOW_CHARS characters (it missed or cut the article, or the page is short: where
    it is least reliable) also trafilatura's main extractor (as `trafilatura_fast`) on the
    article container resiliparse_clean used, or on the page when it found none (at most
    MAX_ROUTED_HTML_CHARS), whose text is taken unless it is much shorter (PREFER_FAST_SHARE),
    with the sentence-like paragraphs of resiliparse_clean's that it dropped added back in
    place (`merge_body_lines`). ROUTE_BELOW_CHARS is chosen by cross-validation under a speed floor (3x
    trafilatura.extract) in benchmarks/extraction.py.
The measured speed and quality of each is in benchmarks/results/extraction.md; the default
comes from there. Output: one block (heading, paragraph, list item) per line.
"""

from __future__ import annotations

import codecs
import ctypes
import os
import re
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from corpusmill.pipelines.sources.encoding import charset_codec

if TYPE_CHECKING:
    from resiliparse.parse.html import HTMLTree

# ---------------------------------------------------------------------------------------
# Charset

# WHATWG label -> Python codec for the decoders that differ from Python's codec of the
# same name (https://encoding.spec.whatwg.org/#names-and-labels).
_WHATWG: dict[str, str] = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "gb_2312-80": "gb18030",
    "gb_2312": "gb18030",
    "csgb2312": "gb18030",
    "chinese": "gb18030",
    "iso-ir-58": "gb18030",
    "gb18030": "gb18030",
    "euc-cn": "gb18030",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "ansi_x3.4-1968": "cp1252",
    "iso-8859-9": "cp1254",
    "latin5": "cp1254",
    "tis-620": "cp874",
    "iso-8859-11": "cp874",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "windows-31j": "cp932",
    "csshiftjis": "cp932",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "ksc5601": "cp949",
    "big5": "big5hkscs",
    "x-x-big5": "big5hkscs",
    "x-euc-jp": "euc_jp",
    "x-mac-cyrillic": "mac_cyrillic",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    "utf8": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
}
# A <meta> may not switch to these (WHATWG: treated as UTF-8 unless a BOM says so).
_META_IGNORED = {"utf-16", "utf-16le", "utf-16be", "utf-32", "x-user-defined"}

_CT_CHARSET = re.compile(r"charset\s*=\s*[\"']?\s*([\w.:\-]+)", re.I)
_META_CHARSET = re.compile(
    rb"<meta[^>]+?charset\s*=\s*[\"']?\s*([\w.:\-]+)",
    re.I,
)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
MAX_BAD_FRACTION = 0.005  # undecodable share above which a declared charset is doubted


def python_codec(label: str | None) -> str | None:
    """The Python codec for an encoding label (WHATWG mapping), or None if unknown."""
    if not label:
        return None
    key = label.strip().strip("\"'").lower()
    if not key:
        return None
    name = charset_codec(_WHATWG.get(key, key))
    if name is None:
        return None
    # Python names that need the WHATWG superset too
    return {"gb2312": "gb18030", "gbk": "gb18030", "latin-1": "cp1252", "iso8859-1": "cp1252", "ascii": "cp1252", "shift_jis": "cp932", "euc_kr": "cp949"}.get(name, name)


def charset_from_content_type(content_type: str | None) -> str | None:
    """The codec named by a `Content-Type` value's charset parameter, if any and known."""
    if not content_type:
        return None
    m = _CT_CHARSET.search(content_type)
    return python_codec(m.group(1)) if m else None


def meta_charset(body: bytes) -> str | None:
    """The codec of an HTML `<meta charset>` / http-equiv declaration in the first 4 KiB."""
    m = _META_CHARSET.search(body[:4096])
    if not m:
        return None
    label = m.group(1).decode("ascii", "replace").lower()
    if label in _META_IGNORED:
        return "utf-8"
    return python_codec(label)


def _bad_fraction(body: bytes, codec: str) -> float:
    """Share of characters that `codec` cannot decode (as U+FFFD)."""
    text = body.decode(codec, "replace")
    return text.count("\ufffd") / max(1, len(text))


def detect_charset(body: bytes) -> str:
    """Detected codec: UTF-8 when the bytes are valid UTF-8, else uchardet's guess (via
    resiliparse, WHATWG-mapped), else windows-1252."""
    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from resiliparse.parse.encoding import detect_encoding

    guess = python_codec(detect_encoding(body, max_len=32768))
    return guess or "cp1252"


def decode_body(body: bytes, content_type: str | None, is_html: bool = True) -> tuple[str, str]:
    """Decode a page payload. Returns (text, codec used). Never raises."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(codec, "replace"), codec
    declared = charset_from_content_type(content_type)
    if declared is None and is_html:
        declared = meta_charset(body)
    if declared is not None:
        try:
            return body.decode(declared), declared
        except UnicodeDecodeError:
            pass
        bad = _bad_fraction(body, declared)
        if bad <= MAX_BAD_FRACTION:
            return body.decode(declared, "replace"), declared
        detected = detect_charset(body)
        if detected != declared and _bad_fraction(body, detected) < bad:
            return body.decode(detected, "replace"), detected
        return body.decode(declared, "replace"), declared
    detected = detect_charset(body)
    return body.decode(detected, "replace"), detected


# ---------------------------------------------------------------------------------------
# HTML to text


class ExtractionTimeout(Exception):
    """A page's extraction exceeded its time limit."""


class PageTooDeep(ValueError):
    """A page whose elements nest deeper than MAX_DOM_DEPTH (main-content extraction refused)."""


# resiliparse's main-content pass costs about (elements x nesting depth), all inside one C++
# call that the time limit cannot interrupt: 100,000 nested <div>s (500 KB) ran for hours
# (found by benchmarks/fuzz_readers.py). Real pages are shallow: of the 496 HTML pages of the
# shared crawl samples (extraction benchmark, CC-MAIN-2020-34, ClueWeb09-ja, wget, pywb,
# Debian docs) none has an element deeper than 47. 128 leaves a wide margin and caps that
# pass at ~128 ancestor steps per element (max_page_bytes bounds the elements).
MAX_DOM_DEPTH = 128
_DEEPER_THAN_MAX = " > ".join(["*"] * (MAX_DOM_DEPTH + 1))  # an element at depth MAX+1


def check_depth(tree: HTMLTree) -> None:
    """Raise PageTooDeep when an element of `tree` is nested deeper than MAX_DOM_DEPTH. One
    CSS query in C: it stops at the first too-deep element, and costs at most MAX_DOM_DEPTH
    parent steps per element otherwise."""
    if tree.document is not None and tree.document.query_selector(_DEEPER_THAN_MAX) is not None:
        raise PageTooDeep(f"HTML elements nested deeper than {MAX_DOM_DEPTH}")


_TITLE_SPACE = re.compile(r"\s+")


def html_title(tree: HTMLTree) -> str | None:
    title = tree.title
    if not title:
        return None
    title = _TITLE_SPACE.sub(" ", title).strip()
    return title or None


_BLANKS = re.compile(r"\n{2,}")
_TRAILING = re.compile(r"[ \t\u00a0]+\n")


def tidy_text(text: str) -> str:
    """One block per line: trailing blanks removed, runs of empty lines collapsed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _TRAILING.sub("\n", text)
    text = _BLANKS.sub("\n", text)
    return text.strip()


def extract_resiliparse(html: str) -> tuple[str, str | None]:
    """(main text, title) by resiliparse's main-content heuristics."""
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    tree = HTMLTree.parse(html)
    check_depth(tree)
    text = extract_plain_text(tree, main_content=True, alt_texts=False, comments=False)
    return tidy_text(text), html_title(tree)


def extract_trafilatura(html: str) -> tuple[str, str | None]:
    """(main text, title) by trafilatura.extract (default settings, with fallbacks)."""
    import trafilatura
    from resiliparse.parse.html import HTMLTree

    text = trafilatura.extract(html, include_comments=False, include_tables=True) or ""
    return tidy_text(text), html_title(HTMLTree.parse(html))


# A "body line": long enough and ending like a sentence. 80 characters is about one full
# sentence in European languages; chosen on the extraction benchmark (40/80/120 compared,
# benchmarks/results/extraction.md), not per site.
MIN_BODY_LINE_CHARS = 80
# Lines kept before the first body line: the headline and one line (dateline, byline, a
# "Part of the Stable ABI." note) between it and the text. 1 and 2 score the same F1 there.
KEEP_BEFORE_BODY = 2
# After the last body line, lines that are still full sentences of at least this length are
# kept (a closing "Gerne. Bis morgen." belongs to the text; "Mehr zum Thema" does not).
MIN_TAIL_SENTENCE_CHARS = 20
_FULL_STOP = re.compile(r"[.!?\u2026\u3002\uff01\uff1f][\"\u201c\u201d\u00ab\u00bb)\]\u300d\u300f]?\s*$")
_SENTENCE_END = re.compile(r"[.!?\u2026:;\"\u201c\u201d\u00ab\u00bb)\]\u3002\uff01\uff1f\u300d\u300f]\s*$")


_WIDE = re.compile(r"[\u1100-\u11ff\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")


def _is_body_line(line: str) -> bool:
    """Long enough (CJK/kana/hangul characters count double: a Chinese sentence has fewer,
    denser characters) and ending like a sentence."""
    if len(line) < MIN_BODY_LINE_CHARS // 2:
        return False
    width = len(line) + len(_WIDE.findall(line))
    return width >= MIN_BODY_LINE_CHARS and _SENTENCE_END.search(line) is not None


def clean_lines(text: str) -> str:
    """Trim what main-content heuristics leave around the article body.

    Keeps the lines from KEEP_BEFORE_BODY lines before the first body line (the headline)
    through the last body line (`_is_body_line`: at least MIN_BODY_LINE_CHARS characters,
    ending like a sentence), and after it the lines that are still full sentences (at least
    MIN_TAIL_SENTENCE_CHARS characters ending in . ! ? ...). Drops the short lines before
    (menus, breadcrumbs, "Share" widgets) and after (related-article titles, "Mehr zum
    Thema", tag lists, footers). A text without any body line (a list page, a table) is
    returned unchanged."""
    lines = text.split("\n")
    body = [i for i, line in enumerate(lines) if _is_body_line(line.strip())]
    if not body:
        return text
    end = body[-1] + 1
    while end < len(lines) and len(lines[end].strip()) >= MIN_TAIL_SENTENCE_CHARS and _FULL_STOP.search(lines[end]):
        end += 1
    return "\n".join(lines[max(0, body[0] - KEEP_BEFORE_BODY) : end])


# <a> elements that lead elsewhere (not in-page "#anchor" links: a table of contents repeats
# the headings). Bounded repetitions: no runaway on unclosed tags.
_LINK = re.compile(r"<a\s(?![^>]{0,2000}?href\s*=\s*[\"']?#)[^>]{0,2000}>(.{0,1000}?)</a\s*>", re.S | re.I)
_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"\s+")
_BULLET = re.compile(r"^(?:[\u2022\u00b7*\-]|\d+[.)])\s*")
# "Read more: <a>Other story</a>", "Lesen Sie auch - <a>...</a>": a short lead-in before a link.
_LEAD_INS = (": ", " - ", " \u2013 ", " | ", "\u00bb ", "> ")
MAX_LEAD_IN_CHARS = 40


def _link_chars(html: str) -> int:
    """Characters of link text in `html` (links to other pages)."""
    return sum(len(_SPACES.sub(" ", _TAG.sub("", inner)).strip()) for inner in _LINK.findall(html))


def link_texts(html: str) -> set[str]:
    """The texts of the <a> elements in `html` that lead to another page (whitespace
    collapsed, entities decoded)."""
    import html as html_module

    out = set()
    for inner in _LINK.findall(html):
        text = _SPACES.sub(" ", html_module.unescape(_TAG.sub("", inner))).strip()
        if len(text) >= 2:
            out.add(text)
    return out


def _is_link_line(line: str, links: set[str]) -> bool:
    text = _BULLET.sub("", _SPACES.sub(" ", line).strip())
    if not text:
        return False
    if text in links:
        return True
    for sep in _LEAD_INS:
        lead, found, rest = text.partition(sep)
        if found and len(lead) <= MAX_LEAD_IN_CHARS and rest.strip() in links:
            return True
    return False


def drop_link_lines(text: str, links: set[str]) -> str:
    """Drop lines that are nothing but a link (or a short lead-in and a link): teasers to
    other articles ("Read more: ...", "Le puede interesar: ..."), "weiterlesen", link lists
    that main-content heuristics kept inside the article. Prose lines that contain links
    are kept."""
    if not links:
        return text
    return "\n".join(line for line in text.split("\n") if not _is_link_line(line, links))


# Containers that conventionally hold an article's body, most specific first: schema.org
# markup, the class/id names of common CMS themes (WordPress `entry-content`, news sites'
# `article-body`/`story-body`), the HTML5 <article>, then <main>.
BODY_CONTAINERS: tuple[str, ...] = (
    '[itemprop="articleBody"]',
    ", ".join(
        f'[{attr}*="{name}"]'
        for attr in ("class", "id")
        for name in (
            "article-body",
            "article__body",
            "articleBody",
            "article-content",
            "article__content",
            "article-text",
            "entry-content",
            "post-content",
            "post-body",
            "story-body",
            "story-content",
        )
    ),
    "article",
    'main, [role="main"]',
)
# A container is used only if it holds at least this share of the text of the page's <body>
# (raw text, before any extraction: a teaser <article> or a small <main> does not replace the
# page) and its main text has 200 characters. 0.2 and 0.4 score the same on the benchmark;
# comparing raw text avoids extracting the page twice.
MIN_CONTAINER_SHARE = 0.2
MIN_CONTAINER_CHARS = 200
MAX_CONTAINER_CANDIDATES = 20


def _body_container(tree: HTMLTree) -> tuple[str, str] | None:
    """(main text, HTML) of the article-body container (see BODY_CONTAINERS), if one holds
    enough of the page."""
    from resiliparse.parse.html import HTMLTree

    if tree.body is None:
        return None
    body_chars = -1
    for selector in BODY_CONTAINERS:
        found = tree.body.query_selector_all(selector)
        if not len(found) or len(found) > MAX_CONTAINER_CANDIDATES:
            continue  # none, or a list of teasers rather than one article
        if body_chars < 0:
            body_chars = len(tree.body.text or "")  # resiliparse types node text as str | None
        chars, largest = max(((len(e.text or ""), e) for e in found), key=lambda pair: pair[0])
        if chars < MIN_CONTAINER_SHARE * body_chars:
            continue
        container_html = largest.html
        text = _clean_main_content(HTMLTree.parse(container_html))
        if len(text) >= MIN_CONTAINER_CHARS:
            return text, container_html
    return None


def _clean_main_content(tree: HTMLTree) -> str:
    """resiliparse's main content as `resiliparse_clean` takes it: no image alt texts, no HTML
    comments, and no blog-post / article metadata (`post_meta=False`: bylines, "Posted by ...
    at 12:11 PM", "Veröffentlicht am ... von", dates, "Labels:", audio durations, photo
    credits). post_meta=False: public pages F1 0.886 -> 0.889 (precision 0.879 -> 0.885,
    recall the same), cross-validated `routed` +0.003; no change at all on the 308 additional
    pages (benchmarks/results/extraction.md)."""
    from resiliparse.extract.html2text import extract_plain_text

    return extract_plain_text(tree, main_content=True, alt_texts=False, comments=False, post_meta=False)


def resiliparse_clean_parts(html: str) -> tuple[str, str | None, str | None]:
    """(main text, title, HTML of the article-body container or None): `resiliparse_clean`,
    and the container it used (`_body_container`), which `routed` hands to trafilatura."""
    from resiliparse.parse.html import HTMLTree

    tree = HTMLTree.parse(html)
    check_depth(tree)
    found = _body_container(tree)
    container = None
    if found is not None:
        text, container = found
        html = container  # links inside the article only: not the site's menus
    else:
        text = _clean_main_content(tree)
    text = drop_link_lines(tidy_text(text), link_texts(html))
    return clean_lines(text), html_title(tree), container


def extract_resiliparse_clean(html: str) -> tuple[str, str | None]:
    """(main text, title): resiliparse main content (`_clean_main_content`), restricted to the
    article-body container when the page has one (`_body_container`), without link-only
    lines (`drop_link_lines`), trimmed by `clean_lines`."""
    text, title, _ = resiliparse_clean_parts(html)
    return text, title


# `hybrid` asks trafilatura when the fast path kept fewer than FALLBACK_BELOW_CHARS characters
# of a page that shows at least FALLBACK_PAGE_CHARS characters of text outside links (an
# index or a table of contents is not a missed article): plenty of text but
# little kept means resiliparse's main-content heuristics missed the article (on some layouts
# they return nothing). Short pages (product pages, spam) stay on the fast path. This sends
# 9 of the benchmark's 346 pages to trafilatura, and 1 of 612 pages of the real crawl samples
# (CC-MAIN-2020-34, ClueWeb09-ja, wget, Python docs); with only the first condition it was
# 18 and 44 of 112 crawl pages. See benchmarks/results/extraction.md.
FALLBACK_BELOW_CHARS = 500
FALLBACK_PAGE_CHARS = 4000
# ... and whose text is less than half link text (missed articles on the benchmark: 5-33 %
# (one 53 %); the Python docs' index and table-of-contents pages: 53-81 %).
MAX_FALLBACK_LINK_SHARE = 0.5


def extract_hybrid(html: str) -> tuple[str, str | None]:
    """(main text, title): `resiliparse_clean`; trafilatura's text instead on a page where
    the fast path missed the article (see FALLBACK_BELOW_CHARS) and trafilatura finds some."""
    text, title = extract_resiliparse_clean(html)
    if len(text) >= FALLBACK_BELOW_CHARS:
        return text, title
    from resiliparse.extract.html2text import extract_plain_text

    shown = len(extract_plain_text(html, main_content=False))
    in_links = _link_chars(html)
    if shown - in_links < FALLBACK_PAGE_CHARS or in_links >= MAX_FALLBACK_LINK_SHARE * shown:
        return text, title  # a short page, or a list of links (an index, a table of contents)
    import trafilatura

    slow = tidy_text(trafilatura.extract(html, include_comments=False, include_tables=True) or "")
    return (slow or text), title


# Elements that never hold main text, removed from the lxml tree before trafilatura's stages
# run (they would remove them too, but only after several XPath passes over them). The
# baseline rescue reads JSON-LD scripts from the HTML string, not from this tree.
_NEVER_TEXT = ("style", "noscript", "svg", "iframe", "template", "link", "meta", "select", "button", "input", "textarea")
# ... and the elements trafilatura's `tree_cleaning` deletes with their content anyway
# (MANUALLY_CLEANED: <script>, <aside>, <nav>, <footer>, <head>, media, ...), removed before its XPath
# passes so that those run over a smaller tree (about 5 % of this extractor's time; the same
# text on all 346 public pages). Not <form> (trafilatura keeps a form that holds most of the
# page's text) nor <figure> (a figure holding a table is kept as a <div>).
_KEPT_FOR_LATER = ("form", "figure")


# Heading permalinks ("About these documents¶" in Sphinx, "#" or "§" anchors elsewhere): not
# text, and trafilatura keeps them glued to the heading.
_PERMALINK_XPATH = "//a[contains(@class, 'headerlink') or normalize-space()='\u00b6' or normalize-space()='#' or normalize-space()='\u00a7']"
# trafilatura's raw-tree prune (RAW_TREE_PRUNE_XPATH: infinite-scroll containers of appended
# follow-up articles, Elementor share buttons) as plain XPath: the same rule without its
# `re:test` calls, which run Python for every <div> and cost 15-20 % of this extractor's time.
_APPENDED_XPATH = (
    "//*[self::div or self::section or self::aside]"
    "[(contains(@id, 'mvp-post-add-box') or contains(@id, 'mvp-post-add-wrap') or contains(@class, 'mvp-post-add-box')"
    " or contains(@class, 'mvp-post-add-wrap'))"
    " or ((contains(@id, 'infinite-scroll') or contains(@id, 'infinitescroll') or contains(@class, 'infinite-scroll')"
    " or contains(@class, 'infinitescroll')) and not(.//h1))"
    " or contains(@class, 'elementor-share-buttons')]"
)
_XPATHS: dict[str, Any] = {}


def _xpath(expression: str) -> Any:  # a compiled lxml XPath (lxml is untyped here), cached
    if expression not in _XPATHS:
        from lxml import etree

        _XPATHS[expression] = etree.XPath(expression)
    return _XPATHS[expression]


# A necessary condition in the raw HTML for the XPath above (its contains() tests are
# case-sensitive substrings): most pages have none of them, and four substring scans cost
# about a fifth of the XPath.
_APPENDED_HINTS = ("mvp-post-add-", "infinite-scroll", "infinitescroll", "elementor-share-buttons")


def _PERMALINKS(tree: Any) -> list[Any]:  # the permalink <a> elements of an lxml tree
    return list(_xpath(_PERMALINK_XPATH)(tree))


def _APPENDED_ARTICLES(tree: Any, html: str) -> list[Any]:  # infinite-scroll follow-ups, share buttons (outermost first)
    if not any(hint in html for hint in _APPENDED_HINTS):
        return []
    found = list(_xpath(_APPENDED_XPATH)(tree))
    ids = {id(e) for e in found}
    return [e for e in found if not any(id(a) in ids for a in e.iterancestors())]


def _trafilatura_core(html: str) -> str:
    """Text of trafilatura's main extractor, fast path (see the module docstring).

    Calls trafilatura's own stage functions (pinned trafilatura 2.3.x; exercised by
    tests/pipelines/sources/test_html.py), in the order `trafilatura_sequence` runs them for
    `fast=True, include_comments=False, include_tables=True`, minus the recall escalation."""
    from lxml import etree
    from trafilatura.baseline import baseline
    from trafilatura.htmlprocessing import convert_tags, prune_unwanted_nodes, tree_cleaning
    from trafilatura.main_extractor import extract_content
    from trafilatura.settings import MANUALLY_CLEANED
    from trafilatura.utils import load_html
    from trafilatura.xml import xmltotxt
    from trafilatura.xpaths import REMOVE_COMMENTS_AND_LISTS_XPATH

    tree = load_html(html)
    if tree is None:
        return ""
    early = tuple(tag for tag in MANUALLY_CLEANED if tag not in _KEPT_FOR_LATER)
    etree.strip_elements(tree, etree.Comment, *_NEVER_TEXT, *early, with_tail=False)
    for element in _PERMALINKS(tree):
        element.drop_tree()
    for element in _APPENDED_ARTICLES(tree, html):
        element.drop_tree()
    tree = prune_unwanted_nodes(tree, REMOVE_COMMENTS_AND_LISTS_XPATH)
    options = _trafilatura_options()
    cleaned = convert_tags(tree_cleaning(tree, options), options, None)
    body, text = extract_content(cleaned, options)
    if len(text) < options.min_extracted_size:  # trafilatura's baseline rescue (stage 3)
        _, rescued, rescued_len = baseline(html)
        if rescued_len > len(text):
            return tidy_text(rescued)
    return tidy_text(xmltotxt(body, False))


_TRAFILATURA_OPTIONS: Any = None


def _trafilatura_options() -> Any:  # trafilatura.settings.Extractor, built once
    global _TRAFILATURA_OPTIONS
    if _TRAFILATURA_OPTIONS is None:
        from trafilatura.settings import Extractor

        _TRAFILATURA_OPTIONS = Extractor(fast=True, comments=False, tables=True, dedup=False, output_format="txt")
    return _TRAFILATURA_OPTIONS


def extract_trafilatura_fast(html: str) -> tuple[str, str | None]:
    """(main text, title): trafilatura's main extractor without its fallbacks
    (`_trafilatura_core`). The page is parsed by resiliparse first for the depth check
    (PageTooDeep) and the title."""
    from resiliparse.parse.html import HTMLTree

    tree = HTMLTree.parse(html)
    check_depth(tree)
    return _trafilatura_core(html), html_title(tree)


# `routed` runs trafilatura's main extractor too when `resiliparse_clean` kept fewer than
# ROUTE_BELOW_CHARS characters. Chosen by 5-fold cross-validation on the extraction benchmark
# (benchmarks/extraction.py: the threshold with the best F1 on the training folds among those
# keeping the whole extractor at >= 3.3x trafilatura.extract's pages per CPU-second, the 3x
# target plus a 10 % margin for the spread of speed ratios between runs; held-out F1
# in benchmarks/results/extraction.md; the share of pages routed is there). Pages above it are
# mostly long articles, where resiliparse_clean and trafilatura's main extractor score alike
# (F1 0.895 and 0.896 on the 188 public pages over 3000); below it trafilatura's is far better
# (0.928 vs 0.874). A single threshold on one signal: in exploratory cross-validation, rules on
# more signals (share of sentence-like lines, share of short lines, characters in
# sentence-like lines, share of the page's text kept, an article container found, the page's
# HTML size) did not score better on held-out folds under the speed floor. Since trafilatura
# gets the article container (`routed_slow_input`, about half the CPU on those pages) the
# folds chose 3500 or 4000 under a bare 3x floor (before: 3000 or 3500); the same code then
# measured 3.0x, 3.2x and 3.4x at 4000 in three runs, so the floor now has a 10 % margin
# (3.3x), under which the folds choose 2500 or 3000, and 3000 on all pages.
ROUTE_BELOW_CHARS = 3000
# ... and then keeps trafilatura's text unless it is under this share of resiliparse_clean's
# (trafilatura dropped most of a text resiliparse found: on these pages usually a list or
# table layout that trafilatura's link-density rules discard). Fixed a priori, not tuned.
PREFER_FAST_SHARE = 0.5
# ... unless the page is larger than this (characters of HTML): trafilatura's cost grows with
# the page (about 1.6 CPU-s per MB of HTML here), and the page time limit would turn such a
# page into a Failure on a loaded machine. None of the 346 public pages is that large (the
# largest has 1.27 MB); of the 530 Python docs pages only contents.html (2.6 MB, a table of
# contents: a list of links, which trafilatura would not keep either).
MAX_ROUTED_HTML_CHARS = 2_000_000


def merge_body_lines(slow: str, fast: str) -> str:
    """`slow` (trafilatura's text) plus the body lines (`_is_body_line`: sentence-like lines of
    MIN_BODY_LINE_CHARS or more) of `fast` (resiliparse_clean's) that `slow` lacks (compared
    with whitespace collapsed, as substrings: nothing is repeated), each placed after the
    last line of `fast` before it that `slow` has, so the document order is kept.

    trafilatura drops whole paragraphs that its link-density and class-name rules mistake
    for boilerplate (a paragraph of a few linked words, a text block in a "related"-named
    <div>); resiliparse keeps them. Short lines are not added: those are where
    resiliparse_clean's boilerplate is (captions, bylines, teasers). A line of `slow` that an
    added line contains is dropped: given the article container, trafilatura sometimes keeps
    only the tail of a paragraph (after an inline element), and the paragraph would otherwise
    be there twice (on the first 300 pages of six web WARCs, the documents that Gopher's
    duplicate-n-gram rule drops went from 82 to 37 with this; 67 before the container input)."""
    slow_lines = slow.split("\n")
    slow_text = _SPACES.sub(" ", slow)
    slow_keys = [_SPACES.sub(" ", line).strip() for line in slow_lines]
    where = {key: i for i, key in enumerate(slow_keys)}
    added: dict[int, list[str]] = {}
    added_keys: list[str] = []
    anchor = -1  # index of the slow line after which missing lines go (-1: before the first)
    for line in fast.split("\n"):
        key = _SPACES.sub(" ", line).strip()
        if key in where:
            anchor = where[key]
        elif _is_body_line(key) and key not in slow_text:
            added.setdefault(anchor, []).append(line)
            added_keys.append(key)
    if not added:
        return slow
    out = added.get(-1, [])
    for i, line in enumerate(slow_lines):
        # a slow line that an added line contains (trafilatura kept only part of the paragraph)
        if not (slow_keys[i] and any(slow_keys[i] in longer for longer in added_keys)):
            out.append(line)
        out += added.get(i, [])
    return "\n".join(out)


def routed_choice(fast: str, slow: str) -> str:
    """The text `routed` keeps of a page where both extractors ran: `slow` with `fast`'s
    missing body lines (`merge_body_lines`), unless `slow` is under PREFER_FAST_SHARE of
    `fast`'s length (then trafilatura missed the text and `fast` is kept)."""
    if len(slow) >= PREFER_FAST_SHARE * len(fast):
        return merge_body_lines(slow, fast)
    return fast


def routed_slow_input(html: str, container: str | None) -> str:
    """The HTML `routed` hands to trafilatura's main extractor: the article-body container
    `resiliparse_clean` used, as a page of its own, when it found one; else the page.

    On the container trafilatura parses and prunes a fraction of the page (its cost follows
    the HTML size), and it no longer has to find the article among menus and teasers: on the
    173 public pages with a container, trafilatura's text there (merged by `routed_choice`)
    scored F1 0.940 vs 0.935 from the whole page on those under 3000 characters (0.978 vs
    0.974 at 3000-5000, the same above) at about 55 % of the CPU time."""
    if container is None:
        return html
    return f"<html><body>{container}</body></html>"


def extract_routed(html: str) -> tuple[str, str | None]:
    """(main text, title): `resiliparse_clean`; on a page where it kept fewer than
    ROUTE_BELOW_CHARS characters, also trafilatura's main extractor (`_trafilatura_core`) on
    its article container or the page (`routed_slow_input`, at most MAX_ROUTED_HTML_CHARS),
    combined by `routed_choice`."""
    text, title, container = resiliparse_clean_parts(html)  # also the depth check
    if len(text) >= ROUTE_BELOW_CHARS:
        return text, title
    slow_input = routed_slow_input(html, container)
    if len(slow_input) > MAX_ROUTED_HTML_CHARS:
        return text, title
    return routed_choice(text, _trafilatura_core(slow_input)), title


EXTRACTORS: dict[str, Callable[[str], tuple[str, str | None]]] = {
    "routed": extract_routed,
    "hybrid": extract_hybrid,
    "resiliparse": extract_resiliparse,
    "resiliparse_clean": extract_resiliparse_clean,
    "trafilatura": extract_trafilatura,
    "trafilatura_fast": extract_trafilatura_fast,
}


# ---------------------------------------------------------------------------------------
# Time limit


class _Watchdog:
    """One daemon thread that raises `ExtractionTimeout` asynchronously in a thread whose
    extraction passed its deadline (CPython `PyThreadState_SetAsyncExc`).

    Unlike `signal.alarm`, this works in any thread (Beam runs DoFns in worker threads).
    Like a signal, the exception is delivered when the thread next runs Python bytecode:
    it stops trafilatura's Python loops, but not one long call into C (an lxml parse, a
    regex match, resiliparse's C++ extractor); `max_page_bytes` bounds those.
    The exception is raised again every REFIRE_S until the job is finished: one delivered
    inside an lxml XPath extension callback (trafilatura's `re:test`) is swallowed by
    lxml/trafilatura, and the extraction would otherwise run on to its end (seconds on a
    large page).
    Cheap per page: a dict insert and delete under a lock; the thread is woken only when a
    new deadline is earlier than the one it sleeps towards."""

    REFIRE_S = 0.05
    MAX_FIRES = 40  # 2 s of re-firing at most: never a stray timeout long after

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._jobs: dict[int, tuple[float, int]] = {}  # job key -> (deadline, thread id)
        self._fired: set[int] = set()
        self._fires: dict[int, int] = {}
        self._next = 0
        self._wake_at = float("inf")
        self._pid = -1
        self._thread: threading.Thread | None = None

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive() or self._pid != os.getpid():
            self._pid = os.getpid()  # a forked worker has no watchdog thread: start one
            self._wake_at = float("inf")
            self._thread = threading.Thread(target=self._run, name="extraction-watchdog", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                for key in [k for k, (t, _) in self._jobs.items() if t <= now]:
                    _, tid = self._jobs[key]
                    self._fires[key] = self._fires.get(key, 0) + 1
                    if self._fires[key] < self.MAX_FIRES:  # until finish() removes it
                        self._jobs[key] = (now + self.REFIRE_S, tid)
                    else:
                        del self._jobs[key]
                    self._fired.add(key)
                    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(tid), ctypes.py_object(ExtractionTimeout))
                self._wake_at = min((t for t, _ in self._jobs.values()), default=now + 60.0)
                self._cond.wait(timeout=max(0.001, self._wake_at - now))

    def start(self, seconds: float) -> int:
        with self._cond:
            self._ensure_thread()
            self._next += 1
            key = self._next
            deadline = time.monotonic() + seconds
            self._jobs[key] = (deadline, threading.get_ident())
            if deadline < self._wake_at:
                self._wake_at = deadline
                self._cond.notify()
            return key

    def finish(self, key: int) -> bool:
        """Cancel a job; True if it had fired (a still pending exception is then cleared)."""
        with self._cond:
            self._jobs.pop(key, None)
            self._fires.pop(key, None)
            if key in self._fired:
                self._fired.discard(key)
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(threading.get_ident()), None)
                return True
            return False


_WATCHDOG = _Watchdog()


def call_with_time_limit(fn: Callable[[str], tuple[str, str | None]], html: str, seconds: float) -> tuple[str, str | None]:
    """`fn(html)`, or ExtractionTimeout once it has run `seconds` (0: no limit)."""
    if seconds <= 0:
        return fn(html)
    key = _WATCHDOG.start(seconds)
    error: BaseException | None = None
    result: tuple[str, str | None] = ("", None)
    fired = False
    try:
        try:
            result = fn(html)
        except BaseException as e:  # noqa: BLE001 - re-raised below unless the limit fired
            error = e  # (a timeout delivered inside a library can surface as its own error)
    finally:
        while True:  # the job must be removed even if a re-fired timeout lands in between
            try:
                fired = _WATCHDOG.finish(key) or fired
                break
            except ExtractionTimeout:
                fired = True
    if fired:
        raise ExtractionTimeout(f"page extraction exceeded {seconds:g} s") from None
    if error is not None:
        raise error
    return result


def extract_main_text(html: str, extractor: str, timeout_s: float = 0.0) -> tuple[str, str | None]:
    """(main text, title) of an HTML page with the named extractor (see EXTRACTORS), within
    `timeout_s` seconds of Python execution (0: no limit); raises ExtractionTimeout."""
    return call_with_time_limit(EXTRACTORS[extractor], html, timeout_s)
