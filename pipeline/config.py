"""Typed, frozen configuration loaded from ``params.yaml``.

One loader for every stage, so a bad or missing key fails once, with its dotted name.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveFloat,
    PositiveInt,
    ValidationError,
    model_validator,
)

from pipeline.errors import InputError

Entity = Literal["account", "intermediary"]
ENTITIES: tuple[Entity, ...] = ("account", "intermediary")
# File stem of each entity type's features and scores (as in dvc.yaml's foreach).
TABLE_NAMES: dict[Entity, str] = {"account": "accounts", "intermediary": "intermediaries"}


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
    raw_input: Path
    paths: Paths


Share = Annotated[float, Field(ge=0, le=1)]
Rate = Annotated[float, Field(gt=0)]


class Range(_Frozen):
    """An inclusive range ``[low, high]`` that a generator draws from uniformly."""

    low: float
    high: float

    @model_validator(mode="before")
    @classmethod
    def _from_pair(cls, value):
        if isinstance(value, list | tuple):
            if len(value) != 2:
                raise ValueError("a range is written [low, high]")
            return {"low": value[0], "high": value[1]}
        return value

    def uniform(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, size)

    def integers(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.integers(int(self.low), int(self.high) + 1, size)

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.low > self.high:
            raise ValueError(f"low {self.low} is above high {self.high}")
        return self


class PopulationConfig(_Frozen):
    intermediaries_per_1000_accounts: Rate
    business_share: Share
    new_account_share: Share
    txns_per_account_month: Rate
    logins_per_account_month: Rate
    family_size: Range
    family_share: Share
    shared_ip_share: Share
    shared_terminal_share: Share
    loan_applicant_share: Share
    broker_referral_share: Share
    fee_charging_broker_share: Share
    broker_service_fee: Range
    broker_company_account_share: Share
    default_rate: Share
    ecommerce_seller_share: Share
    payroll_share: Share
    year_end_spending_share: Share
    circle_share: Share
    circle_size: Range
    circle_transfers_per_month: Rate


class InsurerConfig(_Frozen):
    customer_share: Share
    surrender_rate_per_year: Share
    complaint_rate_per_year: Share
    assisting_agent_share: Share
    assisted_complaints_per_year: Range
    premium_collecting_agent_share: Share


class MuleConfig(_Frozen):
    account_share: Share
    gang_size: Range
    devices_per_gang: Range
    payments_per_day: Range
    forward_hours: Rate
    night_share: Share


class LoanBrokerConfig(_Frozen):
    illegal_share: Share
    clients: Range
    fee_rate: Range
    phone_linked_collector_share: Share
    client_default_rate: Share


class SurrenderAgentConfig(_Frozen):
    illegal_share: Share
    recruits: Range
    refund_forward_share: Range


class DebtReliefConfig(_Frozen):
    illegal_share: Share
    clients: Range
    monthly_fee: Range


class CollectionConfig(_Frozen):
    """Each agency's conduct is drawn from the range of its kind; the ranges overlap."""

    improper_share: Share
    debtors_per_agency: Range
    lawful_calls_per_day: Range
    improper_calls_per_day: Range
    lawful_night_share: Range
    improper_night_share: Range
    lawful_third_party_share: Range
    improper_third_party_share: Range


class DriftConfig(_Frozen):
    """How the gangs adapt by the last month, relative to the first."""

    fee_rate_factor: Rate
    mule_forward_hours_factor: Rate
    mule_devices_factor: Rate
    mule_payments_factor: Rate


class LabelConfig(_Frozen):
    confirm_rate: Share
    delay_days: Range
    false_label_rate: Share


class SimulateConfig(_Frozen):
    accounts: PositiveInt
    months: PositiveInt
    population: PopulationConfig
    insurer: InsurerConfig
    mules: MuleConfig
    loan_brokers: LoanBrokerConfig
    surrender_agents: SurrenderAgentConfig
    debt_relief: DebtReliefConfig
    collection: CollectionConfig
    drift: DriftConfig
    labels: LabelConfig


class FeaturesConfig(_Frozen):
    first_snapshot_after_days: PositiveInt
    label_horizon_days: PositiveInt
    # What DuckDB may hold in memory before it spills to disk.
    duckdb_memory_gib: PositiveFloat = 4.0
    # Hash partitions of the accounts when features are extracted on Dask (--scheduler).
    partitions: PositiveInt = 8


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
    # Share of negative rows kept for speed; the prior is corrected before calibration.
    negative_sample_rate: float = Field(gt=0, le=1)
    # Per entity type, features whose risk can only rise (1) or only fall (-1) with them.
    monotone: dict[Entity, dict[str, Literal[-1, 1]]]
    # Feature families left out of training, for ablations ("what do the graph features add?").
    exclude_families: list[str] = []


class BaselineConfig(_Frozen):
    logistic_c: float = Field(gt=0)
    rules_prior_strength: float = Field(ge=0)


class CalibrateConfig(_Frozen):
    method: Literal["isotonic", "sigmoid"]


class EvaluateConfig(_Frozen):
    alert_budget: dict[Entity, PositiveInt]
    calibration_bins: PositiveInt  # equal-mass bins of the ECE and the reliability curve


class PromoteConfig(_Frozen):
    min_pr_auc_lift: float = Field(gt=0)  # PR-AUC floor, as a multiple of the base rate
    min_recall_at_budget: float = Field(ge=0, le=1)
    max_ece: float = Field(gt=0, le=1)
    # How much PR-AUC a candidate may lose against the champion on the same test rows.
    max_pr_auc_regression: float = Field(ge=0, le=1)


class RiskBands(_Frozen):
    """Calibrated-score floors of the bands below ``alert`` (the top, sized to the budget)."""

    high: Share
    medium: Share


class ScoreConfig(_Frozen):
    alias: str
    partitions: PositiveInt  # entities are hashed into this many scoring tasks
    bands: RiskBands


class Params(_Frozen):
    base: BaseConfig
    simulate: SimulateConfig
    features: FeaturesConfig
    split: SplitConfig
    train: TrainConfig
    baselines: BaselineConfig
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


def deep_update(base: dict, changes: dict) -> dict:
    """Raw params ``base`` with ``changes`` laid over them, nested sections merged key by key."""
    out = dict(base)
    for key, value in changes.items():
        out[key] = deep_update(base[key], value) if isinstance(value, dict) else value
    return out
