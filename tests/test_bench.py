import pandas as pd

from bench.activity import account_payments, activity
from pipeline.catalog import load_catalog
from pipeline.featurize import KEYS, compute_features, connect
from tests.conftest import utc


def test_the_pandas_yardstick_computes_the_same_activity_family(tiny_clean_dir):
    """The benchmark compares like with like: same rows, same values."""
    snapshot = utc("2025-07-01")
    accounts = pd.read_parquet(
        tiny_clean_dir / "accounts.parquet", columns=["account_id", "opened_at"]
    )
    plain = activity(accounts, account_payments(tiny_clean_dir), snapshot)
    names = load_catalog()["account_activity"].features
    ours = compute_features(connect(tiny_clean_dir), "account", pd.DatetimeIndex([snapshot]))
    plain = plain.rename(columns={"account_id": "entity_id"})[KEYS + names]
    plain = plain.sort_values(KEYS, ignore_index=True).astype({n: "float64" for n in names})
    plain["snapshot_date"] = plain["snapshot_date"].astype(ours["snapshot_date"].dtype)
    pd.testing.assert_frame_equal(
        plain, ours[KEYS + names], check_exact=False, rtol=1e-9, check_dtype=False
    )
