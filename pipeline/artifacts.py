"""Where each stage's outputs live, derived from ``base.paths`` (written once, in params)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.config import TABLE_NAMES, Entity, Params


@dataclass(frozen=True)
class EntityArtifacts:
    features: Path
    models: Path
    reports: Path

    @classmethod
    def of(cls, params: Params, entity: Entity) -> EntityArtifacts:
        paths = params.base.paths
        return cls(
            features=paths.features / f"{TABLE_NAMES[entity]}.parquet",
            models=paths.models / entity,
            reports=paths.reports / entity,
        )

    @property
    def booster(self) -> Path:
        return self.models / "booster.txt"

    @property
    def run(self) -> Path:
        return self.models / "run.json"

    @property
    def baselines(self) -> Path:
        return self.models / "baselines.json"

    @property
    def calibrator(self) -> Path:
        return self.models / "calibrator.json"

    @property
    def reference(self) -> Path:
        """Training distribution of every feature and of the score, for drift."""
        return self.models / "reference.json"

    @property
    def logged_model(self) -> Path:
        return self.models / "logged_model.json"

    @property
    def promotion(self) -> Path:
        return self.models / "promotion.json"

    @property
    def model_card_md(self) -> Path:
        return self.models / "model_card.md"

    @property
    def model_card_html(self) -> Path:
        return self.models / "model_card.html"

    @property
    def metrics(self) -> Path:
        return self.reports / "metrics.json"

    @property
    def curves(self) -> Path:
        """Points of the curves DVC plots (precision-recall, ROC, reliability), as CSV."""
        return self.reports / "curves"

    @property
    def plots(self) -> Path:
        return self.reports / "plots"
