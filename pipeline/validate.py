"""Contract checks and type coercion of raw tables; every problem is collected in one pass."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.contract import ENTITY_TABLES, TABLES, Column, Table
from pipeline.errors import InputError
from pipeline.pseudonymize import pseudonymize

MAX_EXAMPLES = 5
BATCH_ROWS = 2_000_000
_GROUPING_MEMORY = "3GiB"
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
    outside_party_share: float | None = None

    def flag(self, table: Table, frame: pd.DataFrame, column: str, rule: str, bad) -> None:
        """Record a rule broken by the rows where ``bad`` is true, naming a few of them."""
        bad = np.asarray(bad, dtype=bool)
        if not bad.any():
            return
        # Rows are named by their key, or by their first column in tables without a key.
        named_by = table.key or table.columns[0].name
        ids = frame.loc[bad, named_by if named_by in frame else column]
        self.add(Problem(table.name, column, rule, int(bad.sum()), tuple(ids.astype(str).head(5))))

    @classmethod
    def merged(cls, reports: Iterable[Report]) -> Report:
        """One report of several tables' (each table's findings in one of them)."""
        whole = cls()
        for report in reports:
            for problem in report.problems:
                whole.add(problem)
            whole.warnings += report.warnings
            whole.row_counts |= report.row_counts
            if report.outside_party_share is not None:
                whole.outside_party_share = report.outside_party_share
        return whole

    def add(self, problem: Problem) -> None:
        """Record a problem; one broken again in a later batch adds its rows to the first."""
        for i, known in enumerate(self.problems):
            if (known.table, known.column, known.rule) == (
                problem.table,
                problem.column,
                problem.rule,
            ):
                examples = (known.examples + problem.examples)[:MAX_EXAMPLES]
                self.problems[i] = Problem(
                    known.table, known.column, known.rule, known.rows + problem.rows, examples
                )
                return
        self.problems.append(problem)


def table_sources(raw_dir: Path) -> dict[str, Path]:
    """Where each contract table is: ``NAME.parquet``, ``NAME.csv`` or a directory ``NAME/``."""
    if not raw_dir.is_dir():
        raise InputError(f"raw data directory not found: {raw_dir}")
    sources = {}
    for name in TABLES:
        for candidate in (raw_dir / f"{name}.parquet", raw_dir / f"{name}.csv", raw_dir / name):
            if candidate.exists():
                sources[name] = candidate
                break
    return sources


def read_batches(name: str, path: Path, report: Report) -> Iterator[pd.DataFrame]:
    """Yield a table in batches of rows, so that no stage holds a whole large table.

    A file that cannot be parsed (a ragged CSV row, a corrupt Parquet file) is a problem of
    its table, reported with all the others.
    """
    files = sorted(path.glob("*.parquet")) + sorted(path.glob("*.csv")) if path.is_dir() else [path]
    try:
        for file in files:
            if file.suffix == ".parquet":
                for batch in pq.ParquetFile(file).iter_batches(batch_size=BATCH_ROWS):
                    yield batch.to_pandas()
            else:
                yield from pd.read_csv(
                    file, dtype=str, keep_default_na=False, na_values=[""],
                    encoding="utf-8-sig", chunksize=BATCH_ROWS,
                )  # fmt: skip
    except (ValueError, OSError, pd.errors.ParserError) as err:
        reason = " ".join(str(err).split())[:200]
        report.add(Problem(name, "*", f"unreadable file: {reason}", 0, ()))


EARLIEST = pd.Timestamp("1990-01-01", tz="UTC")


@dataclass
class _Seen:
    """What the batches of one table add up to, for the checks that need all of it."""

    rows: int = 0
    keys: list[pa.Array] = field(default_factory=list)
    # Tables without a key: a hash of each row, and its first column to name it by.
    row_hashes: list[pa.Array] = field(default_factory=list)
    first_values: list[pa.Array] = field(default_factory=list)
    outside_parties: int = 0


def validate_batches(
    table: Table,
    batches: Iterable[pd.DataFrame] | None,
    *,
    keys: dict[str, pa.Array],
    report: Report,
    now: pd.Timestamp,
) -> Iterator[pd.DataFrame]:
    """Yield each batch coerced to the contract's types, recording what breaks it.

    Checks that need the whole table (duplicates, emptiness, outside parties) run after
    the last batch, so the generator must be exhausted. ``keys`` holds the keys of the
    entity tables checked before, for references; tables go in contract order, entities
    first. Timestamps must fall between 1990 and ``now`` (plus a day of clock skew).
    """
    if batches is None:
        if table.required:
            report.add(Problem(table.name, "*", "required table missing", 0, ()))
        else:
            report.warnings.append(f"optional table {table.name} absent: its features are skipped")
        return
    seen = _Seen()
    latest = now + pd.Timedelta(days=1)
    known = _Known(keys)  # entity keys joined once per table, not once per batch
    for batch in batches:
        checked = _check_table(table, batch, report, latest=latest)
        _check_references(table, checked, known, report)
        _remember(table, checked, known, seen)
        yield checked
    if seen.rows == 0 and table.required:
        report.add(Problem(table.name, "*", "required table is empty", 0, ()))
    _check_duplicates(table, seen, report)
    if table.name in ENTITY_TABLES and seen.keys:
        keys[table.name] = pa.chunked_array(seen.keys).combine_chunks()
    if table.name == "transactions" and seen.rows:
        report.outside_party_share = seen.outside_parties / seen.rows
        report.warnings.append(
            f"transactions: {report.outside_party_share:.1%} have an outside party"
        )
    report.row_counts[table.name] = seen.rows


def _remember(table: Table, frame: pd.DataFrame, known: _Known, seen: _Seen) -> None:
    seen.rows += len(frame)
    if table.key and table.key in frame:
        seen.keys.append(pa.array(frame[table.key].astype("string"), type=pa.string()))
    elif not frame.empty:
        naive = frame.apply(
            lambda c: c.dt.tz_convert(None) if isinstance(c.dtype, pd.DatetimeTZDtype) else c
        )
        seen.row_hashes.append(pa.array(pd.util.hash_pandas_object(naive, index=False)))
        seen.first_values.append(pa.array(frame.iloc[:, 0].astype("string"), type=pa.string()))
    if table.name == "transactions" and {"src_id", "dst_id"} <= set(frame.columns):
        parties = known.of(ENTITY_TABLES)
        outside = ~_in(frame["src_id"], parties) | ~_in(frame["dst_id"], parties)
        seen.outside_parties += int(outside.sum())


def _check_duplicates(table: Table, seen: _Seen, report: Report) -> None:
    # A repeated key names every row holding it; a repeated row, each copy beyond the first.
    if seen.keys:
        shown, counts = _repeated(seen.keys, seen.keys)
        column, rule, rows = table.key, "duplicate key", counts
    elif seen.row_hashes:
        shown, counts = _repeated(seen.row_hashes, seen.first_values)
        column, rule, rows = "*", "duplicate row", counts - 1
    else:
        return
    if rows.sum():
        examples = np.repeat(shown[:MAX_EXAMPLES], rows[:MAX_EXAMPLES])[:MAX_EXAMPLES]
        report.add(Problem(table.name, column, rule, int(rows.sum()), tuple(map(str, examples))))


def _repeated(values: list[pa.Array], shown: list[pa.Array]) -> tuple[np.ndarray, np.ndarray]:
    """Values that occur more than once: how each is shown (``shown`` of one of its rows)
    and how many rows hold it, ordered by how they are shown.

    DuckDB groups them: a hundred million transaction ids fit its bounded, spilling hash
    aggregate, where an in-memory hash table of Python or Arrow strings takes many GiB.
    """
    seen = pa.table({"value": pa.chunked_array(values), "shown": pa.chunked_array(shown)})
    with tempfile.TemporaryDirectory(prefix="bgrisk-validate-") as spill, duckdb.connect() as con:
        con.execute(f"SET memory_limit = '{_GROUPING_MEMORY}'")
        con.execute(f"SET temp_directory = '{Path(spill).as_posix()}'")
        con.register("seen", seen)
        # Hashes first: grouping 64-bit integers takes half the time of grouping strings,
        # and only a value whose hash repeats can repeat.
        groups = con.execute(
            """
            WITH candidates AS (SELECT hash(value) AS h FROM seen GROUP BY h HAVING count(*) > 1)
            SELECT min(shown) AS shown, count(*) AS n
            FROM seen SEMI JOIN candidates ON hash(seen.value) = candidates.h
            GROUP BY value HAVING count(*) > 1
            ORDER BY shown
            """
        ).fetchnumpy()
    return groups["shown"], groups["n"]


def validate_tables(
    raw: dict[str, pd.DataFrame], *, now: pd.Timestamp
) -> tuple[dict[str, pd.DataFrame], Report]:
    """Validate tables already in memory (small exports and tests), each as one batch."""
    report, keys, clean = Report(), {}, {}
    for table in TABLES.values():
        frame = raw.get(table.name)
        batches = None if frame is None else [frame]
        checked = list(validate_batches(table, batches, keys=keys, report=report, now=now))
        if checked:
            clean[table.name] = checked[0]
    return clean, report


def _check_table(
    table: Table, frame: pd.DataFrame, report: Report, *, latest: pd.Timestamp
) -> pd.DataFrame:
    extra = sorted(set(frame.columns) - set(table.column_names))
    warning = f"{table.name}: unknown columns ignored: {', '.join(extra)}"
    if extra and warning not in report.warnings:
        report.warnings.append(warning)
    coerced = {}
    for column in table.columns:
        if column.name not in frame:
            if not column.optional:
                report.add(
                    Problem(table.name, column.name, "required column missing", len(frame), ())
                )
            continue
        coerced[column.name] = _coerce(table, frame, column, report)
    out = pd.DataFrame(coerced, index=frame.index)
    for column in table.columns:
        if column.name in out:
            _check_values(table, out, column, report, latest=latest)
    return out.reset_index(drop=True)


def _coerce(table: Table, frame: pd.DataFrame, column: Column, report: Report) -> pd.Series:
    """The column in the contract's type; values that do not convert are flagged."""
    raw = frame[column.name]
    values = _typed(raw, column.kind)
    if values is None:  # text from CSV, or a type that needs converting
        values = _converted(raw, column.kind)
        report.flag(
            table, frame, column.name, f"not a valid {column.kind}", values.isna() & raw.notna()
        )
    return values


def _typed(raw: pd.Series, kind: str) -> pd.Series | None:
    """Fast path for columns a Parquet export already typed correctly (nothing can fail)."""
    if kind == "timestamp" and isinstance(raw.dtype, pd.DatetimeTZDtype):
        return raw.dt.tz_convert("UTC")
    if kind == "number" and pd.api.types.is_float_dtype(raw.dtype):
        return raw.astype("float64")
    if kind == "boolean" and pd.api.types.is_bool_dtype(raw.dtype):
        return raw.astype("boolean")
    return None


def _converted(raw: pd.Series, kind: str) -> pd.Series:
    if kind == "timestamp":
        return pd.to_datetime(raw, utc=True, errors="coerce", format="mixed")
    if kind in {"number", "integer"}:
        values = pd.to_numeric(raw, errors="coerce")
        return values.round().astype("Int64") if kind == "integer" else values.astype("float64")
    if kind == "boolean":
        text = raw.astype("string").str.strip().str.lower()
        values = pd.Series(pd.NA, index=raw.index, dtype="boolean")
        values[text.isin(_TRUE)] = True
        values[text.isin(_FALSE)] = False
        return values
    return raw.astype("string").str.strip()


def _check_values(
    table: Table, frame: pd.DataFrame, column: Column, report: Report, *, latest: pd.Timestamp
) -> None:
    values = frame[column.name]
    if column.kind == "timestamp":
        outside = values.notna() & ((values < EARLIEST) | (values > latest))
        report.flag(table, frame, column.name, "timestamp outside 1990 to today", outside)
    if column.not_before and column.not_before in frame:
        report.flag(
            table, frame, column.name, f"earlier than {column.not_before}",
            values < frame[column.not_before],
        )  # fmt: skip
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


class _Known:
    """Keys of the entity tables checked so far, as one hash index per set of tables.

    A transaction batch is looked up twice against a million accounts; Arrow's ``is_in``
    would build its hash set of those strings again for every lookup, the index once.
    Keys are matched by a 64-bit hash: two different ids colliding is a one in 10^13 chance
    per lookup, and could only hide an unknown reference, never invent one.
    """

    def __init__(self, keys: dict[str, pa.Array]):
        self._keys = keys
        self._indexes: dict[tuple[str, ...], pd.Index] = {}

    def of(self, tables: tuple[str, ...]) -> pd.Index:
        if tables not in self._indexes:
            arrays = [self._keys[t] for t in tables if t in self._keys]
            hashes = _hashes(pa.chunked_array(arrays, pa.string()))
            self._indexes[tables] = pd.Index(np.unique(hashes))  # a key may repeat
        return self._indexes[tables]


def _hashes(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """DuckDB's 64-bit hash of each string, computed vectorized over Arrow memory."""
    with duckdb.connect() as con:
        con.register("strings", pa.table({"value": values}))
        return con.execute("SELECT hash(value) AS h FROM strings").fetchnumpy()["h"]


def _in(values: pd.Series, known: pd.Index) -> np.ndarray:
    """Whether each value is a known key; missing values are not."""
    array = pa.array(values.astype("string"), type=pa.string())
    return (known.get_indexer(_hashes(array)) >= 0) & values.notna().to_numpy()


def _check_references(table: Table, frame: pd.DataFrame, known: _Known, report: Report) -> None:
    for column in table.columns:
        if not column.references or column.name not in frame:
            continue
        if table.name == "labels" and "entity_type" in frame:
            # A label names its entity's type: an account label must be an account.
            is_known = np.where(
                frame["entity_type"] == "account",
                _in(frame[column.name], known.of(("accounts",))),
                _in(frame[column.name], known.of(("intermediaries",))),
            )
            rule = "unknown entity for its entity_type"
        else:
            is_known = _in(frame[column.name], known.of(column.references))
            rule = f"unknown reference to {' or '.join(column.references)}"
        report.flag(table, frame, column.name, rule, frame[column.name].notna() & ~is_known)


def pseudonymize_table(name: str, frame: pd.DataFrame, key: bytes) -> pd.DataFrame:
    """Replace every PII column by its keyed pseudonym; nothing else changes."""
    pii = [c.name for c in TABLES[name].columns if c.pii and c.name in frame]
    return frame.assign(**{c: pseudonymize(frame[c], c, key) for c in pii})


def pseudonymize_tables(clean: dict[str, pd.DataFrame], key: bytes) -> dict[str, pd.DataFrame]:
    return {name: pseudonymize_table(name, frame, key) for name, frame in clean.items()}
