import json

from refinedweb.cli import main


def test_demo_refines_the_shipped_sample(tmp_path, capsys):
    assert main(["demo", "--output", str(tmp_path), "--refine-only", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "refinedweb preset" in out and "report:" in out
    stats = json.loads((tmp_path / "refined" / "stats.json").read_text())
    names = [s["name"] for s in stats["steps"]]
    assert names[:3] == ["read", "url_filter", "extract"] and "minhash" in names
    assert all(s["kept"] + sum(s["dropped"].values()) == s["total"] for s in stats["steps"])
    assert stats["steps"][-1]["kept"] > 10  # real English pages survive
