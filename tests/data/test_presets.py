"""Every shipped preset loads, and its steps build with their options."""

import pytest

from refinedweb.data.pipeline import PRESETS, PRESETS_DIR, load_pipeline
from refinedweb.errors import ConfigError
from refinedweb.registry import step_class


def test_every_preset_file_is_listed():
    assert sorted(p.stem for p in PRESETS_DIR.glob("*.yaml")) == sorted(PRESETS)


@pytest.mark.parametrize("name", PRESETS)
def test_preset_loads(name):
    for missing in ("langid", "extract"):
        try:
            step_class(missing)
        except ConfigError:
            pytest.skip(f"the {missing!r} step is not on this branch yet (lead's work); remove this skip when it is")
    config = load_pipeline(name, None, [])
    assert config.name == name
    assert config.steps and config.dedup == []


def test_fineweb_keeps_c4_without_terminal_punctuation_and_pii_last():
    import yaml

    data = yaml.safe_load((PRESETS_DIR / "fineweb.yaml").read_text())
    names = [s["step"] for s in data["steps"]]
    assert names[-4:] == ["gopher_quality", "c4_quality", "fineweb_quality", "pii"]
    assert data["steps"][names.index("c4_quality")]["filter_no_terminal_punct"] is False
