"""Charset decoding and main-text extraction of web pages."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from corpusmill.pipelines.sources.html import (
    ExtractionTimeout,
    call_with_time_limit,
    charset_from_content_type,
    clean_lines,
    decode_body,
    drop_link_lines,
    extract_main_text,
    link_texts,
    meta_charset,
    python_codec,
)

ZH = "我国卫生与健康领域有了基本法，这是一部关于公共卫生的法律。人民的健康是国家富强的重要标志。" * 3
RU = "Стратегия пожарной безопасности: узкоспециализированное предприятие, ориентированное на защиту людей. " * 3
JA = "吉田カバンのヘッドポーターは、東京の原宿にある限定品の専門店です。ブリーフケースとリュックを取り扱います。" * 3


def _html(text: str, head: str = "") -> str:
    return f"<html><head>{head}<title>t</title></head><body><p>{text}</p></body></html>"


@pytest.mark.parametrize(
    ("text", "codec", "label"),
    [(ZH, "gbk", "gb2312"), (RU, "cp1251", "windows-1251"), (JA, "euc_jp", "EUC-JP"), (JA, "shift_jis", "Shift_JIS")],
)
def test_declared_in_http_header(text: str, codec: str, label: str) -> None:
    body = _html(text).encode(codec)
    decoded, used = decode_body(body, f"text/html; charset={label}")
    assert text in decoded
    assert used == python_codec(label)


@pytest.mark.parametrize(
    ("text", "codec", "label"),
    [(ZH, "gbk", "gbk"), (RU, "cp1251", "windows-1251"), (JA, "euc_jp", "euc-jp"), (JA, "cp932", "shift_jis")],
)
def test_declared_in_meta(text: str, codec: str, label: str) -> None:
    for head in (f'<meta charset="{label}">', f'<meta http-equiv="Content-Type" content="text/html; charset={label}">'):
        body = _html(text, head).encode(codec)
        assert meta_charset(body) == python_codec(label)
        decoded, _ = decode_body(body, "text/html")
        assert text in decoded


@pytest.mark.parametrize(("text", "codec"), [(ZH, "gb18030"), (RU, "cp1251"), (JA, "euc_jp"), (JA, "shift_jis")])
def test_detected_without_declaration(text: str, codec: str) -> None:
    decoded, _ = decode_body(_html(text).encode(codec), "text/html")
    assert text in decoded


def test_wrong_declaration_loses_to_detection() -> None:
    body = _html(RU).encode("cp1251")
    decoded, used = decode_body(body, "text/html; charset=utf-8")
    assert RU in decoded and used == "cp1251"


def test_bom_wins_and_utf8_default() -> None:
    body = "\ufeff".encode() + _html(RU).encode()
    decoded, used = decode_body(body, "text/html; charset=windows-1251")
    assert used == "utf-8" and RU in decoded and not decoded.startswith("\ufeff")
    assert decode_body(_html(ZH).encode(), None)[1] == "utf-8"


def test_whatwg_labels() -> None:
    assert python_codec("GB2312") == "gb18030"
    assert python_codec("iso-8859-1") == "cp1252"  # browsers decode latin-1 as windows-1252
    assert python_codec("Shift_JIS") == "cp932"
    assert python_codec("no-such-charset") is None
    assert charset_from_content_type('text/html; charset="UTF-8"') == "utf-8"
    assert charset_from_content_type("text/html") is None
    # windows-1252 curly quotes in a page declared latin-1
    assert decode_body("“quoted”".encode("cp1252"), "text/plain; charset=iso-8859-1")[0] == "“quoted”"


ARTICLE = """<html><head><title>The Title</title></head><body>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li><li><a href="/shop">Shop</a></li></ul></nav></header>
<main><article>
<h1>A headline about rivers</h1>
<p>Rivers carry water from the mountains to the sea, and along the way they shape valleys, feed wetlands and supply cities.</p>
<h2>Floods</h2>
<p>When heavy rain falls on saturated ground, rivers rise quickly and may leave their beds, which is why towns build levees.</p>
</article></main>
<footer><p>Imprint</p><p>Privacy policy</p></footer></body></html>"""


@pytest.mark.parametrize("extractor", ["resiliparse", "resiliparse_clean", "trafilatura", "trafilatura_fast", "routed"])
def test_extractors_keep_blocks_on_lines(extractor: str) -> None:
    text, title = extract_main_text(ARTICLE, extractor)
    lines = text.splitlines()
    assert title == "The Title"
    assert "Floods" in lines  # a heading is its own line
    assert any(line.startswith("Rivers carry water") for line in lines)
    assert any(line.startswith("When heavy rain falls") for line in lines)
    for boilerplate in ("Shop", "Privacy policy", "Imprint"):
        assert boilerplate not in text


def test_clean_lines_trims_around_body() -> None:
    body1 = "This first paragraph is long enough to count as body text, and it ends as a sentence does."
    body2 = "The second paragraph is also long enough to be the article body; it closes with a period."
    text = "\n".join(["Home", "Menu", "Headline", "By A. Writer", body1, "Subheading", body2, "Related articles", "Tags"])
    assert clean_lines(text) == "\n".join(["Headline", "By A. Writer", body1, "Subheading", body2])
    assert clean_lines("just\nshort\nlines") == "just\nshort\nlines"  # nothing to anchor on: unchanged
    zh = "中文的句子也可以是正文，它比较短但是字符很密集，所以按双倍宽度计算长度。这是第二句话。"
    assert clean_lines("首页\n导航\n标题\n" + zh + "\n相关文章") == "导航\n标题\n" + zh


def _spin(html: str) -> tuple[str, str | None]:
    while True:
        pass


def test_time_limit_in_main_and_worker_threads() -> None:
    start = time.monotonic()
    with pytest.raises(ExtractionTimeout):
        call_with_time_limit(_spin, "", 0.2)
    assert time.monotonic() - start < 5
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            call_with_time_limit(_spin, "", 0.2)
        except BaseException as e:  # noqa: BLE001 - recorded for the assertion
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert not any(t.is_alive() for t in threads)
    assert len(errors) == 2 and all(isinstance(e, ExtractionTimeout) for e in errors)
    # a fast call afterwards is not hit by a stale timeout
    assert call_with_time_limit(lambda h: (h, None), "ok", 0.2) == ("ok", None)
    time.sleep(0.3)
    assert call_with_time_limit(lambda h: (h, None), "still ok", 0.2) == ("still ok", None)


def test_link_only_lines_dropped() -> None:
    html = (
        '<p>Prose with <a href="/x">a link</a> inside stays.</p>'
        '<p><a href="/other">Read the other story</a></p>'
        '<p>Read more: <a href="/more">Why rivers flood</a></p>'
        '<ul><li><a href="#floods">Floods</a></li></ul><h2 id="floods">Floods</h2>'
    )
    links = link_texts(html)
    assert links == {"a link", "Read the other story", "Why rivers flood"}  # in-page anchors are not links away
    text = "Prose with a link inside stays.\nRead the other story\nRead more: Why rivers flood\nFloods"
    assert drop_link_lines(text, links) == "Prose with a link inside stays.\nFloods"


@pytest.mark.parametrize("label", ["rot13", "base64", "hex", "zlib", "bz2", "uu", "quopri", "undefined", "idna", "punycode", "unicode-escape"])
def test_python_only_codec_labels_are_unknown_charsets(label: str) -> None:
    """Found by benchmarks/fuzz_readers.py: `charset=rot13` (a Python text transform) made
    decode_body raise LookupError, `undefined`/`idna` UnicodeError; a browser ignores such a
    label, and so does decode_body now (UTF-8 here, detected)."""
    body = f'<html><head><meta charset="{label}"></head><body><p>caf\u00e9 \\u00e9 +AGE-</p></body></html>'.encode()
    assert python_codec(label) is None
    for content_type in (f"text/html; charset={label}", None):
        text, codec = decode_body(body, content_type)
        assert codec == "utf-8" and "caf\u00e9 \\u00e9 +AGE-" in text


# A page with the usual boilerplate around a short article: a menu, a cookie banner, a share
# widget, a sidebar of related links, a comment section and a footer.
_PARAGRAPHS = [
    "The city council approved the new tram line on Tuesday after a debate that lasted most of the afternoon.",
    "Construction is expected to start next spring, and the first trams should run within three years.",
    "Residents of the northern districts, who now spend up to an hour on buses, welcomed the decision.",
]
BOILERPLATE_PAGE = f"""<html><head><title>Tram line approved</title><style>p {{ color: red }}</style>
<script>var tracking = "Tracking script text";</script></head><body>
<div class="cookie-banner"><p>We use cookies to improve your experience. Accept all cookies</p></div>
<header><nav class="main-menu"><ul><li><a href="/">Home</a></li><li><a href="/politics">Politics</a></li>
<li><a href="/sport">Sport</a></li></ul></nav></header>
<div class="content"><article>
<h1>Tram line approved</h1>
{"".join(f"<p>{p}</p>" for p in _PARAGRAPHS)}
<h2>Timetable</h2>
<table><tr><th>Stop</th><th>Minutes</th></tr><tr><td>Central Station</td><td>0</td></tr>
<tr><td>Northern Park</td><td>12</td></tr></table>
<h2>What changes</h2>
<ul><li>Buses 12 and 14 will be shortened to feed the tram.</li><li>Night service runs every thirty minutes.</li></ul>
<div class="share-buttons"><a href="https://facebook.com/share">Share on Facebook</a> <a href="https://x.com/share">Share on X</a></div>
</article>
<aside class="sidebar"><h3>Related articles</h3><ul><li><a href="/a">Bus fares rise again</a></li>
<li><a href="/b">Cycling lanes on Main Street</a></li></ul></aside>
<div id="comments" class="comments"><h3>12 comments</h3><p>Finally! Took them long enough. (posted by tramfan)</p></div>
</div>
<footer><p>Copyright 2024 City News Ltd. All rights reserved.</p><a href="/imprint">Imprint</a></footer>
</body></html>"""
_BOILERPLATE = (
    "Accept all cookies",
    "Politics",
    "Share on Facebook",
    "Bus fares rise again",
    "Cycling lanes on Main Street",
    "posted by tramfan",
    "All rights reserved",
    "Tracking script text",
    "color: red",
)


@pytest.mark.parametrize("extractor", ["trafilatura_fast", "routed"])
def test_boilerplate_removed_main_text_kept(extractor: str) -> None:
    text, title = extract_main_text(BOILERPLATE_PAGE, extractor)
    lines = text.splitlines()
    assert title == "Tram line approved"
    for paragraph in _PARAGRAPHS:
        assert paragraph in lines  # each paragraph whole, on its own line
    assert "Timetable" in lines and "What changes" in lines  # headings are their own lines
    for boilerplate in _BOILERPLATE:
        assert boilerplate not in text, boilerplate


@pytest.mark.parametrize("extractor", ["trafilatura_fast", "routed"])
def test_tables_and_lists_kept(extractor: str) -> None:
    text, _ = extract_main_text(BOILERPLATE_PAGE, extractor)
    assert "Central Station" in text and "Northern Park" in text  # table cells
    lines = text.splitlines()
    items = [line for line in lines if "Buses 12 and 14" in line or "Night service" in line]
    assert len(items) == 2  # one list item per line


def test_heading_permalinks_dropped() -> None:
    """Sphinx (the Python docs) puts a "¶" link in every heading; trafilatura kept it glued to
    the heading text ("Floods¶")."""
    body = "".join(f"<p>{p}</p>" for p in _PARAGRAPHS)
    html = (
        '<html><body><article><h1>Floods<a class="headerlink" href="#floods">\u00b6</a></h1>'
        f'{body}<h2>Levees<a href="#levees">#</a></h2>{body.replace(".</p>", ", again.</p>")}</article></body></html>'
    )
    for extractor in ("trafilatura_fast", "routed"):
        lines = extract_main_text(html, extractor)[0].splitlines()
        assert "Floods" in lines and "Levees" in lines, (extractor, lines)
        assert not any("\u00b6" in line for line in lines)


def test_routed_takes_trafilatura_only_where_resiliparse_kept_little() -> None:
    """`routed` = `resiliparse_clean` when that kept ROUTE_BELOW_CHARS characters or more (a
    long article: same text), else trafilatura's main extractor (here it drops the cookie
    banner and the comment that resiliparse_clean keeps on this short page)."""
    from corpusmill.pipelines.sources.html import ROUTE_BELOW_CHARS

    short_fast = extract_main_text(BOILERPLATE_PAGE, "resiliparse_clean")[0]
    assert len(short_fast) < ROUTE_BELOW_CHARS
    assert extract_main_text(BOILERPLATE_PAGE, "routed")[0] == extract_main_text(BOILERPLATE_PAGE, "trafilatura_fast")[0]
    long_page = BOILERPLATE_PAGE.replace("<h2>Timetable</h2>", "".join(f"<p>{p} ({i})</p>" for i in range(40) for p in _PARAGRAPHS[:1]) + "<h2>Timetable</h2>")
    long_fast = extract_main_text(long_page, "resiliparse_clean")[0]
    assert len(long_fast) >= ROUTE_BELOW_CHARS
    assert extract_main_text(long_page, "routed")[0] == long_fast
    # trafilatura gets the article container: padding outside it costs nothing more ...
    from corpusmill.pipelines.sources.html import MAX_ROUTED_HTML_CHARS

    routed = extract_main_text(BOILERPLATE_PAGE, "routed")[0]
    outside = BOILERPLATE_PAGE.replace("<body>", "<body><!--" + "x" * MAX_ROUTED_HTML_CHARS + "-->")
    assert extract_main_text(outside, "routed")[0] == routed
    # ... but a container above MAX_ROUTED_HTML_CHARS stays on the fast path (trafilatura's
    # cost grows with the HTML it parses)
    inside = BOILERPLATE_PAGE.replace("<article>", "<article><!--" + "x" * MAX_ROUTED_HTML_CHARS + "-->")
    assert extract_main_text(inside, "routed")[0] == extract_main_text(inside, "resiliparse_clean")[0] != routed


def test_routed_hands_trafilatura_the_article_container() -> None:
    """`routed_slow_input`: the container resiliparse_clean used, as a page of its own (without
    the site's menus, sidebars, comments), or the whole page when there is none."""
    from corpusmill.pipelines.sources.html import resiliparse_clean_parts, routed_slow_input

    text, title, container = resiliparse_clean_parts(BOILERPLATE_PAGE)
    assert container is not None and container.startswith("<article>") and "Related articles" not in container
    assert title == "Tram line approved" and text == extract_main_text(BOILERPLATE_PAGE, "resiliparse_clean")[0]
    assert routed_slow_input(BOILERPLATE_PAGE, container) == f"<html><body>{container}</body></html>"
    no_container = BOILERPLATE_PAGE.replace("<article>", "<div>").replace("</article>", "</div>")
    assert resiliparse_clean_parts(no_container)[2] is None
    assert routed_slow_input(no_container, None) == no_container


@pytest.mark.timeout(60)
@pytest.mark.parametrize("extractor", ["trafilatura_fast", "routed"])
def test_pathological_pages_bounded(extractor: str) -> None:
    """Hostile pages stay bounded: 100,000 nested <div>s are refused (PageTooDeep) before any
    parse by lxml; 60,000 flat paragraphs (2.5 MB) stop at the page time limit."""
    from corpusmill.pipelines.sources.html import PageTooDeep

    start = time.process_time()
    with pytest.raises(PageTooDeep):
        extract_main_text("<html><body>" + "<div>" * 100_000 + "Hello.", extractor, timeout_s=5)
    assert time.process_time() - start < 5
    flat = "<html><body>" + "".join(f"<div><p>Paragraph {i} with a few words.</p></div>" for i in range(60_000)) + "</body></html>"
    start = time.monotonic()
    try:
        text, _ = extract_main_text(flat, extractor, timeout_s=0.5)
    except ExtractionTimeout:
        pass
    else:
        assert "Paragraph 59999 with a few words." in text
    assert time.monotonic() - start < 15


def test_merge_body_lines_adds_missing_paragraphs_in_order() -> None:
    """`routed` keeps trafilatura's text and adds the sentence-like lines (body lines) of
    resiliparse_clean's that trafilatura dropped, after the line that precedes them in
    resiliparse_clean's text; lines trafilatura has (whitespace aside) are not repeated, and
    short lines (captions, teasers, bylines) are never added."""
    from corpusmill.pipelines.sources.html import merge_body_lines, routed_choice

    p1, p2, p3 = _PARAGRAPHS[:3]
    slow = f"Tram line approved\n{p1}\n{p3}"
    fast = f"Tram line approved\n{p1.replace(' ', '  ')}\nPhoto: City archive\n{p2}\n{p3}\nRead next: Bus fares"
    merged = merge_body_lines(slow, fast)
    assert merged.split("\n") == ["Tram line approved", p1, p2, p3]
    assert merge_body_lines(slow, slow) == slow  # nothing missing: trafilatura's text unchanged
    # a body line before any line trafilatura has goes first
    assert merge_body_lines(p3, f"{p2}\n{p3}").split("\n") == [p2, p3]
    # trafilatura kept under PREFER_FAST_SHARE of resiliparse_clean's text: resiliparse_clean's
    assert routed_choice(fast, "Tram line approved") == fast
    assert routed_choice(fast, slow) == merged


def test_merge_body_lines_replaces_a_paragraph_tail_with_the_whole_paragraph() -> None:
    """trafilatura sometimes keeps only a paragraph's tail (after an inline element); when
    the whole paragraph is added from resiliparse_clean, the tail goes, so no text is doubled."""
    from corpusmill.pipelines.sources.html import merge_body_lines

    p1, p2 = _PARAGRAPHS[:2]
    tail = p2[len(p2) // 2:].strip()
    merged = merge_body_lines(f"{p1}\n{tail}", f"{p1}\n{p2}")
    assert merged.split("\n") == [p1, p2]
    assert merged.count(tail) == 1


def test_trafilatura_fast_keeps_form_and_figure_content() -> None:
    """The elements trafilatura deletes anyway are removed before its XPath passes, but not
    <form> (ASP.NET pages wrap the whole page in one) nor <figure> (one holding a table is
    content)."""
    body = "".join(f"<p>{p}</p>" for p in _PARAGRAPHS)
    table = "<figure><table><tr><th>Stop</th><th>Minutes</th></tr><tr><td>Central Station</td><td>0</td></tr></table></figure>"
    html = (
        '<html><head><title>t</title></head><body><form id="aspnetForm" action="/page.aspx">'
        f"<nav><a href='/'>Home menu</a></nav><article><h1>Tram line approved</h1>{body}{table}</article>"
        "<aside><p>Sidebar teaser text.</p></aside></form></body></html>"
    )
    text = extract_main_text(html, "trafilatura_fast")[0]
    for paragraph in _PARAGRAPHS:
        assert paragraph in text
    assert "Central Station" in text
    assert "Home menu" not in text and "Sidebar teaser" not in text


def _eval_page(shared_data: Path, url: str) -> str:
    """The decoded HTML of one page of the extraction benchmark's WARC."""
    from corpusmill.pipelines.sources.web import RawRecord, decode_content, iter_records, split_http

    path = shared_data / "web" / "extraction-eval_pages.warc.gz"
    records = [r for r in iter_records(str(path), 1 << 33, 1 << 26) if isinstance(r, RawRecord)]
    (record,) = [r for r in records if r.headers.get("warc-target-uri") == url]
    assert record.block is not None
    _, headers, body = split_http(record.block)
    html, _ = decode_body(decode_content(body, headers, 1 << 26), headers.get("content-type"))
    return html


def test_routed_recovers_paragraph_trafilatura_dropped(shared_data: Path) -> None:
    """A real page (The Local, 2020) where trafilatura's main extractor drops a paragraph of
    the article that resiliparse_clean keeps: `routed` has both trafilatura's text and it."""
    url = "https://www.thelocal.se/20200428/meet-the-swede-who-tattooed-a-state-epidemiologists-face-on-his-arm"
    html = _eval_page(shared_data, url)
    snippet = "epidemiologist Anders Tegnell has become a household name"
    slow = extract_main_text(html, "trafilatura_fast")[0]
    fast = extract_main_text(html, "resiliparse_clean")[0]
    routed = extract_main_text(html, "routed")[0]
    assert snippet not in slow and snippet in fast
    assert snippet in routed
    lines = routed.split("\n")
    assert [line for line in lines if line in set(slow.split("\n"))] == [line for line in slow.split("\n") if line]  # slow's order kept
    assert len(lines) == len(set(lines))  # nothing repeated
