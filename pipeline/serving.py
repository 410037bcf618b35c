"""The model as it is logged, registered and loaded: LightGBM text + JSON calibrator.

Nothing here unpickles: the booster is read from its text format and the calibrator is
plain JSON, so loading a registered model cannot execute code hidden in an artifact.
"""

from __future__ import annotations

import json
from pathlib import Path

import lightgbm as lgb
import mlflow.pyfunc
import numpy as np
import pandas as pd


def apply_calibrator(calibrator: dict, raw: np.ndarray) -> np.ndarray:
    """Map raw model scores to calibrated probabilities with a stored JSON calibrator."""
    raw = np.asarray(raw, dtype=float)
    if calibrator["method"] == "isotonic":
        return np.interp(raw, calibrator["x"], calibrator["y"])
    if calibrator["method"] == "sigmoid":
        return 1.0 / (1.0 + np.exp(calibrator["a"] * raw + calibrator["b"]))
    raise ValueError(f"unknown calibration method {calibrator['method']!r}")


def model_features(model: mlflow.pyfunc.PyFuncModel) -> list[str]:
    """The feature columns a loaded model was signed for, in its order."""
    return model.metadata.get_input_schema().input_names()


class CalibratedBooster(mlflow.pyfunc.PythonModel):
    """Calibrated risk score for a frame with the model's feature columns."""

    def load_context(self, context) -> None:
        self.booster = lgb.Booster(model_file=context.artifacts["booster"])
        self.calibrator = json.loads(Path(context.artifacts["calibrator"]).read_text())

    def predict(self, context, model_input: pd.DataFrame, params=None) -> np.ndarray:
        features = model_input[self.booster.feature_name()]
        return apply_calibrator(self.calibrator, self.booster.predict(features))
