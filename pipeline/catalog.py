"""The feature catalog (``features/catalog.yaml``) and the SQL that computes each family."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

import yaml

from pipeline.config import Entity


@dataclass(frozen=True)
class Family:
    name: str
    entity: Entity
    requires: tuple[str, ...]
    descriptions: dict[str, str]
    # "sql": features/<name>.sql; "graph": computed by features/graph.py.
    engine: Literal["sql", "graph"] = "sql"
    # Columns carried alongside the features for investigators, never shown to the model.
    annotations: tuple[str, ...] = ()
    # Shared tables it reads (features/_<name>.sql).
    uses: tuple[str, ...] = ()
    # The typology its features point to when they explain a score (none: profile, graph).
    points_to: str | None = None
    # Its joins build their hash tables on its aggregates, not on the entity rows
    # (features/catalog.yaml, featurize.py).
    hash_aggregates: bool = False

    @property
    def features(self) -> list[str]:
        return list(self.descriptions)

    def sql(self) -> str:
        return library_text(f"{self.name}.sql")


def library_text(name: str) -> str:
    """A file of the feature library (the `features` package), as text."""
    return resources.files("features").joinpath(name).read_text(encoding="utf-8")


@cache
def load_catalog() -> dict[str, Family]:
    raw = yaml.safe_load(library_text("catalog.yaml"))["families"]
    return {
        name: Family(
            name=name,
            entity=spec["entity"],
            requires=tuple(spec["requires"]),
            descriptions=dict(spec["features"]),
            engine=spec.get("engine", "sql"),
            annotations=tuple(spec.get("annotations", ())),
            uses=tuple(spec.get("uses", ())),
            points_to=spec.get("points_to"),
            hash_aggregates=spec.get("hash_aggregates", False),
        )
        for name, spec in raw.items()
    }


def views_sql() -> str:
    return library_text("_views.sql")


def shared_table_sql(name: str) -> str:
    return library_text(f"_{name}.sql")


def families_for(entity: Entity) -> list[Family]:
    return [f for f in load_catalog().values() if f.entity == entity]
