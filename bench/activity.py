"""The ``account_activity`` family three ways, for the benchmark: ours and pandas, plain
and tuned.

``python -m bench.activity duckdb|pandas|pandas_tuned CLEAN_DIR OUT.parquet PARAMS``
computes the family for every training snapshot of those params. ``duckdb`` is the
pipeline's own code (the shared tables the family reads, which also serve other families,
are built and timed with it). ``pandas`` is the family written plainly, as issue 5 asks for
the yardstick and a notebook would: load the payments, then for each snapshot filter its
window, count the bursts with a rolling window and group by account. ``pandas_tuned`` counts
the bursts of all payments at once with binary searches, then filters and groups per
snapshot. All give the same values (tests/test_bench.py): like is compared with like.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.catalog import load_catalog
from pipeline.config import load_params
from pipeline.featurize import CleanData, connect, data_window, materialize, prepare
from pipeline.snapshots import training_snapshots


def account_payments(clean: Path) -> pd.DataFrame:
    """Each payment once from each side that is a customer account."""
    accounts = pd.read_parquet(clean / "accounts.parquet", columns=["account_id"])["account_id"]
    payments = pd.read_parquet(
        clean / "transactions.parquet", columns=["ts", "src_id", "dst_id", "amount"]
    )
    sides = [
        payments.loc[payments["src_id"].isin(accounts), ["src_id", "ts", "amount"]]
        .rename(columns={"src_id": "account_id"})
        .assign(incoming=False),
        payments.loc[payments["dst_id"].isin(accounts), ["dst_id", "ts", "amount"]]
        .rename(columns={"dst_id": "account_id"})
        .assign(incoming=True),
    ]
    return pd.concat(sides, ignore_index=True)


def with_past_hour_rolling(payments: pd.DataFrame) -> pd.DataFrame:
    """The payments with ``past_hour``: how many of the account's payments fall in the hour
    up to each one, as pandas says it, a time-based rolling count per account.

    A payment's own rolling window ends at its row, so payments at the same instant after
    it are not counted; the last of them counts them all, so the maximum per account, all
    the family takes, is SQL's (whose RANGE frame includes every payment at that instant).
    """
    flows = payments.sort_values(["account_id", "ts"], ignore_index=True)
    counts = flows.groupby("account_id").rolling("1h", on="ts", closed="both")["amount"].count()
    return flows.assign(past_hour=counts.to_numpy())


def with_past_hour_searchsorted(payments: pd.DataFrame) -> pd.DataFrame:
    """:func:`with_past_hour_rolling` tuned: one sorted key per payment (account, second),
    two binary searches, every payment counted at once."""
    flows = payments.sort_values(["account_id", "ts"], ignore_index=True)
    code = flows["account_id"].astype("category").cat.codes.to_numpy(np.int64)
    seconds = flows["ts"].dt.as_unit("s").astype("int64").to_numpy()
    span = seconds.max() - seconds.min() + 7200
    key = code * span + (seconds - seconds.min())
    flows["past_hour"] = np.searchsorted(key, key, "right") - np.searchsorted(key, key - 3600)
    return flows


def activity(
    accounts: pd.DataFrame, payments: pd.DataFrame, snapshot: pd.Timestamp
) -> pd.DataFrame:
    """account_activity.sql for one snapshot."""
    window = payments[
        (payments["ts"] < snapshot) & (payments["ts"] >= snapshot - pd.Timedelta(days=30))
    ].copy()
    last_week = window["ts"] >= snapshot - pd.Timedelta(days=7)
    window["in_amount"] = window["amount"].where(window["incoming"], 0.0)
    window["out_amount"] = window["amount"].where(~window["incoming"], 0.0)
    window["last_week"] = last_week
    window["night"] = window["ts"].dt.hour < 5
    window["day"] = window["ts"].dt.floor("D")
    grouped = window.groupby("account_id")
    per_account = pd.DataFrame(
        {
            "txn_count_30d": grouped.size(),
            "amount_in_30d": grouped["in_amount"].sum(),
            "amount_out_30d": grouped["out_amount"].sum(),
            "txn_count_7d": grouped["last_week"].sum(),
            "night_txn_share_30d": grouped["night"].mean(),
            "active_days_30d": grouped["day"].nunique(),
            "max_txns_one_hour_30d": grouped["past_hour"].max(),
        }
    )
    existing = accounts[~(accounts["opened_at"] >= snapshot)]
    rows = existing.join(per_account, on="account_id")
    counts = [c for c in per_account.columns if c != "night_txn_share_30d"]
    rows[counts] = rows[counts].fillna(0)
    age = (snapshot - rows.pop("opened_at").dt.floor("D")).dt.days  # calendar days, as SQL
    return rows.assign(snapshot_date=snapshot, account_age_days=age)


def snapshots_of(data: CleanData, params: Path) -> pd.DatetimeIndex:
    """The pipeline's training snapshots of this data: the same for all contenders."""
    return training_snapshots(*data_window(data), load_params(params).features)


def plain_pandas(clean: Path, out: Path, params: Path) -> None:
    """For each snapshot: filter its window (and the hour before it, which the bursts at
    its start reach), count the bursts, group by account."""
    accounts = pd.read_parquet(clean / "accounts.parquet", columns=["account_id", "opened_at"])
    payments = account_payments(clean)
    _write(
        [plain_activity(accounts, payments, s) for s in snapshots_of(connect(clean), params)], out
    )


def plain_activity(
    accounts: pd.DataFrame, payments: pd.DataFrame, snapshot: pd.Timestamp
) -> pd.DataFrame:
    """One snapshot of :func:`plain_pandas`."""
    reach = payments[
        (payments["ts"] < snapshot) & (payments["ts"] >= snapshot - pd.Timedelta(days=30, hours=1))
    ]
    return activity(accounts, with_past_hour_rolling(reach), snapshot)


def tuned_pandas(clean: Path, out: Path, params: Path) -> None:
    """The bursts of all payments counted once, up front; then each snapshot's window."""
    accounts = pd.read_parquet(clean / "accounts.parquet", columns=["account_id", "opened_at"])
    payments = with_past_hour_searchsorted(account_payments(clean))
    _write([activity(accounts, payments, s) for s in snapshots_of(connect(clean), params)], out)


def _write(frames: list[pd.DataFrame], out: Path) -> None:
    result = pd.concat(frames, ignore_index=True).astype(
        {c: np.float64 for c in frames[0].columns if c not in ("account_id", "snapshot_date")}
    )
    result.to_parquet(out, index=False)


def ours(clean: Path, out: Path, params: Path) -> None:
    data = connect(clean)
    prepare(data, snapshots_of(data, params))
    family = load_catalog()["account_activity"]
    materialize(data, family)
    # The ids back on, as the pandas versions write them; in no order, as theirs.
    rows = (
        f"SELECT k.account_id AS entity_id, f.* EXCLUDE (entity_key) FROM {family.name} f "
        "JOIN account_keys k ON k.account_key = f.entity_key"
    )
    data.con.execute(f"COPY ({rows}) TO '{out.as_posix()}' (FORMAT parquet)")


def main() -> None:
    how, clean, out, params = sys.argv[1], *map(Path, sys.argv[2:5])
    {"pandas": plain_pandas, "pandas_tuned": tuned_pandas, "duckdb": ours}[how](clean, out, params)


if __name__ == "__main__":
    main()
