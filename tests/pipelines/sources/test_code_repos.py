"""Code repository reader: real source archives, a zip and a folder made here, hostile
archives made here (path traversal, links, bombs, binaries)."""

from __future__ import annotations

import collections
import gzip
import io
import os
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from corpusmill.pipelines.sources import code
from corpusmill.pipelines.sources.code_languages import language_count, language_from_name, language_from_shebang
from corpusmill.pipelines.sources.licenses import detect_license, repo_license
from corpusmill.schemas.document import Document, Failure, Rejection, make_id

MIT = """MIT License

Copyright (c) 2024 Someone

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND.
"""

PY = 'def add(a: int, b: int) -> int:\n    """Add two numbers."""\n    return a + b\n'


def run(unit: Path | str, **options: object) -> list[Document | Rejection | Failure]:
    config = code.Config(paths=[str(unit)], **options)
    return list(code.read(str(unit), config))


def split(records: list) -> tuple[list[Document], list[Rejection], list[Failure]]:
    docs = [r for r in records if isinstance(r, Document)]
    rejected = [r for r in records if isinstance(r, Rejection)]
    failed = [r for r in records if isinstance(r, Failure)]
    assert len(docs) + len(rejected) + len(failed) == len(records)
    return docs, rejected, failed


# --- real archives ----------------------------------------------------------------------------

REAL = [
    ("DaveGamble__cJSON.tar.gz", "MIT", "C"),
    ("expressjs__express.tar.gz", "MIT", "JavaScript"),
    ("spf13__cobra.tar.gz", "Apache-2.0", "Go"),
    ("dtolnay__anyhow.tar.gz", "MIT OR Apache-2.0", "Rust"),
    ("psf__requests.tar.gz", "Apache-2.0", "Python"),
    ("google__gson.tar.gz", "Apache-2.0", "Java"),
    ("debian_node-lodash_4.17.21.tar.gz", None, "JavaScript"),
    ("debian_librust-serde-dev_1.0.152-2.tar.gz", "MIT OR Apache-2.0", "Rust"),
]


def tar_listing(path: Path) -> tuple[list[tarfile.TarInfo], str]:
    with tarfile.open(path) as tar:
        members = tar.getmembers()
    names = [n for n in (code.normalize_member(m.name) for m in members) if n]
    tops = {n.split("/")[0] for n in names}
    prefix = next(iter(tops)) + "/" if len(tops) == 1 else ""
    return members, prefix


@pytest.mark.parametrize(("archive", "license", "language"), REAL)
def test_real_archives(shared_data: Path, archive: str, license: str | None, language: str) -> None:
    path = shared_data / "code" / archive
    docs, rejected, failed = split(run(path))
    assert not failed
    repo = archive.removesuffix(".tar.gz")
    members, prefix = tar_listing(path)
    files = [m for m in members if not m.isdir()]
    # Every non-directory member is accounted for: a document, or a rejection (vendored
    # directories count once for all their files).
    vendored = [r for r in rejected if r.reason == "vendored"]
    in_vendored = [m for m in files if code.vendored_dir(str(code.normalize_member(m.name)).removeprefix(prefix))]
    assert len(docs) + len(rejected) - len(vendored) == len(files) - len(in_vendored)
    assert len(docs) > 20
    assert {d.license for d in docs} == {license}
    counts = collections.Counter(d.programming_language for d in docs)
    assert counts.most_common(1)[0][0] == language
    by_name = {m.name: m for m in files}
    for d in docs[:50]:
        assert d.repo == repo and d.source == "code"
        assert d.id == make_id("code", repo, d.path)
        archive_path, member = d.location.split("!", 1)
        assert archive_path == str(path)
        assert str(code.normalize_member(member)).removeprefix(prefix) == d.path
        assert d.size_bytes == by_name[member].size
        assert d.programming_language == language_from_name(d.path) or d.programming_language is not None
    assert len({d.id for d in docs}) == len(docs)


def test_requests_details(shared_data: Path) -> None:
    path = shared_data / "code" / "psf__requests.tar.gz"
    records = run(path)
    docs, rejected, _ = split(records)
    api = next(d for d in docs if d.path == "src/requests/api.py")
    with tarfile.open(path) as tar:
        expected = tar.extractfile("psf__requests/src/requests/api.py").read().decode("utf-8")  # type: ignore[union-attr]
        py_members = [m for m in tar.getmembers() if m.isfile() and m.name.endswith(".py")]
    assert api.text == expected
    assert "\ndef request(\n" in api.text and "\ndef get(\n" in api.text
    assert api.location == f"{path}!psf__requests/src/requests/api.py"
    py_docs = [d for d in docs if d.programming_language == "Python"]
    py_rejected = [r for r in rejected if r.location.endswith(".py")]
    assert len(py_docs) + len(py_rejected) == len(py_members)
    reasons = {r.location.rsplit("/", 1)[-1]: r.reason for r in rejected}
    assert reasons["requests-logo.png"] == "binary_file"
    assert reasons["requests-logo.ai"] == "file_too_large"
    assert {r.reason for r in rejected if r.location.endswith("/ca")} == {"link"}


def test_samples_rust_and_cpython(samples: Path) -> None:
    regex_docs, regex_rejected, _ = split(run(samples / "code" / "rust-regex-1.7.1.tar.gz"))
    assert {d.license for d in regex_docs} == {"MIT OR Apache-2.0"}
    assert {d.repo for d in regex_docs} == {"rust-regex-1.7.1"}
    assert "src/lib.rs" in {d.path for d in regex_docs}
    generated = {r.location.rsplit("!", 1)[1] for r in regex_rejected if r.reason == "generated"}
    assert "./regex-1.7.1/tests/fowler.rs" in generated  # "DO NOT EDIT. Automatically generated"
    cpython_docs, cpython_rejected, _ = split(run(samples / "code" / "cpython-3.11-stdlib-subset.tar.gz"))
    paths = {d.path for d in cpython_docs}
    assert "json/decoder.py" in paths  # several top-level directories: nothing stripped
    assert {d.license for d in cpython_docs} == {None}
    assert all(d.programming_language == "Python" for d in cpython_docs if d.path.endswith(".py"))


# --- made in the test ---------------------------------------------------------------------------


def add_file(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    tar.addfile(info, io.BytesIO(data))


def test_zip_repository(tmp_path: Path) -> None:
    path = tmp_path / "myproj-1.0.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("myproj-1.0/", "")
        zf.writestr("myproj-1.0/LICENSE", MIT)
        zf.writestr("myproj-1.0/src/add.py", PY)
        zf.writestr("myproj-1.0/src/lib.rs", "pub fn one() -> u32 {\n    1\n}\n")
        zf.writestr("myproj-1.0/web/app.min.js", "var a=1;")
        zf.writestr("myproj-1.0/node_modules/left-pad/index.js", "module.exports = 1;\n")
        zf.writestr("myproj-1.0/node_modules/left-pad/package.json", "{}\n")
        zf.writestr("myproj-1.0/data.xyz", "plain\n")
        zf.writestr("myproj-1.0/bin/run", "#!/usr/bin/env python3\nprint('hi')\n")
    docs, rejected, failed = split(run(path))
    assert not failed
    by_path = {d.path: d for d in docs}
    assert set(by_path) == {"src/add.py", "src/lib.rs", "bin/run"}
    assert by_path["src/add.py"].text == PY
    assert by_path["src/add.py"].programming_language == "Python"
    assert by_path["bin/run"].programming_language == "Python"  # from the #! line
    assert by_path["src/lib.rs"].programming_language == "Rust"
    assert all(d.repo == "myproj-1.0" and d.license == "MIT" for d in docs)
    assert by_path["src/add.py"].location == f"{path}!myproj-1.0/src/add.py"
    assert by_path["src/add.py"].id == make_id("code", "myproj-1.0", "src/add.py")
    reasons = sorted((r.reason, r.location.split("!")[1]) for r in rejected)
    assert ("minified", "myproj-1.0/web/app.min.js") in reasons
    assert [r for r in reasons if r[0] == "vendored"] == [("vendored", "myproj-1.0/node_modules/left-pad/index.js")]
    assert ("unknown_language", "myproj-1.0/data.xyz") in reasons
    assert ("unknown_language", "myproj-1.0/LICENSE") in reasons


def test_unknown_languages_kept_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "r.tar"
    with tarfile.open(path, "w") as tar:
        add_file(tar, "notes.xyz", b"some plain notes\n")
    docs, _, _ = split(run(path, include_unknown_languages=True))
    assert [(d.path, d.programming_language) for d in docs] == [("notes.xyz", None)]


def test_folder_repository(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET outside the repo\n")
    repo = tmp_path / "folder-repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "LICENSE-MIT").write_text(MIT)
    (repo / "LICENSE-APACHE").write_text("Apache License\nVersion 2.0, January 2004\nhttp://www.apache.org/licenses/\n")
    (repo / "pkg" / "add.py").write_text(PY)
    (repo / "README.md").write_text("# Title\n\nSome words.\n")
    (repo / "pkg" / "gen.go").write_text("// Code generated by stringer; DO NOT EDIT.\n\npackage pkg\n")
    (repo / "pkg" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    (repo / "pkg" / "blob.c").write_bytes(b"int x;\x00\x01\x02" * 10)
    (repo / "pkg" / "big.py").write_text("x = 1\n" * 400)
    (repo / ".git" / "objects").mkdir(parents=True)
    (repo / ".git" / "objects" / "ab").write_bytes(b"x" * 10)
    (repo / "vendor" / "lib").mkdir(parents=True)
    (repo / "vendor" / "lib" / "v.go").write_text("package lib\n")
    (repo / "pkg" / "leak.py").symlink_to(secret)
    (repo / "outside").symlink_to(tmp_path, target_is_directory=True)
    records = run(repo, max_file_bytes=2000)
    docs, rejected, failed = split(records)
    assert not failed
    assert sorted(d.path for d in docs) == ["README.md", "pkg/add.py"]
    assert all(d.repo == "folder-repo" and d.license == "MIT OR Apache-2.0" for d in docs)
    assert next(d for d in docs if d.path == "pkg/add.py").location == f"{repo}!pkg/add.py"
    reasons = {r.location.split("!", 1)[1]: r.reason for r in rejected}
    assert reasons == {
        ".git/": "vendored",
        "vendor/": "vendored",
        "LICENSE-APACHE": "unknown_language",
        "LICENSE-MIT": "unknown_language",
        "outside": "link",
        "pkg/leak.py": "link",
        "pkg/gen.go": "generated",
        "pkg/logo.png": "binary_file",
        "pkg/blob.c": "binary_file",
        "pkg/big.py": "file_too_large",
    }
    assert all("TOP SECRET" not in d.text for d in docs)


def test_hostile_tar(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("SECRET\n")
    path = tmp_path / "evil.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        add_file(tar, "evil/ok.py", PY.encode())
        add_file(tar, "evil/../../escape.py", b"print('escaped')\n")
        add_file(tar, "/etc/cron.d/evil.sh", b"echo pwned\n")
        link = tarfile.TarInfo("evil/passwd.py")
        link.type, link.linkname = tarfile.SYMTYPE, str(outside)
        tar.addfile(link)
        hard = tarfile.TarInfo("evil/hard.py")
        hard.type, hard.linkname = tarfile.LNKTYPE, "../outside.txt"
        tar.addfile(hard)
        dev = tarfile.TarInfo("evil/dev.py")
        dev.type = tarfile.CHRTYPE
        tar.addfile(dev)
        add_file(tar, "evil/image.py", b"\x7fELF\x02\x01\x01\x00" + bytes(64))
    before = sorted(os.listdir(tmp_path))
    docs, rejected, failed = split(run(path))
    assert sorted(os.listdir(tmp_path)) == before  # nothing extracted anywhere
    assert not failed
    assert [d.path for d in docs] == ["ok.py"]  # unsafe members do not count for the common top dir
    reasons = {r.location.split("!", 1)[1]: r.reason for r in rejected}
    assert reasons == {
        "evil/../../escape.py": "unsafe_path",
        "/etc/cron.d/evil.sh": "unsafe_path",
        "evil/passwd.py": "link",
        "evil/hard.py": "link",
        "evil/dev.py": "special_file",
        "evil/image.py": "binary_file",
    }
    assert all("SECRET" not in d.text for d in docs)


def test_hostile_zip(tmp_path: Path) -> None:
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a/ok.py", PY)
        zf.writestr("../../escape.py", "x = 1\n")
        zf.writestr("/abs.py", "x = 1\n")
        zf.writestr("a\\..\\..\\win.py", "x = 1\n")
        info = zipfile.ZipInfo("a/link.py")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    docs, rejected, failed = split(run(path))
    assert not failed
    assert [d.path for d in docs] == ["ok.py"]
    reasons = {r.location.split("!", 1)[1]: r.reason for r in rejected}
    assert reasons == {
        "../../escape.py": "unsafe_path",
        "/abs.py": "unsafe_path",
        "a\\..\\..\\win.py": "unsafe_path",
        "a/link.py": "link",
    }


def test_zip_bomb_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for i in range(20):
            zf.writestr(f"bomb/f{i}.py", b"\x00" * 2_000_000)
    assert path.stat().st_size < 200_000
    records = run(path, max_decompressed_bytes=10_000_000)
    assert len(records) == 1 and isinstance(records[0], Failure), records
    assert records[0].error.startswith("archive_too_large") and records[0].location == str(path)
    # Within the limit, each member is read at most max_file_bytes + 1 bytes: rejections.
    docs, rejected, failed = split(run(path, max_decompressed_bytes=100_000_000))
    assert not docs and not failed
    assert {r.reason for r in rejected} == {"file_too_large"}


def test_tar_bomb_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "bomb.tar.gz"
    with tarfile.open(path, "w:gz", compresslevel=9) as tar:
        add_file(tar, "bomb/a.py", PY.encode())
        add_file(tar, "bomb/zeros.py", b"\x00" * 30_000_000)
    assert path.stat().st_size < 200_000
    records = run(path, max_decompressed_bytes=5_000_000)
    assert len(records) == 1 and isinstance(records[0], Failure), records
    assert records[0].error.startswith("archive_too_large")


def test_huge_tar_header_is_refused(tmp_path: Path) -> None:
    """A pax header is read whole by tarfile before we see the member: its size is capped."""
    path = tmp_path / "pax.tar.gz"
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("p/a.py")
        info.size = len(PY)
        info.pax_headers = {"comment": "x" * (code.MAX_TAR_HEADER_BYTES + 10)}
        tar.addfile(info, io.BytesIO(PY.encode()))
    records = run(path)
    assert len(records) == 1 and isinstance(records[0], Failure), records
    assert records[0].error.startswith("archive_too_large: tar header")


def test_member_count_limit(tmp_path: Path) -> None:
    for name in ("many.tar", "many.zip", "many"):
        path = tmp_path / name
        if name == "many":
            (path / "m").mkdir(parents=True)
            for i in range(30):
                (path / "m" / f"f{i}.py").write_text("x = 1\n")
        elif name.endswith(".zip"):
            with zipfile.ZipFile(path, "w") as zf:
                for i in range(30):
                    zf.writestr(f"m/f{i}.py", "x = 1\n")
        else:
            with tarfile.open(path, "w") as tar:
                for i in range(30):
                    add_file(tar, f"m/f{i}.py", b"x = 1\n")
        records = run(path, max_members=10)
        assert len(records) == 1 and isinstance(records[0], Failure)
        assert records[0].error.startswith("too_many_members")
        assert len(split(run(path, max_members=100))[0]) == 30


def test_corrupt_zip_member_fails_alone(tmp_path: Path) -> None:
    path = tmp_path / "one-bad.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("r/a.py", PY)
        zf.writestr("r/b.py", "\n".join(f"name_{i} = {i * 7919 % 10007}" for i in range(400)) + "\n")
        zf.writestr("r/c.py", PY)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("r/b.py")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0xFF  # damage b.py's compressed bytes only
    path.write_bytes(bytes(data))
    docs, rejected, failed = split(run(path))
    assert sorted(d.path for d in docs) == ["a.py", "c.py"]
    assert [f.location for f in failed] == [f"{path}!r/b.py"]
    assert failed[0].id == make_id("code", "one-bad", "b.py")


def test_corrupt_and_missing_archives(tmp_path: Path) -> None:
    truncated = tmp_path / "cut.tar.gz"
    whole = io.BytesIO()
    with tarfile.open(fileobj=whole, mode="w:gz") as tar:
        for i in range(50):
            add_file(tar, f"r/f{i}.py", (f"value_{i} = {i * 7919}\n" * 200).encode())
    truncated.write_bytes(whole.getvalue()[: len(whole.getvalue()) // 2])
    not_archive = tmp_path / "notes.tar"
    not_archive.write_text("just some text, not a tar\n")
    for path in (truncated, not_archive, tmp_path / "missing.tar.gz"):
        records = run(path)
        assert len(records) == 1 and isinstance(records[0], Failure), (path, records)
        assert records[0].location == str(path) and records[0].source == "code"


def test_generated_and_minified_detection() -> None:
    assert code.generated_marker("// Code generated by protoc-gen-go. DO NOT EDIT.\npackage x\n")
    assert code.generated_marker("# Generated by Django 4.2 on 2023-01-01\nfrom django.db import migrations\n")
    assert code.generated_marker("/* @generated */\nint x;\n")
    assert code.generated_marker("# This file was automatically generated by a script.\n")
    assert code.generated_marker("# Generated from Expr.g4 by ANTLR 4.9\n")
    continuation = "# This module maps old names for the pickle module, so that streams\n# generated with Python 2 load.\n"
    assert code.generated_marker(continuation) is None
    assert code.generated_marker('"""Utilities."""\n\ndef generated_by(x):\n    return x\n') is None
    assert code.generated_marker("x = 1\n" * 20 + "# DO NOT EDIT below\n") is None  # past the head
    assert code.minified_detail("a" * 1500) is not None
    assert code.minified_detail(("x" * 150 + "\n") * 10) is not None
    assert code.minified_detail(PY) is None
    assert code.name_verdict("pkg/yarn.lock") == ("generated", "lock file")
    assert code.name_verdict("dist/app.min.js") == ("minified", "minified file name")
    assert code.name_verdict("api_pb2.py")[0] == "generated"  # type: ignore[index]


def test_language_map() -> None:
    assert language_count() >= 30
    expected = {
        "a.py": "Python", "a.rs": "Rust", "a.c": "C", "a.cpp": "C++", "a.go": "Go", "A.java": "Java",
        "a.js": "JavaScript", "a.ts": "TypeScript", "a.rb": "Ruby", "a.php": "PHP", "a.cs": "C#",
        "a.kt": "Kotlin", "a.swift": "Swift", "a.scala": "Scala", "a.sh": "Shell", "a.pl": "Perl",
        "a.lua": "Lua", "a.R": "R", "a.hs": "Haskell", "a.ml": "OCaml", "a.ex": "Elixir",
        "a.erl": "Erlang", "a.clj": "Clojure", "a.dart": "Dart", "a.jl": "Julia", "a.sql": "SQL",
        "a.html": "HTML", "a.css": "CSS", "a.md": "Markdown", "a.json": "JSON", "a.yml": "YAML",
        "a.toml": "TOML", "Makefile": "Makefile", "Dockerfile": "Dockerfile",
        "CMakeLists.txt": "CMake", "x/Dockerfile.dev": "Dockerfile", "a.PY": "Python",
    }
    for name, language in expected.items():
        assert language_from_name(name) == language, name
    assert language_from_name("LICENSE") is None and language_from_name("a.xyz") is None
    assert language_from_shebang(b"#!/usr/bin/env python3.11\n") == "Python"
    assert language_from_shebang(b"#!/bin/bash -e\n") == "Shell"
    assert language_from_shebang(b"#!/usr/bin/env -S node --harmony\n") == "JavaScript"
    assert language_from_shebang(b"print('no shebang')\n") is None


BSD3 = """Copyright (c) 2020, Somebody
Redistribution and use in source and binary forms, with or without modification, are
permitted provided that the following conditions are met:
3. Neither the name of the copyright holder nor the names of its contributors may be used
to endorse or promote products derived from this software without specific prior written permission."""


def test_license_detection() -> None:
    assert detect_license(MIT) == "MIT"
    assert detect_license(BSD3) == "BSD-3-Clause"
    assert detect_license(BSD3.split("3. Neither")[0]) == "BSD-2-Clause"
    assert detect_license("ISC License\n\nPermission to use, copy, modify, and/or distribute this software for any\npurpose with or without fee is hereby granted, provided that the above\ncopyright notice appear.") == "ISC"
    assert detect_license("GNU GENERAL PUBLIC LICENSE\n   Version 3, 29 June 2007\n ... use the GNU Lesser General Public License instead") == "GPL-3.0-only"
    assert detect_license("GNU GENERAL PUBLIC LICENSE\n Version 2, June 1991") == "GPL-2.0-only"
    assert detect_license("GNU LESSER GENERAL PUBLIC LICENSE\n Version 2.1, February 1999\n GNU General Public License") == "LGPL-2.1-only"
    assert detect_license("Mozilla Public License Version 2.0\n==================") == "MPL-2.0"
    assert detect_license("This is free and unencumbered software released into the public domain.") == "Unlicense"
    assert detect_license("PYTHON SOFTWARE FOUNDATION LICENSE VERSION 2\n---") == "PSF-2.0"
    assert detect_license("All rights reserved. Ask us.") is None
    assert repo_license([]) is None
    assert repo_license(["All rights reserved."]) == "NOASSERTION"
    assert repo_license(["  Apache License\n  Version 2.0, January 2004", MIT]) == "MIT OR Apache-2.0"
    assert repo_license(["GNU LESSER GENERAL PUBLIC LICENSE Version 3", "GNU GENERAL PUBLIC LICENSE Version 3"]) == "LGPL-3.0-only"


def test_deterministic(samples: Path) -> None:
    path = samples / "code" / "rust-serde-1.0.152.tar.gz"
    assert run(path) == run(path)


def test_damaged_archives_never_raise(tmp_path: Path, samples: Path) -> None:
    """Truncated and bit-flipped copies of a real archive (tar.gz) and of a zip: the reader
    yields records (documents before the damage, then a Failure) and never raises."""
    original = (samples / "code" / "rust-serde-1.0.152.tar.gz").read_bytes()
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(20):
            zf.writestr(f"z/f{i}.py", f"value = {i}\n" * 50)
    variants: list[bytes] = []
    for data in (original, zipped.getvalue()):
        variants += [data[: len(data) * k // 7] for k in range(1, 7)]
        for k in range(1, 6):
            flipped = bytearray(data)
            flipped[len(data) * k // 6] ^= 0xFF
            variants.append(bytes(flipped))
    for i, data in enumerate(variants):
        path = tmp_path / (f"v{i}.tar.gz" if data[:2] == b"\x1f\x8b" else f"v{i}.zip")
        path.write_bytes(data)
        records = run(path)  # must not raise
        assert records, path
        assert all(isinstance(r, (Document, Rejection, Failure)) for r in records)


def _set_tar_size(header: bytearray, size_field: bytes) -> None:
    """Put `size_field` (12 bytes) in a ustar header block and fix its checksum."""
    header[124:136] = size_field
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\x00 " % sum(header)


@pytest.mark.timeout(60)
def test_truncated_member_declaring_a_huge_size_ends_quickly(tmp_path: Path) -> None:
    """Found by benchmarks/fuzz_readers.py: tarfile skips a member's data by reading up to
    the next header, and past the end of a truncated stream those reads return nothing, so
    a size of 2**63 bytes (base-256 size field, or a pax `size` record) looped for ever.
    Such an archive is now `archive_too_large` at once."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        add_file(tar, "r/a.py", PY.encode())
        add_file(tar, "r/b.py", PY.encode())
    data = bytearray(raw.getvalue())
    header = bytearray(data[:512])
    _set_tar_size(header, b"\x80" + b"\x00" * 3 + b"\xff" * 8)  # base-256: 2**64 - 1 bytes
    for name, payload in (("base256.tar.gz", bytes(header) + data[512:]), ("base256.tar", bytes(header) + data[512:])):
        path = tmp_path / name
        path.write_bytes(gzip.compress(payload) if name.endswith(".gz") else payload)
        records = run(path)
        assert len(records) == 1 and isinstance(records[0], Failure), records
        assert records[0].error.startswith("archive_too_large: member 'r/a.py' declares 18446744073709551615 bytes")

    pax = tmp_path / "pax-size.tar.gz"
    with tarfile.open(pax, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("r/a.py")
        info.size = len(PY)
        info.pax_headers = {"size": str(10**12)}
        tar.addfile(info, io.BytesIO(PY.encode()))
    records = run(pax)
    assert len(records) == 1 and records[0].error.startswith("archive_too_large"), records
    # Under the limit the same lie is a truncated archive, read to its end.
    _set_tar_size(header, b"%011o\x00" % 50_000_000)
    small = tmp_path / "cut.tar.gz"
    small.write_bytes(gzip.compress(bytes(header) + data[512:]))
    docs, rejected, failed = split(run(small, max_decompressed_bytes=100_000_000))
    assert not docs and len(failed) == 1 and failed[0].location == str(small)
