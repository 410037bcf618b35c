import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator

from pipeline.calibration import fit_calibrator
from pipeline.modeling import BoosterClassifier
from pipeline.serving import apply_calibrator


@pytest.fixture(scope="module")
def booster_and_rows():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 3))
    y = (rng.random(4000) < 1 / (1 + np.exp(-(2 * x[:, 0] - 3)))).astype(int)
    frame = pd.DataFrame(x, columns=["f0", "f1", "f2"]).assign(label=y)
    booster = lgb.train(
        {"objective": "binary", "verbose": -1, "num_leaves": 7, "seed": 0, "deterministic": True},
        lgb.Dataset(frame.iloc[:2000][["f0", "f1", "f2"]], frame.iloc[:2000]["label"]),
        num_boost_round=30,
    )
    return booster, frame.iloc[2000:]


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_json_calibrator_reproduces_scikit_learn(method, booster_and_rows):
    booster, calib = booster_and_rows
    model = BoosterClassifier(booster)
    calibrator = fit_calibrator(model, calib, method)
    reference = CalibratedClassifierCV(FrozenEstimator(model), method=method).fit(
        calib[["f0", "f1", "f2"]], calib["label"]
    )
    ours = apply_calibrator(calibrator, booster.predict(calib[["f0", "f1", "f2"]]))
    np.testing.assert_allclose(ours, reference.predict_proba(calib)[:, 1], atol=1e-9)
    assert ours.min() >= 0 and ours.max() <= 1


def test_isotonic_calibration_matches_observed_rates(booster_and_rows):
    booster, calib = booster_and_rows
    calibrator = fit_calibrator(BoosterClassifier(booster), calib, "isotonic")
    calibrated = apply_calibrator(calibrator, booster.predict(calib[["f0", "f1", "f2"]]))
    # Isotonic regression preserves the mean on the rows it was fitted on.
    assert calibrated.mean() == pytest.approx(calib["label"].mean(), abs=1e-9)


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown calibration method"):
        apply_calibrator({"method": "beta"}, np.array([0.5]))
