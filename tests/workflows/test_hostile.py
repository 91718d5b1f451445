"""Hostile and broken input: none of it may crash or hang the run, exhaust memory, or write
outside the output directory; each bad file lands in failed/ or rejected/ with its location,
and the good input is still processed. A failure ratio above `run.max_failed_fraction` makes
the run exit non-zero after writing everything it could."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import resource
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pyarrow.dataset as ds
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"

# One run per test; pytest's limit stays above the subprocess's so a hung run fails with its
# command line (subprocess.TimeoutExpired) rather than a pytest-timeout dump.
RUN_TIMEOUT = 600
pytestmark = [pytest.mark.slow, pytest.mark.timeout(RUN_TIMEOUT + 120)]

MEMORY_LIMIT = 6 * 1024**3  # address space of the run: a bomb read into memory would hit it


def _warc_record(uri: str, payload: bytes, headers: str = "Content-Type: text/html; charset=utf-8\r\n") -> bytes:
    http = f"HTTP/1.1 200 OK\r\n{headers}Content-Length: {len(payload)}\r\n\r\n".encode() + payload
    head = (
        "WARC/1.0\r\nWARC-Type: response\r\n"
        f"WARC-Record-ID: <urn:uuid:{abs(hash(uri)):032x}>\r\nWARC-Target-URI: {uri}\r\n"
        "WARC-Date: 2024-01-01T00:00:00Z\r\nContent-Type: application/http; msgtype=response\r\n"
        f"Content-Length: {len(http)}\r\n\r\n"
    ).encode()
    return gzip.compress(head + http + b"\r\n\r\n", mtime=0)


def _verses(start: int, count: int) -> list[str]:
    """Real prose for the good inputs: verses of the bundled KJV sample."""
    with lzma.open(SAMPLES / "books" / "kjv-bible.en.txt.xz", "rt", encoding="utf-8") as f:
        lines = [line.split(" ", 2)[-1].strip() for line in f.readlines()[start : start + count]]
    return [line for line in lines if line]


GOOD_PAGE = (
    "<html><head><title>Good page</title></head><body><article>"
    + "".join(f"<p>{verse}</p>" for verse in _verses(2000, 40))
    + "</article></body></html>"
).encode()


def _make_web(folder: Path) -> dict[str, str]:
    folder.mkdir()
    good = _warc_record("https://example.org/good", GOOD_PAGE)
    (folder / "good.warc.gz").write_bytes(good)
    (folder / "truncated.warc.gz").write_bytes(good + _warc_record("https://example.org/cut", GOOD_PAGE)[:300])
    (folder / "garbage.warc.gz").write_bytes(good + os.urandom(4096) + _warc_record("https://example.org/after", GOOD_PAGE))
    (folder / "empty.warc.gz").write_bytes(b"")
    (folder / "not-a-warc.warc.gz").write_bytes(b"%PDF-1.4\n" + os.urandom(2048))
    bomb = gzip.compress(b"\0" * (512 * 1024**2), compresslevel=9)  # 512 MB of zeros in ~0.5 MB
    (folder / "bomb.warc.gz").write_bytes(
        _warc_record("https://example.org/bomb", bomb, "Content-Type: text/html\r\nContent-Encoding: gzip\r\n")
    )
    return {
        "truncated.warc.gz": "failed",
        "garbage.warc.gz": "failed",
        "not-a-warc.warc.gz": "failed",
        "bomb.warc.gz": "any",
        "empty.warc.gz": "none",
    }


PAGE = "<page><title>{title}</title><ns>0</ns><id>{id}</id><revision><id>1</id><text>{text}</text></revision></page>"


def _make_wiki(folder: Path) -> dict[str, str]:
    folder.mkdir()
    prose = " ".join(_verses(3000, 15))
    head = '<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/"><siteinfo><dbname>testwiki</dbname></siteinfo>'
    good = head + PAGE.format(title="River", id=1, text=prose) + "</mediawiki>"
    (folder / "good.xml.bz2").write_bytes(bz2.compress(good.encode()))
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE mediawiki [<!ENTITY a "aaaaaaaaaa">'
        + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
        + "]>" + head + PAGE.format(title="Bomb", id=2, text="&j;") + "</mediawiki>"
    )
    (folder / "laughs.xml").write_text(laughs)
    external = (
        '<?xml version="1.0"?><!DOCTYPE mediawiki [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        + head + PAGE.format(title="Leak", id=3, text="&x; " + prose) + "</mediawiki>"
    )
    (folder / "external.xml").write_text(external)
    other = " ".join(_verses(3100, 15))
    truncated = head + PAGE.format(title="Whole", id=4, text=other) + PAGE.format(title="Cut", id=5, text=other)[:150]
    (folder / "truncated.xml.bz2").write_bytes(bz2.compress(truncated.encode()))
    return {"laughs.xml": "any", "external.xml": "any", "truncated.xml.bz2": "failed"}


def _make_books(folder: Path) -> dict[str, str]:
    folder.mkdir()
    text = "It was a bright cold day in April, and the clocks were striking thirteen.\n\n" * 40
    (folder / "utf16.txt").write_bytes(text.encode("utf-16"))
    zh = "满纸荒唐言，一把辛酸泪。都云作者痴，谁解其中味？\n\n" * 40
    (folder / "gb18030.txt").write_bytes(zh.encode("gb18030"))
    (folder / "nul.txt").write_bytes(b"\0" * 20000 + b"abc" * 100)
    (folder / "one-line.txt").write_bytes(b"word " * (6 * 1024**2))  # 30 MB, no newline
    (folder / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(4096))
    return {"nul.txt": "rejected", "image.txt": "rejected", "one-line.txt": "any"}


def _tar_with(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _link(name: str, target: str, kind: bytes) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


def _make_code(folder: Path) -> dict[str, str]:
    folder.mkdir()
    code = b"def add(a, b):\n    return a + b\n\n\nprint(add(1, 2))\n"
    (folder / "evil.tar.gz").write_bytes(_tar_with([
        _file("evil/ok.py", code),
        _file("evil/../../escape.py", code),
        _file("/etc/absolute.py", code),
        _link("evil/sym.py", "/etc/passwd", tarfile.SYMTYPE),
        _link("evil/hard.py", "/etc/passwd", tarfile.LNKTYPE),
        _file("evil/blob.bin", os.urandom(2048)),
    ]))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("bomb/ok.py", code)
        for i in range(4):
            z.writestr(f"bomb/big{i}.py", b"a" * (1024**3 // 4))  # 1 GB uncompressed in ~1 MB
    (folder / "bomb.zip").write_bytes(buffer.getvalue())
    return {"evil.tar.gz": "any", "bomb.zip": "any"}


def _make_jsonl(folder: Path) -> dict[str, str]:
    folder.mkdir()
    prose = "A perfectly ordinary sentence about rivers and towns. " * 40
    with open(folder / "mixed.jsonl", "w") as f:
        f.write(json.dumps({"id": "a", "text": prose}) + "\n")
        f.write("{this is not json\n")
        f.write(json.dumps({"id": "b"}) + "\n")
        f.write(json.dumps({"id": "c", "text": 42}) + "\n")
        f.write(json.dumps({"id": "a", "text": prose + " again"}) + "\n")
        f.write(json.dumps({"id": "huge", "text": "x" * (64 * 1024**2)}) + "\n")
        f.write(json.dumps({"id": "d", "text": prose + " last"}) + "\n")
    return {"mixed.jsonl": "failed"}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    base = tmp_path_factory.mktemp("hostile")
    expectations: dict[str, str] = {}
    for kind, make in (("web", _make_web), ("wiki", _make_wiki), ("books", _make_books),
                       ("code", _make_code), ("jsonl", _make_jsonl)):
        for name, verdict in make(base / kind).items():
            expectations[f"{kind}/{name}"] = verdict
    workflow = {
        "sources": [
            {"kind": "web", "paths": ["web/*"], "preset": "web"},
            {"kind": "wiki", "paths": ["wiki/*"], "steps": []},
            {"kind": "books", "paths": ["books/*"], "steps": []},
            {"kind": "code", "paths": ["code/*"], "max_decompressed_bytes": 64 * 1024**2, "steps": []},
            {"kind": "jsonl", "paths": ["jsonl/*"], "max_record_bytes": 8 * 1024**2, "steps": []},
        ],
        "dedup": {"exact": True, "minhash": None},
        "output": {"dir": "out", "shards": 2},
        "validate": False,
        "run": {"max_failed_fraction": 1.0},
    }
    (base / "hostile.yaml").write_text(yaml.safe_dump(workflow))
    strict = dict(workflow, run={"max_failed_fraction": 0.0}, output={"dir": "out-strict", "shards": 1})
    (base / "strict.yaml").write_text(yaml.safe_dump(strict))
    return base, expectations


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _run(workflow: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "corpusmill.workflows.cli", "run", str(workflow), "--direct_num_workers=1",
         "--direct_running_mode=in_memory"],
        capture_output=True, text=True, cwd=workflow.parent, timeout=RUN_TIMEOUT, preexec_fn=_limited,
    )


def _snapshot(base: Path) -> set[str]:
    return {str(p.relative_to(base)) for p in base.rglob("*") if "out" not in p.relative_to(base).parts[0]}


def test_hostile_input_is_contained_and_accounted_for(hostile: tuple[Path, dict[str, str]]) -> None:
    base, expectations = hostile
    before = _snapshot(base)
    proc = _run(base / "hostile.yaml")
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert _snapshot(base) == before, "the run wrote outside its output directory"
    assert not Path("/etc/absolute.py").exists() and not (base.parent / "escape.py").exists()
    out = base / "out"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["accounting"]["balanced"], manifest["accounting"]
    failed = ds.dataset(out / "failed").to_table().to_pylist()
    rejected = ds.dataset(out / "rejected").to_table().to_pylist()
    kept = ds.dataset(out / "corpus").to_table().to_pylist()
    # records name inputs relative to the workflow's directory (here `base`), never by where it lies
    assert not [x for x in failed + rejected + kept if str(base) in x["location"] + (x.get("error") or "") + (x.get("detail") or "")]
    for relative, verdict in expectations.items():
        path = relative
        f = [r for r in failed if r["location"].startswith(path)]
        r = [r for r in rejected if r["location"].startswith(path)]
        if verdict == "failed":
            assert f, f"{relative}: no failure recorded"
            assert all(x["error"] for x in f)
        elif verdict == "rejected":
            assert r or f, f"{relative}: not rejected"
        elif verdict == "any":
            k = [d for d in kept if d["location"].startswith(path)]
            assert f or r or k, f"{relative}: vanished without a trace"
    texts = {d["location"].rsplit("/", 1)[-1].split("#")[0].split("!")[0]: d["text"] for d in kept}
    # good input still processed, bad encodings decoded
    # the good record (also copied before the damage in the broken WARCs: exact duplicates)
    web = [d for d in kept if d["source"] == "web"]
    assert len(web) == 1 and _verses(2000, 40)[5][:40] in web[0]["text"]
    assert "bright cold day in April" in texts["utf16.txt"]
    assert "满纸荒唐言" in texts["gb18030.txt"]
    assert "good.xml.bz2" in texts
    assert not any("root:" in t for t in texts.values()), "an external entity was resolved"
    assert not any("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" in t for t in texts.values())
    assert any(d["path"] == "ok.py" for d in kept if d["source"] == "code")
    jsonl_ids = sorted(d["id"] for d in kept if d["source"] == "jsonl")
    assert "d" in jsonl_ids and "huge" not in jsonl_ids
    jsonl_failures = [x for x in failed if x["location"].startswith("jsonl/")]
    assert len(jsonl_failures) >= 4  # not json, missing text, non-string text, oversized line


def test_too_many_failures_exit_nonzero_after_writing_everything(hostile: tuple[Path, dict[str, str]]) -> None:
    base, _ = hostile
    proc = _run(base / "strict.yaml")
    assert proc.returncode == 1
    assert "failed" in proc.stderr and "max_failed_fraction" in proc.stderr
    out = base / "out-strict"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["accounting"]["kept"] > 0 and (out / "failed" / "part-00000-of-00001.parquet").is_file()
