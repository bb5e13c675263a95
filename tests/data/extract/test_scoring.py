"""scoring.py: the shipped block model loads, matches the features, and refuses a model of other features."""

import json
from importlib import resources

import numpy as np
import pytest

from refinedweb.data.extract.features import FEATURE_NAMES
from refinedweb.data.extract.scoring import MODEL_RESOURCE, STAGE2_NAMES, BlockModel, load_model
from refinedweb.errors import FatalError


def test_shipped_model_loads_and_predicts():
    model = load_model()
    assert model.w1.shape == (len(FEATURE_NAMES),)
    assert model.w2.shape == (len(FEATURE_NAMES) + len(STAGE2_NAMES),)
    assert 0 < model.threshold < 1
    x = np.random.default_rng(0).normal(size=(7, len(FEATURE_NAMES)))
    p = model.predict(x)
    assert p.shape == (7,) and np.all((p >= 0) & (p <= 1))
    assert np.array_equal(model.keep(x), p >= model.threshold)
    assert model.predict(np.zeros((0, len(FEATURE_NAMES)))).shape == (0,)


def test_folded_weights_equal_the_standardised_two_stage_model():
    model = load_model()
    x = np.random.default_rng(1).normal(size=(11, len(FEATURE_NAMES)))
    xs = model.standardize(x)
    assert np.allclose(model.stage2(xs, model.stage1(xs)), model.predict(x))


def test_model_with_other_features_is_refused():
    data = json.loads(resources.files("refinedweb.resources").joinpath("extract", MODEL_RESOURCE).read_text())
    data["feature_names"] = data["feature_names"][:-1] + ["something_else"]
    with pytest.raises(FatalError, match="retrain"):
        BlockModel.from_dict(data)
    with pytest.raises(FatalError):
        BlockModel.from_dict({"format": "other"})


def test_c_forward_pass_without_a_hidden_layer():
    shipped = load_model()
    model = BlockModel(shipped.mean, shipped.scale, shipped.w1, shipped.b1, shipped.w2, shipped.b2, shipped.threshold)
    x = np.random.default_rng(2).normal(size=(9, len(FEATURE_NAMES)))
    xs = model.standardize(x)
    assert np.allclose(model.stage2(xs, model.stage1(xs)), model.predict(x))
    assert not np.allclose(model.predict(x), shipped.predict(x))  # the hidden layer was really left out
