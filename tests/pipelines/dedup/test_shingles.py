"""Script-aware shingles and normalisation."""

from __future__ import annotations

import pytest

from corpusmill.pipelines.dedup.config import Normalization
from corpusmill.pipelines.dedup.shingles import is_unsegmented, normalize, shingle_hashes, shingle_mode, shingle_strings


@pytest.mark.parametrize(
    "text,expected",
    [
        ("贾政一举目见宝玉站在跟前，神彩飘逸，秀色夺人", "char"),
        ("日本語のウィキペディアは、[[ウィキメディア財団]]が運営する", "char"),
        ("ภาษาไทยเป็นภาษาที่มีระดับเสียงของคำแน่นอน", "char"),
        ("The quick brown fox jumps over the lazy dog", "word"),
        ("Все люди рождаются свободными и равными", "word"),
        ("모든 인간은 태어날 때부터 자유로우며", "word"),  # Korean writes spaces
        ("", "word"),
    ],
)
def test_mode_detected_from_text(text: str, expected: str) -> None:
    assert shingle_mode(text, None, None, "auto") == expected


def test_fields_win_over_text_and_forced_setting_wins_over_fields() -> None:
    english = "plain english words here"
    assert shingle_mode(english, "zh-Hans", None, "auto") == "char"
    assert shingle_mode(english, "ja", None, "auto") == "char"
    assert shingle_mode("中文文本中文文本", "en", None, "auto") == "word"
    assert shingle_mode(english, "en", "Hani", "auto") == "char"
    assert shingle_mode("中文文本", None, "Latn", "auto") == "word"
    assert shingle_mode("中文文本", "zh", None, "word") == "word"


def test_mixed_japanese_with_markup_is_unsegmented() -> None:
    assert is_unsegmented("{{Infobox}} '''東京都'''（とうきょうと）は、日本の首都である。 [[Category:X]]")
    assert not is_unsegmented("An English page quoting 东京 once.")


def test_normalisation_options() -> None:
    text = "Ｈｅｌｌｏ,   WORLD!\n\nＡＢＣ"
    assert normalize(text, Normalization(), "word") == "hello world abc"
    assert normalize(text, Normalization(nfkc=False, lowercase=False), "word") == "Ｈｅｌｌｏ WORLD ＡＢＣ"
    assert normalize(text, Normalization(strip_punctuation=False), "word") == "hello, world! abc"
    assert normalize("一二\n三 四", Normalization(), "char") == "一二三四"
    assert normalize("a  b", Normalization(collapse_whitespace=False), "char") == "a  b"


def test_word_and_char_shingles() -> None:
    assert shingle_strings("a b c d", "word", 3) == ["a b c", "b c d"]
    assert shingle_strings("a b", "word", 3) == ["a b"]  # shorter than one n-gram: one shingle
    assert shingle_strings("", "word", 3) == []
    assert shingle_strings("abcdef", "char", 5) == ["abcde", "bcdef"]


def test_reflowed_cjk_and_reflowed_latin_give_same_hashes() -> None:
    norm = Normalization()
    a = "贾政一举目见宝玉站在跟前，神彩飘逸，秀色夺人"
    b = "贾政一举目见宝玉\n站在跟前，神彩飘逸，\n秀色夺人"
    assert shingle_hashes(a, mode="char", n=5, norm=norm).tolist() == shingle_hashes(b, mode="char", n=5, norm=norm).tolist()
    c = "one two three four five six"
    d = "one two\nthree  four\tfive six"
    assert shingle_hashes(c, mode="word", n=2, norm=norm).tolist() == shingle_hashes(d, mode="word", n=2, norm=norm).tolist()


def test_lone_surrogates_do_not_crash() -> None:
    assert shingle_hashes("bad \udc80 text here", mode="word", n=2, norm=Normalization()).size == 3
