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

Phrases are from the license texts published at spdx.org/licenses.
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


# (SPDX id, phrase regex over normalized text: lower case, whitespace collapsed). Table order
# is also the order of ids in a dual license expression.
RULES: tuple[tuple[str, str], ...] = (
    ("MIT", r"permission is hereby granted, free of charge, to any person obtaining a copy"),
    ("Apache-2.0", r"apache license,? version 2\.0|licensed under the apache license,? version 2\.0"),
    ("BSD", r"redistribution and use in source and binary forms, with or without modification, are permitted"),
    ("ISC", r"permission to use, copy, modify, and(?:/or)? distribute this software for any purpose with or without fee is hereby granted, provided that"),
    ("0BSD", r"permission to use, copy, modify, and(?:/or)? distribute this software for any purpose with or without fee is hereby granted\. the software"),
    ("AGPL-3.0", r"gnu affero general public license,? version 3"),
    ("LGPL-3.0", r"gnu lesser general public license,? version 3"),
    ("LGPL-2.1", r"gnu lesser general public license,? version 2\.1"),
    ("LGPL-2.0", r"gnu library general public license,? version 2"),
    ("GPL-3.0", r"gnu general public license,? version 3"),
    ("GPL-2.0", r"gnu general public license,? version 2"),
    ("MPL-2.0", r"mozilla public license,? (?:version|v\.?) ?2\.0"),
    ("MPL-1.1", r"mozilla public license,? (?:version|v\.?) ?1\.1"),
    ("EPL-2.0", r"eclipse public license,? (?:- )?v(?:ersion)? ?2\.0"),
    ("EPL-1.0", r"eclipse public license,? (?:- )?v(?:ersion)? ?1\.0"),
    ("Unlicense", r"this is free and unencumbered software released into the public domain"),
    ("PSF-2.0", r"python software foundation license,? version 2"),
    ("BSL-1.0", r"boost software license,? (?:- )?version 1\.0"),
    ("CC0-1.0", r"cc0 1\.0 universal"),
    ("Zlib", r"this software is provided ['\"]as-is['\"], without any express or implied warranty\. in no event will the authors be held liable"),
    ("WTFPL", r"do what the fuck you want to public license"),
    ("Artistic-2.0", r"the artistic license 2\.0"),
    ("CDDL-1.0", r"common development and distribution license \(cddl\) version 1\.0"),
)
_COMPILED = tuple((spdx, re.compile(pattern)) for spdx, pattern in RULES)
_ORDER = {spdx: i for i, (spdx, _) in enumerate(RULES)}
_ORDER.update({"BSD-2-Clause": _ORDER["BSD"], "BSD-3-Clause": _ORDER["BSD"], "BSD-4-Clause": _ORDER["BSD"]})

NOASSERTION = "NOASSERTION"


def _normalize(text: str) -> str:
    text = text.lower().replace("\u201c", '"').replace("\u201d", '"').replace("\u2019", "'")
    text = re.sub(r"^[ \t]*(?:#|//|\*|;|--)[ \t]?", "", text, flags=re.MULTILINE)  # comment leaders
    return re.sub(r"\s+", " ", text)


def _bsd_variant(norm: str) -> str:
    if "all advertising materials mentioning features" in norm:
        return "BSD-4-Clause"
    if "neither the name" in norm or "may be used to endorse or promote" in norm:
        return "BSD-3-Clause"
    return "BSD-2-Clause"


def detect_license(text: str) -> str | None:
    """The SPDX id of one license text (the earliest matching phrase wins), or None."""
    norm = _normalize(text)
    best: tuple[int, int, str] | None = None
    for order, (spdx, pattern) in enumerate(_COMPILED):
        m = pattern.search(norm)
        if m and (best is None or (m.start(), order) < best[:2]):
            best = (m.start(), order, spdx)
    if best is None:
        return None
    return _bsd_variant(norm) if best[2] == "BSD" else best[2]


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
    return " OR ".join(sorted(ids, key=lambda i: (_ORDER.get(i, len(RULES)), i)))
