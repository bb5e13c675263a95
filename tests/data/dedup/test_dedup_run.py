import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from refinedweb.cli import main
from refinedweb.data.dedup import build_stages, run_dedup
from refinedweb.data.dedup.url import normalise_url
from refinedweb.errors import ConfigError


def ids(output: dict[str, list[dict]]) -> dict[str, list[str]]:
    return {name: [r["id"] for r in rows] for name, rows in output.items()}


def test_exact_keeps_first_copy_and_names_it_in_rejects(tmp_path, pages, helpers):
    a = helpers.write_jsonl(tmp_path / "in" / "a.jsonl", [dict(pages[0], id="a0"), dict(pages[1], id="a1")])
    b = helpers.write_jsonl(tmp_path / "in" / "b.jsonl", [dict(pages[1], id="b0"), dict(pages[2], id="b1"),
                                                          dict(pages[0], id="b2")])
    stats = run_dedup([{"step": "exact"}], [b, a], tmp_path / "out", workers=1, rejects=True)
    assert ids(helpers.read_output(tmp_path / "out")) == {"a.jsonl.zst": ["a0", "a1"], "b.jsonl.zst": ["b1"]}
    assert stats[0]["total"] == 5 and stats[0]["kept"] == 3 and stats[0]["dropped"] == {"exact_duplicate": 2}
    rejects = helpers.read_zst(tmp_path / "out" / "rejects" / "exact" / "b.jsonl.zst")
    assert [(r["id"], r["kept_id"], r["reason"], r["step"]) for r in rejects] == [
        ("b0", "a1", "exact_duplicate", "exact"), ("b2", "a0", "exact_duplicate", "exact")]
    assert rejects[0]["text"] == pages[1]["text"]


def test_url_normalisation_rule():
    same = ["https://www.Example.com/a/?utm_source=x&b=2&a=1#top", "http://example.com:80/a?a=1&b=2"]
    assert normalise_url(same[0]) == normalise_url(same[1]) == "example.com/a?a=1&b=2"
    assert normalise_url("https://example.com/A") != normalise_url("https://example.com/a")
    assert normalise_url("http://example.com:8080/") == "example.com:8080"


def test_url_dedup_exempts_documents_without_url(tmp_path, helpers):
    path = helpers.write_jsonl(tmp_path / "in.jsonl", [
        {"id": "1", "url": "https://example.com/x", "text": "one"},
        {"id": "2", "url": "http://www.example.com/x/", "text": "two"},
        {"id": "3", "url": "", "text": "three"},
        {"id": "4", "text": "four"},
    ])
    stats = run_dedup([{"step": "url"}], [path], tmp_path / "out")
    assert ids(helpers.read_output(tmp_path / "out")) == {"in.jsonl.zst": ["1", "3", "4"]}
    assert stats[0]["counters"]["unkeyed"] == 2


def perturbed(text: str, every: int) -> str:
    words = text.split()
    return " ".join("CHANGED" if i % every == 0 else w for i, w in enumerate(words))


def test_minhash_removes_near_copies_and_keeps_distinct_pages(tmp_path, pages, helpers):
    originals = [dict(p, id=f"o{i}") for i, p in enumerate(pages[:20])]
    # one word in 60 replaced: 5-gram Jaccard about 0.85 for these pages, where 14 x 8 finds 98.5% of pairs
    copies = [{"id": f"c{i}", "url": "", "text": perturbed(p["text"], 60)} for i, p in enumerate(pages[:10])]
    path = helpers.write_jsonl(tmp_path / "in.jsonl", originals + copies)
    stats = run_dedup([{"step": "minhash", "preset": "fineweb"}], [path], tmp_path / "out", workers=1)
    kept = ids(helpers.read_output(tmp_path / "out"))["in.jsonl.zst"]
    assert [k for k in kept if k.startswith("o")] == [f"o{i}" for i in range(20)]  # no false removal
    missed = len([k for k in kept if k.startswith("c")])
    assert missed <= 1
    assert stats[0]["counters"]["clusters_of_2"] == 10 - missed  # each cluster: an original and its copy


def test_minhash_jaccard_check_and_refinedweb_preset(tmp_path, pages, helpers):
    copies = [{"id": f"c{i}", "text": perturbed(p["text"], 60)} for i, p in enumerate(pages[:5])]
    path = helpers.write_jsonl(tmp_path / "in.jsonl", [dict(p, id=f"o{i}") for i, p in enumerate(pages[:5])] + copies)
    loose = run_dedup([{"step": "minhash", "preset": "refinedweb"}], [path], tmp_path / "a")
    strict = run_dedup([{"step": "minhash", "preset": "refinedweb", "jaccard_threshold": 0.99}], [path],
                       tmp_path / "b")
    assert loose[0]["dropped"] == {"minhash_duplicate": 5}
    assert strict[0]["dropped"] == {} and strict[0]["counters"]["candidate_pairs_rejected"] == 5


def test_substring_removes_planted_paragraph_and_leaves_unique_text(tmp_path, pages, helpers):
    paragraph = " ".join(pages[30]["text"].split()[:80])
    tails = [" ".join(pages[20 + i]["text"].split()[:12]) for i in range(4)]
    docs = [{"id": f"d{i}", "text": f"{pages[i]['text']}\n\n{paragraph}\n\n{tails[i]}"} for i in range(4)]
    docs.append({"id": "unique", "text": pages[10]["text"]})
    path = helpers.write_jsonl(tmp_path / "in.jsonl", docs)
    stats = run_dedup([{"step": "substring", "min_tokens": 50}], [path], tmp_path / "out")
    out = {r["id"]: r["text"] for r in helpers.read_output(tmp_path / "out")["in.jsonl.zst"]}
    assert paragraph in out["d0"]  # the first occurrence stays
    for i in (1, 2, 3):
        assert paragraph not in out[f"d{i}"]
        assert out[f"d{i}"].startswith(pages[i]["text"]) and out[f"d{i}"].endswith(tails[i])
    assert out["unique"] == pages[10]["text"]
    assert stats[0]["counters"]["tokens_removed"] == 3 * 80


def test_substring_drops_documents_that_lose_too_much(tmp_path, pages, helpers):
    docs = [{"id": "first", "text": pages[0]["text"]}, {"id": "copy", "text": pages[0]["text"] + " tail"}]
    path = helpers.write_jsonl(tmp_path / "in.jsonl", docs)
    stats = run_dedup([{"step": "substring"}], [path], tmp_path / "out", rejects=True)
    assert ids(helpers.read_output(tmp_path / "out")) == {"in.jsonl.zst": ["first"]}
    assert stats[0]["dropped"] == {"substring_duplicate": 1}


def test_invalid_records_are_counted_not_silently_dropped(tmp_path, helpers):
    path = helpers.write_jsonl(tmp_path / "in.jsonl", [{"id": "1", "text": "a"}, "not json", {"id": "2"}, "[1]"])
    stats = run_dedup([{"step": "exact"}, {"step": "url"}], [path], tmp_path / "out")
    assert stats[0]["dropped"] == {"invalid_json": 2, "no_text": 1} and stats[0]["kept"] == 1
    assert stats[1]["total"] == 1
    for step in stats:
        assert step["kept"] + sum(step["dropped"].values()) == step["total"]


def test_parquet_input_without_ids(tmp_path, pages, helpers):
    table = pa.table({"text": [pages[0]["text"], pages[0]["text"], pages[1]["text"]], "url": ["u1", "u2", "u3"]})
    pq.write_table(table, tmp_path / "part.parquet")
    run_dedup([{"step": "exact"}], [str(tmp_path / "part.parquet")], tmp_path / "out", rejects=True)
    kept = helpers.read_output(tmp_path / "out")["part.jsonl.zst"]
    assert [r["url"] for r in kept] == ["u1", "u3"]
    rejected = helpers.read_zst(tmp_path / "out" / "rejects" / "exact" / "part.jsonl.zst")
    assert rejected[0]["url"] == "u2" and rejected[0]["kept_id"] == kept[0]["id"]


@pytest.mark.parametrize("specs,message", [
    ([], "non-empty"),
    ([{"step": "fuzzy"}], "unknown dedup step"),
    ([{"step": "minhash", "preset": "gopher"}], "preset"),
    ([{"step": "minhash", "bands": 0}], "bands"),
    ([{"step": "substring", "min_token": 50}], "unknown key dedup.substring.min_token"),
    ([{"step": "exact"}, {"step": "exact"}], "twice"),
])
def test_specs_are_validated_early(specs, message):
    with pytest.raises(ConfigError, match=message):
        build_stages(specs)


def test_two_inputs_with_one_base_name_are_refused(tmp_path, helpers):
    a = helpers.write_jsonl(tmp_path / "x" / "p.jsonl", [{"text": "a"}])
    b = helpers.write_jsonl(tmp_path / "y" / "p.jsonl", [{"text": "b"}])
    with pytest.raises(ConfigError, match="rename"):
        run_dedup([{"step": "exact"}], [a, b], tmp_path / "out")


def test_rerun_is_a_no_op_and_other_plans_are_refused(tmp_path, pages, helpers):
    path = helpers.write_jsonl(tmp_path / "in.jsonl", [pages[0], pages[0]])
    first = run_dedup([{"step": "exact"}], [path], tmp_path / "out")
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "out").rglob("*") if p.is_file()}
    assert run_dedup([{"step": "exact"}], [path], tmp_path / "out") == first
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "out").rglob("*") if p.is_file()} == before
    with pytest.raises(ConfigError, match="new --output"):
        run_dedup([{"step": "url"}], [path], tmp_path / "out")


def test_cli_writes_documents_and_stats(tmp_path, pages, helpers, capsys):
    path = helpers.write_jsonl(tmp_path / "in.jsonl", [dict(p, id=str(i)) for i, p in enumerate(pages[:3])] + [
        dict(pages[0], id="again")])
    code = main(["dedup", path, "--output", str(tmp_path / "out"), "--method", "exact", "--method", "minhash",
                 "--workers", "2", "--rejects"])
    assert code == 0
    steps = json.loads((tmp_path / "out" / "stats.json").read_text())["steps"]
    assert [s["name"] for s in steps] == ["exact", "minhash"]
    assert steps[0]["dropped"] == {"exact_duplicate": 1}
    assert (tmp_path / "out" / "rejects" / "exact" / "in.jsonl.zst").exists()
    assert main(["dedup", path, "--output", str(tmp_path / "o2"), "--workers", "0"]) == 2


def test_unreadable_file_fails_with_its_name_and_others_finish(tmp_path, pages, helpers, capsys):
    good = helpers.write_jsonl(tmp_path / "in" / "good.jsonl", [pages[0], pages[1]])
    raw = gzip.compress(b"".join(json.dumps(p).encode() + b"\n" for p in pages[:20]))
    (tmp_path / "in" / "broken.jsonl.gz").write_bytes(raw[: len(raw) // 2])  # truncated
    assert main(["dedup", str(tmp_path / "in"), "--output", str(tmp_path / "out"), "--method", "exact"]) == 1
    err = capsys.readouterr().err
    assert "broken" in err
    assert (tmp_path / "out" / ".dedup" / "00-exact" / "keys" / "markers" / "good.done.json").exists()
    assert good


def test_pipeline_configs_validate_their_dedup_list(tmp_path):
    from refinedweb.data.pipeline import load_pipeline

    good = tmp_path / "good.yaml"
    good.write_text("name: t\nsteps: []\ndedup:\n  - {step: exact}\n  - {step: minhash, preset: refinedweb}\n"
                    "  - {step: substring, min_tokens: 50}\n  - {step: url}\n")
    assert [s["step"] for s in load_pipeline(None, str(good), []).dedup] == ["exact", "minhash", "substring", "url"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: t\nsteps: []\ndedup:\n  - {step: minhash, bands: -1}\n")
    with pytest.raises(ConfigError, match="bands"):
        load_pipeline(None, str(bad), [])


def test_cli_refinedweb_preset_runs_its_three_stages(tmp_path, pages, helpers):
    path = helpers.write_jsonl(tmp_path / "in.jsonl", [dict(p, id=str(i)) for i, p in enumerate(pages[:4])])
    assert main(["dedup", path, "--output", str(tmp_path / "out"), "--preset", "refinedweb"]) == 0
    steps = json.loads((tmp_path / "out" / "stats.json").read_text())["steps"]
    assert [s["name"] for s in steps] == ["minhash", "substring", "url"]
    assert all(s["kept"] == 4 for s in steps)


def test_substring_across_shards_matches_one_shard(tmp_path, pages, helpers):
    paragraph = " ".join(pages[30]["text"].split()[:80])
    paths = []
    for f in range(3):
        docs = [{"id": f"{f}-{i}", "text": pages[3 * f + i]["text"]} for i in range(3)]
        docs.append({"id": f"{f}-p", "text": f"{pages[20 + f]['text']}\n\n{paragraph}"})
        paths.append(helpers.write_jsonl(tmp_path / "in" / f"part{f}.jsonl", docs))
    one = run_dedup([{"step": "substring"}], paths, tmp_path / "one")
    many = run_dedup([{"step": "substring", "shard_tokens": 1000}], paths, tmp_path / "many")
    assert one[0]["counters"]["shards"] == 1 and many[0]["counters"]["shards"] == 3
    assert many[0]["counters"]["tokens_removed_across_shards"] == 2 * 80
    assert helpers.output_bytes(tmp_path / "many") == helpers.output_bytes(tmp_path / "one")
    texts = {r["id"]: r["text"] for rows in helpers.read_output(tmp_path / "many").values() for r in rows}
    assert paragraph in texts["0-p"] and paragraph not in texts["1-p"] and paragraph not in texts["2-p"]


def test_every_preset_dedup_list_is_valid():
    from refinedweb.config import load_yaml
    from refinedweb.data.pipeline import PRESETS, preset_path

    lists = [load_yaml(preset_path(preset)).get("dedup") for preset in PRESETS]
    assert any(lists)
    for specs in filter(None, lists):
        assert len(build_stages(specs)) == len(specs)


def test_empty_inputs_give_empty_outputs(tmp_path, helpers):
    specs = [{"step": "exact"}, {"step": "minhash"}, {"step": "substring"}, {"step": "url"}]
    assert [s["total"] for s in run_dedup(specs, [], tmp_path / "none")] == [0, 0, 0, 0]
    empty = helpers.write_jsonl(tmp_path / "empty.jsonl", [])
    assert [s["kept"] for s in run_dedup(specs, [empty], tmp_path / "out")] == [0, 0, 0, 0]
    assert helpers.read_output(tmp_path / "out") == {"empty.jsonl.zst": []}
