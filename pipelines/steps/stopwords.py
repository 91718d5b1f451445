"""Small stop-word lists per language, for Gopher's "at least 2 stop words" rule.

English is Gopher's own list (Rae et al. 2021, appendix A: "the, be, to, of, and, that, have,
with"). The other lists were written for this project in the same spirit: a dozen or two of
the most frequent function words (articles, prepositions, conjunctions, copulas, pronouns),
which any running prose contains and a page of navigation links, a price list or a table of
numbers does not. For Chinese and Japanese they are particles and function characters/words;
Japanese (and Thai) are matched as substrings of the text (see `text.stop_word_count`).
Keys are the language codes lid.176 gives (ISO 639-1 where one exists).
"""

from __future__ import annotations

_LISTS: dict[str, str] = {
    "en": "the be to of and that have with",
    "de": "der die das und ist nicht zu den von mit sich des auf für im dem ein eine auch es an",
    "fr": "le la les de des et est un une du en que qui dans pour pas sur au il elle avec",
    "es": "el la los las de del y que en un una es por con para se no al lo su",
    "it": "il lo la le gli di del della e che in un una è per non con si da al",
    "pt": "o a os as de do da dos das e que em um uma é para com não se no na por",
    "nl": "de het een en van is dat in op te niet met voor zijn er aan ook",
    "ru": "и в не на что с по как это он она из за от к для то все так",
    "uk": "і й в у не на що з за як це та до від для по його її",
    "bg": "и в на е да се от за с не че по са как това той тя",
    "pl": "i w z na nie się to że do jest o jak od po za co",
    "cs": "a v se na je že to s z do o jak by i k",
    "tr": "ve bir bu da de ile için çok ne gibi daha olarak ama o",
    "vi": "và của là có các được trong cho không những với một người này đã",
    "id": "yang dan di ini itu dengan untuk dari dalam tidak akan pada adalah ke",
    "sv": "och i att det som en på är av för med till den inte har",
    "da": "og i at det en den til er som på de med af for ikke",
    "no": "og i det er som en på til av at for med har ikke",
    "fi": "ja on ei se että oli hän ovat kun mutta myös tai",
    "hu": "a az és hogy nem is van egy meg de csak mint",
    "ro": "și în de la cu nu că o un este pe din care pentru",
    "el": "και το η ο να του της σε με για από που τα είναι δεν",
    "ar": "في من على أن إلى عن مع هذا هذه التي الذي كان لا ما",
    "fa": "و در به از که این را با است برای آن یک",
    "he": "של את על זה לא עם הוא היא גם כי אם",
    "hi": "के का की है में और को से एक यह पर भी नहीं",
    "ko": "이 그 저 것 수 등 및 또는 그리고 하는 있는 있다 한다 된다",
    # Chinese: matched as jieba tokens (punctuation glued on is stripped before matching).
    "zh": "的 了 是 在 和 有 也 不 就 都 而 这 那 与 及 之 我 他 她 们 个 说 要 会 对 被",
    # Japanese: particles and auxiliaries, counted as occurrences in the text.
    "ja": "の に は を が で と も から まで より です ます した する ある いる こと れる",
    # Thai: common function words, counted as occurrences in the text.
    "th": "ที่ และ ของ ใน เป็น มี ได้ ไม่ การ จะ ให้ ว่า",
}

STOP_WORDS: dict[str, frozenset[str]] = {lang: frozenset(ws.split()) for lang, ws in _LISTS.items()}

__all__ = ["STOP_WORDS"]
