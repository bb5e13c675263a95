"""The TSV reader on real HPLT records (warc2text's ``url<TAB>base64(text)``) and on hand-written edge cases."""

import base64
import json
from pathlib import Path

import pytest

from refinedweb.cli import main
from refinedweb.data.readers import ReaderConfig, read_documents
from refinedweb.data.readers.tsv import decode_text
from refinedweb.data.runner import plan_units
from refinedweb.errors import ConfigError
from refinedweb.stats import StepStats

HPLT = Path(__file__).parents[1] / "crawl" / "hplt_zh_sample.tsv.zst"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def test_hplt_records_read_as_chinese_documents_with_urls():
    stats = StepStats("read")
    docs = list(read_documents(str(HPLT), ReaderConfig(), stats))
    assert len(docs) == stats.total == stats.kept == 12 and stats.consistent()
    assert all(d.url.startswith("http") for d in docs)
    assert all("\n" in d.text for d in docs)  # base64 keeps the line breaks of the extracted text
    han = sum(1 for d in docs for c in d.text if "\u4e00" <= c <= "\u9fff")
    assert han > 0.5 * sum(len(d.text) for d in docs)
    assert len({d.id for d in docs}) == 12


def test_bad_lines_are_counted_with_their_reason(tmp_path):
    path = tmp_path / "docs.tsv"
    two_lines, blank = _b64("first line\nsecond line"), _b64("   ")
    path.write_text(
        f"http://a\t{two_lines}\n"
        "http://b\tonly\tthree\tcolumns\n"
        f"http://c\t{blank}\n"
        "http://d\tplain text, with an escaped\\nline break\n"
        "\n"
        "  \n"
        "http://e\t\n"
        "\t  \n"
    )
    stats = StepStats("read")
    docs = list(read_documents(str(path), ReaderConfig(), stats))
    assert [d.text for d in docs] == ["first line\nsecond line", "plain text, with an escaped\nline break"]
    # Blank lines are no records; a line with a tab but no text is one, counted.
    assert stats.dropped == {"tsv_columns": 1, "no_text": 3} and stats.consistent()
    strict = StepStats("read")
    list(read_documents(str(path), ReaderConfig(tsv_text_encoding="base64"), strict))
    assert strict.dropped == {"tsv_columns": 1, "no_text": 2, "invalid_base64": 2}  # "  " is not base64


def test_named_columns_fill_id_url_and_metadata(tmp_path):
    path = tmp_path / "docs.tsv.gz"
    import gzip

    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("doc-7\tde\thttp://x\tEin Satz.\\tMit Tab.\n")
    config = ReaderConfig(tsv_columns="id,lang,url,text", tsv_text_encoding="plain")
    [doc] = read_documents(str(path), config, StepStats("read"))
    assert (doc.id, doc.url, doc.text, doc.metadata) == ("doc-7", "http://x", "Ein Satz.\tMit Tab.", {"lang": "de"})


def test_auto_decoding_keeps_plain_text_that_is_not_base64():
    assert decode_text(_b64("héllo wörld"), "auto") == "héllo wörld"
    assert decode_text("two words", "auto") == "two words"  # a space is not in the base64 alphabet
    assert decode_text("////", "auto") == "////"  # valid base64, but of bytes that are not UTF-8
    assert decode_text("////", "base64") is None



def test_auto_decoding_skips_long_base64_that_is_not_utf8():
    # Base64 of a Latin-1 page (a corrupt HPLT record) must not become a document made of base64 characters.
    latin1 = base64.b64encode("Café crème, déjà vu — à la carte. ".encode("cp1252") * 4).decode()
    assert len(latin1) >= 64 and decode_text(latin1, "auto") is None
    assert decode_text("Supercalifragilisticexpialidocious", "auto") == "Supercalifragilisticexpialidocious"
    assert decode_text("A" * 63, "auto") == "A" * 63  # too short to be sure, and not a multiple of 4


def test_large_plain_files_split_into_byte_ranges_that_cover_every_line_once(tmp_path):
    path = tmp_path / "docs.tsv"
    path.write_text("".join(f"http://e/{i}\t" + _b64(f"document number {i}") + "\n" for i in range(300)))
    config = ReaderConfig(unit_bytes=1024)
    units = plan_units([str(path)], config)
    assert len(units) > 3
    urls = [d.url for u in units for d in read_documents(u.path, config, StepStats("r"), u.start, u.end)]
    assert urls == [f"http://e/{i}" for i in range(300)]


def test_bad_tsv_settings_are_config_errors():
    with pytest.raises(ConfigError, match="tsv_columns"):
        ReaderConfig(tsv_columns="url,body").validate()
    with pytest.raises(ConfigError, match="tsv_text_encoding"):
        ReaderConfig(tsv_text_encoding="hex").validate()


def test_refine_reads_a_tsv_release(tmp_path):
    assert main(["refine", str(HPLT), "--output", str(tmp_path / "out"), "--preset", "c4", "--quiet"]) == 0
    steps = json.loads((tmp_path / "out" / "stats.json").read_text())["steps"]
    assert (steps[0]["name"], steps[0]["total"], steps[0]["kept"]) == ("read", 12, 12)


def test_empty_files_and_invalid_utf8_are_read_not_crashed_on(tmp_path):
    empty = tmp_path / "empty.tsv"
    empty.write_bytes(b"")
    stats = StepStats("read")
    assert list(read_documents(str(empty), ReaderConfig(), stats)) == [] and stats.total == 0
    broken = tmp_path / "broken.tsv"
    broken.write_bytes(b"http://a\t\xff\xfe bad bytes then text\n")
    [doc] = read_documents(str(broken), ReaderConfig(tsv_text_encoding="plain"), StepStats("read"))
    assert doc.text == "\ufffd\ufffd bad bytes then text"  # replaced, as the JSONL reader does, never a crash


@pytest.mark.parametrize("name", ["bom.tsv", "bom.tsv.gz"])
def test_a_byte_order_mark_is_not_part_of_the_first_record(tmp_path, name):
    import gzip

    data = "\ufeffhttp://a\tfirst text\nhttp://b\tsecond text\n".encode("utf-8")
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    whole = [d.url for d in read_documents(str(path), ReaderConfig(), StepStats("read"))]
    assert whole == ["http://a", "http://b"]
    if not name.endswith(".gz"):  # a byte range that starts at 0 reads the same lines
        assert [d.url for d in read_documents(str(path), ReaderConfig(), StepStats("read"), 0, 10)] == ["http://a"]
