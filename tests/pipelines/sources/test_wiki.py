"""Wikipedia dump reader: real dumps (bz2, xz, UTF-16, truncated), multistream splits, hostile XML."""

from __future__ import annotations

import bz2
import gzip
import lzma
import re
import time
from collections import Counter
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
import zstandard

from corpusmill.pipelines.sources import wiki
from corpusmill.pipelines.sources.wiki import Config, index_path_for, is_disambiguation, page_chunks, read, splits
from corpusmill.schemas.document import Document, Failure, Rejection, make_id

LEFTOVERS = ("{{", "}}", "[[", "]]", "<ref", "{|", "|}", "Category:", "[http")


def run(unit: str | Path, **options) -> list[Document | Rejection | Failure]:
    return list(read(str(unit), Config(paths=[str(unit)], **options)))


def kinds(records) -> Counter:
    return Counter(type(r).__name__ if not isinstance(r, Rejection) else r.reason for r in records)


def docs_of(records) -> list[Document]:
    return [r for r in records if isinstance(r, Document)]


def page_xml(page_id: int, title: str, text: str, ns: int = 0, redirect: str | None = None) -> str:
    red = f'<redirect title="{escape(redirect)}" />' if redirect else ""
    return (
        f"  <page>\n    <title>{escape(title)}</title>\n    <ns>{ns}</ns>\n    <id>{page_id}</id>\n"
        f"    {red}<revision><id>{page_id * 10}</id><model>wikitext</model><format>text/x-wiki</format>\n"
        f'      <text xml:space="preserve">{text}</text>\n    </revision>\n  </page>\n'
    )


HEADER = (
    '<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/" version="0.10" xml:lang="en">\n'
    "  <siteinfo>\n    <sitename>Wikipedia</sitename>\n    <dbname>testwiki</dbname>\n"
    "    <base>https://test.wikipedia.org/wiki/Main_Page</base>\n"
    '    <namespaces><namespace key="0" case="first-letter" />'
    '<namespace key="6" case="first-letter">File</namespace>'
    '<namespace key="14" case="first-letter">Category</namespace></namespaces>\n'
    "  </siteinfo>\n"
)
FOOTER = "</mediawiki>\n"


# --- real dumps ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_records(samples: Path) -> list[Document | Rejection | Failure]:
    return run(samples / "wiki" / "enwiki-pages-articles-sample.xml.bz2")


def test_sample_dump_articles_redirects_and_text(samples: Path, sample_records) -> None:
    path = samples / "wiki" / "enwiki-pages-articles-sample.xml.bz2"
    records = sample_records
    counts = kinds(records)
    # 206 pages: every page ends as exactly one record, none fails.
    assert sum(counts.values()) == 206
    assert counts["Failure"] == 0
    # Independent count over the raw XML: pages outside namespace 0, and redirects in it.
    raw = bz2.decompress(path.read_bytes()).decode("utf-8")
    pages = re.findall(r"<page>.*?</page>", raw, re.S)
    assert len(pages) == 206
    other_ns = [p for p in pages if "<ns>0</ns>" not in p]
    redirects = [p for p in pages if "<ns>0</ns>" in p and "<redirect" in p]
    assert counts["wiki_namespace"] == len(other_ns) == 1
    assert counts["wiki_redirect"] == len(redirects) > 90
    assert counts["wiki_disambiguation"] >= 1
    assert counts["Document"] == 206 - counts["wiki_redirect"] - counts["wiki_namespace"] - counts["wiki_disambiguation"] - counts["wiki_empty"]

    docs = {d.title: d for d in docs_of(records)}
    anarchism = docs["Anarchism"]
    assert anarchism.page_id == 12
    assert anarchism.id == make_id("wiki", "enwiki", 12)
    assert anarchism.source == "wiki"
    assert anarchism.location == f"{path}#page=12"
    assert anarchism.url == "https://en.wikipedia.org/wiki/Anarchism"
    assert anarchism.text.startswith(
        "Anarchism is a political philosophy that advocates self-governed societies based on "
        "voluntary institutions."
    )
    assert "\n\nHistory\n\n" in anarchism.text  # a heading on its own line between paragraphs
    assert any(" " in d.url for d in docs.values()) is False  # spaces -> underscores
    assert docs["Albedo"].url == "https://en.wikipedia.org/wiki/Albedo"
    for doc in docs.values():
        for token in LEFTOVERS:
            assert token not in doc.text, (doc.title, token)


def test_sample_redirect_rejection_carries_target(sample_records) -> None:
    first = sample_records[0]
    assert isinstance(first, Rejection)
    assert (first.reason, first.step, first.detail) == ("wiki_redirect", "read", "Computer accessibility")
    assert first.id == make_id("wiki", "enwiki", 10)


def test_real_enwiki_excerpts(shared_data: Path) -> None:
    w2v = run(shared_data / "wiki" / "wikipedia2vec_enwiki-pages-articles-sample.xml.bz2")
    assert kinds(w2v) == Counter({"Document": 2, "wiki_redirect": 1})
    tables = run(shared_data / "wiki" / "gensim_enwiki-table-markup.xml.bz2")
    assert kinds(tables) == Counter({"Document": 5})
    for doc in docs_of(w2v) + docs_of(tables):
        for token in LEFTOVERS + ("|-", "||", "!!"):
            assert token not in doc.text, (doc.title, token)
    # No <siteinfo> in this excerpt: dbname falls back to the file name, no URL.
    assert all(d.url is None for d in docs_of(tables))


def test_utf16_bulgarian_dump(shared_data: Path) -> None:
    """The gensim bgwiki excerpt is UTF-16 with a BOM: re-encoded, Cyrillic intact."""
    records = run(shared_data / "wiki" / "gensim_bgwiki-latest-pages-articles-shortened.xml.bz2")
    assert kinds(records) == Counter({"Document": 1, "wiki_namespace": 2})
    doc = docs_of(records)[0]
    assert doc.title == "Григориански календар"
    assert doc.id == make_id("wiki", "bgwiki", doc.page_id)
    assert "е съвременният международно признат светски календар" in doc.text
    assert doc.url.startswith("https://bg.wikipedia.org/wiki/%D0%93")


@pytest.mark.parametrize("lang", ["ja", pytest.param("uk", marks=pytest.mark.slow), pytest.param("vi", marks=pytest.mark.slow)])
def test_truncated_dump_yields_complete_pages_and_one_failure(shared_data: Path, lang: str) -> None:
    truncated = run(shared_data / "wiki" / "truncated" / f"{lang}wiki-truncated-100k.xml.xz")
    repaired = run(shared_data / "wiki" / "truncated" / f"{lang}wiki-truncated-repaired.xml.bz2")
    failures = [r for r in truncated if isinstance(r, Failure)]
    assert len(failures) == 1
    assert [r for r in repaired if isinstance(r, Failure)] == []
    # Every complete page of the truncated dump is read exactly as from the repaired one.
    complete = [(r.id, type(r).__name__, getattr(r, "text", "")) for r in truncated if not isinstance(r, Failure)]
    assert complete == [(r.id, type(r).__name__, getattr(r, "text", "")) for r in repaired]
    assert len(complete) == bz2.decompress(
        (shared_data / "wiki" / "truncated" / f"{lang}wiki-truncated-repaired.xml.bz2").read_bytes()
    ).count(b"<page>")
    tail = failures[0]
    assert tail.step == "read" and "#offset=" in tail.location
    last_id = [r for r in repaired if not isinstance(r, Failure)][-1].location.rsplit("=", 1)[1]
    assert f"last complete page id: {last_id}" in tail.error
    # The offset points at the incomplete page in the decompressed stream.
    offset = int(tail.location.rsplit("=", 1)[1])
    data = lzma.decompress((shared_data / "wiki" / "truncated" / f"{lang}wiki-truncated-100k.xml.xz").read_bytes())
    assert data[offset : offset + 6] == b"<page>"
    for doc in docs_of(truncated):
        assert doc.id == make_id("wiki", f"{lang}wiki", doc.page_id)
        for token in ("{{", "[[", "<ref", "{|"):
            assert token not in doc.text, (doc.title, token)


# --- small dumps made here ----------------------------------------------------------------


def test_redirect_disambiguation_namespace_and_empty(tmp_path: Path) -> None:
    xml = (
        HEADER
        + page_xml(1, "Alpha beta", "'''Alpha''' is a letter.&lt;ref&gt;x&lt;/ref&gt;")
        + page_xml(2, "Old name", "#REDIRECT [[Alpha beta]]", redirect="Alpha beta")
        + page_xml(3, "Mercury", "'''Mercury''' may refer to:\n* [[Mercury (planet)]]\n{{disambiguation}}")
        + page_xml(4, "Talk:Alpha", "chat", ns=1)
        + page_xml(5, "Only templates", "{{Infobox|a=b}}\n[[Category:X]]")
        + page_xml(6, "Merkur", "'''Merkur''' steht für:\n* [[Merkur (Planet)]]\n{{Begriffsklärung}}")
        + page_xml(7, "Старый редирект", "#ПЕРЕНАПРАВЛЕНИЕ [[Новый]]")
        + FOOTER
    )
    path = tmp_path / "testwiki-pages-articles.xml"
    path.write_text(xml, encoding="utf-8")
    records = run(path)
    assert [type(r).__name__ if isinstance(r, (Document, Failure)) else r.reason for r in records] == [
        "Document", "wiki_redirect", "wiki_disambiguation", "wiki_namespace", "wiki_empty",
        "wiki_disambiguation", "wiki_redirect",
    ]
    doc = records[0]
    assert doc.text == "Alpha is a letter."
    assert doc.url == "https://test.wikipedia.org/wiki/Alpha_beta"
    assert doc.title == "Alpha beta"
    # Options: keep talk pages, keep disambiguation pages.
    records = run(path, namespaces=[0, 1], skip_disambiguation=False)
    assert [type(r).__name__ if isinstance(r, (Document, Failure)) else r.reason for r in records] == [
        "Document", "wiki_redirect", "Document", "Document", "wiki_empty", "Document", "wiki_redirect",
    ]


def test_disambiguation_detection_is_specific() -> None:
    assert is_disambiguation("x\n{{Disambiguation|geo}}")
    assert is_disambiguation("x\n{{ disambig }}")
    assert is_disambiguation("x\n{{曖昧さ回避}}")
    assert is_disambiguation("x\n{{Неоднозначность}}")
    assert is_disambiguation("x __DISAMBIG__")
    assert not is_disambiguation("Paris{{disambiguation needed|date=2020}} is a city.")
    assert not is_disambiguation("{{Other uses}} Text {{Значення|X (значення)}}")  # hatnotes
    start = time.perf_counter()
    assert not is_disambiguation("{{" + " " * 100_000 + "{{ " * 50_000)  # bounded work
    assert time.perf_counter() - start < 10


def test_compressions_and_encodings_read_alike(tmp_path: Path) -> None:
    xml = HEADER + page_xml(1, "Alpha", "Alpha text.") + page_xml(2, "Beta", "Beta text é 日本.") + FOOTER
    variants = {
        "plain.xml": xml.encode("utf-8"),
        "bom.xml": b"\xef\xbb\xbf" + xml.encode("utf-8"),
        "utf16.xml": '<?xml version="1.0" encoding="UTF-16"?>\n'.encode("utf-16") + xml.encode("utf-16-le"),
        "latin1.xml": b'<?xml version="1.0" encoding="ISO-8859-1"?>\n' + xml.replace(" 日本", "").encode("latin-1"),
        "dump.xml.bz2": bz2.compress(xml.encode("utf-8")),
        "dump.xml.xz": lzma.compress(xml.encode("utf-8")),
        "dump.xml.gz": gzip.compress(xml[:300].encode()) + gzip.compress(xml[300:].encode()),  # 2 members
        "dump.xml.zst": zstandard.ZstdCompressor().compress(xml.encode("utf-8")),
        "multi.xml.bz2": bz2.compress(xml[:500].encode()) + bz2.compress(xml[500:].encode()),
    }
    expected = [(1, "Alpha text."), (2, "Beta text é 日本.")]
    for name, data in variants.items():
        (tmp_path / name).write_bytes(data)
        records = run(tmp_path / name)
        got = [(d.page_id, d.text) for d in records]
        want = expected if name != "latin1.xml" else [(1, "Alpha text."), (2, "Beta text é.")]
        assert got == want, name


def test_truncated_between_pages_and_malformed_page(tmp_path: Path) -> None:
    bad_page = "  <page><title>Broken</title><ns>0</ns><id>2</id><revision><text>a <b> c</text></revision></page>\n"
    xml = HEADER + page_xml(1, "Alpha", "One.") + bad_page + page_xml(3, "Gamma", "Three.")
    path = tmp_path / "cut.xml"
    path.write_text(xml, encoding="utf-8")  # no </mediawiki>: cut right after a page
    records = run(path)
    assert [type(r).__name__ for r in records] == ["Document", "Failure", "Document", "Failure"]
    assert records[1].location == f"{path}#page=2" and records[1].id == make_id("wiki", "testwiki", 2)
    assert "TruncatedDump" in records[3].error and "last complete page id: 3" in records[3].error


def test_page_missing_its_end_tag_fails_alone(tmp_path: Path) -> None:
    broken = page_xml(2, "Broken", "No end tag.").replace("</page>", "")
    xml = HEADER + page_xml(1, "Alpha", "One.") + broken + page_xml(3, "Gamma", "Three.") + FOOTER
    path = tmp_path / "noend.xml"
    path.write_text(xml, encoding="utf-8")
    records = run(path)
    assert [type(r).__name__ for r in records] == ["Document", "Failure", "Document"]
    assert records[1].location == f"{path}#page=2"
    assert records[2].text == "Three."


def test_page_over_max_record_bytes_is_skipped(tmp_path: Path) -> None:
    xml = HEADER + page_xml(1, "Big", "x" * 5000) + page_xml(2, "Small", "Fine.") + FOOTER
    path = tmp_path / "big.xml"
    path.write_text(xml, encoding="utf-8")
    records = run(path, max_record_bytes=2000)
    assert [type(r).__name__ for r in records] == ["Failure", "Document"]
    assert records[0].location == f"{path}#page=1" and "PageTooLarge" in records[0].error
    assert records[1].text == "Fine."


def test_page_chunks_bounded_memory_across_chunk_boundaries() -> None:
    xml = (HEADER + "".join(page_xml(i, f"T{i}", f"Text {i}.") for i in range(1, 50)) + FOOTER).encode()
    pieces = [xml[i : i + 7] for i in range(0, len(xml), 7)]  # tags split across reads
    chunks = list(page_chunks(pieces, max_record_bytes=10_000))
    assert chunks[0].kind == "header" and b"<dbname>testwiki</dbname>" in chunks[0].data
    pages = [c for c in chunks if c.kind == "page"]
    assert len(pages) == 49 and len(chunks) == 50
    assert all(xml[c.offset : c.offset + len(c.data)] == c.data for c in pages)


# --- hostile XML --------------------------------------------------------------------------


def test_billion_laughs_is_not_expanded(tmp_path: Path) -> None:
    entities = '<!ENTITY lol "lol">\n' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">\n' for i in range(1, 10)
    )
    xml = (
        f'<?xml version="1.0"?>\n<!DOCTYPE mediawiki [\n{entities}]>\n'
        + HEADER
        + page_xml(1, "Bomb", "Boom &lol9; boom")
        + page_xml(2, "Fine", "A normal page.")
        + FOOTER
    )
    path = tmp_path / "bomb.xml"
    path.write_text(xml, encoding="utf-8")
    start = time.perf_counter()
    records = run(path)
    assert time.perf_counter() - start < 10
    assert [type(r).__name__ for r in records] == ["Failure", "Document"]
    assert records[0].location == f"{path}#page=1" and "lol9" in records[0].error
    assert records[1].text == "A normal page."
    assert all("lollol" not in str(r) for r in records)


def test_external_entity_is_never_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER", encoding="utf-8")
    xml = (
        f'<?xml version="1.0"?>\n<!DOCTYPE mediawiki [\n<!ENTITY xxe SYSTEM "file://{secret}">\n'
        '<!ENTITY pw SYSTEM "file:///etc/passwd">\n]>\n'
        + HEADER.replace("<sitename>Wikipedia</sitename>", "<sitename>&xxe;</sitename>")
        + page_xml(1, "Leak", "Secret: &xxe; and &pw;")
        + page_xml(2, "Fine", "A normal page.")
        + FOOTER
    )
    path = tmp_path / "xxe.xml"
    path.write_text(xml, encoding="utf-8")
    records = run(path)
    # The siteinfo with &xxe; cannot be used (one Failure, fallbacks), the page fails alone.
    assert [type(r).__name__ for r in records] == ["Failure", "Failure", "Document"]
    assert records[0].location == f"{path}#offset=0"
    assert records[1].location == f"{path}#page=1"
    assert records[2].text == "A normal page."
    assert records[2].id == make_id("wiki", "xxe", 2)  # dbname from the file name
    for record in records:
        assert "TOP-SECRET-MARKER" not in str(record) and "root:" not in str(record)


# --- multistream --------------------------------------------------------------------------


MULTISTREAM_PAGES = 80  # of the sample's 206 (keeps the test fast)


def build_multistream(tmp_path: Path, samples: Path, pages_per_stream: int = 10) -> tuple[Path, Path]:
    """A real-shaped multistream dump from the sample's first pages: stream 0 = header, then
    one bz2 stream per `pages_per_stream` pages, then `</mediawiki>`; index lines
    offset:id:title, as Wikimedia writes them."""
    xml = bz2.decompress((samples / "wiki" / "enwiki-pages-articles-sample.xml.bz2").read_bytes())
    chunks = list(page_chunks([xml], max_record_bytes=1 << 26))
    header = chunks[0].data
    pages = [c.data for c in chunks if c.kind == "page"][:MULTISTREAM_PAGES]
    dump = tmp_path / "enwiki-20240101-pages-articles-multistream.xml.bz2"
    index_lines: list[str] = []
    with dump.open("wb") as out:
        out.write(bz2.compress(header))
        for i in range(0, len(pages), pages_per_stream):
            offset = out.tell()
            group = pages[i : i + pages_per_stream]
            for page in group:
                pid = re.search(rb"<id>(\d+)</id>", page).group(1).decode()
                title = re.search(rb"<title>(.*?)</title>", page).group(1).decode()
                index_lines.append(f"{offset}:{pid}:{title}")
            out.write(bz2.compress(b"  " + b"\n  ".join(group) + b"\n"))
        out.write(bz2.compress(b"</mediawiki>\n"))
    index = tmp_path / "enwiki-20240101-pages-articles-multistream-index.txt.bz2"
    index.write_bytes(bz2.compress(("\n".join(index_lines) + "\n").encode()))
    return dump, index


def test_index_name_follows_wikimedia_naming() -> None:
    assert index_path_for("/d/enwiki-20230501-pages-articles-multistream.xml.bz2") == (
        "/d/enwiki-20230501-pages-articles-multistream-index.txt.bz2"
    )
    assert index_path_for("gs://b/enwiki-20230501-pages-articles-multistream3.xml-p1p41242.bz2") == (
        "gs://b/enwiki-20230501-pages-articles-multistream-index3.txt-p1p41242.bz2"
    )
    assert index_path_for("/d/enwiki-20230501-pages-articles.xml.bz2") is None


@pytest.fixture(scope="module")
def multistream(tmp_path_factory: pytest.TempPathFactory, samples: Path) -> tuple[Path, Path]:
    return build_multistream(tmp_path_factory.mktemp("multistream"), samples)


def copy_multistream(multistream: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    copies = tuple(tmp_path / p.name for p in multistream)
    for src, dst in zip(multistream, copies):
        dst.write_bytes(src.read_bytes())
    return copies  # type: ignore[return-value]


def test_multistream_splits_read_like_the_whole_file(multistream, sample_records) -> None:
    dump, _ = multistream
    config = Config(paths=[str(dump)], split_bytes=30_000)
    units = list(splits(str(dump), config))
    assert len(units) > 3
    assert all(re.fullmatch(re.escape(str(dump)) + r"#streams=\d+-\d+", u) for u in units)
    bounds = [tuple(map(int, u.rsplit("=", 1)[1].split("-"))) for u in units]
    assert bounds[0][0] == 0 and bounds[-1][1] == dump.stat().st_size
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))  # contiguous, no gap

    whole = list(read(str(dump), config))
    parts = [r for unit in units for r in read(unit, config)]
    assert not [r for r in whole + parts if isinstance(r, Failure)]
    assert parts == whole
    assert len(whole) == MULTISTREAM_PAGES
    # Reading the original single-stream sample gives the same records (apart from the path).
    original = sample_records[:MULTISTREAM_PAGES]
    assert [(r.id, type(r).__name__, getattr(r, "text", "")) for r in original] == [
        (r.id, type(r).__name__, getattr(r, "text", "")) for r in whole
    ]


def test_index_file_is_not_a_unit_and_other_files_fail(tmp_path: Path, multistream) -> None:
    dump, index = multistream
    assert list(splits(str(index), Config(paths=[str(index)]))) == []
    other = tmp_path / "notes.txt.bz2"
    other.write_bytes(bz2.compress(b"just some text, no XML at all\n" * 100))
    records = run(other)
    assert len(records) == 1 and "NotAWikiDump" in records[0].error


def test_multistream_explicit_index_and_fallbacks(tmp_path: Path, multistream) -> None:
    dump, index = copy_multistream(multistream, tmp_path)
    moved = tmp_path / "my-index.txt.bz2"
    index.rename(moved)
    assert list(splits(str(dump), Config(paths=[str(dump)]))) == [str(dump)]  # no index beside it
    units = list(splits(str(dump), Config(paths=[str(dump)], index=str(moved), split_bytes=1)))
    # header stream + one per 10 pages (the footer stream joins the last split)
    assert len(units) == 1 + MULTISTREAM_PAGES // 10
    # An index whose offsets do not start bz2 streams is not trusted.
    moved.write_bytes(bz2.compress(b"7:10:AccessibleComputing\n900:12:Anarchism\n"))
    assert list(splits(str(dump), Config(paths=[str(dump)], index=str(moved), split_bytes=1))) == [str(dump)]
    moved.write_bytes(b"not an index")
    assert list(splits(str(dump), Config(paths=[str(dump)], index=str(moved)))) == [str(dump)]


def test_corrupt_stream_in_a_split_is_one_failure(tmp_path: Path, multistream) -> None:
    dump, _ = copy_multistream(multistream, tmp_path)
    config = Config(paths=[str(dump)], split_bytes=1)
    units = list(splits(str(dump), config))
    start, end = map(int, units[3].rsplit("=", 1)[1].split("-"))
    data = bytearray(dump.read_bytes())
    data[start + 100 : start + 400] = b"\x00" * 300  # damage one stream
    dump.write_bytes(bytes(data))
    records = list(read(units[3], config))
    failures = [r for r in records if isinstance(r, Failure)]
    assert len(failures) == 1 and failures[0].location.startswith(f"{units[3]}&offset=")
    # The neighbouring splits are unaffected.
    assert not [r for r in read(units[4], config) if isinstance(r, Failure)]


def test_same_input_same_output(multistream) -> None:
    dump, _ = multistream
    first = run(dump)
    assert len(first) == MULTISTREAM_PAGES and first == run(dump)


def test_module_exports_contract() -> None:
    assert Config(paths=["x"]).kind == "wiki"
    assert Config(paths=["x"]).namespaces == [0]
    with pytest.raises(ValueError):
        Config(paths=["x"], nonsense=1)
    assert callable(wiki.read) and callable(wiki.splits)


def test_truncated_multistream_file_keeps_complete_pages(tmp_path: Path, multistream) -> None:
    dump, _ = copy_multistream(multistream, tmp_path)
    full = dump.read_bytes()
    config = Config(paths=[str(dump)], split_bytes=1)
    units = list(splits(str(dump), config))
    last_start = int(units[-1].rsplit("=", 1)[1].split("-")[0])
    dump.write_bytes(full[: last_start + (len(full) - last_start) // 2])  # cut inside the last stream
    units = list(splits(str(dump), config))
    parts = [r for unit in units for r in read(unit, config)]
    whole = list(read(str(dump), config))
    for records in (parts, whole):
        failures = [r for r in records if isinstance(r, Failure)]
        assert len(failures) == 1 and "last complete page id: " in failures[0].error
        assert len(records) - 1 == MULTISTREAM_PAGES - 10  # the last stream's 10 pages are lost
    assert [r for r in parts if not isinstance(r, Failure)] == [r for r in whole if not isinstance(r, Failure)]


def test_decompression_limit_ends_the_file_with_one_failure(tmp_path: Path) -> None:
    xml = HEADER + "".join(page_xml(i, f"T{i}", "word " * 1000) for i in range(1, 101)) + FOOTER
    path = tmp_path / "bomb.xml.bz2"
    path.write_bytes(bz2.compress(xml.encode()))
    records = run(path, max_decompressed_bytes=200_000)
    failures = [r for r in records if isinstance(r, Failure)]
    assert len(failures) == 1 and "LimitExceeded" in failures[0].error
    assert 0 < len(records) - 1 < 100  # the pages read before the limit are kept


def test_non_ascii_digit_page_id_and_namespace(tmp_path: Path) -> None:
    """Found by benchmarks/fuzz_readers.py: `<id>²</id>` passed isdigit() and died in int()
    with a bare ValueError (and `<ns>----1</ns>` too); now a page without an ASCII numeric id
    is `MissingPageId` and an unusable `<ns>` falls back to the title prefix, like a missing
    one."""
    pages = [page_xml(1, "Good", "Some article text here."), page_xml(2, "Bad id", "Text of the page."),
             page_xml(3, "Odd ns", "Text of another page.")]
    pages[1] = pages[1].replace("<id>2</id>", "<id>\u00b2</id>", 1)
    pages[2] = pages[2].replace("<ns>0</ns>", "<ns>\u0663</ns>", 1)
    pages.append(page_xml(4, "Dashes", "Text of a fourth page.").replace("<ns>0</ns>", "<ns>----1</ns>", 1))
    path = tmp_path / "digits.xml"
    path.write_text(HEADER + "".join(pages) + FOOTER, encoding="utf-8")
    records = run(path)
    assert [d.page_id for d in docs_of(records)] == [1, 3, 4]
    (fail,) = [r for r in records if isinstance(r, Failure)]
    assert fail.error.startswith("MissingPageId") and "Bad id" in fail.error


def test_dump_declaring_a_non_charset_codec_reads_as_utf8(tmp_path: Path) -> None:
    """Found by benchmarks/fuzz_readers.py: `encoding="rot13"` (or base64, undefined) in the
    XML declaration made the whole dump one Failure (a text transform is no charset), and so
    did `encoding="UTF-16"` over UTF-8 bytes (no BOM: UnicodeError); both are now treated
    like an unknown name: the dump is read as UTF-8. Real UTF-16 (BOM or NULs) still reads
    (test_compressions_and_encodings_read_alike)."""
    xml = HEADER + page_xml(1, "Alpha", "Alpha text \u00e9.") + FOOTER
    for label in ("rot13", "base64", "undefined", "idna", "UTF-16", "utf-32-le"):  # UTF-16/32 without NULs: false
        path = tmp_path / f"{label}.xml"
        path.write_bytes(f'<?xml version="1.0" encoding="{label}"?>\n'.encode() + xml.encode("utf-8"))
        records = run(path)
        assert [(d.page_id, d.text) for d in docs_of(records)] == [(1, "Alpha text \u00e9.")], (label, records)
    # A UTF-16 declaration, no BOM, UTF-16 text after an ASCII declaration: a broken file, but
    # decoded (little-endian, bad parts replaced) instead of failing whole with UnicodeError.
    mixed = tmp_path / "mixed.xml"
    mixed.write_bytes(b'<?xml version="1.0" encoding="UTF-16"?>\n' + xml.encode("utf-16-le"))
    records = run(mixed)
    assert not any("UnicodeError" in r.error for r in records if isinstance(r, Failure)), records


def test_declared_codec_yielding_lone_surrogates(tmp_path: Path) -> None:
    """Found by benchmarks/fuzz_readers.py: UTF-7 (and UTF-16 halves) can decode to lone
    surrogates, whose UTF-8 re-encoding raised UnicodeEncodeError and ended the dump; they are
    replaced now and every page is read."""
    pages = [page_xml(1, "Alpha", "Alpha text."), page_xml(2, "Beta", "Beta +3pY- text."), page_xml(3, "Gamma", "Gamma text.")]
    xml = HEADER + "".join(pages) + FOOTER
    path = tmp_path / "utf7.xml"
    path.write_bytes(b'<?xml version="1.0" encoding="utf-7"?>\n' + xml.encode("ascii"))
    records = run(path)
    assert [d.page_id for d in docs_of(records)] == [1, 2, 3], records
    assert not [r for r in records if isinstance(r, Failure)]
