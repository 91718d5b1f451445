"""The web chain's steps give the verdicts and signals recorded in
benchmarks/results/step_verdicts.jsonl.gz (benchmarks/step_verdicts.py) on a subset of the
real documents: UDHR documents in a dozen scripts and the first Japanese, Ukrainian and
Vietnamese Wikipedia articles. Speed work on the steps must not change what they decide."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import scripts_coverage as sc
from benchmarks import step_verdicts as sv

# UDHR languages across scripts (Latin, Cyrillic, Greek, Arabic, Hebrew, Devanagari, Tamil,
# Han, Japanese, Korean, Thai, Ethiopic, Myanmar, Khmer, Vai, Canadian syllabics, Yi).
UDHR_LANGUAGES = ("eng", "rus", "ell_monotonic", "arb", "heb", "hin", "tam", "cmn_hans", "jpn", "kor", "tha", "amh", "mya", "khm", "vai", "ike", "iii")


@pytest.fixture(scope="module")
def record() -> dict[tuple[str, str], dict]:
    if not sv.RECORD.is_file():
        pytest.skip("no recorded verdicts")
    _header, records = sv.read_record()
    return {(r["set"], r["id"]): r for r in records}


def test_recorded_verdicts_on_a_subset(shared_data: Path, record: dict[tuple[str, str], dict]) -> None:
    udhr = [d for d in sc.udhr_documents(shared_data / "lid" / "udhr2_paragraphs.tsv.xz") if d.title in UDHR_LANGUAGES]
    assert {d.title for d in udhr} == set(UDHR_LANGUAGES)
    docs = [("udhr", d) for d in udhr]
    for name in sc.WIKI_DUMPS:
        docs += [(f"wiki-{name[:2]}", d) for d in sc.wiki_documents(name)[:15]]
    got = sv.verdicts(docs)
    expected = [record[(r["set"], r["id"])] for r in got]
    assert sv.compare(expected, got) == []
    # the subset has documents kept and dropped by the quality steps
    dropped = {r["id"] for r in got for name in sv.QUALITY_STEPS if "drop" in r[name]}
    assert 0 < len(dropped) < len(got)


def test_signals_do_not_change_verdicts(record: dict[tuple[str, str], dict]) -> None:
    """Counting stops early without record_signals (stop words, C4 sentences): the verdicts
    with and without signals were the same on every recorded document."""
    assert not [key for key, r in record.items() if any("record_signals_differs" in r[n] for n in sv.QUALITY_STEPS)]
