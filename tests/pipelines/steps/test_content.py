"""The `harmful_content` step: annotate and drop modes through the real step runner, matching
per script (word boundaries, CJK substrings, katakana boundaries, Korean particles), the
Scunthorpe negatives, the fallback for `und`, and the shipped lists with their notice."""

from __future__ import annotations

import pytest

from corpusmill.pipelines.steps import registry
from corpusmill.pipelines.steps.content import (
    HarmfulContent,
    available_languages,
    compile_entries,
    data_files,
    fold,
    list_code,
    lists_for,
    matcher_for,
    read_list,
)
from corpusmill.pipelines.steps.runner import StepChain, StepSpec
from corpusmill.schemas.document import Document, Drop

CLEAN_EN = (
    "The county of Essex lies north-east of London. Charles Dickens wrote about it; a cocktail "
    "bar in Sussex serves a drink named after him, and the analysis of its sales in Scunthorpe "
    "and Middlesex shows a classic pattern. Cockpit voice recorders, shitake mushrooms (sic), "
    "Assisi, passion fruit, therapist, grape, Penistone and the Dickensian cockerel complete it."
)
ADULT_EN = (
    "Free porn videos: hot xxx anal sex with horny milf, hardcore porn clips every day. "
    "Watch more porn and xxx videos now."
)


def doc(text: str, language: str | None = "en", script: str | None = None) -> Document:
    return Document(id="d1", text=text, source="web", location="t#1", language=language, script=script)


def signals(d: Document) -> dict[str, float]:
    return {s.name: s.value for s in d.signals}


def test_registered_and_parameters_checked() -> None:
    assert "harmful_content" in registry.names()
    step = registry.build("harmful_content", {"max_terms": 1})
    assert isinstance(step, HarmfulContent)
    with pytest.raises(TypeError):
        registry.build("harmful_content", {"max_term": 1})
    with pytest.raises(ValueError):
        HarmfulContent(extra_languages=["xx"])
    with pytest.raises(ValueError):
        HarmfulContent(max_terms=-1)


def test_annotate_mode_records_scores_and_keeps() -> None:
    chain = StepChain([StepSpec("harmful_content", {}, mode="annotate")])
    result = chain.run([doc(ADULT_EN), Document(id="d2", text=CLEAN_EN, source="web", location="t#2", language="en")])
    assert [d.id for d in result.kept] == ["d1", "d2"] and not result.rejected
    adult, clean = result.kept
    s = signals(adult)
    assert s["harmful_terms"] >= 5  # porn, xxx, anal, sex, horny, milf, hardcore
    assert s["harmful_hits"] > s["harmful_terms"]  # porn and xxx repeat
    assert s["harmful_per_1000_words"] == pytest.approx(1000 * s["harmful_hits"] / len(ADULT_EN.split()), rel=1e-3)
    assert adult.flags == ("harmful_content:harmful_terms",)
    assert signals(clean) == {"harmful_terms": 0.0, "harmful_hits": 0.0, "harmful_per_1000_words": 0.0}
    assert clean.flags == ()
    assert result.counts["harmful_content"]["annotated"] == 1


def test_drop_mode_drops_above_threshold_with_named_reason() -> None:
    chain = StepChain([StepSpec("harmful_content", {"max_terms": 2, "max_per_1000_words": 5.0}, mode="drop")])
    result = chain.run([doc(ADULT_EN)])
    assert not result.kept
    (rejection,) = result.rejected
    assert rejection.step == "harmful_content" and rejection.reason == "harmful_terms"
    assert rejection.detail.startswith("terms=") and ">2" in rejection.detail and "porn" in rejection.detail


def test_thresholds_are_exclusive_and_both_must_be_exceeded() -> None:
    two_terms = "A long article. " * 200 + "It mentions porn and a bastard once."  # 2 terms, ~3 per 1,000 words
    assert isinstance(HarmfulContent(max_terms=2, max_per_1000_words=None)(doc(two_terms)), Document)
    dropped = HarmfulContent(max_terms=1, max_per_1000_words=None)(doc(two_terms))
    assert isinstance(dropped, Drop) and dropped.reason == "harmful_terms"
    assert isinstance(HarmfulContent(max_terms=1, max_per_1000_words=5.0)(doc(two_terms)), Document)  # too sparse
    assert isinstance(HarmfulContent()(doc(two_terms)), Drop)  # defaults: > 1 term and > 2.0 per 1,000
    once = "A short note that says porn once."  # 1 term, dense
    assert isinstance(HarmfulContent()(doc(once)), Document)
    dense = HarmfulContent(max_terms=None, max_per_1000_words=5.0)(doc(once))
    assert isinstance(dense, Drop) and dense.reason == "harmful_terms"
    assert isinstance(HarmfulContent(max_terms=None, max_per_1000_words=None)(doc(ADULT_EN)), Document)
    c4 = HarmfulContent(max_terms=0, max_per_1000_words=None)
    assert isinstance(c4(doc(once)), Drop) and isinstance(c4(doc(CLEAN_EN)), Document)


@pytest.mark.parametrize(
    "word", ["Essex", "cocktail", "Dickens", "analysis", "Scunthorpe", "Middlesex", "cockpit", "Assisi", "therapist", "Penistone"]
)
def test_scunthorpe_negatives(word: str) -> None:
    assert matcher_for(("en",)).find(f"{word} is here. {word.lower()} again, {word.upper()}!") == {}


def test_whole_words_case_folded_and_phrases() -> None:
    m = matcher_for(("en",))
    assert m.find("PORN, Porn and porn.") == {"porn": 3}
    assert m.find("a Two Girls One Cup video") == {"two girls one cup": 1}
    assert m.find("two girls and one cup") == {}
    assert m.find("S&M club") == {"s&m": 1}
    # multi-word entries across a line break still match
    assert m.find("blow\njob") == {"blow job": 1}


def test_cjk_and_thai_substrings() -> None:
    zh = matcher_for(("zh",))
    assert zh.find("这部电影真他妈的好看") == {"他妈的": 1}
    assert zh.find("乳酸菌和豆乳都很健康，奶奶喝牛奶") == {}  # single-character entries are skipped
    ja = matcher_for(("ja",))
    assert ja.find("無料のポルノ動画") == {"ポルノ": 1}
    assert ja.find("グローバルなフックボール") == {}  # katakana entries need katakana boundaries
    th = matcher_for(("th",))
    (found,) = th.find("ไอ้ควยนี่").keys()
    assert found == fold("ควย")


def test_korean_particles() -> None:
    ko = matcher_for(("ko",))
    assert ko.find("섹스를 했다") == {"섹스": 1}
    assert ko.find("섹스") == {"섹스": 1}
    assert ko.find("망가지다") == {}  # "망가" (manga) inside a verb, no particle: no match


def test_language_labels_and_fallback_for_und() -> None:
    assert list_code("zh-Hans") == "zh" and list_code("pt_BR") == "pt" and list_code("eng") == "en"
    assert list_code("tl") == "fil" and list_code("nb") == "no"
    assert list_code("und") is None and list_code(None) is None and list_code("vi") is None
    assert lists_for("und", "Hani", "") == ("zh",)
    assert lists_for(None, None, "Это просто текст") == ("ru",)
    assert lists_for("de", "Latn", "") == ("de",)
    assert lists_for("ka", "Geor", "") == ()
    step = HarmfulContent()
    zh_und = step(doc("这部电影真他妈的好看，他妈的，操你妈的", language="und"))
    assert isinstance(zh_und, Drop)
    unscored = step(doc("ეს არის ქართული ტექსტი", language="ka"))
    assert isinstance(unscored, Document) and unscored.signals == ()
    # a known language without a list is not scored with another language's list
    assert lists_for("vi", "Latn", "") == () and lists_for("und", "Latn", "") == ("en",)
    vietnamese = step(doc("Tôi mong bạn khỏe, mong mong mong.", language="vi"))
    assert isinstance(vietnamese, Document) and vietnamese.signals == ()


def test_own_language_list_only_unless_extra() -> None:
    german_text = "Das ist ein porn Beispiel, ein ganz normaler Satz ohne Probleme. " * 3
    own = HarmfulContent()(doc(german_text, language="de"))
    assert isinstance(own, Document) and signals(own)["harmful_terms"] == 0
    extra = HarmfulContent(extra_languages=["en"])(doc(german_text, language="de"))
    assert isinstance(extra, Document) and signals(extra)["harmful_terms"] == 1  # one term: kept
    two = HarmfulContent(extra_languages=["en"])(doc(german_text + " Und noch ein bastard.", language="de"))
    assert isinstance(two, Drop) and "porn" in two.detail


def test_compile_entries_handles_symbols_and_blank() -> None:
    m = compile_entries(["", "🖕", "乳", "Foo Bar"])
    assert m.skipped == ("乳",)
    assert m.find("x 🖕 y FOO  bar") == {"🖕": 1, "foo bar": 1}


@pytest.mark.parametrize("language", available_languages())
def test_every_shipped_list_loads(language: str) -> None:
    entries = read_list(language)
    assert len(entries) >= 10
    matcher = matcher_for((language,))
    assert matcher.phrases or matcher.substrings is not None
    # most entries are found in a text made of them (all but skipped ones and Korean stems)
    probe = " \n ".join(entries)
    assert len(matcher.find(probe)) >= 0.9 * (len(entries) - len(matcher.skipped)) - 2


def test_lists_ship_with_notice_and_license() -> None:
    folder = data_files()
    notice = (folder / "NOTICE").read_text(encoding="utf-8")
    assert "naughty-words" in notice and "1.2.0" in notice and "CC BY 4.0" in notice
    assert "Attribution 4.0 International" in (folder / "LICENSE-CC-BY-4.0.txt").read_text(encoding="utf-8")
    assert {"en", "de", "fr", "es", "ru", "zh", "ja", "ko", "th", "ar", "hi"} <= set(available_languages())
