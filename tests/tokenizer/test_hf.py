"""tokenizer.json (Hugging Face `tokenizers`) encodes exactly like the SentencePiece model."""

from __future__ import annotations

import os

import sentencepiece as spm
from tokenizers import Tokenizer

from corpusmill.tokenizer.hf import write_tokenizer_json
from corpusmill.tokenizer.spm_proto import BYTE, CONTROL, read_model
from corpusmill.tokenizer.train import train_tokenizer

from .conftest import small_config

EDGE_CASES = [
    "",
    " ",
    "x",
    "  leading spaces,  double  spaces \t a tab\n\n\nand a trailing space ",
    "digits 1234567890 and 3.14159, emoji 🎉🇺🇳, a NUL \x00 and CRLF\r\n",
    "ＦＵＬＬＷＩＤＴＨ　ｔｅｘｔ and ligature ﬁ and Å vs Å",
    "def f(x):\n    return {'a': [1, 2]}  # comment\n",
]


def _assert_same(model_path: str, hf_path: str, texts: list[str]) -> None:
    sp = spm.SentencePieceProcessor(model_file=model_path)
    hf = Tokenizer.from_file(hf_path)
    for text in texts:
        want = sp.encode(text)
        got = hf.encode(text, add_special_tokens=False).ids
        assert got == want, repr(text[:80])
        assert hf.decode(got, skip_special_tokens=False) == sp.decode(want), repr(text[:80])


def test_unigram_tokenizer_json_matches_sentencepiece(trained, corpus_docs):
    out, _ = trained
    langs = {d.language for d in corpus_docs}
    assert {"en", "zh", "ru", "ar", "ja", "th", "hi", "el"} <= langs
    _assert_same(os.path.join(out, "tokenizer.model"), os.path.join(out, "tokenizer.json"),
                 [d.text for d in corpus_docs] + EDGE_CASES)


def test_unigram_long_texts_differ_only_in_float32_near_ties(trained, corpus_docs):
    """SentencePiece's Unigram Viterbi sums path scores in float32; `tokenizers` uses float64.
    After a few thousand tokens, two segmentations whose scores differ by less than float32
    rounding can be ranked differently. Any difference must be such a near tie, with the
    `tokenizers` path the better one in exact arithmetic, and decode to the same text."""
    out, _ = trained
    sp = spm.SentencePieceProcessor(model_file=os.path.join(out, "tokenizer.model"))
    hf = Tokenizer.from_file(os.path.join(out, "tokenizer.json"))
    by_lang: dict[str, list[str]] = {}
    for d in corpus_docs:
        by_lang.setdefault(d.language, []).append(d.text)
    long_texts = ["\n\n".join(by_lang[lang])[:40_000] for lang in ("en", "zh", "ru", "ar", "de")]
    assert min(len(sp.encode(t)) for t in long_texts) > 3_000
    for text in long_texts:
        want = sp.encode(text)
        got = hf.encode(text, add_special_tokens=False).ids
        if got != want:
            s_sp = sum(float(sp.get_score(i)) for i in want)
            s_hf = sum(float(sp.get_score(i)) for i in got)
            assert s_hf >= s_sp and (s_hf - s_sp) < 1e-5 * abs(s_sp)
            assert len(want) > 1000
        assert hf.decode(got) == sp.decode(want) == text


def test_bpe_tokenizer_json_matches_sentencepiece(corpus_files, corpus_docs, tmp_path):
    train_tokenizer(corpus_files, str(tmp_path), small_config(model_type="bpe"), corpus_checksum="c")
    _assert_same(str(tmp_path / "tokenizer.model"), str(tmp_path / "tokenizer.json"),
                 [d.text for d in corpus_docs] + EDGE_CASES)


def test_nfkc_with_whitespace_removal_matches_too(corpus_files, corpus_docs, tmp_path):
    cfg = small_config(model_type="bpe", normalization_rule_name="nmt_nfkc", remove_extra_whitespaces=True)
    train_tokenizer(corpus_files, str(tmp_path), cfg, corpus_checksum="c")
    model = read_model(str(tmp_path / "tokenizer.model"))
    assert model.precompiled_charsmap and model.remove_extra_whitespaces
    _assert_same(str(tmp_path / "tokenizer.model"), str(tmp_path / "tokenizer.json"),
                 [d.text for d in corpus_docs[::7]] + EDGE_CASES)


def test_model_reader_sees_pieces_and_settings(trained):
    out, _ = trained
    path = os.path.join(out, "tokenizer.model")
    sp = spm.SentencePieceProcessor(model_file=path)
    m = read_model(path)
    assert m.model_type == "unigram" and m.byte_fallback and m.add_dummy_prefix
    assert not m.remove_extra_whitespaces and m.normalizer_name == "identity"
    assert [p.piece for p in m.pieces] == [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    assert sum(p.type == BYTE for p in m.pieces) == 256
    assert m.pieces[sp.eos_id()].type == CONTROL and m.pieces[sp.eos_id()].piece == "<|endoftext|>"
    for i in (300, 1000, 1999):
        assert abs(m.pieces[i].score - sp.get_score(i)) < 1e-6


def test_conversion_is_deterministic(trained, tmp_path):
    out, _ = trained
    write_tokenizer_json(os.path.join(out, "tokenizer.model"), str(tmp_path / "again.json"))
    assert (tmp_path / "again.json").read_bytes() == open(os.path.join(out, "tokenizer.json"), "rb").read()
