"""WARC/WET/ARC readers on real fixtures, including the deliberately malformed ones from warcio."""

import gzip
import shutil

import pytest

from refinedweb.data.readers import read_documents
from refinedweb.errors import FatalError
from refinedweb.stats import StepStats


def read(path, **config):
    from refinedweb.data.readers import ReaderConfig

    stats = StepStats("read")
    docs = list(read_documents(str(path), ReaderConfig(**config), stats))
    assert stats.consistent(), stats
    return docs, stats


def test_warc_response_with_gzip_content_encoding(crawl_dir):
    docs, stats = read(crawl_dir / "example.warc")
    assert len(docs) == 1 and "Example Domain" in docs[0].text
    assert docs[0].url == "http://example.com/"
    assert stats.dropped == {"warcinfo": 2, "request": 2, "revisit": 1}
    assert docs[0].id == read(crawl_dir / "example.warc")[0][0].id  # stable


@pytest.mark.parametrize(
    "name",
    ["example-trunc.warc", "example-bad-non-chunked.warc.gz", "example-wrong-chunks.warc.gz",
     "example-iana.org-chunked.warc"],
)
def test_malformed_warcs_still_yield_their_page(crawl_dir, name):
    docs, stats = read(crawl_dir / name)
    assert len(docs) == 1, stats
    assert "<html" in docs[0].text.lower() and "\x00" not in docs[0].text


def test_non_html_and_request_records_are_counted(crawl_dir):
    docs, stats = read(crawl_dir / "post-test.warc.gz")
    assert docs == [] and stats.dropped == {"non_html": 3, "request": 3}


def test_warc_018_clueweb_quirks(crawl_dir):
    docs, stats = read(crawl_dir / "clueweb-quirk.warc.gz")
    assert len(docs) == 29 and stats.dropped == {"warcinfo": 1}
    assert all(d.metadata["warc"]["charset"] for d in docs)
    assert any("\u3002" in d.text or "\u3001" in d.text for d in docs)  # Japanese text decoded, not mojibake


def test_wet_conversion_record_is_text(crawl_dir):
    docs, _ = read(crawl_dir / "whirlwind.warc.wet.gz")
    assert len(docs) == 1 and docs[0].metadata["warc"]["payload"] == "text" and "<html" not in docs[0].text


def test_arc_files(crawl_dir):
    for name in ("example.arc", "example.arc.gz"):
        docs, stats = read(crawl_dir / name)
        assert len(docs) == 1 and "Example Domain" in docs[0].text and stats.dropped == {"arc_header": 1}
    docs, stats = read(crawl_dir / "example-space-in-url.arc")
    assert docs == [] and stats.dropped == {"arc_header": 1, "truncated_record": 1}
    docs, stats = read(crawl_dir / "bad.arc")
    assert docs == [] and stats.total == stats.dropped["arc_header"]


def test_truncated_gzip_is_a_counted_skip(tmp_path, sample_warcs):
    data = open(sample_warcs[0], "rb").read()
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[: len(data) // 2])
    docs, stats = read(cut)
    full, _ = read(sample_warcs[0])
    assert 0 < len(docs) < len(full)
    assert stats.dropped["truncated_record"] + stats.dropped["corrupt_stream"] == 1


def test_empty_file(tmp_path):
    empty = tmp_path / "empty.warc.gz"
    empty.write_bytes(b"")
    docs, stats = read(empty)
    assert docs == [] and stats.total == 0


def test_missing_file_is_fatal_and_names_it(tmp_path):
    with pytest.raises(FatalError, match="nope.warc.gz"):
        read(tmp_path / "nope.warc.gz")


def _warc_with_payload(tmp_path, body: bytes, content_type: str = "text/html") -> str:
    http = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
    head = (
        "WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: http://example.org/x\r\n"
        "WARC-Record-ID: <urn:uuid:11111111-2222-3333-4444-555555555555>\r\nWARC-Date: 2024-01-01T00:00:00Z\r\n"
        f"Content-Type: application/http; msgtype=response\r\nContent-Length: {len(http)}\r\n\r\n"
    ).encode()
    path = tmp_path / "one.warc.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(head + http + b"\r\n\r\n")
    return str(path)


def test_binary_payload_labelled_html(tmp_path, crawl_dir):
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    docs, stats = read(_warc_with_payload(tmp_path, png))
    assert docs == [] and stats.dropped == {"binary_payload": 1}


def test_huge_page_is_skipped_without_reading_it(tmp_path):
    page = b"<html><body>" + b"<p>big page</p>" * 400_000 + b"</body></html>"  # 6 MB
    docs, stats = read(_warc_with_payload(tmp_path, page), max_record_bytes=1_000_000)
    assert docs == [] and stats.dropped == {"too_large": 1}


def test_undecodable_bytes_are_decoded_or_counted(tmp_path):
    latin = "<html><body><p>Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e, na\u00efve fa\u00e7ade.</p></body></html>"
    docs, _ = read(_warc_with_payload(tmp_path, latin.encode("cp1252")))
    assert "Caf\u00e9" in docs[0].text
    shutil.rmtree(tmp_path)
    tmp_path.mkdir()
    noise = bytes((i * 7919 + 13) % 200 + 56 for i in range(5000))
    docs, stats = read(_warc_with_payload(tmp_path, b"<html>" + noise))
    assert stats.consistent() and stats.total == 1


def test_fsspec_url_input_is_streamed(sample_warcs):
    import fsspec

    from refinedweb.io import expand_inputs

    fs = fsspec.filesystem("memory")
    fs.pipe("/crawl/a.warc.gz", open(sample_warcs[-1], "rb").read())
    [url] = expand_inputs(["memory://crawl/*.warc.gz"])
    assert url.startswith("memory://") and url.endswith("/crawl/a.warc.gz")
    docs, _ = read(url)
    local, _ = read(sample_warcs[-1])
    assert [d.id for d in docs] == [d.id for d in local]
