"""Every shipped preset loads, and its steps build with their options."""

import pytest

from refinedweb.data.pipeline import PRESETS, PRESETS_DIR, load_pipeline


def test_every_preset_file_is_listed():
    assert sorted(p.stem for p in PRESETS_DIR.glob("*.yaml")) == sorted(PRESETS)


@pytest.mark.parametrize("name", PRESETS)
def test_preset_loads(name):
    config = load_pipeline(name, None, [])
    assert config.name == name
    assert [s["step"] for s in config.steps][:1] in (["url_filter"], ["extract"])
    assert config.dedup, "every preset names its dedup stages"


def test_fineweb_keeps_c4_without_terminal_punctuation_and_pii_last():
    import yaml

    data = yaml.safe_load((PRESETS_DIR / "fineweb.yaml").read_text())
    names = [s["step"] for s in data["steps"]]
    assert names[-4:] == ["gopher_quality", "c4_quality", "fineweb_quality", "pii"]
    assert data["steps"][names.index("c4_quality")]["filter_no_terminal_punct"] is False
