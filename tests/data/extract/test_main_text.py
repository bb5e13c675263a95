"""The refinedweb engine on real pages (tests/data/extract, see SOURCE.md) and inside the Extract step."""

import gzip
from pathlib import Path

import pytest

from refinedweb.data.extract import Extract
from refinedweb.data.extract.base import ENGINES, get_engine
from refinedweb.data.extract.main_text import refinedweb
from refinedweb.document import Document
from refinedweb.errors import InputError

HERE = Path(__file__).resolve().parent


def page(name: str) -> str:
    with gzip.open(HERE / f"{name}.html.gz", "rt", encoding="utf-8") as fh:
        return fh.read()


# (page, fragments of the gold main text that must be kept, boilerplate fragments that must be dropped)
CASES = [
    (
        "aeb_thespacereview",
        ["Earlier this month, NASA announced the newest milestone",
         "“Oh my,” Lucas responded with a sigh.",
         "the odds of getting full funding"],
        ["\nHome"],
    ),
    (
        "aeb_venturebeat",
        ["The New York State Attorney General (NYAG) is investigating WeWork",
         "A spokeswoman for Neumann declined to comment.",
         "WeWork’s 2025 bond has weakened sharply"],
        ["Got a news tip?", "Press Releases", "Support independent journalism", "Job Board"],
    ),
    (
        "mozilla_social_buttons",
        ["Lorem ipsum dolor sit amet, consectetur adipisicing elit"],
        [],
    ),
    (
        "mozilla_hidden_nodes",
        ["Lorem ipsum dolor sit amet, consetetur sadipscing elitr, sed diam nonumy eirmod tempor invidunt ut labore"],
        [],
    ),
    (
        "magichtml_39net_zh",
        ["新片《热辣滚烫》讲述了一个普通女孩成长为拳击手的故事",
         "为演好片中乐莹的角色，贾玲隐身一年，不参加综艺节目，推辞所有活动。",
         "马思纯20天瘦20斤，靠喝藿香正气液抑制食欲。"],
        ["扫一扫关注", "疯狂拼酒！一年喝掉300亿公斤", "揭秘！科兴疫苗被叫停的真相"],
    ),
    (
        "magichtml_rubychina_forum",
        ["Ruby 的许多特性强烈地偏向对脚本语言的良好支持"],
        ["需要 登录 后方可回复", "收到新回复，点击立即加载", "\n招聘\n", "共收到 10 条回复"],
    ),
]

# Known gaps of the shipped model, kept as strict expected failures: when a retrained model fixes one, the test
# fails and the case moves up into CASES.
KNOWN_GAPS = [
    pytest.param(
        "magichtml_rubychina_forum",
        ["1 楼我的评论被删除了。有什么问题吗？请删除的管理员回复下。谢谢。",
         "绝大部分公司的核心业务并不需要靠编程语言的性能来驱动",
         "Hope you are still using Ruby during your daily work."],
        [],
        marks=pytest.mark.xfail(strict=True, reason="short forum replies between user-name lines score too low; a "
                                "longer one (p 0.66) falls under the best-subtree cut (0.8 x the first post's 0.9)"),
        id="rubychina_short_replies",
    ),
    pytest.param(
        "mozilla_hidden_nodes",
        ["Secondary header", "Third header"],
        [],
        id="mozilla_headings_of_hidden_sections",
    ),
    pytest.param(
        "mozilla_social_buttons",
        [],
        ["Like Loading...", "Like this:"],
        marks=pytest.mark.xfail(strict=True, reason="a share widget inside the article body is kept"),
        id="mozilla_share_widget",
    ),
]


@pytest.mark.parametrize("name, present, absent", [pytest.param(*c, id=c[0]) for c in CASES] + KNOWN_GAPS)
def test_real_pages_keep_main_text_and_drop_boilerplate(name, present, absent):
    text = "\n" + refinedweb(page(name), "").text + "\n"
    for fragment in present:
        assert fragment in text, f"{name}: main text lost: {fragment!r}"
    for fragment in absent:
        assert fragment not in text, f"{name}: boilerplate kept: {fragment!r}"


def test_hidden_elements_are_not_main_text():
    # One visible paragraph, then two identical ones hidden by `display: none` and by the `hidden` attribute (the
    # gold keeps the visible one only); the sentence occurs three times in each copy.
    assert refinedweb(page("mozilla_hidden_nodes"), "").text.count("At vero eos et accusam") == 3


def test_title_and_language_hints():
    result = refinedweb(page("magichtml_39net_zh"), "")
    assert result.title and "热辣滚烫" in result.title
    assert refinedweb(page("aeb_venturebeat"), "").lang == "en-us"


def test_title_hints_from_og_title_and_from_a_hostile_head():
    from refinedweb.data.extract.main_text import page_hints

    assert page_hints("<html lang=en_GB><head><TITLE id=t> A &amp; B\n c </title></head>") == ("A & B c", "en-gb")
    assert page_hints("<head><title> </title><meta content='OG &amp; t' property='og:title'></head>")[0] == "OG & t"
    # 20,000 title start tags and no end tag: a lazy regex restarting at each one took seconds in one
    # uninterruptible call. As in a browser, an unclosed <title> holds the rest of the page as its text, so the
    # page is empty; what matters is that it is counted as that within the step's default 2 s limit, not as
    # extract_timeout.
    hostile = "<html><head>" + "<title>x" * 20_000 + "</head><body><p>body text</p></body></html>"
    assert page_hints(hostile)[0] is None
    step = Extract.from_dict({"engine": "refinedweb"})
    assert list(step([Document(id="h", text=hostile, metadata={"warc": {"payload": "html"}})])) == []
    assert step.stats.dropped == {"empty": 1}


def test_headings_lists_and_tables_stay_lines():
    html = (
        "<html><body><article><h2>Ingredients for the soup</h2><p>You will need the following things to cook it "
        "well, all of them fresh from the market today.</p><ul><li>Two large ripe tomatoes, chopped</li>"
        "<li>One onion, finely sliced by hand</li></ul><table><tr><td>Step one</td><td>Boil the water</td></tr>"
        "</table><p>Then let everything simmer slowly for about forty minutes, stirring now and then.</p>"
        "</article></body></html>"
    )
    lines = refinedweb(html, "").text.split("\n")
    assert "Two large ripe tomatoes, chopped" in lines and "One onion, finely sliced by hand" in lines


def test_registered_engine_and_extract_step():
    assert get_engine("refinedweb") is refinedweb and "refinedweb" in ENGINES
    step = Extract.from_dict({"engine": "refinedweb"})
    docs = [
        Document(id="a", text=page("aeb_venturebeat"), url="https://venturebeat.com/",
                 metadata={"warc": {"payload": "html"}}),
        Document(id="b", text="<html><body><nav>only a menu</nav></body></html>", url="",
                 metadata={"warc": {"payload": "html"}}),
    ]
    out = list(step(docs))
    assert [d.id for d in out] == ["a"]
    assert out[0].metadata["extract"]["html_lang"] == "en-us"
    assert "investigating WeWork" in out[0].text
    assert step.stats.dropped == {"empty": 1} and step.stats.consistent()


def test_unparseable_page_is_a_counted_skip():
    with pytest.raises(InputError) as err:
        refinedweb(None, "")  # type: ignore[arg-type]
    assert err.value.reason == "extract_error"
    step = Extract.from_dict({"engine": "refinedweb"})
    out = list(step([Document(id="x", text="<html><frameset></frameset></html>", metadata={"warc": {"payload": "html"}})]))
    assert out == [] and sum(step.stats.dropped.values()) == 1 and step.stats.consistent()


def test_time_limit_still_holds():
    # A 4 MB page cannot be rendered, split and scored in a millisecond; the alarm must cut it off.
    big = page("aeb_thespacereview") * 40
    step = Extract.from_dict({"engine": "refinedweb", "timeout_seconds": 0.001, "max_html_bytes": 10_000_000})
    assert list(step([Document(id="x", text=big, metadata={"warc": {"payload": "html"}})])) == []
    assert step.stats.dropped == {"extract_timeout": 1}


def test_odd_pages_are_extracted_or_counted_never_crash():
    sentence = "This sentence is the only text of the page, and it is long enough to be kept. "
    pages = {
        "empty": "",
        "no_text": "<html><body><div><span></span></div></body></html>",
        "surrogate": "<html><body><p>broken \ud800 text</p></body></html>",  # not text: refused
        "garbage": bytes(range(1, 256)).decode("latin-1") * 20,
        "nul": f"<html><body><p>{sentence}\x00{sentence}</p></body></html>",
        "deep": "<div>" * 20_000 + f"<p>{sentence}</p>" + "</div>" * 20_000,
        "arabic": "<html lang='ar' dir='rtl'><body><p>" + "هذه جملة عربية طويلة بما يكفي لتكون النص الرئيسي. " * 6
                  + "</p></body></html>",
        "chinese": "<html><body><p>" + "这是一个足够长的中文句子，它应该被保留为正文。" * 6 + "</p></body></html>",
    }
    step = Extract.from_dict({"engine": "refinedweb"})
    docs = [Document(id=name, text=html, metadata={"warc": {"payload": "html"}}) for name, html in pages.items()]
    out = {d.id: d.text for d in step(docs)}
    assert step.stats.total == len(pages) and step.stats.consistent()
    assert step.stats.dropped["extract_error"] == 1 and step.stats.dropped["empty"] >= 2  # garbage: kept or empty
    assert not {"empty", "no_text", "surrogate"} & set(out)
    assert out["nul"].count("only text of the page") == 2
    assert out["deep"] == sentence.strip()
    assert "جملة عربية" in out["arabic"] and "中文句子" in out["chinese"]


def _hostile_page(lines: int) -> str:
    """A generated page that renders to ``lines`` short lines (a line-bomb: tiny HTML, a huge line table)."""
    return "<html><body>" + "x<br>" * lines + "</body></html>"


def test_page_with_too_many_lines_is_a_counted_skip_before_the_line_table(monkeypatch):
    import refinedweb.data.extract.main_text as main_text

    built = []
    real_split = main_text.split_lines
    monkeypatch.setattr(main_text, "split_lines", lambda rendered: built.append(1) or real_split(rendered))
    real = Document(id="real", text=page("aeb_thespacereview"), metadata={"warc": {"payload": "html"}})
    hostile = Document(id="hostile", text=_hostile_page(5_000), metadata={"warc": {"payload": "html"}})
    step = Extract.from_dict({"engine": "refinedweb", "max_lines": 1_000})  # a small cap keeps the test fast
    out = list(step([hostile, real]))
    assert [d.id for d in out] == ["real"] and "NASA announced" in out[0].text
    assert step.stats.dropped == {"too_many_lines": 1} and step.stats.consistent()
    assert len(built) == 1  # only the real page got a line table
    with pytest.raises(InputError) as err:
        refinedweb(_hostile_page(5_000), "", max_lines=1_000)
    assert err.value.reason == "too_many_lines"


def test_real_pages_stay_under_the_default_line_cap():
    from refinedweb.data.extract.blocks import render
    from refinedweb.data.extract.main_text import MAX_LINES

    assert Extract.from_dict({}).config.max_lines == MAX_LINES
    names = sorted(p.name.removesuffix(".html.gz") for p in HERE.glob("*.html.gz"))

    def docs():  # the step replaces doc.text, so each run gets fresh documents
        return [Document(id=name, text=page(name), metadata={"warc": {"payload": "html"}}) for name in names]

    step = Extract.from_dict({"engine": "refinedweb"})
    assert len(list(step(docs()))) == len(names) and not step.stats.dropped
    most = max(render(page(name)).text.count("\n") for name in names)
    assert 0 < most < MAX_LINES // 10
    # The cap is on the rendering's lines: the longest page is skipped under a cap just below its own count.
    tight = Extract.from_dict({"engine": "refinedweb", "max_lines": most - 1})
    assert len(list(tight(docs()))) == len(names) - 1
    assert tight.stats.dropped == {"too_many_lines": 1}


def test_engines_that_do_not_render_lines_ignore_the_cap():
    step = Extract.from_dict({"engine": "resiliparse", "max_lines": 10})
    out = list(step([Document(id="x", text=_hostile_page(100), metadata={"warc": {"payload": "html"}})]))
    assert len(out) == 1 and out[0].text.count("x") >= 100 and not step.stats.dropped


def test_max_lines_must_be_positive():
    from refinedweb.errors import ConfigError

    with pytest.raises(ConfigError, match="max_lines"):
        Extract.from_dict({"engine": "refinedweb", "max_lines": 0})
