"""Contract checks and type coercion of raw tables; every problem is collected in one pass."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.contract import ENTITY_TABLES, TABLES, Column, Table
from pipeline.errors import InputError
from pipeline.pseudonymize import pseudonymize

MAX_EXAMPLES = 5
_TRUE = {"true", "t", "1", "yes", "y"}
_FALSE = {"false", "f", "0", "no", "n"}


@dataclass(frozen=True)
class Problem:
    table: str
    column: str
    rule: str
    rows: int
    examples: tuple[str, ...]

    def __str__(self) -> str:
        return (
            f"{self.table}.{self.column}: {self.rule} ({self.rows} rows; e.g. "
            f"{', '.join(self.examples) or '-'})"
        )


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    row_counts: dict[str, int] = field(default_factory=dict)

    def flag(self, table: Table, frame: pd.DataFrame, column: str, rule: str, bad) -> None:
        """Record a rule broken by the rows where ``bad`` is true, naming a few of them."""
        bad = np.asarray(bad, dtype=bool)
        if not bad.any():
            return
        # Rows are named by their key, or by their first column in tables without a key.
        named_by = table.key or table.columns[0].name
        ids = frame.loc[bad, named_by if named_by in frame else column]
        ids = ids.astype(str).head(MAX_EXAMPLES)
        self.problems.append(Problem(table.name, column, rule, int(bad.sum()), tuple(ids)))


def read_raw(raw_dir: Path) -> dict[str, pd.DataFrame]:
    """Read each contract table from ``NAME.parquet``, ``NAME.csv`` or a directory ``NAME/``."""
    if not raw_dir.is_dir():
        raise InputError(f"raw data directory not found: {raw_dir}")
    frames = {}
    for name in TABLES:
        for candidate in (raw_dir / f"{name}.parquet", raw_dir / f"{name}.csv", raw_dir / name):
            if candidate.exists():
                frames[name] = _read_table(candidate)
                break
    return frames


def _read_table(path: Path) -> pd.DataFrame:
    files = sorted(path.glob("*.parquet")) + sorted(path.glob("*.csv")) if path.is_dir() else [path]
    parts = [
        pd.read_parquet(f)
        if f.suffix == ".parquet"
        else pd.read_csv(f, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig")
        for f in files
    ]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def validate_tables(raw: dict[str, pd.DataFrame]) -> tuple[dict[str, pd.DataFrame], Report]:
    """Coerce every table to the contract's types and collect everything that breaks it."""
    report = Report()
    clean: dict[str, pd.DataFrame] = {}
    for table in TABLES.values():
        if table.name not in raw:
            if table.required:
                report.problems.append(Problem(table.name, "*", "required table missing", 0, ()))
            else:
                report.warnings.append(
                    f"optional table {table.name} absent: its features are skipped"
                )
            continue
        clean[table.name] = _check_table(table, raw[table.name], report)
    _check_references(clean, report)
    return clean, report


def _check_table(table: Table, frame: pd.DataFrame, report: Report) -> pd.DataFrame:
    extra = sorted(set(frame.columns) - set(table.column_names))
    if extra:
        report.warnings.append(f"{table.name}: unknown columns ignored: {', '.join(extra)}")
    coerced = {}
    for column in table.columns:
        if column.name not in frame:
            if not column.optional:
                report.problems.append(
                    Problem(table.name, column.name, "required column missing", len(frame), ())
                )
            continue
        coerced[column.name] = _coerce(table, frame, column, report)
    out = pd.DataFrame(coerced, index=frame.index)
    for column in table.columns:
        if column.name in out:
            _check_values(table, out, column, report)
    if table.key and table.key in out:
        report.flag(table, out, table.key, "duplicate key", out[table.key].duplicated(keep=False))
    report.row_counts[table.name] = len(out)
    return out.reset_index(drop=True)


def _coerce(table: Table, frame: pd.DataFrame, column: Column, report: Report) -> pd.Series:
    raw = frame[column.name]
    if column.kind == "timestamp":
        values = pd.to_datetime(raw, utc=True, errors="coerce", format="mixed")
    elif column.kind in {"number", "integer"}:
        values = pd.to_numeric(raw, errors="coerce")
        if column.kind == "integer":
            values = values.round().astype("Int64")
    elif column.kind == "boolean":
        text = raw.astype("string").str.strip().str.lower()
        values = pd.Series(pd.NA, index=raw.index, dtype="boolean")
        values[text.isin(_TRUE)] = True
        values[text.isin(_FALSE)] = False
    else:
        values = raw.astype("string").str.strip()
    report.flag(
        table, frame, column.name, f"not a valid {column.kind}", values.isna() & raw.notna()
    )
    return values


def _check_values(table: Table, frame: pd.DataFrame, column: Column, report: Report) -> None:
    values = frame[column.name]
    if not column.nullable:
        report.flag(table, frame, column.name, "must not be empty", values.isna())
    if column.allowed:
        outside = values.notna() & ~values.isin(column.allowed)
        report.flag(
            table, frame, column.name, f"must be one of {', '.join(column.allowed)}", outside
        )
    if column.positive:
        report.flag(
            table,
            frame,
            column.name,
            "must be a finite number > 0",
            values.notna() & ~(np.isfinite(values.astype(float)) & (values > 0)),
        )


def _check_references(clean: dict[str, pd.DataFrame], report: Report) -> None:
    for table in TABLES.values():
        frame = clean.get(table.name)
        if frame is None:
            continue
        for column in table.columns:
            if not column.references or column.name not in frame:
                continue
            known = pd.concat(
                [clean[t][TABLES[t].key] for t in column.references if t in clean],
                ignore_index=True,
            )
            unknown = frame[column.name].notna() & ~frame[column.name].isin(known)
            report.flag(
                table,
                frame,
                column.name,
                f"unknown reference to {' or '.join(column.references)}",
                unknown,
            )
    if "transactions" in clean:
        parties = pd.concat(
            [clean[t][TABLES[t].key] for t in ENTITY_TABLES if t in clean], ignore_index=True
        )
        txns = clean["transactions"]
        share = float((~txns["src_id"].isin(parties) | ~txns["dst_id"].isin(parties)).mean())
        report.warnings.append(f"transactions: {share:.1%} have an outside party")


def pseudonymize_tables(clean: dict[str, pd.DataFrame], key: bytes) -> dict[str, pd.DataFrame]:
    """Replace every PII column by its keyed pseudonym; nothing else changes."""
    out = {}
    for name, frame in clean.items():
        pii = [c.name for c in TABLES[name].columns if c.pii and c.name in frame]
        out[name] = frame.assign(**{c: pseudonymize(frame[c], c, key) for c in pii})
    return out
