"""blocks.py: the minimal-HTML rendering read as a line table."""

import numpy as np
import pytest

from refinedweb.data.extract.blocks import KINDS, STATS, parse_tree, render, split_lines
from refinedweb.errors import InputError

COL = {name: i for i, name in enumerate(STATS)}

RENDERED = (
    "<h1>Title &amp; more</h1>\n\n"
    '<p>Para one bold <a href="x">link</a> end.</p>\n\n'
    "<ul>\n  <li>item one</li>\n  <li>item <a href=\"y\">two</a></li>\n</ul>\n"
    "a\t\tb &lt; c\n"
    "\u4e2d\u6587\u5b57\u3002\n"
    '<a href="/">Home</a>'
)


def test_kinds_links_and_gaps():
    lines = split_lines(RENDERED)
    assert lines.texts == ["Title &amp; more", "Para one bold link end.", "item one", "item two",
                           "a\t\tb &lt; c", "\u4e2d\u6587\u5b57\u3002", "Home"]
    assert [KINDS[k] for k in lines.kind] == ["h1", "p", "li", "li", "cell", "text", "text"]
    stats = lines.stats
    assert stats[1, COL["link_chars"]] == len("link")
    assert stats[3, COL["link_chars"]] == len("two")
    assert stats[6, COL["link_chars"]] == len("Home") == stats[6, COL["chars"]]
    assert stats[0, COL["link_chars"]] == 0
    assert stats[1, COL["ends_sentence"]] == 1 and stats[2, COL["ends_sentence"]] == 0
    assert stats[1, COL["gap_before"]] == 1 and stats[3, COL["gap_before"]] == 0
    assert stats[5, COL["cjk"]] == 3 and stats[5, COL["words"]] == 1 + 1.5
    assert stats[1, COL["words"]] == 5


def test_unclosed_link_ends_with_its_line():
    lines = split_lines('<a href="">open link\nplain text after')
    assert lines.stats[0, COL["link_chars"]] > 0 and lines.stats[1, COL["link_chars"]] == 0


def test_page_control_characters_are_not_taken_for_link_marks():
    lines = split_lines("\x01garbage text\x02 more")
    assert lines.texts == ["garbage text more"] and lines.stats[0, COL["link_chars"]] == 0


def test_text_of_decodes_entities():
    lines = split_lines(RENDERED)
    keep = np.zeros(len(lines), dtype=bool)
    keep[[0, 4]] = True
    assert lines.text_of(keep) == "Title & more\na\t\tb < c"


def test_render_skips_navigation_and_footer():
    tree = parse_tree("<html><body><nav><a href='/'>Menu</a></nav><p>Body text.</p><footer>Foot</footer></body></html>")
    assert split_lines(render(tree)).texts == ["Body text."]


def test_render_skips_hidden_elements_and_the_consent_banner():
    tree = parse_tree(
        "<html><body><p>Body text.</p><p hidden>Hidden attribute.</p><div aria-hidden='true'>Icon label</div>"
        "<div style='color: red; display: none;'>Pop-up menu</div><div style='display:none'>Quote copy</div>"
        "<div id='onetrust-consent-sdk'><p>We value your privacy</p></div><p aria-hidden='false'>Shown.</p>"
        "<div style='visibility: hidden'>Revealed by a script.</div></body></html>"
    )
    assert split_lines(render(tree)).texts == ["Body text.", "Shown.", "Revealed by a script."]


def test_empty_and_bad_input():
    assert len(split_lines("")) == 0
    assert len(split_lines(render(parse_tree("")))) == 0
    with pytest.raises(InputError) as err:
        parse_tree(b"<html></html>")
    assert err.value.reason == "extract_error"


def test_tags_may_span_lines_and_an_unclosed_angle_bracket_is_text():
    lines = split_lines('<p>one <span\nclass="x">two</span> <a href="y">three</a></p>\nfour < five')
    assert lines.texts == ["one two three", "four < five"]
    assert lines.stats[0, COL["link_chars"]] == len("three")


def test_a_line_of_only_unicode_spaces_is_an_empty_line():
    # U+2003, \v and \x1c are str.isspace but not in the "space" category: such a line has no visible character.
    lines = split_lines("first line\n\u2003\u2003\n\x0b\x1c\nlast line.")
    assert lines.texts == ["first line", "last line."]
    assert lines.stats[1, COL["gap_before"]] == 1 and lines.stats[1, COL["ends_sentence"]] == 1


def test_angle_brackets_without_a_closing_one_are_text():
    # The page ends in 50,000 of them: each is text, and the page is read once, not once per '<'.
    lines = split_lines("<p>before <a href='x'>link</a> <b>x</b></p>\n" + "<" * 50_000 + " tail")
    assert lines.texts == ["before link x", "<" * 50_000 + " tail"]
    assert lines.stats[0, COL["link_chars"]] == len("link") and lines.stats[1, COL["chars"]] == 50_004


def test_every_string_width_and_lone_surrogates_are_read_alike():
    # CPython stores a str in 1, 2 or 4 bytes a character by its widest one; the C pass has a loop for each.
    base = split_lines('<p>caf\u00e9 <a href="x">link</a> end.</p>\nnext')
    for wide in ("\u20ac", "\ud800", "\U0001f600"):
        lines = split_lines(f'<p>caf\u00e9 <a href="x">link</a> end.</p>\nnext{wide}')
        assert lines.texts == ["caf\u00e9 link end.", "next" + wide]
        assert (lines.stats[0] == base.stats[0]).all() and (lines.kind == base.kind).all()
        assert lines.stats[1, COL["chars"]] == 5
