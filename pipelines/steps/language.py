"""`language`: fastText language identification (lid.176 by default), plus the text's script.

The model is `lid.176.ftz` (176 languages, CC BY-SA 3.0, Facebook AI Research), shipped inside
corpusmill as package data (`corpusmill/pipelines/steps/models/lid.176.ftz`, with its NOTICE.md)
and located with `importlib.resources`: nothing is downloaded. Any other fastText LID model can
be given with `model_path` (lid.176.bin; GlotLID, whose labels look like `__label__eng_Latn`:
the language is `eng` and the script `Latn` comes from the label).

Which `fasttext` runs: the one dependency `fasttext-numpy2`, the fastText 0.9.3 sources with
binary wheels and one fix for numpy 2 (the single-string `predict` called
`np.array(..., copy=False)`). It is a full build (`train_supervised`, `predict(list)`); a
predict-only build (`fasttext-predict`, which some packages pull in and which installs the same
`fasttext` module name) is refused by `load_model`. This module predicts on lists only
(`FastText.predict(list_of_texts, k=1)`): one call per batch.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import math
from collections.abc import Sequence
from typing import Any

from corpusmill.pipelines.steps.registry import step
from corpusmill.pipelines.steps.text import detect_script, script_tally
from corpusmill.schemas.document import Document, Drop

# (package, path inside it) of the bundled model; see models/NOTICE.md for its source and license.
DEFAULT_MODEL_RESOURCE = ("corpusmill.pipelines.steps", "models/lid.176.ftz")
_LABEL_PREFIX = "__label__"


def default_model_path() -> str:
    """Path of the lid.176.ftz bundled with corpusmill (package data of `corpusmill.pipelines.steps`)."""
    package, resource = DEFAULT_MODEL_RESOURCE
    path = importlib.resources.files(package).joinpath(resource)
    if not path.is_file():
        raise FileNotFoundError(f"corpusmill is installed without {package}/{resource}")
    return str(path)


def load_model(model_path: str | None = None) -> Any:
    """Load a fastText model (the full `fasttext` build); `None` = the bundled lid.176.ftz."""
    import fasttext

    if not hasattr(fasttext, "train_supervised"):
        raise RuntimeError(
            f"the active `fasttext` module ({fasttext.__file__}) is a predict-only build "
            "(fasttext-predict), installed over corpusmill's fastText by another package; "
            "uninstall it and reinstall the full build: pip install --force-reinstall --no-deps fasttext-numpy2"
        )
    return fasttext.load_model(model_path or default_model_path())


def parse_label(label: str) -> tuple[str, str | None]:
    """`__label__en` -> ("en", None); GlotLID `__label__eng_Latn` -> ("eng", "Latn")."""
    if label.startswith(_LABEL_PREFIX):
        label = label[len(_LABEL_PREFIX) :]
    code, sep, script = label.partition("_")
    if sep and len(script) == 4 and script[:1].isupper():
        return code, script
    return label, None


# Word separators that are not whitespace. fastText splits its input into words on
# whitespace only; Amharic written with the Ethiopic wordspace "፡" between words (the
# traditional spelling, as in the UDHR) reaches the model as one "word" per sentence and gets
# scores of 0.45-0.59 instead of 1.0 with spaces (lid.176.ftz on the Amharic UDHR).
ETHIOPIC_WORDSPACE = "\u1361"


def prepare(text: str, max_chars: int) -> str:
    """What the model sees: the first `max_chars` characters, non-space word separators (the
    Ethiopic wordspace) made spaces, whitespace runs and newlines folded to one space (fastText
    predicts one line; a newline would end the input)."""
    text = text[:max_chars]
    if ETHIOPIC_WORDSPACE in text:  # replace, not str.translate: a table is slow on every text
        text = text.replace(ETHIOPIC_WORDSPACE, " ")
    return " ".join(text.split())


# The scripts each lid.176 label is written in (ISO 15924; Unicode CLDR / Wikipedia usage; a
# language written in several scripts lists them all). A label the model gives for a text
# with (almost) no letters in any of its scripts cannot be right: lid.176 never saw that
# script for any language (Mongolian script, Tifinagh, Vai, N'Ko, Syriac, Ol Chiki, ...) and
# answers with some language of another script, e.g. "zh" (0.76) for the Mongolian-script
# UDHR. Labels not in this table (other models' labels) are not checked.
_LATIN_LABELS = (
    "af als an ast bar bcl br ca cbk ceb co cs cy da de diq dsb eml en eo es et eu fi fr frr fy ga gd gl gn gv "
    "hr hsb ht hu ia id ie ilo io is it jbo kw la lb li lmo lt lv mg min mt mwl nah nap nds nl nn no oc pam "
    "pfl pl pms pt qu rm ro sc scn sco sk sl so sq sv sw tr vec vep vi vls vo wa war yo"
)
_CYRILLIC_LABELS = "ru uk bg mk ky ba cv ce av os sah mhr mrj myv kv krc lez xal bxr tyv rue"
_SINGLE_SCRIPT_LABELS = {
    "Arab": "ar arz fa ps ur azb mzn lrc pnb",
    "Hebr": "he yi",
    "Grek": "el",
    "Armn": "hy",
    "Geor": "ka xmf",
    "Ethi": "am",
    "Deva": "hi mr ne mai bh new dty",
    "Beng": "bn as bpy",
    "Gujr": "gu",
    "Orya": "or",
    "Taml": "ta",
    "Telu": "te",
    "Knda": "kn",
    "Mlym": "ml",
    "Sinh": "si",
    "Thaa": "dv",
    "Thai": "th",
    "Laoo": "lo",
    "Khmr": "km",
    "Mymr": "my",
    "Tibt": "bo",
    "Hani": "zh wuu yue",
    "Latn": _LATIN_LABELS,
    "Cyrl": _CYRILLIC_LABELS,
}
LABEL_SCRIPTS: dict[str, frozenset[str]] = {
    **{label: frozenset({script}) for script, labels in _SINGLE_SCRIPT_LABELS.items() for label in labels.split()},
    "ja": frozenset({"Jpan", "Hani", "Hira", "Kana"}),
    "ko": frozenset({"Hang", "Hani"}),
    "az": frozenset({"Latn", "Cyrl", "Arab"}),
    "be": frozenset({"Cyrl", "Latn"}),
    "bs": frozenset({"Latn", "Cyrl"}),
    "sh": frozenset({"Latn", "Cyrl"}),
    "sr": frozenset({"Cyrl", "Latn"}),
    "kk": frozenset({"Cyrl", "Latn", "Arab"}),
    "ku": frozenset({"Latn", "Arab", "Cyrl"}),
    "ckb": frozenset({"Arab", "Latn"}),
    "tk": frozenset({"Latn", "Cyrl"}),
    "uz": frozenset({"Latn", "Cyrl"}),
    "tt": frozenset({"Cyrl", "Latn"}),
    "tg": frozenset({"Cyrl", "Latn", "Arab"}),
    "ug": frozenset({"Arab", "Latn", "Cyrl"}),
    "ms": frozenset({"Latn", "Arab"}),
    "mn": frozenset({"Cyrl", "Mong"}),
    "pa": frozenset({"Guru", "Arab"}),
    "sd": frozenset({"Arab", "Deva"}),
    "hif": frozenset({"Latn", "Deva"}),
    "gom": frozenset({"Deva", "Latn", "Knda"}),
    "jv": frozenset({"Latn", "Java"}),
    "su": frozenset({"Latn", "Sund"}),
    "tl": frozenset({"Latn", "Tglg"}),
    "sa": frozenset({"Deva", "Beng", "Gujr", "Guru", "Orya", "Taml", "Telu", "Knda", "Mlym", "Sinh", "Latn"}),
}
# Below this share of the letters (weighted as in `text.script_tally`) in the label's scripts,
# the label is a mismatch. Low on purpose: a Chinese page that is mostly English commands is
# still Chinese; only text with essentially nothing in the label's scripts is refused.
MIN_LABEL_SCRIPT_SHARE = 0.05


def label_script_share(code: str, text: str) -> float | None:
    """Share of the letters of `text` written in the scripts of label `code` (None when the
    label is not in `LABEL_SCRIPTS` or the text has no letters)."""
    scripts = LABEL_SCRIPTS.get(code)
    if scripts is None:
        return None
    tally = script_tally(text)
    total = sum(tally.values())
    if not total:
        return None
    return sum(n for s, n in tally.items() if s in scripts) / total


@step("language")
class LanguageId:
    """Sets `language` (the model's code, e.g. "en", "zh"; GlotLID "eng"), `language_score`
    (top-1 probability, capped at 1.0) and `script` (ISO 15924, from the label when the model
    gives one, else from `text.detect_script`).

    Keeps: a document whose language is in `keep` (None = every language) and whose score is
    at least `min_scores.get(language, min_score)`.
    Drops:
      * `language_script_mismatch`: the model's label is a language not written in the text's
        script (fewer than 5 % of the letters of the predicted text in the scripts of
        `LABEL_SCRIPTS[label]`): the model does not know the text's script and its answer
        means nothing (lid.176 says "zh" for Mongolian script);
      * `language_not_kept`: the top language is not in `keep`;
      * `low_language_score`: the top score is below the threshold (also for an empty text).
    Thresholds: `min_score` 0.5 follows cc_net (Wenzek et al. 2020); FineWeb (Penedo et al.
    2024) keeps English above 0.65: `min_scores: {en: 0.65}`.
    Prediction uses the first `max_chars` characters (default 2000) with newlines folded and
    Ethiopic wordspaces made spaces (see `prepare`).
    """

    def __init__(
        self,
        *,
        keep: Sequence[str] | None = None,
        min_score: float = 0.5,
        min_scores: dict[str, float] | None = None,
        model_path: str | None = None,
        max_chars: int = 2000,
    ) -> None:
        if not 0.0 <= min_score <= 1.0:
            raise ValueError(f"language: min_score must be in [0, 1], not {min_score}")
        if max_chars <= 0:
            raise ValueError("language: max_chars must be positive")
        self.keep = frozenset(keep) if keep is not None else None
        self.min_score = float(min_score)
        self.min_scores = {str(k): float(v) for k, v in (min_scores or {}).items()}
        self.model_path = model_path
        self.max_chars = int(max_chars)
        self._model: Any = None

    def setup(self) -> None:
        """Load the model once (per worker)."""
        if self._model is None:
            self._model = load_model(self.model_path)

    def __getstate__(self) -> dict[str, Any]:  # the model is not picklable; workers reload it
        state = self.__dict__.copy()
        state["_model"] = None
        return state

    def predict(self, texts: list[str]) -> list[tuple[str, str | None, float]]:
        """(language, script from the label or None, score) for each text, as the model says."""
        self.setup()
        prepared = [prepare(t, self.max_chars) for t in texts]
        labels, probs = self._model.predict(prepared, k=1)
        out: list[tuple[str, str | None, float]] = []
        for label, prob in zip(labels, probs, strict=True):
            if not label:
                out.append(("und", None, 0.0))
                continue
            code, script = parse_label(label[0])
            score = float(prob[0])
            out.append((code, script, min(1.0, score) if math.isfinite(score) else 0.0))
        return out

    def _decide(self, doc: Document, code: str, label_script: str | None, score: float) -> Document | Drop:
        script = label_script or detect_script(doc.text)
        if not doc.text.strip():
            return Drop("low_language_score", "empty text")
        # The dominant script among the label's: its share is the largest, no need to count.
        if label_script is None and script not in LABEL_SCRIPTS.get(code, (script,)):
            share = label_script_share(code, doc.text[: self.max_chars])
            if share is not None and share < MIN_LABEL_SCRIPT_SHARE:
                return Drop("language_script_mismatch", f"language={code} score={score:.3f} script={script}")
        if self.keep is not None and code not in self.keep:
            return Drop("language_not_kept", f"language={code} score={score:.3f}")
        threshold = self.min_scores.get(code, self.min_score)
        if score < threshold:
            return Drop("low_language_score", f"language={code} score={score:.3f}<{threshold}")
        return dataclasses.replace(doc, language=code, language_score=round(score, 6), script=script)

    def batch(self, docs: list[Document]) -> list[Document | Drop]:
        if not docs:
            return []
        predictions = self.predict([d.text for d in docs])
        return [self._decide(d, *p) for d, p in zip(docs, predictions, strict=True)]

    def __call__(self, doc: Document) -> Document | Drop:
        return self.batch([doc])[0]


__all__ = [
    "LABEL_SCRIPTS",
    "LanguageId",
    "default_model_path",
    "label_script_share",
    "load_model",
    "parse_label",
    "prepare",
]
