"""Calibration fitted on its own snapshots and stored as plain JSON."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator

from pipeline.modeling import BoosterClassifier


def fit_calibrator(model: BoosterClassifier, calib: pd.DataFrame, method: str) -> dict:
    """Fit isotonic or sigmoid calibration of the frozen model; return it as JSON data.

    The JSON carries the model's log-odds offset too, so it holds everything needed to go
    from the booster's raw output to a calibrated probability.
    """
    features = model.booster.feature_name()
    calibrated = CalibratedClassifierCV(FrozenEstimator(model), method=method)
    calibrated.fit(calib[features], calib["label"])
    fitted = calibrated.calibrated_classifiers_[0].calibrators[0]
    stored = {"method": method, "log_odds_offset": model.log_odds_offset}
    if method == "isotonic":
        return stored | {
            "x": np.asarray(fitted.X_thresholds_).tolist(),
            "y": np.asarray(fitted.y_thresholds_).tolist(),
        }
    return stored | {"a": float(fitted.a_), "b": float(fitted.b_)}
