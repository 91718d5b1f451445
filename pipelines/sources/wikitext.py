"""MediaWiki wikitext to clean plain text, in bounded (linear) time.

`to_plain_text(wikitext, namespaces)` keeps the prose a reader sees in the article body:
  * paragraphs (consecutive source lines joined with a space), separated by a blank line;
  * headings, as their text on a line of their own (a heading whose section ends up empty,
    e.g. "References" once the references are gone, is dropped);
  * list items (`*`, `#`, `:`, `;`), one per line, markers removed;
  * the visible text of links: `[[target|label]]` -> label, `[[target]]s` -> targets,
    `[http://url label]` -> label;
  * the text inside formatting tags (`<b>`, `<span>`, `<small>`, ...) and `<nowiki>`/`<pre>`
    (taken literally, as MediaWiki does; an unclosed `<nowiki>` is dropped as a tag).
It removes, with their content:
  * templates and parser functions `{{...}}` (infoboxes, citations, navboxes; nested);
  * template parameters `{{{...}}}`, HTML comments, tables `{| ... |}` (nested);
  * references (`<ref>...</ref>`, `<ref/>`, `<references/>`) and non-prose extension tags
    (math, gallery, timeline, score, syntaxhighlight, ...; see `DROPPED_TAGS`);
  * file/image links (with their captions), category links and interlanguage links;
  * bold/italic quote marks, behaviour switches (`__TOC__`), horizontal rules.
HTML character entities (`&nbsp;`, `&ndash;`) are decoded last, so `&lt;ref&gt;` written in
the wikitext stays the literal text "<ref>".

Why a hand-written stripper and not mwparserfromhell: measured in `benchmarks/wiki.py`
(mwparserfromhell's `strip_code` is several times slower on real dumps) and every pass here
is a linear scan or a bounded number of regex passes, so pathological nesting (thousands of
unclosed `{{` or `[[`) cannot make it hang. Unclosed constructs: an unclosed `{{` or `[[` is
dropped as two characters (MediaWiki shows it literally); an unclosed table runs to the end
of the page (MediaWiki closes it there, so its content is table content); an unclosed
comment or dropped tag runs to the end of the page.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

# Namespace names (any language) of files and categories, besides those a dump's siteinfo
# declares. Lower case. Aliases MediaWiki accepts but siteinfo does not list.
FILE_NAMESPACES: frozenset[str] = frozenset(
    {
        "file", "image", "media", "bild", "datei", "fichier", "imagen", "archivo", "immagine",
        "afbeelding", "bestand", "plik", "grafika", "ficheiro", "arquivo", "imagem", "файл",
        "изображение", "медиа", "зображення", "tập tin", "hình", "ファイル", "画像", "文件",
        "檔案", "图像", "resim", "dosya", "soubor", "obrázek", "tiedosto", "kuva",
        "fil", "billede", "датотека", "слика", "ملف", "صورة", "קובץ", "תמונה", "파일",
        "그림", "berkas", "gambar", "fitxer", "imatge", "fișier", "imagine", "kép", "fájl",
    }
)
CATEGORY_NAMESPACES: frozenset[str] = frozenset(
    {
        "category", "kategorie", "catégorie", "categoría", "categoria", "categorie",
        "kategoria", "категория", "категорія", "категорија", "thể loại", "カテゴリ", "分类",
        "分類", "kategori", "kategorija", "luokka", "kategória", "تصنيف", "קטגוריה",
        "분류", "rummad", "flokkur",
    }
)

# Extension tags whose content is not prose: removed with their content.
DROPPED_TAGS: tuple[str, ...] = (
    "ref", "references", "gallery", "math", "chem", "ce", "score", "timeline", "graph",
    "mapframe", "maplink", "templatestyles", "imagemap", "syntaxhighlight", "source", "hiero",
    "inputbox", "categorytree", "charinsert", "indicator", "templatedata", "includeonly",
    "dynamicpagelist", "phonos",
)
# Tags whose content MediaWiki does not parse as markup: content kept literally.
LITERAL_TAGS: tuple[str, ...] = ("nowiki", "pre")

# Inline templates whose output is prose, kept as the positional argument at the given index
# (names lower case). Everything else in `{{...}}` is removed. `lang-xx` keeps argument 0,
# `convert`/`cvt` keep value(s) and unit. Chosen from the most frequent inline templates of
# the en/ja/uk/vi dumps in ../shared/data (cross-wiki names: lang, nowrap, small, ill).
INLINE_TEMPLATES: dict[str, int] = {
    "lang": 1, "nowrap": 0, "nobr": 0, "small": 0, "smaller": 0, "big": 0, "nts": 0, "ntsh": 0,
    "abbr": 0, "tooltip": 0, "comment": 0, "sic": 0, "visible anchor": 0, "vanchor": 0,
    "ill": 0, "interlanguage link": 0, "ill2": 0, "仮リンク": 0, "нп": 0, "не переведено": 0,
    "iw": 0, "flag": 0, "flagcountry": 0, "transl": -1, "keep together": 0, "text": 0,
    "sub": 0, "sup": 0, "lang-x": 0, "nihongo": 0, "nihongo2": 0, "math": 0, "mvar": 0,
}
CONVERT_TEMPLATES: frozenset[str] = frozenset({"convert", "cvt"})
_CONVERT_RANGE = frozenset({"-", "–", "to", "and", "or", "by", "x", "×", "+", "to(-)", "and(-)"})

# Private-use stand-ins protecting literal (nowiki) markup characters until the end.
_PROTECT = str.maketrans({"{": "\ue000", "}": "\ue001", "[": "\ue002", "]": "\ue003",
                          "|": "\ue004", "'": "\ue005", "<": "\ue006", ">": "\ue007",
                          "=": "\ue008", "*": "\ue009", "#": "\ue00a", ":": "\ue00b",
                          ";": "\ue00c", "_": "\ue00d", "&": "\ue00e"})
_UNPROTECT = {ord(v): chr(k) for k, v in _PROTECT.items()}

_MAX_LINK_PASSES = 4  # link nesting deeper than this (never in real pages) is flattened

_DROPPED_TAG_RE = re.compile(
    r"<(/?)(" + "|".join(sorted(set(DROPPED_TAGS), key=len, reverse=True)) + r")\b([^<>]*?)(/?)>",
    re.IGNORECASE,
)
_LITERAL_TAG_RE = re.compile(r"<(/?)(" + "|".join(LITERAL_TAGS) + r")\b([^<>]*?)(/?)>", re.IGNORECASE)
_BRACE_RE = re.compile(r"\{\{|\}\}")
# No `\s*` around the name: with a bounded lazy name it stays linear on "{{" + spaces.
_INLINE_RE = re.compile(r"\{\{([^{}|]{1,80}?)\|([^{}]*)\}\}")
_LINK_PIPES_RE = re.compile(r"\[\[[^\[\]]*\]\]")
_NAMED_ARG_RE = re.compile(r"[^=\[\]{}]+=")  # used with .match; no leading \s* (keeps it linear)
_PARAM_RE = re.compile(r"\{\{\{[^{}]*\}\}\}")
_TABLE_RE = re.compile(r"^[ \t:]*(\{\||\|\})", re.MULTILINE)
_LINK_RE = re.compile(r"\[\[((?:[^\[\]]|\[(?!\[)|\](?!\]))*)\]\]([^\W\d_]*)")
_EXT_LINK_RE = re.compile(r"\[(?:https?:|ftp:|mailto:|//|news:|irc:)[^\s\[\]<>]*(?:[ \t]([^\[\]\n]*))?\]",
                          re.IGNORECASE)
_TAG_RE = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*\b[^<>]*?/?>")
_BR_RE = re.compile(r"<br\s*/?>", re.IGNORECASE)
_QUOTES_RE = re.compile(r"'{2,}")
_SWITCH_RE = re.compile(r"__[A-Z_]{2,30}__")
_HEADING_RE = re.compile(r"^(={1,6})(.+?)\1\s*$")
_LIST_RE = re.compile(r"^[*#:;]+\s*")
_RULE_RE = re.compile(r"^-{4,}\s*")
_EMPTY_PARENS_RE = re.compile(r"[ \t]*[(（][ \t\u00a0,;:、，]{0,40}[)）]")
_SPACE_BEFORE_PUNCT_RE = re.compile(r"[ \t]+([,.;:!?])(?=\s|$)")
_PAREN_OPEN_PUNCT_RE = re.compile(r"([(（])[ \t\u00a0]*[,;、，][ \t]*")
_PAREN_CLOSE_PUNCT_RE = re.compile(r"[ \t]*[,;、，][ \t]*([)）])")
_DASH_COMMA_RE = re.compile(r"([—–])[ \t]*,")
_COMMA_RUN_RE = re.compile(r"[ \t]*,(?:[ \t]*,)+")
_MULTISPACE_RE = re.compile(r"[ \t\u00a0]{2,}")
_HAS_PROTECTED_RE = re.compile("[\ue000-\ue00e]")
_INTERLANGUAGE_RE = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{1,8})*$")


def to_plain_text(wikitext: str, namespaces: Iterable[str] = ()) -> str:
    """Clean plain text of one page's wikitext (see the module docstring for what is kept).

    `namespaces`: namespace names of the wiki (from the dump's siteinfo), so links into
    localized File/Category namespaces are recognized; the built-in alias lists cover the
    common languages when siteinfo is absent."""
    file_ns = FILE_NAMESPACES | {n.lower() for n in namespaces if n.lower() in FILE_NAMESPACES}
    text = wikitext.replace("\r\n", "\n").replace("\r", "\n")
    text = _protect_literal(text)
    text = _strip_comments(text)
    text = _strip_dropped_tags(text)
    text = _PARAM_RE.sub("", text)
    if "{{" in text:
        for _ in range(2):  # innermost first; one level of nesting ({{nowrap|{{convert|..}}}})
            text = _INLINE_RE.sub(_expand_inline, text)
    text = _strip_templates(text)
    text = _strip_tables(text)
    text = _render_links(text, file_ns, set(namespaces))
    text = _EXT_LINK_RE.sub(lambda m: (m.group(1) or "").strip(), text)
    text = _BR_RE.sub("\n", text)
    text = _TAG_RE.sub("", text)
    text = _QUOTES_RE.sub("", text)
    text = _SWITCH_RE.sub("", text)
    return _layout(text)


def _protect_literal(text: str) -> str:
    """`<nowiki>x</nowiki>` / `<pre>x</pre>` -> x with markup characters protected (restored
    in `_layout`). An unclosed literal tag is dropped and what follows stays wikitext."""
    if "<" not in text:
        return text
    out: list[str] = []
    pos = 0
    open_name: str | None = None
    open_end = 0
    for m in _LITERAL_TAG_RE.finditer(text):
        closing, name, selfclose = m.group(1), m.group(2).lower(), m.group(4)
        if open_name is None:
            if closing or selfclose:
                out.append(text[pos : m.start()])
                pos = m.end()
                continue
            out.append(text[pos : m.start()])
            open_name, open_end = name, m.end()
        elif closing and name == open_name:
            out.append(text[open_end : m.start()].translate(_PROTECT))
            pos = m.end()
            open_name = None
    if open_name is not None:
        out.append(text[open_end:])  # unclosed: the tag is dropped, the rest is wikitext
    else:
        out.append(text[pos:])
    return "".join(out)


def _strip_comments(text: str) -> str:
    """Remove `<!-- ... -->`; an unclosed comment runs to the end. Linear."""
    if "<!--" not in text:
        return text
    out: list[str] = []
    pos = 0
    while True:
        start = text.find("<!--", pos)
        if start < 0:
            out.append(text[pos:])
            break
        out.append(text[pos:start])
        end = text.find("-->", start + 4)
        if end < 0:
            break
        pos = end + 3
    return "".join(out)


def _strip_dropped_tags(text: str) -> str:
    """Remove `DROPPED_TAGS` elements with their content (one linear scan over tag tokens).
    Same-name nesting is counted; an unclosed element runs to the end; a stray closing
    tag is removed alone."""
    if "<" not in text:
        return text
    out: list[str] = []
    pos = 0
    open_name: str | None = None
    depth = 0
    for m in _DROPPED_TAG_RE.finditer(text):
        closing, name, selfclose = m.group(1), m.group(2).lower(), m.group(4)
        if open_name is None:
            out.append(text[pos : m.start()])
            pos = m.end()
            if not closing and not selfclose:
                open_name, depth = name, 1
        elif name == open_name and not selfclose:
            depth += -1 if closing else 1
            if depth == 0:
                open_name = None
                pos = m.end()
    if open_name is None:
        out.append(text[pos:])
    return "".join(out)


def _remove_ranges(text: str, ranges: list[tuple[int, int]], drop: list[int], width: int) -> str:
    """`text` without the (nested or disjoint) `ranges` and the `width`-char tokens at `drop`."""
    cuts = sorted(ranges + [(p, p + width) for p in drop])
    out: list[str] = []
    pos = 0
    for start, end in cuts:
        if end <= pos:
            continue  # inside a range already removed
        out.append(text[pos : max(start, pos)])
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _expand_inline(m: re.Match[str]) -> str:
    """An innermost template -> its prose (`INLINE_TEMPLATES`, `convert`), else unchanged."""
    name = " ".join(m.group(1).replace("_", " ").split()).lower()
    convert = name in CONVERT_TEMPLATES
    if not convert and name not in INLINE_TEMPLATES and not name.startswith("lang-"):
        return m.group(0)
    protected = _LINK_PIPES_RE.sub(lambda link: link.group().replace("|", "\x00"), m.group(2))
    args = [a.replace("\x00", "|").strip() for a in protected.split("|") if not _NAMED_ARG_RE.match(a)]
    if convert:
        if len(args) >= 4 and args[1] in _CONVERT_RANGE:
            return " ".join(args[:4])
        return " ".join(args[:2])
    index = 0 if name.startswith("lang-") else INLINE_TEMPLATES[name]
    try:
        return args[index]
    except IndexError:
        return ""


def _strip_templates(text: str) -> str:
    """Remove `{{...}}` with nesting, in one linear scan: a stack of opening positions, each
    matched pair a removed range. An unmatched `{{` or `}}` is removed as two characters
    (the text after an unclosed `{{` stays, as MediaWiki shows it)."""
    if "{{" not in text and "}}" not in text:
        return text
    stack: list[int] = []
    ranges: list[tuple[int, int]] = []
    stray: list[int] = []
    for m in _BRACE_RE.finditer(text):
        if m.group() == "{{":
            stack.append(m.start())
        elif stack:
            ranges.append((stack.pop(), m.end()))
        else:
            stray.append(m.start())
    return _remove_ranges(text, ranges, stray + stack, 2)


def _strip_tables(text: str) -> str:
    """Remove `{| ... |}` tables (tokens at line start), nested; an unclosed table runs to
    the end of the page. Linear."""
    if "{|" not in text:
        return text
    out: list[str] = []
    pos = 0
    depth = 0
    start = 0
    for m in _TABLE_RE.finditer(text):
        if m.group(1) == "{|":
            if depth == 0:
                start = m.start()
            depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                out.append(text[pos:start])
                pos = m.end()
    if depth == 0:
        out.append(text[pos:])
    else:
        out.append(text[pos:start])
    return "".join(out)


def _render_links(text: str, file_ns: set[str] | frozenset[str], namespaces: set[str]) -> str:
    """Internal links, innermost first (so a file caption's inner links resolve before the
    file link itself is dropped); at most `_MAX_LINK_PASSES` passes, then leftover brackets
    are removed."""
    if "[[" not in text:
        return text.replace("]]", "")

    def render(m: re.Match[str]) -> str:
        inner, trail = m.group(1), m.group(2)
        target, sep, label = inner.partition("|")
        target = target.strip()
        leading_colon = target.startswith(":")
        if leading_colon:
            target = target[1:].strip()
        prefix, colon, rest = target.partition(":")
        ns = " ".join(prefix.replace("_", " ").split()).lower() if colon else ""  # Tập_tin -> tập tin
        if colon and not leading_colon:
            # Not part of the text; a letter run after them is not a link trail.
            if ns in file_ns or ns in CATEGORY_NAMESPACES:
                return trail
            if not sep and _INTERLANGUAGE_RE.match(prefix.strip()) and prefix.strip() not in namespaces:
                return trail  # interlanguage link (renders in the sidebar, not the text)
        if sep:
            label = label.strip()
            if ns in CATEGORY_NAMESPACES or ns in file_ns:  # [[:Category:X|Category:X]] -> X
                label_ns, label_colon, label_rest = label.partition(":")
                if label_colon and label_ns.strip().lower() == ns:
                    label = label_rest.strip()
            if not label:  # pipe trick [[Foo (bar)|]] -> Foo
                label = re.sub(r"\s*\([^()]*\)$", "", rest if colon else target)
            return label + trail
        if colon and (ns in file_ns or ns in CATEGORY_NAMESPACES):
            return rest.strip() + trail  # [[:Category:Foo]] -> Foo
        return target.lstrip("#") + trail

    for _ in range(_MAX_LINK_PASSES):
        new = _LINK_RE.sub(render, text)
        if new == text:
            break
        text = new
    return text.replace("[[", "").replace("]]", "")


def _layout(text: str) -> str:
    """Lines -> blocks: headings on their own line, paragraphs joined and separated by a
    blank line, list items one per line; empty sections dropped. Before that, on the whole
    text: entities decoded, emptied parentheses ("( )" left by removed templates) and doubled
    spaces removed; after it, protected literal characters restored."""
    if "&" in text:
        text = html.unescape(text)
    # Collapse space runs first: the patterns below then meet at most one space at a time
    # (a run of spaces before them would otherwise be rescanned from every position).
    text = _MULTISPACE_RE.sub(" ", text.replace("\t", " "))
    text = _EMPTY_PARENS_RE.sub("", text)
    text = _SPACE_BEFORE_PUNCT_RE.sub(r"\1", text)
    text = _COMMA_RUN_RE.sub(",", text)  # "a, , , b" left by removed inline templates
    text = _PAREN_OPEN_PUNCT_RE.sub(r"\1", text)  # "(, born" -> "(born"
    text = _PAREN_CLOSE_PUNCT_RE.sub(r"\1", text)  # "1900, )" -> "1900)"
    text = _DASH_COMMA_RE.sub(r"\1", text)  # "Town —, City" -> "Town — City"

    blocks: list[tuple[str, int, str]] = []  # (kind, heading level, text)
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append(("p", 0, " ".join(paragraph)))
            paragraph.clear()

    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            flush()
            continue
        first = line[0]
        if first == "=":
            heading = _HEADING_RE.match(line)
            if heading:
                flush()
                title = heading.group(2).strip()
                if title:
                    blocks.append(("h", len(heading.group(1)), title))
                continue
        elif first == "-" and line.startswith("----"):
            flush()
            line = _RULE_RE.sub("", line)
            if not line:
                continue
            first = line[0]
        if first in "*#:;":
            flush()
            item = _LIST_RE.sub("", line)
            if any(c.isalnum() for c in item):
                blocks.append(("li", 0, item))
            continue
        if first == "|" or first == "!":
            continue  # leftover table row of a malformed table
        paragraph.append(line)
    flush()

    # Drop headings whose section has no content: the next block that is not a deeper
    # heading is a heading (same or higher level) or the end. One backward pass:
    # has_content[L] says whether content follows before any heading of level <= L.
    has_content = [False] * 7
    keep = [True] * len(blocks)
    for i in range(len(blocks) - 1, -1, -1):
        kind, level, _ = blocks[i]
        if kind != "h":
            has_content = [True] * 7
            continue
        keep[i] = has_content[level]
        for deeper in range(level, 7):
            has_content[deeper] = False
    kept = [block for block, k in zip(blocks, keep) if k]

    out: list[str] = []
    prev = ""
    for kind, _, value in kept:
        if out:
            out.append("\n" if kind == "li" and prev == "li" else "\n\n")
        out.append(value)
        prev = kind
    result = "".join(out)
    return result.translate(_UNPROTECT) if _HAS_PROTECTED_RE.search(result) else result
