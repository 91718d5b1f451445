"""PII and secret redaction: `pii_redaction` replaces personal data and credentials in text.

Kinds and their placeholders (the placeholder replaces the matched span only):

  kind      placeholder        what
  email     `<EMAIL>`          `local@domain.tld`
  ipv4      `<IPV4>`           dotted quads that are publicly routable
  ipv6      `<IPV6>`           global unicast IPv6 addresses (2000::/3)
  phone     `<PHONE>`          numbers that `phonenumbers` (libphonenumber's numbering plans)
                               finds valid, international or national in the formats of
                               PHONE_REGIONS (US, GB, DE, FR, IN, JP, BR, CN)
  secret    `<SECRET>`         private-key bodies, cloud/repository tokens, JSON Web Tokens,
                               Authorization-header credentials, the value of
                               `password = "..."`-style assignments

The step never drops. It returns the document with redacted text and one signal per kind that
was redacted at least once: `redacted_<kind>` = number of replacements (the integrator sums the
`redacted_*` signals into the manifest).

Conservative by design; what is *not* redacted, and why:
  * reserved example domains (`example.com/.org/.net`, `*.example`, `*.test`, `*.invalid`,
    `*.localhost`; RFC 2606 / RFC 6761) and `git@host` SSH remotes: not personal data, and
    common in documentation and code; `name@2x.png`-style asset names.
  * private, loopback, link-local, multicast, reserved and documentation IP ranges (anything
    `ipaddress` does not call global) and well-known public DNS resolvers (8.8.8.8, 1.1.1.1,
    9.9.9.9, ...): they identify no one. BigCode's StarCoder PII pipeline keeps private
    addresses and popular DNS servers the same way. Networks in CIDR notation ("2002::/16",
    "81.2.69.0/24") are kept too.
  * version-like numbers: three-part versions (3.11.2) never match; a dotted quad right after
    "v", "version", "release" or "build" is kept (e.g. "version 1.2.3.4"), and so is one whose
    four numbers are all below 32 (section "6.1.2.1", GCC "2.7.2.2").
  * numbers that are not a valid number of a country (libphonenumber's VALID leniency), have
    fewer than 8 digits, look like dates or dotted quads, are part of a decimal number
    ("53.366797") or follow an identifier label (ISBN, ISSN, DOI, ID, NIT).
  * secrets: only in code documents by default (`secrets="code"`), since `password: ...`
    in prose is usually not a credential. Assignment values that are empty, contain spaces,
    are placeholders (`${VAR}`, `{{ var }}`, `<...>`, `****`, `xxx`, "changeme", "your_...")
    or come from an expression (no quotes, no digit) are kept.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator

import phonenumbers
import regex

from corpusmill.pipelines.steps.registry import step
from corpusmill.schemas.document import Document

KINDS: tuple[str, ...] = ("email", "ipv4", "ipv6", "phone", "secret")
PLACEHOLDERS: dict[str, str] = {
    "email": "<EMAIL>",
    "ipv4": "<IPV4>",
    "ipv6": "<IPV6>",
    "phone": "<PHONE>",
    "secret": "<SECRET>",
}

# --- email --------------------------------------------------------------------------------

# The `regex` module runs these lookbehind-first patterns 10-50x faster than `re` (it scans
# for the literal "@" / "." first); `re` is used where it is the faster of the two.
_EMAIL = regex.compile(
    r"(?<![\w.%+\-@])"
    r"(?P<local>[A-Za-z0-9][A-Za-z0-9._%+\-]{0,63})"
    r"@(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+(?P<tld>[A-Za-z]{2,24}))"
    r"(?![\w\-@]|\.[A-Za-z0-9])"
)
_RESERVED_DOMAINS = ("example.com", "example.org", "example.net")
# RFC 2606/6761/6762 special-use names, private-use names (.internal, .lan, .corp, .home) and
# documentation placeholders (user@domain.tld, user@hostname.dom).
_RESERVED_TLDS = frozenset(
    {"example", "test", "invalid", "localhost", "local", "localdomain", "internal", "lan", "corp", "home",
     "tld", "dom", "domain"}
)  # fmt: skip
# File extensions that are not top-level domains: `icon@2x.png`, `file@test.json`.
_FILE_SUFFIXES = frozenset(
    {"png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "bmp", "json", "js", "mjs", "ts", "tsx", "jsx", "css",
     "scss", "html", "htm", "txt", "xml", "yaml", "yml", "toml", "ini", "cfg", "java", "cpp", "hpp", "lock"}
)  # fmt: skip


def _is_personal_email(local: str, domain: str, tld: str) -> bool:
    domain = domain.lower()
    tld = tld.lower()
    if tld in _RESERVED_TLDS or tld in _FILE_SUFFIXES:
        return False
    if any(domain == d or domain.endswith("." + d) for d in _RESERVED_DOMAINS):
        return False
    return local.lower() != "git"


# --- IP addresses -------------------------------------------------------------------------

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
# Not inside a longer dotted run (1.3.6.1.4.1), a word (v1.2.3.4), a hyphenated label
# (section-7.1.1.1) or a list of numbers (SVG path data "3.38.85.9,3.79").
_IPV4 = regex.compile(rf"(?<![\w.\-])({_OCTET}(?:\.{_OCTET}){{3}})(?![.\w]?\w|\.\d|[,\-]\.?\d)")
_VERSION_CONTEXT = re.compile(r"(?:\bv|\bversion|\brelease|\bbuild|\bver\.?)\s*$", re.IGNORECASE)
_PUBLIC_RESOLVERS = frozenset(
    {
        "8.8.8.8", "8.8.4.4", "1.1.1.1", "1.0.0.1", "9.9.9.9", "149.112.112.112",
        "208.67.222.222", "208.67.220.220", "4.2.2.2", "4.2.2.1", "64.6.64.6", "64.6.65.6",
    }
)  # fmt: skip

# IPv6 candidates: every ":h:" / "::" hint is grown into the maximal run of hex digits and
# colons (plus dots, for an embedded IPv4 tail); `ipaddress` decides what is an address.
_IPV6_HINT = re.compile(r":[0-9A-Fa-f]{0,4}:")
_HEX_COLON = frozenset("0123456789abcdefABCDEF:")
_HEX_COLON_DOT = _HEX_COLON | {"."}
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_PUBLIC_RESOLVERS_V6 = frozenset(
    {"2001:4860:4860::8888", "2001:4860:4860::8844", "2606:4700:4700::1111", "2606:4700:4700::1001", "2620:fe::fe"}
)


def _is_public_ipv4(text: str) -> bool:
    """A global unicast address, not a public DNS resolver, and not four numbers below 32
    (section numbers "6.1.2.1", versions "2.7.2.2": 1 in 4,096 random addresses looks so)."""
    try:
        addr = ipaddress.IPv4Address(text)
    except ValueError:
        return False
    if all(int(octet) < 32 for octet in text.split(".")):
        return False
    return addr.is_global and not addr.is_multicast and text not in _PUBLIC_RESOLVERS


_CIDR = re.compile(r"/(\d{1,3})(?!\d)")


def _is_network(text: str, end: int, host_bits: int) -> bool:
    """True when the address ending at `end` carries a CIDR prefix shorter than a host route
    ("2002::/16", "10.0.0.0/8"): a network, not someone's address."""
    m = _CIDR.match(text, end)
    return m is not None and int(m.group(1)) < host_bits


def _is_public_ipv6(text: str) -> bool:
    if text.count(":") < 2:
        return False
    try:
        addr = ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return addr in _GLOBAL_UNICAST and addr.is_global and str(addr) not in _PUBLIC_RESOLVERS_V6


# --- phone numbers ------------------------------------------------------------------------

# Phone numbers are recognised by `phonenumbers` (Google's libphonenumber metadata: every
# country's numbering plan), leniency VALID: a number must be a valid number of its country,
# not just have a plausible length. National numbers ("030 1234567", "03-1234-5678") depend on
# the country, so each candidate is tried for the regions of PHONE_REGIONS in turn
# (international "+CC" / "00CC" numbers are parsed whatever the region). See benchmarks/pii.py
# for the recall and precision against the regexes this replaced.
PHONE_REGIONS: tuple[str, ...] = ("US", "GB", "DE", "FR", "IN", "JP", "BR", "CN")
# A run of digits and phone separators: only such runs with at least _PHONE_MIN_DIGITS digits
# (and 3 characters of context either side) are handed to `phonenumbers`, which is slow on
# whole documents.
_PHONE_CANDIDATE = re.compile(r"[+(]?\d[\d \u00a0().\-/\u2013]{5,30}\d")
# The same runs without the leading "+" / "(": a pattern that starts with a digit class is
# scanned 3x faster by `re` (it skips to the next digit); `_phone_candidates` puts the "+" or
# "(" back.
_PHONE_RUN = re.compile(r"\d[\d \u00a0().\-/\u2013]{5,30}\d")
_PHONE_MIN_DIGITS = 8  # "094-0011" (a Japanese postcode), "555-0199" alone: too ambiguous
# Shapes that libphonenumber can accept but that are something else.
_DATE_OR_QUAD = re.compile(
    r"^(?:\d{1,4}[./\-]\d{1,2}[./\-]\d{2,4}(?:\D|$)"  # 09-10-2005, 2021.01.15, 22.06.2018 10:20
    r"|\d{1,3}(?:\.\d{1,3}){3}$)"  # a dotted quad: an IPv4 address or a version
)
# Candidate runs that are wholly a date, a time stamp or a decimal number never reach
# phonenumbers (they are the most common digit runs in web text).
_NOT_A_PHONE_RUN = re.compile(
    r"\d{1,4}([./\-])\d{1,2}\1\d{2,4}(?:[ T]\d\d?)?(?: ?[-\u2013] ?\d{1,2}(?:[.:]\d\d)?)?"  # date (time, range)
    r"|(?:1[5-9]|20)\d\d ?[-\u2013/] ?(?:1[5-9]|20)\d\d"  # a range of years: 2013-2014
    r"|\d+[.,]\d+"  # a decimal number
    r"|\d{1,3}(?:\.\d{1,3}){3}"  # a dotted quad
    r"|\(?\d(?: \d)+\)?"  # a list of digits
)
_ID_LABEL = re.compile(r"(?:isbn(?:-1[03])?|issn|doi|id|nit)\W{0,3}$")


def _digit_count(text: str) -> int:
    return sum(c.isdigit() for c in text)


def _is_phone_match(text: str, start: int, end: int) -> bool:
    """What `phonenumbers` accepts, minus: fewer than 8 digits, dates, dotted quads, parts of
    decimal numbers ("53.366797"), numbers right after an identifier label (ISBN, ISSN, DOI,
    ID, NIT)."""
    raw = text[start:end]
    if _digit_count(raw) < _PHONE_MIN_DIGITS or _DATE_OR_QUAD.match(raw):
        return False
    before = text[max(0, start - 2) : start]
    after = text[end : end + 2]
    if re.match(r"[.,]\d", after) or re.search(r"\d[.,]$", before):
        return False
    return not _ID_LABEL.search(text[max(0, start - 8) : start].lower())


def _phone_candidates(text: str) -> Iterator[tuple[int, int]]:
    """The spans of `_PHONE_CANDIDATE.finditer(text)`, found with `_PHONE_RUN`. The leftmost
    run of `_PHONE_CANDIDATE` from a position starts at the first digit where `_PHONE_RUN`
    matches, or at the "+" or "(" right before it (not inside the previous run), and ends
    where `_PHONE_RUN` does from that digit."""
    last = 0
    for m in _PHONE_RUN.finditer(text):
        start, end = m.span()
        if start > last and text[start - 1] in "+(":
            start -= 1
        yield start, end
        last = end


def _phone_spans(text: str, regions: tuple[str, ...]) -> list[tuple[int, int]]:
    """Spans of the phone numbers in `text`: each candidate run goes through
    `PhoneNumberMatcher(leniency=VALID)` for each region in turn, until the numbers found cover
    every digit of the run (a run can hold several numbers of different countries' formats)."""
    spans: list[tuple[int, int]] = []
    seen: dict[tuple[str, str], list[tuple[int, int]]] = {}  # (window, region) -> matches
    for cand_start, cand_end in _phone_candidates(text):
        run = text[cand_start:cand_end]
        digits = _digit_count(run)
        if digits < _PHONE_MIN_DIGITS or (spans and cand_start < spans[-1][1]):
            continue
        if _NOT_A_PHONE_RUN.fullmatch(run):
            continue
        lo, hi = max(0, cand_start - 3), min(len(text), cand_end + 3)
        window = text[lo:hi]
        found: list[tuple[int, int]] = []
        for region in regions:
            key = (window, region)
            matched = seen.get(key)
            if matched is None:  # the same number often stands twice in a page (header, footer)
                matcher = phonenumbers.PhoneNumberMatcher(window, region, leniency=phonenumbers.Leniency.VALID)
                matched = seen[key] = [(m.start, m.end) for m in matcher]
            for m_start, m_end in matched:
                start, end = lo + m_start, lo + m_end
                if _is_phone_match(text, start, end) and not any(s < end and start < e for s, e in found):
                    found.append((start, end))
            if sum(_digit_count(text[s:e]) for s, e in found) >= digits:
                break
        spans += sorted(sp for sp in found if not spans or sp[0] >= spans[-1][1])
    return spans


# --- secrets ------------------------------------------------------------------------------

_PRIVATE_KEY = re.compile(
    r"(?P<begin>-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----)"
    r"(?P<body>(?:[^-]|-(?!----)){1,20000}?)"  # stops at the next "-----"
    r"(?P<end>-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----)"
)
_TOKEN_PREFIXES = ("AKIA", "ASIA", "ABIA", "ACCA", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_",
                   "glpat-", "xoxa-", "xoxb-", "xoxp-", "xoxo-", "xoxs-", "xoxr-", "xoxe-", "AIza", "sk_live_",
                   "rk_live_", "eyJ")  # fmt: skip
_TOKEN_HINT = re.compile("|".join(re.escape(p) for p in _TOKEN_PREFIXES))
# (literal, offset): every prefix holds one of these literals at that offset from its start
# (AKIA, ASIA, ABIA hold "IA" at 2, ...). Nine `str.find` passes find the places where a prefix
# may start, faster than `_TOKEN_HINT` scanning the text (`_token_positions`).
_TOKEN_ANCHORS: tuple[tuple[str, int], ...] = (
    ("IA", 2), ("CCA", 1), ("AIza", 0), ("gh", 0), ("github_pat_", 0), ("glpat-", 0), ("xox", 0), ("_live_", 2),
    ("eyJ", 0),
)  # fmt: skip
_TOKENS = re.compile(  # tried at each occurrence of a prefix; the character before is checked
    r"(?:"
    r"(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}"  # AWS access key id
    r"|gh[pousr]_[A-Za-z0-9]{36,255}"  # GitHub classic tokens
    r"|github_pat_[A-Za-z0-9_]{22,255}"  # GitHub fine-grained tokens
    r"|glpat-[A-Za-z0-9_\-]{20,}"  # GitLab personal access tokens
    r"|xox[abposre]-[A-Za-z0-9\-]{10,}"  # Slack tokens
    r"|AIza[0-9A-Za-z_\-]{35}"  # Google API keys
    r"|(?:sk|rk)_live_[0-9A-Za-z]{24,}"  # Stripe secret keys
    r"|eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{16,}"  # JSON Web Tokens (RFC 7519)
    r")(?![A-Za-z0-9_\-])"
)
# Credentials of an HTTP Authorization header (RFC 7617 Basic, RFC 6750 Bearer): the scheme
# right after a quote or after "authorization" ("Authorization": "Basic dXNlcjpwYXNz").
_AUTH_HEADER = re.compile(
    r"(?:authorization[\"']?\s*[:=]\s*[\"']?|[\"'])(?:Basic|Bearer|Token) (?P<value>[A-Za-z0-9+/_.~\-]{12,}={0,2})(?=[\"'\s]|$)",
    re.IGNORECASE,
)
# Matched on lowercased text (case-insensitive regexes are ~20x slower in `re`). The key is
# any identifier *ending* in one of these names (db_password, AWS_SECRET_ACCESS_KEY, ...), so
# `password_hash_algorithm = "sha256"` or `PASSWORD_FIELD = "password"` do not count.
_SECRET_NAME = (
    r"(?:password|passwd|passphrase|secret(?:[_\-]?key)?|api[_\-]?key|apikey|api[_\-]?secret"
    r"|access[_\-]?key(?:[_\-]?id)?|private[_\-]?key"
    r"|auth[_\-]?token|access[_\-]?token|api[_\-]?token|bearer[_\-]?token|refresh[_\-]?token)"
)
_ASSIGNMENT = re.compile(
    rf"{_SECRET_NAME}\d*"
    r"(?P<op>[\"']?\s*(?::=|=>|=|:)\s*)"
    r"(?:(?P<q>[\"'`])(?P<qv>[^\"'`\n\\]{1,300})(?P=q)"
    r"|(?P<uv>[a-z0-9_\-+/=]{8,300})(?=[ \t]*(?:$|[#;,\r])))",
    re.MULTILINE,
)
# Every _SECRET_NAME alternative starts with one of these: the regex is tried only there.
_SECRET_STARTS = ("pass", "secret", "api", "access", "private", "auth", "bearer", "refresh")
_PLACEHOLDER_VALUE = re.compile(
    r"^(?:\$|%|\{|<|\[|@|\*+$|x+$|\.+$|-+$|_+$|#+$|[\^~>=<]*\d+(?:\.\d+)+$)"
    r"|^(?:your|my|the|enter|example|dummy|fake|placeholder|changeme|change[_\-]?me|redacted|none|null"
    r"|undefined|todo|xxx|secret|password|passwd|test|foo|bar)(?:[_\-]|$)",
    re.IGNORECASE,
)


def _is_secret_value(value: str, quoted: bool) -> bool:
    if not value or any(c.isspace() for c in value):
        return False
    if _PLACEHOLDER_VALUE.search(value) or "{{" in value or "${" in value:
        return False
    if not quoted:
        # Unquoted values are literal only in config files (.env, YAML, INI); in code they
        # are usually identifiers: require a digit and a letter.
        return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)
    return len(value) >= 4


# --- redaction ----------------------------------------------------------------------------


def _lower_aligned(text: str) -> str:
    """`text.lower()` with every character kept at its index. U+0130 (İ) is the only
    character whose lowercase form is longer than one character; it becomes "i"."""
    if "\u0130" in text:
        text = text.replace("\u0130", "i")
    return text.lower()


def _splice(
    text: str, matches: Iterable[re.Match[str] | None], repl: Callable[[re.Match[str]], str | None]
) -> tuple[str, int]:
    """Replace each match (in order, non-overlapping with earlier replacements; None skipped)
    by `repl(match)` in `text`; `repl` returns None to keep a match. Returns the new text and
    the number of replacements."""
    pieces: list[str] = []
    last = 0
    count = 0
    for m in matches:
        if m is None or m.start() < last:
            continue
        new = repl(m)
        if new is None:
            continue
        pieces.append(text[last : m.start()])
        pieces.append(new)
        last = m.end()
        count += 1
    if not count:
        return text, 0
    pieces.append(text[last:])
    return "".join(pieces), count


def _substitute(
    pattern: re.Pattern[str] | regex.Pattern[str], haystack: str, text: str, repl: Callable[[re.Match[str]], str | None]
) -> tuple[str, int]:
    """Replace the matches of `pattern` in `haystack` (a same-length view of `text`, e.g. its
    lowercase form) by `repl(match)` in `text`; `repl` returns None to keep a match."""
    return _splice(text, pattern.finditer(haystack), repl)


def _positions(haystack: str, literals: tuple[str, ...]) -> list[int]:
    """Sorted start positions of every occurrence of each literal (str.find is far faster
    than letting a regex without a literal prefix try every position)."""
    found: set[int] = set()
    for literal in literals:
        i = haystack.find(literal)
        while i != -1:
            found.add(i)
            i = haystack.find(literal, i + 1)
    return sorted(found)


def _substitute_at(
    pattern: re.Pattern[str],
    haystack: str,
    text: str,
    positions: list[int],
    repl: Callable[[re.Match[str]], str | None],
) -> tuple[str, int]:
    """Like `_substitute`, but the pattern is only tried (anchored) at `positions`."""
    return _splice(text, (pattern.match(haystack, pos) for pos in positions), repl)


def _token_positions(text: str) -> list[int]:
    """`[m.start() for m in _TOKEN_HINT.finditer(text)]`: the places where an anchor literal
    puts a prefix, tried in order as `finditer` does (from the end of the last match)."""
    starts: set[int] = set()
    for literal, offset in _TOKEN_ANCHORS:
        i = text.find(literal)
        while i != -1:
            if i >= offset:
                starts.add(i - offset)
            i = text.find(literal, i + 1)
    out: list[int] = []
    last = 0
    for pos in sorted(starts):
        if pos >= last:
            m = _TOKEN_HINT.match(text, pos)
            if m is not None:
                out.append(pos)
                last = m.end()
    return out


def _word_start(haystack: str, pos: int) -> bool:
    """True when `pos` does not continue a word (letters, digits, "_" or "-")."""
    return pos == 0 or not (haystack[pos - 1].isalnum() or haystack[pos - 1] in "_-")


def redact_secrets(text: str) -> tuple[str, int]:
    """Replace private-key bodies, known token formats and secret assignments; (text, count)."""
    total = 0
    if "PRIVATE KEY-----" in text:

        def key_repl(m: re.Match[str]) -> str:
            body = m.group("body")
            lead = "\\n" if body.startswith("\\n") else ("\n" if body.startswith(("\n", "\r")) else "")
            trail = "\\n" if body.endswith("\\n") else ("\n" if body.endswith(("\n", "\r")) else "")
            return m.group("begin") + lead + "<SECRET>" + trail + m.group("end")

        text, n = _substitute(_PRIVATE_KEY, text, text, key_repl)
        total += n
    positions = _token_positions(text)
    if positions:
        text, n = _substitute_at(
            _TOKENS, text, text, positions, lambda m: "<SECRET>" if _word_start(text, m.start()) else None
        )
        total += n
    if "Basic " in text or "Bearer " in text or "Token " in text:

        def auth_repl(m: re.Match[str]) -> str | None:
            value = m.group("value")
            if _PLACEHOLDER_VALUE.search(value):
                return None
            return text[m.start() : m.start("value")] + "<SECRET>" + text[m.end("value") : m.end()]

        text, n = _substitute(_AUTH_HEADER, text, text, auth_repl)
        total += n
    low = _lower_aligned(text)
    positions = _positions(low, _SECRET_STARTS)
    if positions:

        def assignment_repl(m: re.Match[str]) -> str | None:
            quoted = m.group("q") is not None
            group = "qv" if quoted else "uv"
            start, end = m.span(group)
            if not _is_secret_value(text[start:end], quoted):
                return None
            return text[m.start() : start] + "<SECRET>" + text[end : m.end()]

        text, n = _substitute_at(_ASSIGNMENT, low, text, positions, assignment_repl)
        total += n
    return text, total


def redact_emails(text: str) -> tuple[str, int]:
    """Replace personal email addresses (see the module docstring for what is kept)."""
    if "@" not in text:
        return text, 0

    def repl(m: re.Match[str]) -> str | None:
        return "<EMAIL>" if _is_personal_email(m.group("local"), m.group("domain"), m.group("tld")) else None

    return _substitute(_EMAIL, text, text, repl)


_IPV4_HINT = re.compile(r"\.\d{1,3}\.\d{1,3}\.\d")


def redact_ipv4(text: str) -> tuple[str, int]:
    """Replace publicly routable IPv4 addresses that are not in a version context."""
    if not _IPV4_HINT.search(text):
        return text, 0

    def repl(m: re.Match[str]) -> str | None:
        if not _is_public_ipv4(m.group(1)) or _VERSION_CONTEXT.search(text, max(0, m.start() - 12), m.start()):
            return None
        if _is_network(text, m.end(), 32):
            return None
        return "<IPV4>"

    return _substitute(_IPV4, text, text, repl)


def _ipv6_spans(text: str) -> list[tuple[int, int]]:
    """Spans of public IPv6 addresses: maximal hex/colon runs around each hint, not glued to
    a word (`std::vector`, `Foo::bar`), validated by `_is_public_ipv6`."""
    spans: list[tuple[int, int]] = []
    n = len(text)
    end = -1
    for hint in _IPV6_HINT.finditer(text):
        if hint.start() < end:
            continue
        start = hint.start()
        while start > 0 and text[start - 1] in _HEX_COLON:
            start -= 1
        end = hint.end()
        while end < n and text[end] in _HEX_COLON_DOT:
            end += 1
        stop = end
        while stop > start and text[stop - 1] in ".:" and text[stop - 2 : stop] != "::":
            stop -= 1  # a sentence's full stop, a "host:" separator
        before = text[start - 1] if start else " "
        after = text[stop] if stop < n else " "
        if before.isalnum() or before in "_." or after.isalnum() or after == "_":
            continue
        if _is_public_ipv6(text[start:stop]) and not _is_network(text, stop, 128):
            spans.append((start, stop))
    return spans


def redact_ipv6(text: str) -> tuple[str, int]:
    """Replace global unicast IPv6 addresses (validated by `ipaddress`)."""
    if ":" not in text:
        return text, 0
    return _replace_spans(text, _ipv6_spans(text), "<IPV6>")


def redact_phones(text: str, regions: tuple[str, ...] = PHONE_REGIONS) -> tuple[str, int]:
    """Replace the phone numbers that `phonenumbers` finds valid (see `_phone_spans`)."""
    return _replace_spans(text, _phone_spans(text, regions), "<PHONE>")


def _replace_spans(text: str, spans: list[tuple[int, int]], token: str) -> tuple[str, int]:
    """`text` with each (start, stop) span (sorted, disjoint) replaced by `token`; the count."""
    if not spans:
        return text, 0
    pieces: list[str] = []
    last = 0
    for start, stop in spans:
        pieces += [text[last:start], token]
        last = stop
    pieces.append(text[last:])
    return "".join(pieces), len(spans)


_REDACTORS: dict[str, Callable[[str], tuple[str, int]]] = {
    # secrets first: a token inside an assignment or a key must not be half-eaten by others
    "secret": redact_secrets,
    "email": redact_emails,
    "ipv6": redact_ipv6,
    "ipv4": redact_ipv4,
    "phone": redact_phones,
}


def redact(
    text: str, kinds: tuple[str, ...] | list[str] = KINDS, phone_regions: tuple[str, ...] = PHONE_REGIONS
) -> tuple[str, dict[str, int]]:
    """Redact `kinds` in `text`; returns (new text, {kind: count} for kinds with count > 0)."""
    counts: dict[str, int] = {}
    for kind, fn in _REDACTORS.items():
        if kind in kinds:
            text, n = redact_phones(text, phone_regions) if kind == "phone" else fn(text)
            if n:
                counts[kind] = n
    return text, counts


@step("pii_redaction")
class PiiRedaction:
    """Replace emails, public IP addresses, phone numbers (and in code, secrets) by placeholders.

    Never drops. `kinds` selects among email, ipv4, ipv6, phone, secret (default: all).
    `secrets` says where secrets are redacted: "code" (documents with `source == "code"` or a
    programming language; default), "all", or "none". Adds a `redacted_<kind>` signal with
    the number of replacements for each kind redacted at least once (added to a signal of the
    same name left by an earlier pass); an untouched document is returned as is.
    `phone_regions` (ISO 3166 codes, default PHONE_REGIONS) are the countries whose national
    number formats are recognised; international numbers are recognised for every country.

    Sources of the rules: BigCode's StarCoder PII pipeline (Li et al. 2023, sec. 4: emails,
    IP addresses, keys and passwords; private IPs and popular DNS servers kept); token formats
    as published by their issuers (AWS access key ids, GitHub ghp_/gho_/ghu_/ghs_/ghr_ and
    github_pat_, GitLab glpat-, Slack xox*, Google AIza, Stripe sk_live_/rk_live_); reserved
    example domains RFC 2606/6761; phone numbers by `phonenumbers` (libphonenumber).
    Measured in benchmarks/pii.py (results/pii.md) on hand-labelled real text, side by side
    with the regexes phonenumbers replaced and with detect-secrets.
    """

    def __init__(
        self,
        *,
        kinds: list[str] | tuple[str, ...] = KINDS,
        secrets: str = "code",
        phone_regions: list[str] | tuple[str, ...] = PHONE_REGIONS,
    ) -> None:
        bad_regions = sorted(set(phone_regions) - phonenumbers.SUPPORTED_REGIONS)
        if bad_regions or not phone_regions:
            raise ValueError(f"pii_redaction: unknown phone_regions {bad_regions or '[]'} (ISO 3166 codes)")
        self.phone_regions = tuple(phone_regions)
        unknown = sorted(set(kinds) - set(KINDS))
        if unknown:
            raise ValueError(f"pii_redaction: unknown kinds {unknown}; known: {list(KINDS)}")
        if secrets not in ("code", "all", "none"):
            raise ValueError(f"pii_redaction: secrets must be 'code', 'all' or 'none', not {secrets!r}")
        self.kinds = tuple(k for k in KINDS if k in kinds)
        self.secrets = secrets
        self._without_secrets = tuple(k for k in self.kinds if k != "secret")

    def kinds_for(self, doc: Document) -> tuple[str, ...]:
        """The kinds redacted in `doc` (secrets depend on whether it is code)."""
        if self.secrets == "all":
            return self.kinds
        if self.secrets == "code" and (doc.source == "code" or doc.programming_language is not None):
            return self.kinds
        return self._without_secrets

    def __call__(self, doc: Document) -> Document:
        text, counts = redact(doc.text, self.kinds_for(doc), self.phone_regions)
        if not counts:
            return doc
        out = dataclasses.replace(doc, text=text)
        for kind, n in counts.items():
            name = f"redacted_{kind}"
            out = out.with_signal(name, (doc.signal(name) or 0.0) + n)
        return out

