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


def booster_probability(
    booster: lgb.Booster, frame: pd.DataFrame, log_odds_offset: float
) -> np.ndarray:
    """The booster's probability, with the prior restored when negatives were subsampled.

    Keeping a share ``r`` of the negatives multiplies the odds by ``1 / r``; adding
    ``log(r)`` to the log-odds undoes it.
    """
    log_odds = booster.predict(frame[booster.feature_name()], raw_score=True)
    return 1.0 / (1.0 + np.exp(-(log_odds + log_odds_offset)))


def apply_calibrator(calibrator: dict, raw: np.ndarray) -> np.ndarray:
    """Map the booster's probabilities to calibrated ones with a stored JSON calibrator."""
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
        self.load_artifacts(context.artifacts)

    def load_artifacts(self, artifacts: dict[str, str]) -> CalibratedBooster:
        """Read the booster's text model and the JSON calibrator (no unpickling)."""
        self.booster = lgb.Booster(model_file=artifacts["booster"])
        self.calibrator = json.loads(Path(artifacts["calibrator"]).read_text())
        # Models logged before drift monitoring carry no reference.
        reference = artifacts.get("reference")
        self.reference = json.loads(Path(reference).read_text()) if reference else None
        return self

    def uncalibrated(self, model_input: pd.DataFrame) -> np.ndarray:
        return booster_probability(self.booster, model_input, self.calibrator["log_odds_offset"])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> np.ndarray:
        return apply_calibrator(self.calibrator, self.uncalibrated(model_input))
