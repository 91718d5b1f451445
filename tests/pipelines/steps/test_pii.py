"""pii_redaction: PII in prose, IPs, phones of several countries, secrets in code, real files."""

from __future__ import annotations

import dataclasses
import tarfile

import pytest

from corpusmill.pipelines.steps import registry
from corpusmill.pipelines.steps.pii import PiiRedaction, redact, redact_emails, redact_ipv4, redact_ipv6, redact_phones, redact_secrets
from corpusmill.schemas.document import Document


def web(text: str) -> Document:
    return Document(id="w", text=text, source="web", location="crawl.warc.gz#offset=0", url="https://news.example.org/a")


def code(text: str, path: str = "app/settings.py") -> Document:
    return Document(id="c", text=text, source="code", location=f"repo.tar.gz!{path}", path=path, programming_language="Python")


# --- email ---------------------------------------------------------------------------------


def test_emails_in_prose():
    text = (
        "For press enquiries write to Jane Doe (jane.doe@acme-corp.co.uk) or to\n"
        "news+tips@gmail.com. Chinese providers too: zhang.wei@163.com."
    )
    out, n = redact_emails(text)
    assert n == 3
    assert "jane.doe" not in out and "gmail" not in out and "163.com" not in out
    assert out.startswith("For press enquiries write to Jane Doe (<EMAIL>) or to\n<EMAIL>.")


@pytest.mark.parametrize(
    "text",
    [
        "send it to user@example.com or admin@mail.example.org",  # RFC 2606 documentation domains
        "git clone git@github.com:psf/requests.git",  # SSH remote, not a person
        "background: url(icon@2x.png)",  # retina asset
        "npm install lodash@4.17.21 @types/node",  # package specs
        "res.type('file@test.json')",
        "user@localhost and root@server.local",
        "fromaddr: my_app@domain.tld, relay username@hostname.dom, admin@nas.internal",
        "a @ b, x@ y, @decorator",
    ],
)
def test_not_emails(text):
    assert redact_emails(text) == (text, 0)


# --- IP addresses --------------------------------------------------------------------------


def test_public_ipv4_redacted_private_and_versions_kept():
    text = (
        "The attack came from 93.184.216.34 and 203.0.114.7:8080; the router is 192.168.1.1,\n"
        "loopback 127.0.0.1, docs range 198.51.100.7, resolver 8.8.8.8.\n"
        "Python 3.11.2, release 4.17.21, version 1.2.3.4, v93.184.216.34, OID 1.3.6.1.4.1,\n"
        "RFC section-7.1.1.1 and SVG path c3.38.85.9,3.79-2.08 are not addresses.\n"
        "6.1.2.1. Security updates (see section 12.2.1.1), GCC 2.7.2.2, route 81.2.69.0/24."
    )
    out, n = redact_ipv4(text)
    assert n == 2
    assert "from <IPV4> and <IPV4>:8080;" in out
    for kept in ("192.168.1.1", "127.0.0.1", "198.51.100.7", "8.8.8.8", "3.11.2", "4.17.21", "1.2.3.4",
                 "v93.184.216.34", "1.3.6.1.4.1", "7.1.1.1", "3.38.85.9", "6.1.2.1", "12.2.1.1", "2.7.2.2",
                 "81.2.69.0/24"):  # fmt: skip
        assert kept in out, kept


@pytest.mark.parametrize(
    "address",
    [
        "2a00:1450:4001:82b::200e",  # compressed
        "2606:2800:220:1:248:1893:25c8:1946",  # full
        "2A03:2880:F10C:0083:FACE:B00C:0000:25DE",  # upper case, leading zeros
        "2001:0470:0000:0000:0000:0000:0000:0001",
    ],
)
def test_ipv6_forms_redacted(address):
    out, n = redact_ipv6(f"Edit by [[Special:Contributions/{address}|{address}]] at [{address}]:443.")
    assert n == 3
    assert address not in out
    assert out == "Edit by [[Special:Contributions/<IPV6>|<IPV6>]] at [<IPV6>]:443."


@pytest.mark.parametrize(
    "text",
    [
        "loopback ::1 and unspecified ::",
        "documentation prefix 2001:db8::1 and 2001:0db8:85a3::8a2e:0370:7334",
        "link-local fe80::1ff:fe23:4567:890a, unique local fd12:3456:789a:1::1",
        "std::vector<int> v; Foo::bar(); a::b::c",
        "at 12:30:45 on 2024-05-01T10:00:00Z",
        "MAC 00:1a:2b:3c:4d:5e",
        "Google DNS 2001:4860:4860::8888",
        "6to4 addresses start with 2002::/16; route 2a00:1450::/32 via the gateway",
    ],
)
def test_ipv6_non_public_or_not_addresses_kept(text):
    assert redact_ipv6(text) == (text, 0)


# --- phone numbers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    [
        "+44 20 7946 0958",  # UK
        "+1 (415) 555-2671",  # US, international form
        "(212) 555-0147",  # US, national form
        "1-800-555-0199",  # US toll-free
        "415.555.2671",
        "+33 1 23 45 67 89",  # France
        "+49 30 1234567",  # Germany
        "+49 (0)30 1234-5678",
        "+81 3-1234-5678",  # Japan
        "+86 10 6552 9988",  # China
        "+91 98765 43210",  # India
        "+55 11 91234-5678",  # Brazil
    ],
)
def test_phone_formats(number):
    out, n = redact_phones(f"Our office: {number}. Open 9-17.")
    assert (out, n) == ("Our office: <PHONE>. Open 9-17.", 1)


def test_labelled_local_numbers():
    text = "Tel.: 030 1234567\nFax 01 23 45 67 89\nTÉLÉPHONE : 01 42 68 53 00\nhotel 12345678 rooms"
    out, n = redact_phones(text)
    assert n == 3
    assert out == "Tel.: <PHONE>\nFax <PHONE>\nTÉLÉPHONE : <PHONE>\nhotel 12345678 rooms"


@pytest.mark.parametrize(
    "text",
    [
        "On 2023-10-12 the id 123456789 was assigned.",
        "ISBN 978-3-16-148410-0, doi 10.1000/182",
        "gain +5 dB, +3.5%, score +12",
        "call 911 now",
        "ranges 100-200-300 and build 2024.01.15.1234",
        "uuid 123e4567-e89b-12d3-a456-426614174000",
    ],
)
def test_not_phone_numbers(text):
    assert redact_phones(text) == (text, 0)


# National formats need the country's numbering plan (phonenumbers): one case per country of
# PHONE_REGIONS, and international forms of other countries. Fiction ranges where they exist.
@pytest.mark.parametrize(
    ("line", "number"),
    [
        ("Main Tel: (206) 543-1695", "(206) 543-1695"),  # US
        ("Call us: 206.548.5600", "206.548.5600"),  # US, dotted
        ("Telefon: 020 7946 0958", "020 7946 0958"),  # GB, London
        ("mobile 07700 900461 after 6pm", "07700 900461"),  # GB mobile
        ("Telefon: 0471 80 60 745", "0471 80 60 745"),  # DE, spaced groups
        ("Rufen Sie uns an: 05507 / 91 99 488", "05507 / 91 99 488"),  # DE, slash
        ("Tel.: (03 40) 51 89 01 10", "(03 40) 51 89 01 10"),  # DE, parenthesised area code
        ("Kundenhotline: 01805 \u2013 4444", "01805 \u2013 4444"),  # DE service number, en dash
        ("Contact : 06 12 34 56 78", "06 12 34 56 78"),  # FR mobile
        ("Helpline 098765 43210 (toll free)", "098765 43210"),  # IN
        ("TEL\uff1a03-1234-5678", "03-1234-5678"),  # JP, full-width colon
        ("\u643a\u5e2f 090-1234-5678", "090-1234-5678"),  # JP mobile
        ("Fone: (11) 91234-5678", "(11) 91234-5678"),  # BR mobile
        ("\u76d1\u7763\u7535\u8bdd\uff1a13611778776", "13611778776"),  # CN mobile, no separators
        ("\u4f20\u771f\uff1a021-54098577", "021-54098577"),  # CN, Shanghai
        ("Telefax: +49 (0) 30/72 62 98-299", "+49 (0) 30/72 62 98-299"),  # DE international, extension
        ("tel.: (+48) 22 525 80 00, faks", "(+48) 22 525 80 00"),  # PL, parenthesised +CC
        ("Tel: 0043(0) 316/82 16 36", "0043(0) 316/82 16 36"),  # AT, 00 international prefix
        ("+7 (926) 081-55-07", "+7 (926) 081-55-07"),  # RU
    ],
)
def test_phone_country_formats(line, number):
    out, n = redact_phones(line)
    assert n == 1 and number not in out
    assert out == line.replace(number, "<PHONE>")


def test_phone_run_of_two_countries_formats():
    # a run with a Shanghai landline and a Chinese mobile number: both, not one
    out, n = redact_phones("\u6765\u7535\uff1a021-56692669 13917985004 \u5f6d\u73b2")
    assert (out, n) == ("\u6765\u7535\uff1a<PHONE> <PHONE> \u5f6d\u73b2", 2)


@pytest.mark.parametrize(
    "text",
    [
        "ISBN 0-691-04494-5, Princeton 1996",
        "Document ID: 19700011707; Accession Number: 70N21012",
        "Latitude: 53.366797 Longitude: 7.206917",
        "Mombetsu, Hokkaido 094-0011 Japan",  # postcode
        "Nit:900604924-8 | Colombia",  # tax id
        "root servers 192.228.79.201 and 192.58.128.30",  # dotted quads
        "taken on 09-10-2005 in Texas; accessdate=05-11-2011",
        "2018-06-22 10:20:0022.06.2018 10:20",
        "mask 255.255.255.0 and 224.0.255.255",
        "IBAN: AT90 3636 2000 0018 5009",
        "Chrome/59.0.3071.125 Mobile Safari/537.36",
        "Nature 574, 16-17 (2019) doi: 10.1038/d41586-019-02790-3",
    ],
)
def test_phone_hard_negatives(text):
    assert redact_phones(text) == (text, 0)


def test_phone_regions_parameter():
    line = "Tel. 0471 80 60 745"
    assert redact_phones(line, ("US",)) == (line, 0)  # a German national number is not a US one
    assert redact_phones(line, ("DE",)) == ("Tel. <PHONE>", 1)
    assert redact_phones("Tel. +49 471 80 60 745", ("US",)) == ("Tel. <PHONE>", 1)  # +CC: any region
    spanish = web("Llámenos al 912 345 678 hoy.")
    assert PiiRedaction()(spanish) is spanish  # Spain is not a default region
    assert PiiRedaction(phone_regions=["ES"])(spanish).text == "Llámenos al <PHONE> hoy."
    with pytest.raises(ValueError):
        PiiRedaction(phone_regions=["XX"])


# --- secrets -------------------------------------------------------------------------------

SETTINGS = '''import os

AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
aws_secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
GITHUB = "ghp_0123456789abcdefghijABCDEFGHIJ012345"
SLACK_HOOK_TOKEN = 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx'
maps = Client(key="AIzaSyD-1234567890abcdefghijklmnopqrstu")
db_password = "hunter2!"
login(user="bob", password="s3cr3t-Pa55")
SECRET_KEY=abc123def456ghi
client_secret := "Zx9-Qw8_Er7"
PEM = "-----BEGIN EC PRIVATE KEY-----\\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oKhJ9R7Hf0Qe\\n-----END EC PRIVATE KEY-----\\n"

password = ""
password = os.environ["DB_PASSWORD"]
password = getpass()
PASSWORD_FIELD = "password"
password_hash_algorithm = "sha256"
prompt = "Enter your password: "
api_key = "${API_KEY}"
secret: "{{ vault_secret }}"
token_type = "bearer"
'''


def test_secrets_in_code():
    out, n = redact_secrets(SETTINGS)
    assert n == 10  # 4 tokens, 1 key, 5 assignments
    for leaked in ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI", "ghp_0123", "xoxb-", "AIzaSy", "hunter2", "s3cr3t",
                   "abc123def456ghi", "Zx9-Qw8_Er7", "MHcCAQEEIBkg"):  # fmt: skip
        assert leaked not in out, leaked
    assert 'db_password = "<SECRET>"' in out
    assert 'login(user="bob", password="<SECRET>")' in out
    assert "SECRET_KEY=<SECRET>\n" in out
    assert '"-----BEGIN EC PRIVATE KEY-----\\n<SECRET>\\n-----END EC PRIVATE KEY-----\\n"' in out
    # the second half (expressions, placeholders, non-secret names) is untouched
    tail = SETTINGS[SETTINGS.index('password = ""') :]
    assert out.endswith(tail)


@pytest.mark.parametrize(
    ("line", "value"),
    [
        ('proxy_auth_value = "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI4MzE3NTIiLCJpYXQiOjE3MDEyMzQ1Njd9.q3T8kVx2LmZ9pRw4NcYd7HsJ1fGb5AeUo6K"',
         "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"),  # JWT
        ('assert headers == {"Proxy-Authorization": "Basic dXNlcjpwYXNz"}', "dXNlcjpwYXNz"),  # Basic auth
        ("curl -H 'Authorization: Bearer 9f8e7d6c5b4a39281706fedcba'", "9f8e7d6c5b4a39281706fedcba"),
        ("  secret: 'glpat-Z7xKq2LmR9pTv4NwYc8D'", "glpat-Z7xKq2LmR9pTv4NwYc8D"),  # GitLab
        ("res.set({ 'X-API-Key': 'sk_live_51Hx9KqLmZ2pRt7VwYc4NdJ8sGf3BaEu6' })", "sk_live_51Hx9KqLmZ2pRt7VwYc4NdJ8s"),  # Stripe
        ('repo-token: "ghp_R8vK2mQx7LpZt4NwY9aHc3JdF6sB1eUoGi0T"', "ghp_R8vK2mQx7LpZt4NwY9aHc3JdF6sB1eUoGi0T"),
        ("auth = OAuth1('AKIAQ7XZ4RPN2KD5LW3M', 'YOUR_APP_SECRET')", "AKIAQ7XZ4RPN2KD5LW3M"),  # AWS
        ("app.use(cookieSession({ secret: 'xoxb-4721958304-5839201746-Kq7Rz2MxLp9Vt3NwHc8YdJ4f' }))", "xoxb-4721958304"),
    ],
)
def test_secret_kinds(line, value):
    out, n = redact_secrets(line)
    assert n == 1 and value not in out and "<SECRET>" in out


@pytest.mark.parametrize(
    "line",
    [
        'proxy_auth_value = "Bearer XXX"',  # placeholder
        'repo-token: "${{ github.token }}"',  # template
        "var token = '%output%',",
        '"pbkdf2-password": "1.2.1",',  # a package version
        "fixed in [954d61e](https://github.com/DaveGamble/cJSON/commit/954d61e5e7cb9dc6c480fc28ac1cdceca07dd5bd)",
        'String uuidValue = "c237bec1-19ef-4858-a98e-521cf0aad4c0";',
        '{"package":"48aaa5748ba571fb95cd2c85c09f629215d3a6ece942baa100950af03a34f733","files":{}}',
        'consistent!(click_1, r"-----BEGIN PRIVATE KEY-----");',  # a header alone is no key
        "headers = {'Authorization': 'Bearer ' + token}",
    ],
)
def test_secret_hard_negatives(line):
    assert redact_secrets(line) == (line, 0)


def test_private_key_file(shared_data):
    """Real test certificates' private keys from the requests repository."""
    archive = shared_data / "code" / "psf__requests.tar.gz"
    with tarfile.open(archive) as tf:
        members = [m for m in tf.getmembers() if m.isfile() and m.name.endswith(".key")]
        assert members
        for m in members:
            data = tf.extractfile(m)
            assert data is not None
            text = data.read().decode("utf-8")
            out, n = redact_secrets(text)
            assert n == 1
            first_line = text.split("-----")[2].split("\n")[1]  # first base64 line of the body
            assert len(first_line) >= 40 and first_line not in out
            assert out.startswith("-----BEGIN ") and "PRIVATE KEY-----\n<SECRET>\n-----END " in out


# --- the step ------------------------------------------------------------------------------


def test_step_signals_and_text():
    step = registry.build("pii_redaction", {})
    doc = web("Mail bob.smith@gmail.com or call +44 20 7946 0958. Server 93.184.216.34.")
    out = step(doc)
    assert out.text == "Mail <EMAIL> or call <PHONE>. Server <IPV4>."
    assert out.signal("redacted_email") == 1
    assert out.signal("redacted_phone") == 1
    assert out.signal("redacted_ipv4") == 1
    assert out.signal("redacted_ipv6") is None and out.signal("redacted_secret") is None
    assert out.id == doc.id and out.url == doc.url


def test_untouched_document_is_returned_as_is():
    doc = web("Nothing personal here: version 3.11.2, see https://docs.python.org/3/.")
    assert PiiRedaction()(doc) is doc


def test_secrets_only_in_code_by_default():
    line = 'password = "s3cr3t-Pa55"\n'
    assert PiiRedaction()(web(line)).text == line
    assert PiiRedaction(secrets="all")(web(line)).text == 'password = "<SECRET>"\n'
    out = PiiRedaction()(code(line))
    assert out.text == 'password = "<SECRET>"\n' and out.signal("redacted_secret") == 1
    assert PiiRedaction(secrets="none")(code(line)).text == line


def test_kinds_param_and_validation():
    doc = web("bob.smith@gmail.com 93.184.216.34")
    out = PiiRedaction(kinds=["ipv4"])(doc)
    assert out.text == "bob.smith@gmail.com <IPV4>"
    with pytest.raises(ValueError):
        registry.build("pii_redaction", {"kinds": ["emails"]})
    with pytest.raises(ValueError):
        registry.build("pii_redaction", {"secrets": "sometimes"})


def test_counts_accumulate_over_passes_and_idempotent():
    step = PiiRedaction()
    once = step(web("a.b@gmail.com and c.d@yahoo.fr"))
    assert once.signal("redacted_email") == 2
    assert step(once) is once  # placeholders are not redacted again
    again = step(dataclasses.replace(once, text=once.text + " e.f@gmx.de"))
    assert again.signal("redacted_email") == 3


def test_deterministic_and_placeholders_documented():
    text = "x@gmail.com 2a00:1450:4001:82b::200e +33 1 23 45 67 89 93.184.216.34"
    first = redact(text)
    assert first == redact(text)
    assert first[0] == "<EMAIL> <IPV6> <PHONE> <IPV4>"
    assert first[1] == {"email": 1, "ipv6": 1, "ipv4": 1, "phone": 1}


def test_real_code_tree_keeps_code_intact(shared_data):
    """On a real repository, redaction touches few files and never breaks the shape of code."""
    archive = shared_data / "code" / "expressjs__express.tar.gz"
    step = PiiRedaction()
    touched = total = 0
    with tarfile.open(archive) as tf:
        for m in tf.getmembers():
            if not (m.isfile() and m.name.endswith(".js")):
                continue
            data = tf.extractfile(m)
            assert data is not None
            doc = code(data.read().decode("utf-8"), path=m.name)
            out = step(doc)
            total += 1
            if out is not doc:
                touched += 1
                assert out.text.count("\n") == doc.text.count("\n")
                assert any(s.name.startswith("redacted_") for s in out.signals)
    assert total > 100
    assert 0 < touched < total * 0.15


def test_labelled_real_text_set(shared_data):
    """The labelled set of benchmarks/data/pii_labels_build.py (238 hand-labelled snippets of real text): the step's
    precision and recall per kind stay at what benchmarks/results/pii.md reports."""
    from benchmarks.pii import KINDS, load_labels, score, step_detector

    result = score(load_labels(), step_detector(), KINDS)["per_kind"]
    assert result["phone"]["recall"] >= 0.95 and result["phone"]["precision"] >= 0.95
    assert result["email"]["recall"] >= 0.95 and result["email"]["precision"] >= 0.95
    assert result["ipv4"]["recall"] == 1.0 and result["ipv6"]["recall"] == 1.0
    assert result["secret"]["precision"] == 1.0 and result["secret"]["recall"] >= 0.85


def test_fast_scans_find_what_the_plain_patterns_find() -> None:
    """The phone candidate runs (found from their first digit) and the token-prefix places
    (found by `str.find` of anchor literals) are exactly those of the plain regexes, on
    random text made of the characters and prefixes that matter."""
    import random

    from corpusmill.pipelines.steps import pii

    rng = random.Random(3)
    pieces = list("0123456789+( )-./\u2013\u00a0ab") + list(pii._TOKEN_PREFIXES) + ["AC", "CA", "IA", "_live_", "A", "xo", "g", "h"]
    for _ in range(4000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 40)))
        assert list(pii._phone_candidates(text)) == [m.span() for m in pii._PHONE_CANDIDATE.finditer(text)], text
        assert pii._token_positions(text) == [m.start() for m in pii._TOKEN_HINT.finditer(text)], text
    # overlapping prefixes: "ACCASIA" holds ACCA at 0 and ASIA at 3; finditer reports 0 only
    assert pii._token_positions("ACCASIA") == [0]
