"""Wikitext -> plain text: what is kept, what is removed, and that the work stays bounded."""

from __future__ import annotations

import time

import pytest

from corpusmill.pipelines.sources.wikitext import to_plain_text


def test_paragraphs_headings_and_lists_keep_their_text_and_layout() -> None:
    wikitext = (
        "'''Foo''' is a [[bar (thing)|bar]] that\nspans two lines.\n\n"
        "== History ==\nIt began in [[1999]]s.\n\n"
        "=== Early years ===\n* first item\n* second [[item]]\n# numbered\n\nLast paragraph."
    )
    text = to_plain_text(wikitext)
    assert text == (
        "Foo is a bar that spans two lines.\n\n"
        "History\n\nIt began in 1999s.\n\n"
        "Early years\n\nfirst item\nsecond item\nnumbered\n\nLast paragraph."
    )


def test_templates_refs_tables_comments_are_removed_with_content() -> None:
    wikitext = (
        "{{Infobox person\n| name = {{nested|x}}\n| born = 1900\n}}\n"
        "Alice<ref name=a>{{cite web|url=http://x|title=T}}</ref> met Bob<ref name=a/>.<!-- hidden -->\n"
        '{| class="wikitable"\n|-\n! H1 !! H2\n|-\n| cell || {{tpl}}\n{|\n| inner\n|}\n|}\n'
        "After the table.\n<references/>\n{{Reflist}}"
    )
    text = to_plain_text(wikitext)
    assert text == "Alice met Bob.\n\nAfter the table."


def test_file_category_and_interlanguage_links_are_removed() -> None:
    wikitext = (
        "[[File:Map.png|thumb|A map of [[Somewhere]] in 1900]]\n"
        "[[Image:Old.jpg|left]]Text with a [[Target|label]] and [[plain]].\n"
        "[[Category:Things]]\n[[Category:Other|sort key]]\n[[de:Ding]]\n[[zh-min-nan:Mi̍h]]"
    )
    text = to_plain_text(wikitext)
    assert text == "Text with a label and plain."


def test_localized_namespaces_from_siteinfo_and_builtin_aliases() -> None:
    wikitext = "[[Datei:X.png|mini|Bild]]Satz eins.\n[[Kategorie:Dinge]]\n[[Файл:Y.jpg|thumb]]"
    assert to_plain_text(wikitext, namespaces=["Datei", "Kategorie"]) == "Satz eins."


def test_category_link_with_colon_is_kept_as_text_without_prefix() -> None:
    text = to_plain_text("See [[:Category:Rivers|Category:Rivers]] and [[:Category:Lakes]].")
    assert text == "See Rivers and Lakes."


def test_external_links_keep_label_and_drop_bare_brackets() -> None:
    text = to_plain_text("Visit [https://example.org the site] or [http://example.com].")
    assert text == "Visit the site or."


def test_entities_are_decoded_last_so_escaped_markup_stays_literal() -> None:
    # In wikitext, &lt;ref&gt; is the literal text "<ref>", not a tag.
    text = to_plain_text("A&nbsp;B &ndash; the &lt;ref&gt; tag and 5 &lt; 6.")
    assert text == "A\u00a0B – the <ref> tag and 5 < 6."


def test_nowiki_content_is_literal() -> None:
    text = to_plain_text("Write <nowiki>{{tpl}} and [[link]]</nowiki> literally.")
    assert text == "Write {{tpl}} and [[link]] literally."


def test_underscores_in_namespace_and_punctuation_left_by_removed_templates() -> None:
    wikitext = "* [[Tập_tin:Ribbon.png|70x70px]] Medal\n\nName ({{birth date|1900}}, Town — {{death date|1990}}, City) was."
    assert to_plain_text(wikitext) == "Medal\n\nName (Town — City) was."


def test_empty_sections_and_emptied_parentheses_are_dropped() -> None:
    wikitext = "Foo ({{IPA|fuː}}) is here.\n\n== References ==\n{{Reflist}}\n\n== External links ==\n* {{Official|x}}\n"
    assert to_plain_text(wikitext) == "Foo is here."


def test_unclosed_constructs_do_not_swallow_the_page() -> None:
    assert to_plain_text("Before {{unclosed template and after.") == "Before unclosed template and after."
    assert to_plain_text("Before [[unclosed link and after.") == "Before unclosed link and after."
    assert to_plain_text("Text }} stray ]] closers.") == "Text stray closers."


@pytest.mark.parametrize(
    "wikitext",
    [
        "{{" * 200_000 + "x" + "}}" * 100_000,
        "[[" * 200_000 + "x" + "]]" * 100_000,
        "{|\n" * 50_000 + "x",
        "<ref>" * 100_000 + "x",
        "<!--" * 100_000,
        "[[a|" * 100_000 + "]]" * 100_000,
        "'''''" * 100_000,
        "<nowiki>" * 50_000 + "{{x}}",
        "a" + " " * 100_000 + "b",
        "[http://a" + " " * 100_000,
        "\n==a==\n=b=\n" * 50_000,
        "(" * 100_000 + ", " * 100_000,
        "{{" + " " * 100_000,
        "{{lang|" + " " * 100_000 + "}}",
    ],
    ids=["braces", "brackets", "tables", "refs", "comments", "links", "quotes", "nowiki",
         "spaces", "ext_link_spaces", "headings", "parens", "template_spaces", "template_arg_spaces"],
)
def test_pathological_nesting_is_bounded(wikitext: str) -> None:
    start = time.perf_counter()
    text = to_plain_text(wikitext)
    elapsed = time.perf_counter() - start
    # Linear passes over ~1 MB finish in about a second; quadratic work would take minutes
    # (each of these inputs once took minutes before its pattern was made linear).
    assert elapsed < 10, elapsed
    assert "{{" not in text and "[[" not in text


def test_same_input_same_output() -> None:
    wikitext = "{{a}}'''B''' [[c|d]] <ref>e</ref> f.\n\n== G ==\nh"
    assert to_plain_text(wikitext) == to_plain_text(wikitext) == "B d f.\n\nG\n\nh"


def test_inline_prose_templates_keep_their_text() -> None:
    wikitext = (
        "It is {{convert|5|km|mi}} long, {{convert|3|to|4|m}} high. "
        "{{lang|fr|Bonjour}} or {{lang-grc|ἀναρχία}}, {{nowrap|{{convert|7|kg}}}}, "
        "{{仮リンク|ダウン|en|Down}}, {{nowrap|[[Paris|the city]] now}}.{{cite web|title=A|url=b}}"
    )
    assert to_plain_text(wikitext) == (
        "It is 5 km long, 3 to 4 m high. Bonjour or ἀναρχία, 7 kg, ダウン, the city now."
    )
