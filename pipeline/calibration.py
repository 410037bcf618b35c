"""Calibration fitted on its own snapshots and stored as plain JSON."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator

from pipeline.modeling import BoosterClassifier


def fit_calibrator(model: BoosterClassifier, calib: pd.DataFrame, method: str) -> dict:
    """Fit isotonic or sigmoid calibration of the frozen model; return it as JSON data."""
    features = model.booster.feature_name()
    calibrated = CalibratedClassifierCV(FrozenEstimator(model), method=method)
    calibrated.fit(calib[features], calib["label"])
    fitted = calibrated.calibrated_classifiers_[0].calibrators[0]
    if method == "isotonic":
        return {
            "method": "isotonic",
            "x": np.asarray(fitted.X_thresholds_).tolist(),
            "y": np.asarray(fitted.y_thresholds_).tolist(),
        }
    return {"method": "sigmoid", "a": float(fitted.a_), "b": float(fitted.b_)}
