"""licenses: every id the detector can emit is a current SPDX id; GNU -only / -or-later; the
notice forms and text variants found in real packages' license files."""

from __future__ import annotations

import pytest
from license_expression import get_spdx_licensing

from corpusmill.pipelines.sources.licenses import ALL_IDS, NOASSERTION, RULES, detect_license, repo_license

LICENSING = get_spdx_licensing()  # ships the SPDX license list: nothing is downloaded


@pytest.mark.parametrize("spdx", ALL_IDS)
def test_every_emitted_id_is_current_spdx(spdx: str) -> None:
    info = LICENSING.validate(spdx)
    assert info.errors == [] and info.invalid_symbols == []
    assert info.normalized_expression == spdx  # a deprecated id ("GPL-2.0") normalizes to another


def test_all_ids_cover_every_rule() -> None:
    plain = {spdx for spdx, _ in RULES if spdx not in ("BSD", "GNU")}
    assert plain <= set(ALL_IDS)
    assert {"BSD-2-Clause", "BSD-3-Clause", "BSD-4-Clause", "GPL-2.0-only", "LGPL-2.1-or-later", "AGPL-3.0-only"} <= set(ALL_IDS)
    assert not any(i in ALL_IDS for i in ("GPL-2.0", "GPL-3.0", "LGPL-2.1", "AGPL-3.0", "GPL-2.0+"))


def test_repo_expressions_are_valid() -> None:
    for texts in (
        ["Permission is hereby granted, free of charge, to any person obtaining a copy", "Apache License\nVersion 2.0, January 2004"],
        ["GNU LESSER GENERAL PUBLIC LICENSE Version 3", "GNU GENERAL PUBLIC LICENSE Version 3"],
        ["GNU GENERAL PUBLIC LICENSE\nVersion 2, June 1991", "Mozilla Public License Version 2.0"],
    ):
        expr = repo_license(texts)
        assert expr is not None and expr != NOASSERTION
        info = LICENSING.validate(expr)
        assert info.errors == [] and info.normalized_expression == expr


GPL2_NOTICE = (
    "This program is free software; you can redistribute it and/or modify it under the terms of the GNU "
    "General Public License as published by the Free Software Foundation; either version 2 of the License, "
    "or (at your option) any later version."
)
GPL2_TEXT = (
    "GNU GENERAL PUBLIC LICENSE\nVersion 2, June 1991\n\nPreamble\n...\nTERMS AND CONDITIONS FOR COPYING, "
    "DISTRIBUTION AND MODIFICATION\n...\nHow to Apply These Terms to Your New Programs\n" + GPL2_NOTICE
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GPL2_NOTICE, "GPL-2.0-or-later"),
        (GPL2_TEXT, "GPL-2.0-only"),  # the bare text: the appendix's "any later version" does not count
        (GPL2_NOTICE + "\n\n" + GPL2_TEXT, "GPL-2.0-or-later"),  # notice above the full text
        ("under the terms version 2 of the GNU General Public License as published by the FSF.", "GPL-2.0-only"),
        ("may be redistributed under the terms of the GNU GPL, Version 2 or later, found on Debian systems", "GPL-2.0-or-later"),
        ("Released under the GNU LGPL version 2 or later", "LGPL-2.0-or-later"),
        ("subject to the terms and conditions of the GNU Lesser General Public License v.2.1.", "LGPL-2.1-only"),
        ("under the terms of the GNU Lesser General Public License as published by the Free Software Foundation, "
         "either version 2 of the License, or (at your option) any later version.", "LGPL-2.0-or-later"),
        ("GNU Lesser General Public License, version 2.1 or later - see the file COPYING.LIB", "LGPL-2.1-or-later"),
        ("GNU AFFERO GENERAL PUBLIC LICENSE\nVersion 3, 19 November 2007\nTERMS AND CONDITIONS", "AGPL-3.0-only"),
        ("either version 2 of the license, or (at your opinion) any later version. GNU General Public License "
         "as published by the Free Software Foundation; version 2 of the license", "GPL-2.0-or-later"),
    ],
)
def test_gnu_family_only_or_later(text: str, expected: str) -> None:
    assert detect_license(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Apache's full text without its "Apache License" title line (Debian copyright bodies)
        ("Version 2.0, January 2004\nhttp://www.apache.org/licenses/\n\nTERMS AND CONDITIONS FOR USE", "Apache-2.0"),
        ('Licensed under the Apache License 2.0 (the "License").', "Apache-2.0"),  # OpenSSL's notice
        # BSD third clause worded "may not be used to endorse or promote"
        ("Redistribution and use in source and binary forms, with or without modification, are permitted "
         "provided that the following conditions are met: ... 3. The name of the author may not be used to "
         "endorse or promote products derived from this software", "BSD-3-Clause"),
        ("Redistribution and use in source and binary forms, with or without modification, are permitted "
         "provided that the following conditions are met: 1. ... 2. ...", "BSD-2-Clause"),
        ("To the extent possible under law, the author(s) have dedicated all copyright and related and "
         "neighboring rights to this software to the public domain worldwide.", "CC0-1.0"),
        ("Permission is hereby granted, free of charge, to any person or organization obtaining a copy of the "
         "software and accompanying documentation covered by this license (the \"Software\")", "BSL-1.0"),
        ("MIT No Attribution\n\nPermission is hereby granted, free of charge, to any person obtaining a copy", "MIT-0"),
        ("GNU GENERAL PUBLIC LICENSE version 4", None),  # no such version
    ],
)
def test_text_variants_of_real_packages(text: str, expected: str | None) -> None:
    assert detect_license(text) == expected


def test_debian_copyright_files_on_this_machine() -> None:
    """The DEP-5 copyright files of the installed Debian packages: the GPL/LGPL notices and
    full texts they hold are recognised with the version their License field declares."""
    from benchmarks.licenses import _matches, debian_cases

    cases, _ = debian_cases()
    if len(cases) < 50:
        pytest.skip("too few machine-readable Debian copyright files on this machine")
    long = [c for c in cases if len(c["text"]) >= 300]
    correct = sum(_matches(c["declared"], detect_license(c["text"])) for c in long)
    assert correct / len(long) >= 0.9
