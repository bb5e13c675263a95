import json

from hypothesis import given, settings, strategies as st

from refinedweb.data.readers import ReaderConfig, read_documents
from refinedweb.data.writers import WriterConfig, write_records
from refinedweb.stats import StepStats


def test_jsonl_keeps_ids_and_counts_bad_lines(tmp_path):
    path = tmp_path / "docs.jsonl"
    path.write_text(
        '{"id": "a-1", "text": "hello", "url": "http://x"}\n'
        "not json\n"
        '{"text": ""}\n'
        '{"text": "no id here", "lang": "en"}\n'
    )
    stats = StepStats("read")
    docs = list(read_documents(str(path), ReaderConfig(), stats))
    assert [d.id for d in docs][0] == "a-1" and docs[0].url == "http://x"
    assert docs[1].metadata == {"lang": "en"} and len(docs[1].id) == 24
    assert stats.dropped == {"invalid_json": 1, "no_text": 1} and stats.consistent()


@settings(max_examples=30, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=40).filter(str.strip), min_size=1, max_size=40), st.integers(64, 400))
def test_byte_ranges_cover_every_line_once(tmp_path_factory, texts, unit):
    path = tmp_path_factory.mktemp("j") / "docs.jsonl"
    path.write_text("".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(texts)))
    size = path.stat().st_size
    seen = []
    for start in range(0, size, unit):
        seen += [d.id for d in read_documents(str(path), ReaderConfig(), StepStats("r"), start, min(start + unit, size))]
    assert seen == [str(i) for i in range(len(texts))]


def test_parquet_round_trip(tmp_path):
    records = [{"id": f"d{i}", "url": f"http://e/{i}", "text": f"text {i}", "metadata": {"k": i}} for i in range(5)]
    path = tmp_path / "docs.parquet"
    write_records(path, records, WriterConfig(format="parquet"))
    docs = list(read_documents(str(path)))
    assert [d.to_record() for d in docs] == records


def test_compressed_jsonl_round_trip(tmp_path):
    records = [{"id": "\u4e2d", "url": "", "text": "\u4e2d\u6587 text", "metadata": {}}]
    for fmt in ("jsonl.zst", "jsonl.gz"):
        path = tmp_path / f"d.{fmt}"
        write_records(path, records, WriterConfig(format=fmt))
        assert [d.to_record() for d in read_documents(str(path))] == records


def test_jsonl_with_a_byte_order_mark_keeps_its_first_record(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"id": "a", "text": "first"}\n{"id": "b", "text": "second"}\n')
    stats = StepStats("read")
    assert [d.id for d in read_documents(str(path), ReaderConfig(), stats)] == ["a", "b"]
    assert stats.dropped == {} and stats.consistent()
