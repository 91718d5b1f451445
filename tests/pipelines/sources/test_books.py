"""Books reader: real Project Gutenberg files, Chinese novels and fortune files, re-encoded
copies and hostile inputs made in the test."""

from __future__ import annotations

import bz2
import gzip
import lzma
import re
from pathlib import Path

import pytest

from corpusmill.pipelines.sources import books
from corpusmill.schemas.document import Document, Failure, Rejection, make_id


def run(path: Path | str, **options: object) -> list[Document | Rejection | Failure]:
    config = books.Config(paths=[str(path)], **options)
    return list(books.read(str(path), config))


def only_doc(records: list) -> Document:
    assert len(records) == 1, records
    assert isinstance(records[0], Document), records[0]
    return records[0]


PG_MARKERS = (
    "PROJECT GUTENBERG EBOOK",
    "Project Gutenberg EBook",
    "Project Gutenberg License",
    "Project Gutenberg-tm",
    "*** START OF",
    "*** END OF",
    "FULL LICENSE",
    "This file should be named",
)


@pytest.mark.parametrize(
    ("name", "title", "first_words", "last_words"),
    [
        ("pg16215_Jack-Sheppard.txt", "Jack Sheppard A Romance", "Transcribers Note", "THE END."),
        ("pg972_The-Devils-Dictionary.txt", "The Devil's Dictionary", "THE DEVIL'S DICTIONARY", "sheds its horn every two years."),
        ("pg3261_News-from-Nowhere.txt", "News from Nowhere or An Epoch of Rest, being some chapters from A Utopian Romance", "NEWS FROM NOWHERE", "Cirencester and Burford"),
        ("pg9198_The-Complete-Angler.txt", "The Complete Angler, 1653", "THE COMPLETE ANGLER;", "FINIS."),
    ],
)
def test_gutenberg_header_and_footer_removed(shared_data: Path, name: str, title: str, first_words: str, last_words: str) -> None:
    path = shared_data / "books" / "gutenberg" / name
    doc = only_doc(run(path))
    for marker in PG_MARKERS:
        assert marker not in doc.text, marker
    assert "Produced by" not in doc.text[:500]
    assert doc.text.startswith(first_words)
    assert last_words in doc.text[-300:]
    assert doc.title == title
    assert doc.id == make_id("books", str(path), 0)
    assert doc.location == str(path)
    assert doc.part == 0 and doc.source == "books"
    assert "\r" not in doc.text


def test_old_edition_small_print_header(shared_data: Path) -> None:
    """A 2000-era edition: "*END THE SMALL PRINT! ..." header, "End of Project Gutenberg Etext"."""
    doc = only_doc(run(shared_data / "neardup" / "gutenberg_editions" / "pg3261__old_nwsnw10.txt"))
    for marker in (*PG_MARKERS, "SMALL PRINT", "Project Gutenberg"):
        assert marker not in doc.text, marker
    assert doc.text.startswith("NEWS FROM NOWHERE")
    assert doc.text.rstrip().endswith("Cirencester and Burford he must have meant.")
    assert doc.title == "News from Nowhere"


def test_gutenberg_known_sentence_present(shared_data: Path) -> None:
    doc = only_doc(run(shared_data / "books" / "gutenberg" / "pg972_The-Devils-Dictionary.txt"))
    assert "_The Devil's Dictionary_ was begun in a weekly paper in 1881" in doc.text


def test_latin1_dutch_book_decoded(shared_data: Path) -> None:
    doc = only_doc(run(shared_data / "books" / "gutenberg" / "pg24675_Ontboezemingen_nl_latin1.txt"))
    assert "GABRIËL." in doc.text
    assert re.search(r"\b(één|ééne|geëerd|reïncarnatie|Gabriël)\b", doc.text)
    assert "\ufffd" not in doc.text
    assert doc.title == "Ontboezemingen"
    for marker in PG_MARKERS:
        assert marker not in doc.text, marker


def test_utf8_french_book_with_bom(shared_data: Path) -> None:
    doc = only_doc(run(shared_data / "books" / "gutenberg" / "pg44157_Entre-Nous_fr_utf8.txt"))
    assert doc.title == "Entre Nous Lectures Françaises à l'usage des ecoles primaires - I"
    assert not doc.text.startswith("\ufeff")
    for marker in PG_MARKERS:
        assert marker not in doc.text, marker
    assert "é" in doc.text and "\ufffd" not in doc.text


def test_chinese_novel(shared_data: Path) -> None:
    doc = only_doc(run(shared_data / "books" / "zh" / "hongloumeng_zh-hans.txt"))
    assert "甄士隐梦幻识通灵" in doc.text
    assert "贾雨村风尘怀闺秀" in doc.text
    assert "\r" not in doc.text and not doc.text.startswith("\ufeff")
    assert doc.title is None


def test_kjv_xz_sample(samples: Path) -> None:
    doc = only_doc(run(samples / "books" / "kjv-bible.en.txt.xz"))
    assert doc.text.startswith("Genesis 1")
    assert "1 In the beginning God created the heaven and the earth." in doc.text[:200]
    assert doc.text.rstrip().endswith("Amen.")


def test_fortune_file_one_document(samples: Path) -> None:
    path = samples / "books" / "tang300-poems.zh.txt"
    raw = path.read_text(encoding="utf-8")
    doc = only_doc(run(path))
    assert "\x1b" not in doc.text and "[32m" not in doc.text
    assert not re.search(r"^%$", doc.text, re.MULTILINE)
    assert doc.text.startswith("《感遇・其一》\n作者：张九龄\n兰叶春葳蕤，桂华秋皎洁。")
    assert "床前明月光" in doc.text
    entries = [e for e in re.split(r"^%$", raw, flags=re.MULTILINE) if e.strip()]
    assert doc.text.count("\n\n") >= len(entries) - 1  # entries separated by blank lines


def test_fortune_file_entries(samples: Path) -> None:
    path = samples / "books" / "tang300-poems.zh.txt"
    raw = path.read_text(encoding="utf-8")
    entries = [e for e in re.split(r"^%$", raw, flags=re.MULTILINE) if e.strip()]
    docs = run(path, fortunes="entries")
    assert all(isinstance(d, Document) for d in docs)
    assert len(docs) == len(entries) > 250
    assert [d.part for d in docs] == list(range(len(docs)))
    assert docs[0].text.startswith("《感遇・其一》")
    assert len({d.id for d in docs}) == len(docs)
    assert docs[3].location == f"{path}#part=3"
    assert all("\x1b" not in d.text for d in docs)


def test_split_at_paragraphs(shared_data: Path) -> None:
    path = shared_data / "books" / "gutenberg" / "pg972_The-Devils-Dictionary.txt"
    whole = only_doc(run(path))
    parts = run(path, max_chars=50_000)
    assert len(parts) > 5
    assert all(isinstance(p, Document) and len(p.text) <= 50_000 for p in parts)
    assert [p.part for p in parts] == list(range(len(parts)))
    assert parts[1].id == make_id("books", str(path), 1)
    assert parts[1].location == f"{path}#part=1"
    # Nothing lost: words of the parts are the words of the whole book, in order.
    assert " ".join(p.text for p in parts).split() == whole.text.split()
    # Cuts fall on paragraph boundaries, and a part is a verbatim slice of the book.
    position = 0
    for p in parts:
        found = whole.text.find(p.text, position)
        assert found >= 0
        assert found == 0 or re.search(r"\n[ \t]*\n$", whole.text[:found])
        position = found + len(p.text)


def test_split_paragraphs_long_line_is_cut() -> None:
    text = "short para\n\n" + "x" * 250 + "\n\nend"
    parts = books.split_paragraphs(text, 100)
    assert all(len(p) <= 100 for p in parts)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")


def test_encodings_of_real_text(tmp_path: Path, shared_data: Path) -> None:
    source = shared_data / "books" / "zh" / "fortunes-zh_song100.txt"
    text = source.read_text(encoding="utf-8")
    expected = only_doc(run(source)).text
    for encoding, bom in [("utf-16-le", True), ("utf-16-be", True), ("utf-16-le", False), ("utf-16-be", False), ("gb18030", False)]:
        data = ("\ufeff" if bom else "").encode(encoding) + text.encode(encoding)
        path = tmp_path / f"song100.{encoding}.{bom}.txt"
        path.write_bytes(data)
        assert only_doc(run(path)).text == expected, (encoding, bom)


def test_compressed_books(tmp_path: Path, shared_data: Path) -> None:
    source = shared_data / "books" / "gutenberg" / "pg9198_The-Complete-Angler.txt"
    data = source.read_bytes()
    expected = only_doc(run(source)).text
    for name, packed in [("a.txt.gz", gzip.compress(data)), ("a.txt.bz2", bz2.compress(data)), ("a.txt.xz", lzma.compress(data))]:
        path = tmp_path / name
        path.write_bytes(packed)
        assert only_doc(run(path)).text == expected


def test_binary_files_rejected(tmp_path: Path) -> None:
    cases = {
        "book.pdf": b"%PDF-1.5\n%\xb5\xed\xae\xfb\n3 0 obj\n<< /Length 4 0 R >>\nstream\n" + bytes(range(256)) * 8,
        "cover.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8,
        "data.bin": bytes(range(256)) * 64,
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        records = run(path)
        assert len(records) == 1 and isinstance(records[0], Rejection), records
        assert records[0].reason == "binary_file" and records[0].step == "read"
        assert records[0].location == str(path)


def test_ansi_and_control_characters_removed() -> None:
    raw = "\x1b[1;31mRed title\x1b[0m\r\nline\x07 two\tTab\x00\r\n\x1b]0;window\x07\x0cnext page\x85"
    assert books.clean_text(raw) == "Red title\nline two\tTab\n\nnext page"


def test_old_small_print_header_and_end_line() -> None:
    text = (
        "**The Project Gutenberg Etext of Old Book**\n\nsome legal text\n"
        "*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS*Ver.04.29.93*END*\n\n"
        "Chapter 1\n\nIt was a dark night.\n\nEnd of the Project Gutenberg Etext of Old Book\n"
    )
    docs = list(books.book_documents("old.txt", text, books.Config(paths=["old.txt"])))
    assert len(docs) == 1 and isinstance(docs[0], Document)
    assert docs[0].text == "Chapter 1\n\nIt was a dark night."
    assert docs[0].title == "Old Book"


def test_title_only_from_a_gutenberg_header() -> None:
    config = books.Config(paths=["x"])
    (doc,) = books.book_documents("notes.txt", "Meeting notes\n\nTitle: Budget 2024\n\nWe agreed.", config)
    assert isinstance(doc, Document) and doc.title is None
    assert "Title: Budget 2024" in doc.text


def test_missing_and_corrupt_files_fail(tmp_path: Path) -> None:
    broken = tmp_path / "broken.txt.gz"
    broken.write_bytes(gzip.compress(" ".join(str(i * 7919 % 10007) for i in range(5000)).encode())[:2000])
    for path in (broken, tmp_path / "missing.txt"):
        records = run(path)
        assert len(records) == 1 and isinstance(records[0], Failure), records
        assert records[0].location == str(path) and records[0].source == "books"


def test_too_large_and_empty(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text("word " * 1000)
    records = run(big, max_record_bytes=1000)
    assert isinstance(records[0], Failure) and "book_too_large" in records[0].error
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n  \n")
    records = run(empty)
    assert isinstance(records[0], Rejection) and records[0].reason == "empty"


def test_deterministic(samples: Path) -> None:
    path = samples / "books" / "tang300-poems.zh.txt"
    assert run(path, fortunes="entries") == run(path, fortunes="entries")


def test_arbitrary_bytes_never_raise(tmp_path: Path, samples: Path) -> None:
    import random

    rng = random.Random(1234)
    kjv = (samples / "books" / "kjv-bible.en.txt.xz").read_bytes()
    blobs = [bytes(rng.randrange(256) for _ in range(n)) for n in (1, 7, 500, 5000)]
    blobs += [bytes(rng.randrange(128, 256) for _ in range(3000)), b"\xff\xfe" + b"\x00\xd8" * 50, b"\x1b[" * 100]
    blobs += [kjv[: len(kjv) // 3], kjv[:20]]  # truncated xz streams
    for i, blob in enumerate(blobs):
        path = tmp_path / f"blob{i}"
        path.write_bytes(blob)
        records = run(path)
        assert len(records) >= 1
        assert all(isinstance(r, (Document, Rejection, Failure)) for r in records)
    assert isinstance(run(tmp_path / "blob7")[0], Failure)  # a truncated xz is a failure, not text
