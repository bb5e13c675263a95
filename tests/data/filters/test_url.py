import pytest

from refinedweb.data.filters.url import URLFilter
from refinedweb.document import Document
from refinedweb.errors import ConfigError


def run(step, urls):
    docs = [Document(str(i), "text", url) for i, url in enumerate(urls)]
    kept = list(step(iter(docs)))
    return docs, [d.url for d in kept]


def test_default_lists_and_reasons():
    step = URLFilter.from_dict({"exclude_curated_sources": True})
    docs, kept = run(
        step,
        [
            "https://www.pornhub.com/view?x=1",  # listed domain
            "https://de.xhamster.com/videos",  # subdomain of a listed domain
            "https://en.wikipedia.org/wiki/Essex",  # curated source
            "https://blog.example.org/hot-teen-pics",  # soft words 0.25 + 0.5 < 1
            "https://blog.example.org/sexy-teen-pics",  # soft words 0.5 + 0.5 = 1
            "http://free-p.o.r.n.example.com/",  # substring word after removing dots
            "https://www.bbc.co.uk/news/uk-england-essex-123",  # "essex" is not the token "sex"
        ],
    )
    assert kept == ["https://blog.example.org/hot-teen-pics", "https://www.bbc.co.uk/news/uk-england-essex-123"]
    assert step.stats.dropped == {"url_blocked_domain": 2, "url_curated_source": 1, "url_score": 2}
    assert docs[3].metadata["url_filter"]["score"] == 0.75
    assert docs[3].metadata["url_filter"]["words"] == ["hot", "teen"]
    assert docs[6].metadata["url_filter"]["domain"] == "bbc.co.uk"


def test_curated_sources_pass_by_default_and_missing_url_is_counted():
    step = URLFilter()
    docs, kept = run(step, ["https://arxiv.org/abs/1706.03762", ""])
    assert kept == ["https://arxiv.org/abs/1706.03762", ""]
    assert step.stats.counters == {"no_url": 1}
    step = URLFilter.from_dict({"drop_missing_url": True})
    run(step, [""])
    assert step.stats.dropped == {"url_missing": 1}


def test_user_lists(tmp_path):
    blocklist = tmp_path / "domains.txt"
    blocklist.write_text("# my list\nspam-site.net\n")
    words = tmp_path / "words.tsv"
    words.write_text("casino\t1.0\ttoken\nbet\t0.5\ttoken\n")
    step = URLFilter.from_dict(
        {"use_default_blocklist": False, "blocklist_files": [str(blocklist)], "url_words_file": str(words)}
    )
    _, kept = run(step, ["http://a.spam-site.net/", "http://pornhub.com/", "http://x.org/casino", "http://x.org/bet"])
    assert kept == ["http://pornhub.com/", "http://x.org/bet"]


def test_bad_list_files_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        URLFilter.from_dict({"blocklist_files": [str(tmp_path / "missing.txt")]})
    bad = tmp_path / "bad.tsv"
    bad.write_text("casino 1.0\n")
    step = URLFilter.from_dict({"url_words_file": str(bad)})
    with pytest.raises(ConfigError, match="row 1"):
        step.ensure_setup()


def test_malformed_url_is_kept_not_a_crash():
    step = URLFilter()
    docs, kept = run(step, ["http://[::1", "not a url at all"])
    assert kept == ["http://[::1", "not a url at all"]
    assert docs[0].metadata["url_filter"]["domain"] == ""
