"""Where MLflow keeps runs and models, and the names bgrisk uses there."""

from __future__ import annotations

import hashlib
import os
import subprocess
from functools import cached_property
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.data.pandas_dataset import PandasDataset
from mlflow.models import infer_signature
from mlflow.types import ColSpec, Schema
from pydantic import BaseModel

from pipeline.config import Entity

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
LOCAL_ARTIFACT_ROOT = Path("mlartifacts")
TRAINING_EXPERIMENT = "bgrisk-training"
SCORING_EXPERIMENT = "bgrisk-scoring"
SCHEMA_SAMPLE_ROWS = 1000


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


def params_hash(params: BaseModel) -> str:
    """A short fingerprint of every parameter a run was made with."""
    return hashlib.sha256(params.model_dump_json().encode()).hexdigest()[:16]


def content_digest(frame: pd.DataFrame) -> str:
    """A digest of every value in ``frame`` (MLflow's own looks at the first rows only)."""
    row_hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.sha256(row_hashes.tobytes()).hexdigest()[:16]


class _SplitDataset(PandasDataset):
    """MLflow's pandas dataset with its schema inferred by column: MLflow's own inference
    tests every value in Python for missing ones, minutes at a million accounts."""

    @cached_property
    def schema(self) -> Schema:
        specs = []
        for name, column in self.df.items():
            # The type from a few of its values (a column has one dtype), whether it may be
            # missing from all of them, vectorized.
            present = column.dropna()
            sample = (present if len(present) else column).head(SCHEMA_SAMPLE_ROWS)
            [typed] = infer_signature(sample.to_frame()).inputs.inputs
            specs.append(ColSpec(typed.type, name, required=len(present) == len(column)))
        return Schema(specs)


def log_split(frame: pd.DataFrame, *, entity: Entity, split: str, source: Path) -> None:
    """Log the rows a stage used as an MLflow dataset input: its digest, schema and source."""
    dataset = _SplitDataset(
        # Float labels keep MLflow's schema inference from warning about integer columns.
        frame.astype({"label": "float64"}),
        source=_local_source(source),
        name=f"{entity}-{split}",
        targets="label",
        digest=content_digest(frame),
    )
    mlflow.log_input(dataset, context=split)


def _local_source(path: Path) -> mlflow.data.DatasetSource:
    # MLflow registers its local-file source twice and warns on every plain path it is given.
    local = next(
        source
        for source in mlflow.data.get_registered_sources()
        if source.__name__ == "LocalArtifactDatasetSource"
    )
    return local(str(path.resolve()))
