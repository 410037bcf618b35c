"""Typed, frozen configuration loaded from ``params.yaml``.

One loader for every stage, so a bad or missing key fails once, with its dotted name.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError

from pipeline.errors import InputError

Entity = Literal["account", "intermediary"]
ENTITIES: tuple[Entity, ...] = ("account", "intermediary")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Paths(_Frozen):
    raw: Path
    clean: Path
    features: Path
    models: Path
    reports: Path
    scores: Path


class BaseConfig(_Frozen):
    seed: int
    start_date: dt.date
    paths: Paths


class SimulateConfig(_Frozen):
    accounts: PositiveInt
    months: PositiveInt
    intermediaries_per_1000_accounts: float = Field(gt=0)
    business_share: float = Field(ge=0, le=1)
    new_account_share: float = Field(ge=0, le=1)
    txns_per_account_month: float = Field(gt=0)
    logins_per_account_month: float = Field(gt=0)
    family_device_share: float = Field(ge=0, le=1)
    loan_applicant_share: float = Field(ge=0, le=1)
    honest_default_rate: float = Field(ge=0, le=1)
    mule_account_share: float = Field(ge=0, le=1)
    mule_gang_size: tuple[int, int]
    ecommerce_seller_share: float = Field(ge=0, le=1)
    illegal_broker_share: float = Field(ge=0, le=1)
    broker_clients: tuple[int, int]
    broker_fee_rate: tuple[float, float]
    broker_client_default_rate: float = Field(ge=0, le=1)
    label_confirm_rate: float = Field(ge=0, le=1)
    label_delay_days: tuple[int, int]
    false_label_rate: float = Field(ge=0, le=1)


class FeaturesConfig(_Frozen):
    first_snapshot_after_days: PositiveInt
    label_horizon_days: PositiveInt


class SplitConfig(_Frozen):
    valid_snapshots: PositiveInt
    calib_snapshots: PositiveInt
    test_snapshots: PositiveInt


class TrainConfig(_Frozen):
    num_leaves: PositiveInt
    learning_rate: float = Field(gt=0)
    n_estimators: PositiveInt
    min_child_samples: PositiveInt
    subsample: float = Field(gt=0, le=1)
    colsample_bytree: float = Field(gt=0, le=1)
    reg_lambda: float = Field(ge=0)
    early_stopping_rounds: PositiveInt
    num_threads: PositiveInt


class CalibrateConfig(_Frozen):
    method: Literal["isotonic", "sigmoid"]


class EvaluateConfig(_Frozen):
    alert_budget: dict[Entity, PositiveInt]


class PromoteConfig(_Frozen):
    min_pr_auc_lift: float = Field(gt=0)
    min_recall_at_budget: float = Field(ge=0, le=1)


class ScoreConfig(_Frozen):
    alias: str


class Params(_Frozen):
    base: BaseConfig
    simulate: SimulateConfig
    features: FeaturesConfig
    split: SplitConfig
    train: TrainConfig
    calibrate: CalibrateConfig
    evaluate: EvaluateConfig
    promote: PromoteConfig
    score: ScoreConfig


def load_params(path: Path) -> Params:
    """Read and check ``params.yaml``; errors name the offending dotted key."""
    if not path.is_file():
        raise InputError(f"parameters file not found: {path}")
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    try:
        return Params.model_validate(raw)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors()
        )
        raise InputError(f"{path}: {problems}") from None
