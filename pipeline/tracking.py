"""Where MLflow keeps runs and models, and the names bgrisk uses there."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import mlflow

from pipeline.config import Entity

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
LOCAL_ARTIFACT_ROOT = Path("mlartifacts")
TRAINING_EXPERIMENT = "bgrisk-training"
SCORING_EXPERIMENT = "bgrisk-scoring"


def registered_model_name(entity: Entity) -> str:
    return f"bgrisk-{entity}"


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI", DEFAULT_TRACKING_URI)


def use_experiment(name: str) -> str:
    """Point MLflow at the configured store and return the experiment's id, creating it.

    With the default local store, artifacts go to ``mlartifacts/`` beside ``mlflow.db``;
    a remote server decides its own artifact location.
    """
    mlflow.set_tracking_uri(tracking_uri())
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    location = None
    if tracking_uri().startswith("sqlite:"):
        location = (LOCAL_ARTIFACT_ROOT / name).resolve().as_uri()
    return mlflow.create_experiment(name, artifact_location=location)


def git_commit() -> str:
    """The commit the working tree is at, marked ``-dirty`` when it has local changes."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit}-dirty" if dirty else commit
