"""Tokenizer training: artifacts, the sampled mix, determinism, the sampling rules."""

from __future__ import annotations

import json
import os
import random

import pytest

from corpusmill.tokenizer.config import SamplingConfig, TokenizerConfig
from corpusmill.tokenizer.sample import allocate_budgets, iter_training_lines, plan_sample, split_lines
from corpusmill.tokenizer.train import train_tokenizer

from .conftest import small_config


def test_artifacts_and_summary(trained):
    out, summary = trained
    for name in ("tokenizer.model", "tokenizer.vocab", "tokenizer.json", "tokenizer_config.json"):
        assert os.path.getsize(os.path.join(out, name)) > 0
    assert not [f for f in os.listdir(out) if ".tmp" in f]
    assert summary["vocab_size"] == 2000
    assert summary["corpus_checksum"] == "test-checksum"
    assert summary["train_seconds"] > 0 and summary["peak_rss_mb"] > 0
    with open(os.path.join(out, "tokenizer.vocab"), encoding="utf-8") as f:
        assert sum(1 for _ in f) == 2000
    cfg = json.load(open(os.path.join(out, "tokenizer_config.json"), encoding="utf-8"))
    assert cfg["eos_token"] == "<|endoftext|>"
    meta = cfg["corpusmill"]
    assert meta["corpus_checksum"] == "test-checksum"
    assert meta["settings"]["vocab_size"] == 2000
    groups = meta["mix"]["groups"]
    assert {"en", "zh", "ru", "ar", "ja", "th"} <= set(groups)
    # English is most of the corpus and gets capped; the small languages are sampled whole
    assert groups["en"]["sampled_chars"] < groups["en"]["available_chars"]
    assert groups["ru"]["sampled_chars"] == groups["ru"]["available_chars"]
    assert set(meta["mix"]["by_source"]) == {"books", "web"}
    assert meta["mix"]["by_language"]["zh"]["chars"] == groups["zh"]["sampled_chars"]
    assert sum(v["lines"] for v in meta["mix"]["by_source"].values()) == meta["sampled_lines"]
    total = sum(g["sampled_chars"] for g in groups.values())
    assert total == meta["sampled_chars"] <= 800_000 + 100_000  # budget + at most one document


def test_same_seed_same_model_bytes(corpus_files, trained, tmp_path):
    out, summary = trained
    again = train_tokenizer(corpus_files, str(tmp_path), small_config(), corpus_checksum="test-checksum")
    assert again["model_sha256"] == summary["model_sha256"]
    a = open(os.path.join(out, "tokenizer.model"), "rb").read()
    b = open(tmp_path / "tokenizer.model", "rb").read()
    assert a == b
    for name in ("tokenizer.vocab", "tokenizer.json", "tokenizer_config.json"):
        assert (tmp_path / name).read_bytes() == open(os.path.join(out, name), "rb").read(), name


def test_bpe_is_deterministic_too(corpus_files, tmp_path):
    cfg = small_config(model_type="bpe")
    a = train_tokenizer(corpus_files, str(tmp_path / "a"), cfg, corpus_checksum="c")
    b = train_tokenizer(corpus_files, str(tmp_path / "b"), cfg, corpus_checksum="c")
    assert a["model_sha256"] == b["model_sha256"]
    assert a["vocab_size"] == 2000


def test_sample_ignores_file_order_and_follows_seed(corpus_files):
    cfg = small_config().sampling
    a = plan_sample(corpus_files, cfg, seed=0)
    b = plan_sample(list(reversed(corpus_files)), cfg, seed=0)
    c = plan_sample(corpus_files, cfg, seed=1)
    assert a.selected == b.selected
    assert a.selected != c.selected  # English is capped, so the seed decides which chapters


def test_temperature_flattens_the_mix(corpus_files):
    shares = {}
    for t in (1.0, 5.0):
        plan = plan_sample(corpus_files, SamplingConfig(max_chars=300_000, temperature=t), seed=0)
        budgets = {g: s.budget_chars for g, s in plan.groups.items()}
        shares[t] = budgets["en"] / sum(budgets.values())
    assert shares[5.0] < shares[1.0]


def test_allocate_budgets_water_filling():
    cfg = SamplingConfig(max_chars=1000, temperature=1e9, weights={"x": 0.0})  # ~uniform shares
    b = allocate_budgets({"big": 10_000, "small": 100, "x": 500}, cfg)
    assert b["small"] == 100  # capped at what it has
    assert b["x"] == 0  # weight 0 excludes
    assert b["big"] == 900  # the rest of the budget
    natural = allocate_budgets({"a": 9_000, "b": 1_000}, SamplingConfig(max_chars=1000, temperature=1.0))
    assert natural == {"a": 900, "b": 100}


def test_split_lines_bounds_length():
    rng = random.Random(0)
    words = ["".join(rng.choice("abcdeé中") for _ in range(rng.randint(1, 12))) for _ in range(3000)]
    text = " ".join(words) + "\n\n  short line \n" + "x" * 2500
    lines = list(split_lines(text, max_chars=200))
    assert all(0 < len(line) <= 200 for line in lines)
    assert "short line" in lines
    assert "".join(lines).replace(" ", "") == text.replace(" ", "").replace("\n", "")


def test_training_lines_stop_at_input_sentence_size(corpus_files):
    cfg = SamplingConfig(max_chars=200_000, input_sentence_size=50)
    plan = plan_sample(corpus_files, cfg, seed=0)
    lines = list(iter_training_lines(corpus_files, plan))
    assert len(lines) == 50 and plan.truncated


def test_config_rejects_unknown_keys_and_duplicate_specials():
    with pytest.raises(ValueError):
        TokenizerConfig(vocab_size=1000, vocab=3)
    with pytest.raises(ValueError):
        TokenizerConfig(control_symbols=("<s>",))
