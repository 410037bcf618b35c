"""Models-from-code entry point that MLflow runs when it loads a bgrisk model."""

from mlflow.models import set_model

from pipeline.serving import CalibratedBooster

set_model(CalibratedBooster())
