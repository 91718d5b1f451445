"""JSONL reader: files made in the test (plain, gzip, zstd), with bad lines mixed in."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pydantic
import pytest
import zstandard

from corpusmill.pipelines.sources import jsonl
from corpusmill.schemas.document import Document, Failure

GOOD = [
    {"id": "doc-1", "text": "First document.", "url": "https://example.org/1", "meta": {"lang": "en", "score": 0.93}},
    {"id": 2, "text": "Zweites Dokument.", "url": "https://example.org/2", "meta": {"lang": "de", "score": "0.8"}},
    {"id": "doc-3", "text": "第三个文档。", "meta": {"lang": "zh"}},
]


def lines_with_errors() -> list[bytes]:
    return [
        json.dumps(GOOD[0]).encode(),
        b"{not json",
        b"",
        json.dumps({"id": "no-text"}).encode(),
        json.dumps({"id": "num-text", "text": 42}).encode(),
        json.dumps({"text": "no id here"}).encode(),
        json.dumps(GOOD[1], ensure_ascii=False).encode(),
        json.dumps(["a", "list"]).encode(),
        b'{"id": "bad-utf8", "text": "\xff\xfe"}',
        json.dumps({"id": "huge", "text": "x" * 5000}).encode(),
        json.dumps({"id": "bad-url", "text": "ok", "url": {"nested": 1}}).encode(),
        json.dumps({"id": True, "text": "bool id"}).encode(),
        json.dumps(GOOD[2], ensure_ascii=False).encode(),
        json.dumps({"id": "dup", "text": "one"}).encode(),
        json.dumps({"id": "dup", "text": "two"}).encode(),
    ]


def write(path: Path, lines: list[bytes], compression: str | None = None, trailing_newline: bool = True) -> Path:
    data = b"\n".join(lines) + (b"\n" if trailing_newline else b"")
    if compression == "gzip":
        data = gzip.compress(data)
    elif compression == "zstd":
        data = zstandard.ZstdCompressor().compress(data)
    path.write_bytes(data)
    return path


def run(path: Path, **options: object) -> list[Document | Failure]:
    config = jsonl.Config(paths=[str(path)], fields={"url": "url", "language": "meta.lang", "language_score": "meta.score"}, **options)
    return list(jsonl.read(str(path), config))


@pytest.mark.parametrize("compression", [None, "gzip", "zstd"])
def test_good_and_bad_lines(tmp_path: Path, compression: str | None) -> None:
    path = write(tmp_path / f"data.jsonl{'.' + compression if compression else ''}", lines_with_errors(), compression)
    records = run(path, max_record_bytes=2000)
    docs = [r for r in records if isinstance(r, Document)]
    failures = {int(r.location.rsplit("=", 1)[1]): r for r in records if isinstance(r, Failure)}
    assert [d.id for d in docs] == ["doc-1", "2", "doc-3", "dup", "dup"]  # duplicates passed through
    first = docs[0]
    assert first.text == "First document." and first.url == "https://example.org/1"
    assert first.language == "en" and first.language_score == pytest.approx(0.93)
    assert first.source == "jsonl" and first.location == f"{path}#line=1"
    assert docs[1].language_score == pytest.approx(0.8)  # numeric string -> float
    assert docs[1].location == f"{path}#line=7"
    assert docs[2].text == "第三个文档。" and docs[2].url is None
    assert sorted(failures) == [2, 4, 5, 6, 8, 9, 10, 11, 12]  # line 3 is blank: skipped
    assert "JSONDecodeError" in failures[2].error
    assert "missing text" in failures[4].error and failures[4].id == "no-text"
    assert "not a string" in failures[5].error and failures[5].id == "num-text"
    assert "missing id" in failures[6].error
    assert "not an object" in failures[8].error
    assert "UnicodeDecodeError" in failures[9].error
    assert "record_too_large" in failures[10].error
    assert "'url'" in failures[11].error and failures[11].id == "bad-url"
    assert "not a string or integer" in failures[12].error
    assert all(f.source == "jsonl" and f.step == "read" for f in failures.values())


def test_oversized_line_is_skipped_in_pieces(tmp_path: Path) -> None:
    big = json.dumps({"id": "big", "text": "y" * (3 * jsonl.READ_CHUNK)}).encode()
    path = write(tmp_path / "big.jsonl", [json.dumps(GOOD[0]).encode(), big, json.dumps(GOOD[2]).encode()])
    records = run(path, max_record_bytes=1000)
    assert [type(r).__name__ for r in records] == ["Document", "Failure", "Document"]
    assert records[1].location == f"{path}#line=2"
    assert records[2].location == f"{path}#line=3"


def test_line_of_exactly_the_limit(tmp_path: Path) -> None:
    line = json.dumps({"id": "edge", "text": "z" * 100}).encode()
    path = write(tmp_path / "edge.jsonl", [line, line], trailing_newline=False)
    records = run(path, max_record_bytes=len(line))
    assert [type(r).__name__ for r in records] == ["Document", "Document"]


def test_custom_field_names(tmp_path: Path) -> None:
    path = write(tmp_path / "c.jsonl", [json.dumps({"doc_id": 7, "content": "hello", "page": "12"}).encode()])
    config = jsonl.Config(paths=[str(path)], id_field="doc_id", text_field="content", fields={"page_id": "page"})
    (doc,) = jsonl.read(str(path), config)
    assert isinstance(doc, Document)
    assert (doc.id, doc.text, doc.page_id) == ("7", "hello", 12)


def test_unknown_document_field_is_a_config_error() -> None:
    with pytest.raises(pydantic.ValidationError):
        jsonl.Config(paths=["x"], fields={"text": "body"})
    with pytest.raises(pydantic.ValidationError):
        jsonl.Config(paths=["x"], fields={"colour": "c"})


def test_truncated_gzip_and_missing_file(tmp_path: Path) -> None:
    lines = [json.dumps({"id": str(i), "text": f"document number {i * 7919 % 10007}"}).encode() for i in range(3000)]
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(gzip.compress(b"\n".join(lines))[:8000])
    records = list(jsonl.read(str(path), jsonl.Config(paths=[str(path)])))
    docs = [r for r in records if isinstance(r, Document)]
    assert isinstance(records[-1], Failure)
    assert len(docs) > 10 and all(isinstance(r, Document) for r in records[:-1])
    assert records[-1].location == f"{path}#line={len(docs) + 1}"  # the line the stream broke in
    missing = list(jsonl.read(str(tmp_path / "nope.jsonl"), jsonl.Config(paths=["x"])))
    assert len(missing) == 1 and isinstance(missing[0], Failure)


def test_decompression_limit(tmp_path: Path) -> None:
    lines = [json.dumps({"id": str(i), "text": "a" * 1000}).encode() for i in range(200)]
    path = write(tmp_path / "many.jsonl.gz", lines, "gzip")
    records = list(jsonl.read(str(path), jsonl.Config(paths=[str(path)], max_decompressed_bytes=50_000)))
    assert isinstance(records[-1], Failure) and "LimitExceeded" in records[-1].error
    assert 0 < len(records) - 1 < 200
