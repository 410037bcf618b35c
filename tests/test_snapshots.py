import duckdb
import pandas as pd
import pytest

from pipeline.config import FeaturesConfig, SplitConfig
from pipeline.errors import InputError
from pipeline.snapshots import assign_splits, label_sql, training_snapshots
from tests.conftest import utc


def test_snapshots_leave_history_and_a_full_horizon():
    cfg = FeaturesConfig(first_snapshot_after_days=59, label_horizon_days=60)
    snapshots = training_snapshots(utc("2025-01-01 00:01"), utc("2026-01-01"), cfg)
    assert snapshots[0] == utc("2025-03-01")
    assert snapshots[-1] == utc("2025-11-01")
    assert (snapshots[-1] + pd.Timedelta(days=60)) <= utc("2026-01-01")


def test_splits_are_out_of_time():
    snapshots = pd.date_range("2025-03-01", periods=9, freq="MS", tz="UTC")
    splits = assign_splits(
        snapshots, SplitConfig(valid_snapshots=1, calib_snapshots=2, test_snapshots=2)
    )
    assert splits.tolist() == ["train"] * 4 + ["valid"] + ["calib"] * 2 + ["test"] * 2
    with pytest.raises(InputError, match="only 9 snapshots"):
        assign_splits(
            snapshots, SplitConfig(valid_snapshots=3, calib_snapshots=3, test_snapshots=3)
        )


def label_rows(features: pd.DataFrame, labels: pd.DataFrame, entity, horizon_days: int):
    """The labelling SQL run over frames, in the UTC session the features stage uses."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("features", features)
    con.register("labels", labels)
    labelled = label_sql("features", entity, horizon_days)
    return con.sql(f"SELECT * EXCLUDE (known) FROM ({labelled}) WHERE NOT known").df()


def test_labels_look_forward_one_horizon_and_drop_known_cases():
    s1, s2 = utc("2025-05-01"), utc("2025-06-01")
    features = pd.DataFrame(
        {"entity_id": ["A", "B", "C", "A", "B", "C"], "snapshot_date": [s1, s1, s1, s2, s2, s2]}
    )
    labels = pd.DataFrame(
        {
            "entity_type": ["account", "account", "intermediary"],
            "entity_id": ["A", "B", "C"],
            "confirmed_at": [utc("2025-05-20"), utc("2025-07-15"), utc("2025-05-02")],
            "typology": ["mule_account", "mule_account", "illegal_loan_intermediary"],
        }
    )
    rows = label_rows(features, labels, "account", horizon_days=45).set_index(
        ["entity_id", "snapshot_date"]
    )
    # A is confirmed within May's horizon, then known: no row in June.
    assert rows.loc[("A", s1), "label"] == 1 and ("A", s2) not in rows.index
    # B is confirmed on 15 July: after May's 45 days, within June's.
    assert rows.loc[("B", s1), "label"] == 0 and rows.loc[("B", s2), "label"] == 1
    assert rows.loc[("B", s2), "typology"] == "mule_account"
    # C's label is for an intermediary, not an account.
    assert rows.loc[("C", s1), "label"] == 0 and pd.isna(rows.loc[("C", s1), "typology"])


@pytest.mark.parametrize(
    ("confirmed_at", "expected"),
    [
        ("2025-05-01 00:00:00", 1),  # confirmed at the cut-off itself: inside [s, s + h)
        ("2025-04-30 23:59:59", None),  # a second before: already known, not a row
        ("2025-06-14 23:59:59", 1),  # the last second of the 45-day horizon
        ("2025-06-15 00:00:00", 0),  # s + h exactly: the horizon is half-open
    ],
)
def test_label_window_edges(confirmed_at, expected):
    features = pd.DataFrame({"entity_id": ["A"], "snapshot_date": [utc("2025-05-01")]})
    labels = pd.DataFrame(
        {
            "entity_type": ["account"],
            "entity_id": ["A"],
            "confirmed_at": [utc(confirmed_at)],
            "typology": ["mule_account"],
        }
    )
    rows = label_rows(features, labels, "account", horizon_days=45)
    if expected is None:
        assert rows.empty
    else:
        assert rows["label"].tolist() == [expected]


def test_an_entity_counts_from_its_first_confirmation():
    """A second, later case does not make an already-known entity a training row again."""
    features = pd.DataFrame(
        {"entity_id": ["A", "A"], "snapshot_date": [utc("2025-05-01"), utc("2025-07-01")]}
    )
    labels = pd.DataFrame(
        {
            "entity_type": ["account", "account"],
            "entity_id": ["A", "A"],
            "confirmed_at": [utc("2025-08-01"), utc("2025-05-10")],
            "typology": ["mule_account", "mule_account"],
        }
    )
    rows = label_rows(features, labels, "account", horizon_days=45)
    assert rows["snapshot_date"].tolist() == [utc("2025-05-01")]
    assert rows["label"].tolist() == [1]
