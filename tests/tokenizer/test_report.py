"""The tokenizer report: per-language fertility, byte fallback, baseline side by side."""

from __future__ import annotations

import json
import os

import pytest

from corpusmill.tokenizer.report import text_counts, tokenizer_report, write_report


@pytest.fixture(scope="module")
def report(trained, corpus_files):
    out = trained[0]
    return tokenizer_report(
        os.path.join(out, "tokenizer.model"), corpus_files, baseline=os.path.join(out, "tokenizer.json"),
        max_docs_per_group=40,
    )


def test_fertility_units_and_ranges(report):
    en = report["by_language"]["en"]["model"]
    zh = report["by_language"]["zh"]["model"]
    assert en["fertility_unit"] == "word" and zh["fertility_unit"] == "char"
    assert 1.0 < en["fertility"] < 3.0  # a 2,000-piece vocabulary on the KJV
    assert 0.5 < zh["fertility"] < 3.0
    assert en["bytes_per_token"] > zh["bytes_per_token"] / 3  # sanity: both positive and finite
    # rare Han characters fall back to bytes far more often than English letters
    assert zh["byte_fallback_rate"] > en["byte_fallback_rate"]
    assert en["documents"] == 40
    assert 0 < report["vocab_usage"]["model"] <= 1


def test_baseline_side_by_side(report):
    # the baseline is the same tokenizer as tokenizer.json: every count must agree
    for kind in ("by_language", "by_source"):
        for group, sides in report[kind].items():
            assert sides["model"]["tokens"] == sides["baseline"]["tokens"], group
            assert sides["model"]["byte_fallback_rate"] == sides["baseline"]["byte_fallback_rate"], group
    assert set(report["by_source"]) == {"books", "web"}


def test_text_counts():
    c = text_counts("Hello, world 42\n你好世界")
    assert c["words"] == 4 and c["continua_letters"] == 4 and c["bytes"] == 28


def test_write_report(report, tmp_path):
    path = tmp_path / "tokenizer" / "report.json"
    write_report(str(path), report)
    assert json.loads(path.read_text(encoding="utf-8"))["by_language"]["ru"] == report["by_language"]["ru"]
