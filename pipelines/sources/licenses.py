"""SPDX license id of a repository from the license files at its root.

`is_license_file(name)` says which root files to look at (LICENSE, LICENCE, COPYING,
UNLICENSE, LICENSE-MIT, LICENSE-APACHE, LICENSE.md, MIT-LICENSE, ...).
`detect_license(text)` matches characteristic phrases of the license texts (not their
full text, so copyright lines, re-wrapping and small edits do not matter) and returns an SPDX
id, or None. Several licenses in one file: the one whose phrase comes first wins (the
file's own license precedes appended third-party notices).
`repo_license(texts)` combines the files of one repository: one id, or the distinct ids
joined with " OR " (Rust-style LICENSE-MIT + LICENSE-APACHE dual licensing) in table order
(so "MIT OR Apache-2.0"); GPL texts shipped beside an LGPL (as the LGPL requires) do not
count; files none of whose phrases match give "NOASSERTION" (SPDX's "could not tell");
no license file gives None.

Phrases are from the license texts published at spdx.org/licenses. Every id is a current
(not deprecated) SPDX id: GNU licenses carry their "-only" / "-or-later" suffix. A GNU license
is "-or-later" when its notice says "or (at your option) any later version" before the terms of
the license begin (the full GPL text carries that sentence in its "How to Apply" appendix,
which says nothing about the project's own choice: a bare license text is "-only").
`ALL_IDS` lists every id the detector can emit; tests validate each with `license-expression`
(it ships the SPDX license list). benchmarks/licenses.py measures the detection on the license
texts of real Debian and Python packages against their declared licenses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_LICENSE_NAME = re.compile(
    r"^(?:(?:un)?licen[cs]e|copying|copyright)(?:[-_. ].*)?$|^.+[-_.]licen[cs]e(?:\..*)?$",
    re.IGNORECASE,
)
_NOT_LICENSE_EXT = re.compile(r"\.(?:py|rs|go|js|ts|c|h|java|rb|php|json|ya?ml|toml|html?|xml)$", re.IGNORECASE)


def is_license_file(name: str) -> bool:
    """True for a base name that conventionally holds a license text (LICENSE, COPYING,
    LICENSE-MIT, LICENCE.txt, MIT-LICENSE, UNLICENSE, COPYING.LESSER); not source files named
    like one (license.py)."""
    base = name.rsplit("/", 1)[-1]
    return bool(_LICENSE_NAME.match(base)) and not _NOT_LICENSE_EXT.search(base)


_GNU_VERSION = r"[123](?:\.[01])?(?![\d.]\d)"
# "GNU General Public License, version 2", "GNU Lesser General Public License v.2.1" (titles)
_GNU_TITLE = rf"gnu (?P<fam>affero |lesser |library |)general public license,? (?:version |v\.? ?)(?P<ver>{_GNU_VERSION})"
# "... the GNU General Public License as published by the Free Software Foundation; either
# version 2 of the License" (the notice the license's appendix recommends)
_GNU_NOTICE = (
    r"gnu (?P<fam2>affero |lesser |library |)general public license,? (?:\([a-z]*gpl\) )?"
    rf"(?:as published by the free software foundation[;,]? )?(?:either )?version (?P<ver2>{_GNU_VERSION})"
)
# "... under the terms version 2 of the GNU General Public License"
_GNU_VERSION_FIRST = rf"version (?P<ver3>{_GNU_VERSION}) of the gnu (?P<fam3>affero |lesser |library |)general public license"
# "GNU GPL, Version 2 or later", "GNU LGPL version 2", "GNU AGPLv3"
_GNU_ABBREV = rf"gnu (?P<fam4>a|l|)gpl,? (?:version |v\.? ?)?(?P<ver4>{_GNU_VERSION})"

# (SPDX id, phrase regex over normalized text: lower case, whitespace collapsed). Table order
# is also the order of ids in a dual license expression.
RULES: tuple[tuple[str, str], ...] = (
    ("MIT-0", r"mit no attribution"),
    ("MIT", r"permission is hereby granted, free of charge, to any person obtaining a copy"),
    ("Apache-2.0", r"apache license,? (?:version )?2\.0|version 2\.0, january 2004 https?://www\.apache\.org/licenses/"),
    ("BSD", r"redistribution and use in source and binary forms, with or without modification, are permitted"),
    ("ISC", r"permission to use, copy, modify, and(?:/or)? distribute this software for any purpose with or without fee is hereby granted, provided that"),
    ("0BSD", r"permission to use, copy, modify, and(?:/or)? distribute this software for any purpose with or without fee is hereby granted\. the software"),
    # GNU family: the title of the license text or the notice that applies it; `_gnu_id` reads
    # the family and version from the match and decides -only / -or-later.
    ("GNU", "|".join((_GNU_TITLE, _GNU_NOTICE, _GNU_VERSION_FIRST, _GNU_ABBREV))),
    ("MPL-2.0", r"mozilla public license,? (?:version|v\.?) ?2\.0"),
    ("MPL-1.1", r"mozilla public license,? (?:version|v\.?) ?1\.1"),
    ("EPL-2.0", r"eclipse public license,? (?:- )?v(?:ersion)? ?2\.0"),
    ("EPL-1.0", r"eclipse public license,? (?:- )?v(?:ersion)? ?1\.0"),
    ("Unlicense", r"this is free and unencumbered software released into the public domain"),
    ("PSF-2.0", r"python software foundation license,? version 2"),
    ("BSL-1.0", r"boost software license,? (?:- )?version 1\.0|permission is hereby granted, free of charge, to any person or organization obtaining a copy of the software and accompanying documentation covered by this license"),
    ("CC0-1.0", r"cc0 1\.0 universal|to the extent possible under law, [^.]{0,200}?(?:has|have) (?:dedicated|waived) all copyright and related and neighbou?ring rights"),
    ("Zlib", r"this software is provided ['\"]as-is['\"], without any express or implied warranty\. in no event will the authors be held liable"),
    ("WTFPL", r"do what the fuck you want to public license"),
    ("Artistic-2.0", r"the artistic license 2\.0"),
    ("CDDL-1.0", r"common development and distribution license \(cddl\) version 1\.0"),
)
_COMPILED = tuple((spdx, re.compile(pattern)) for spdx, pattern in RULES)
_ORDER = {spdx: i for i, (spdx, _) in enumerate(RULES)}
_ORDER["MIT-0"] = _ORDER["MIT"]
_ORDER.update({"BSD-2-Clause": _ORDER["BSD"], "BSD-3-Clause": _ORDER["BSD"], "BSD-4-Clause": _ORDER["BSD"]})
_GNU_FAMILY = {"": "GPL", "lesser ": "LGPL", "library ": "LGPL", "affero ": "AGPL", "a": "AGPL", "l": "LGPL"}
_GNU_VERSIONS = {"GPL": ("1.0", "2.0", "3.0"), "LGPL": ("2.0", "2.1", "3.0"), "AGPL": ("1.0", "3.0")}
# The point where the terms of a GNU license text begin: an "or later" before it is the
# project's notice; after it, the license's own appendix.
_GNU_TERMS = re.compile(r"terms and conditions")
_OR_LATER = re.compile(r"or \(at your (?:option|opinion)\) any later version|or any later version|or later\b")

NOASSERTION = "NOASSERTION"


def _gnu_ids() -> list[str]:
    return [f"{fam}-{ver}-{kind}" for fam, vers in _GNU_VERSIONS.items() for ver in vers for kind in ("only", "or-later")]


# Every id `detect_license` can return.
ALL_IDS: tuple[str, ...] = tuple(
    [spdx for spdx, _ in RULES if spdx not in ("BSD", "GNU")]
    + ["BSD-2-Clause", "BSD-3-Clause", "BSD-4-Clause"]
    + _gnu_ids()
)


def _normalize(text: str) -> str:
    text = text.lower().replace("\u201c", '"').replace("\u201d", '"').replace("\u2019", "'")
    text = re.sub(r"^[ \t]*(?:#|//|\*|;|--)[ \t]?", "", text, flags=re.MULTILINE)  # comment leaders
    return re.sub(r"\s+", " ", text)


def _bsd_variant(norm: str) -> str:
    if "all advertising materials mentioning features" in norm:
        return "BSD-4-Clause"
    if "neither the name" in norm or "be used to endorse or promote" in norm:
        return "BSD-3-Clause"
    return "BSD-2-Clause"


def _gnu_id(norm: str, m: re.Match[str]) -> str | None:
    family = _GNU_FAMILY[next(g for g in (m.group(f"fam{i}") for i in ("", "2", "3", "4")) if g is not None)]
    version = next(v for v in (m.group(f"ver{i}") for i in ("", "2", "3", "4")) if v)
    version = version if "." in version else version + ".0"
    if version not in _GNU_VERSIONS[family]:
        return None
    terms = _GNU_TERMS.search(norm)
    notice = norm[: terms.start()] if terms else norm
    return f"{family}-{version}-{'or-later' if _OR_LATER.search(notice) else 'only'}"


def detect_license(text: str) -> str | None:
    """The SPDX id of one license text (the earliest matching phrase wins), or None."""
    norm = _normalize(text)
    best: tuple[int, int, str, re.Match[str]] | None = None
    for order, (spdx, pattern) in enumerate(_COMPILED):
        m = pattern.search(norm)
        if m and (best is None or (m.start(), order) < best[:2]):
            best = (m.start(), order, spdx, m)
    if best is None:
        return None
    if best[2] == "BSD":
        return _bsd_variant(norm)
    if best[2] == "GNU":
        return _gnu_id(norm, best[3])
    return best[2]


def repo_license(texts: Iterable[str]) -> str | None:
    """The license expression of a repository from the texts of its root license files (see
    the module docstring); None when there are none."""
    texts = list(texts)
    if not texts:
        return None
    ids = {spdx for spdx in (detect_license(t) for t in texts) if spdx}
    if not ids:
        return NOASSERTION
    if any(i.startswith("LGPL") for i in ids):
        ids = {i for i in ids if not i.startswith("GPL")}
    return " OR ".join(sorted(ids, key=lambda i: (_ORDER.get(i, _ORDER["GNU"] if "GPL" in i else len(RULES)), i)))
