import pandas as pd
import pytest
from numpy._core import multiarray

from features import graph
from pipeline import featurize
from pipeline.catalog import families_for, load_catalog, shared_table_sql
from pipeline.contract import TABLES
from pipeline.featurize import KEYS, compute_features, connect
from tests.conftest import account_rows, transaction_rows, utc, write_tables

SNAPSHOT = utc("2025-07-01")


def truncate_at(tables: dict[str, pd.DataFrame], cutoff: pd.Timestamp) -> dict[str, pd.DataFrame]:
    """Delete every event at or after ``cutoff``, and every fact that became true then."""
    out = dict(tables)
    for name in ("transactions", "device_events", "complaints", "collection_events"):
        out[name] = tables[name][tables[name]["ts"] < cutoff]
    policies = tables["policies"][tables["policies"]["issued_at"] < cutoff].copy()
    surrendered_later = ~(policies["surrendered_at"] < cutoff)
    policies.loc[surrendered_later, ["surrendered_at", "refund_amount"]] = None
    out["policies"] = policies
    loans = tables["loans"][tables["loans"]["applied_at"] < cutoff].copy()
    for column in ("disbursed_at", "defaulted_at", "repaid_at"):
        loans[column] = loans[column].where(loans[column] < cutoff)
    out["loans"] = loans
    out["labels"] = tables["labels"][tables["labels"]["confirmed_at"] < cutoff]
    return out


@pytest.mark.parametrize("entity", ["account", "intermediary"])
def test_features_ignore_everything_from_the_cutoff_on(entity, tiny_clean_dir, tmp_path):
    full = connect(tiny_clean_dir)
    tables = {name: full.con.execute(f"SELECT * FROM {name}").df() for name in full.present}
    before = compute_features(full, entity, pd.DatetimeIndex([SNAPSHOT]))
    after = compute_features(
        connect(write_tables(tmp_path, truncate_at(tables, SNAPSHOT))),
        entity,
        pd.DatetimeIndex([SNAPSHOT]),
    )
    assert len(before) > 50
    pd.testing.assert_frame_equal(before, after)


@pytest.mark.parametrize("entity", ["account", "intermediary"])
def test_outputs_and_catalog_agree(entity, tiny_clean_dir):
    features = compute_features(connect(tiny_clean_dir), entity, pd.DatetimeIndex([SNAPSHOT]))
    families = families_for(entity)
    listed = [name for family in families for name in family.features]
    annotations = [name for family in families for name in family.annotations]
    assert list(features.columns) == KEYS + listed + annotations
    assert features[listed].notna().any().all(), "every feature has values somewhere"


@pytest.mark.parametrize("entity", ["account", "intermediary"])
def test_a_snapshot_alone_gets_the_features_it_gets_among_others(entity, tiny_clean_dir):
    """Scoring computes one snapshot, training many at once: no feature may depend on which
    other snapshots are computed with it (train/serve skew)."""
    together = compute_features(
        connect(tiny_clean_dir),
        entity,
        pd.DatetimeIndex([utc("2025-05-01"), utc("2025-06-01"), SNAPSHOT]),
    )
    alone = compute_features(connect(tiny_clean_dir), entity, pd.DatetimeIndex([SNAPSHOT]))
    together = together[together["snapshot_date"] == SNAPSHOT].reset_index(drop=True)
    pd.testing.assert_frame_equal(together, alone)


def test_more_snapshots_than_bits_in_a_word_get_the_features_each_gets_alone(tiny_clean_dir):
    """Logins seen again over overlapping windows are kept with their snapshots as bits, 64
    to a chunk (features/_views.sql): a day in windows of both sides of a chunk's edge counts
    in each."""
    daily = pd.date_range(end=SNAPSHOT, periods=66, freq="D")
    together = compute_features(connect(tiny_clean_dir), "account", daily)
    for snapshot in daily[[0, 63, 64, 65]]:
        alone = compute_features(connect(tiny_clean_dir), "account", pd.DatetimeIndex([snapshot]))
        among = together[together["snapshot_date"] == snapshot].reset_index(drop=True)
        assert (alone["distinct_devices_90d"] > 0).sum() > 50
        pd.testing.assert_frame_equal(among, alone)


def test_a_burst_across_the_start_of_a_window_counts_alone_as_among_others(tmp_path):
    """The hour up to the first payment of a window reaches back before the window."""
    clean = write_tables(
        tmp_path,
        {
            "accounts": account_rows("A1"),
            "transactions": transaction_rows(
                ("2025-05-31 23:40", "P1", "A1", 10.0),
                ("2025-05-31 23:50", "P2", "A1", 10.0),
                ("2025-06-01 00:10", "A1", "X1", 10.0),  # first payment of the 30-day window
                ("2025-06-20 12:00", "A1", "X1", 10.0),
            ),
            "labels": pd.DataFrame(columns=["entity_type", "entity_id", "confirmed_at"]),
        },
    )
    for snapshots in ([SNAPSHOT], [utc("2025-06-01"), SNAPSHOT]):
        features = compute_features(connect(clean), "account", pd.DatetimeIndex(snapshots))
        last = features.set_index("snapshot_date").loc[SNAPSHOT]
        assert last["txn_count_30d"] == 2
        assert last["max_txns_one_hour_30d"] == 3


def test_payments_at_one_instant_all_count_in_the_burst(tmp_path):
    """Payments at the same instant are all in the hour up to each of them, whatever order
    the sort leaves them in; a payment just over an hour before is not."""
    clean = write_tables(
        tmp_path,
        {
            "accounts": account_rows("A1"),
            "transactions": transaction_rows(
                ("2025-06-10 08:59", "P1", "A1", 10.0),  # 61 minutes before the three
                ("2025-06-10 09:30", "P1", "A1", 10.0),
                ("2025-06-10 10:00", "A1", "X1", 10.0),
                ("2025-06-10 10:00", "P2", "A1", 10.0),
                ("2025-06-10 10:00", "A1", "X2", 10.0),
                ("2025-06-10 11:05", "A1", "X1", 10.0),
            ),
            "labels": pd.DataFrame(columns=["entity_type", "entity_id", "confirmed_at"]),
        },
    )
    features = compute_features(connect(clean), "account", pd.DatetimeIndex([SNAPSHOT]))
    assert features["txn_count_30d"].tolist() == [6]
    # The three at 10:00 and 09:30; none else holds as many.
    assert features["max_txns_one_hour_30d"].tolist() == [4]


def test_distinct_counterparties_are_counted_snapshot_by_snapshot(tmp_path):
    """Their table is built one snapshot at a time: each counts its own 30 days."""
    transactions = transaction_rows(
        ("2025-06-10 10:00", "P1", "A1", 10.0),
        ("2025-06-20 10:00", "P1", "A1", 10.0),
        ("2025-06-25 10:00", "P2", "A1", 10.0),
        ("2025-07-10 10:00", "P3", "A1", 10.0),
        ("2025-07-12 10:00", "A1", "X1", 10.0),
        ("2025-07-20 10:00", "A1", "X2", 10.0),
    )
    tables = {"accounts": account_rows("A1"), "transactions": transactions}
    snapshots = pd.DatetimeIndex([SNAPSHOT, utc("2025-08-01")])
    features = compute_features(connect(write_tables(tmp_path, tables)), "account", snapshots)
    a1 = features[features["entity_id"] == "A1"]
    assert a1["distinct_payers_30d"].tolist() == [2, 1]
    assert a1["distinct_payees_30d"].tolist() == [0, 2]


def flow_world(tmp_path):
    """A1 gets 100 and forwards 90 two hours later; gets 50 and forwards after the cut-off."""
    transactions = transaction_rows(
        ("2025-06-28 10:00", "P1", "A1", 100.0),
        ("2025-06-28 12:00", "A1", "X1", 90.0),
        ("2025-06-30 23:00", "P2", "A1", 50.0),
        ("2025-07-01 01:00", "A1", "X1", 50.0),
        ("2025-05-01 10:00", "P3", "A1", 999.0),  # outside the 30-day window
    )
    return connect(
        write_tables(
            tmp_path,
            {
                "accounts": account_rows("A1", "A2"),
                "transactions": transactions,
                "labels": pd.DataFrame(columns=["entity_type", "entity_id", "confirmed_at"]),
            },
        )
    )


def test_money_flow_features_by_hand(tmp_path):
    features = compute_features(flow_world(tmp_path), "account", pd.DatetimeIndex([SNAPSHOT]))
    a1 = features.set_index("entity_id").loc["A1"]
    assert a1["amount_in_30d"] == 150
    assert a1["amount_out_30d"] == 90
    assert a1["pass_through_ratio_30d"] == pytest.approx(0.6)
    # 50 was forwarded only after the cut-off, so as of the snapshot it was still held.
    assert a1["share_in_forwarded_24h_30d"] == pytest.approx(100 / 150)
    assert a1["median_hours_to_forward_30d"] == pytest.approx(2.0)
    assert a1["distinct_payers_30d"] == 2 and a1["distinct_payees_30d"] == 1
    assert a1["night_txn_share_30d"] == 0
    a2 = features.set_index("entity_id").loc["A2"]
    assert a2["txn_count_30d"] == 0 and pd.isna(a2["pass_through_ratio_30d"])


def test_families_without_their_tables_are_skipped(tmp_path):
    features = compute_features(flow_world(tmp_path), "account", pd.DatetimeIndex([SNAPSHOT]))
    assert "distinct_devices_90d" not in features
    assert "loans_applied_180d" not in features


def test_accounts_opened_after_the_snapshot_are_not_rows(tmp_path):
    accounts = pd.concat([account_rows("A1"), account_rows("A3", opened_at="2025-08-01")])
    con = connect(
        write_tables(
            tmp_path,
            {
                "accounts": accounts,
                "transactions": transaction_rows(("2025-06-01", "A1", "X", 1.0)),
                "labels": pd.DataFrame(columns=["entity_type", "entity_id", "confirmed_at"]),
            },
        )
    )
    features = compute_features(con, "account", pd.DatetimeIndex([SNAPSHOT]))
    assert features["entity_id"].tolist() == ["A1"]


def test_a_device_links_its_users_only_at_snapshots_where_few_used_it(tmp_path):
    """A device used by more than graph.MAX_SHARERS accounts in a window is a hotspot and
    links no one at that snapshot; at a later snapshot, where two of them used it, it
    links those two. Devices and logins are counted as distinct per window."""
    crowd = [f"C{i:02d}" for i in range(graph.MAX_SHARERS + 1)]
    logins = [("C00", "2025-08-10 12:00"), ("C01", "2025-08-11 12:00"), ("C01", "2025-08-12 02:00")]
    logins += [(account, "2025-06-10 12:00") for account in crowd]
    events = pd.DataFrame(logins, columns=["account_id", "ts"]).assign(
        ts=lambda frame: pd.to_datetime(frame["ts"], utc=True), device_id="hot", ip=None
    )
    # C00 also logs in from a second device, twice, in the first window only.
    own = pd.DataFrame(
        {
            "account_id": "C00",
            "device_id": "own",
            "ip": None,
            "ts": pd.to_datetime(["2025-06-11", "2025-06-12"], utc=True),
        }
    )
    con = connect(
        write_tables(
            tmp_path,
            {
                "accounts": account_rows(*crowd),
                "transactions": transaction_rows(("2025-06-01", "C00", "X", 1.0)),
                "device_events": pd.concat([events, own]),
                "labels": pd.DataFrame(columns=["entity_type", "entity_id", "confirmed_at"]),
            },
        )
    )
    later = utc("2025-10-01")  # its 90 days start on 2025-07-03: only C00 and C01 remain
    features = compute_features(con, "account", pd.DatetimeIndex([SNAPSHOT, later]))
    at = features.set_index(["snapshot_date", "entity_id"])
    assert at.loc[SNAPSHOT, "link_degree"].max() == 0
    assert at.loc[(SNAPSHOT, "C00"), "max_accounts_per_device_90d"] == graph.MAX_SHARERS + 1
    assert at.loc[(SNAPSHOT, "C00"), "distinct_devices_90d"] == 2
    assert at.loc[(later, "C00"), "link_degree"] == 1
    assert at.loc[(later, "C01"), "link_degree"] == 1
    assert at.loc[(later, "C02"), "link_degree"] == 0
    assert at.loc[(later, "C01"), "max_accounts_per_device_90d"] == 2
    assert at.loc[(later, "C00"), "distinct_devices_90d"] == 1
    assert at.loc[(later, "C01"), "night_login_share_90d"] == pytest.approx(0.5)
    assert at.loc[(later, "C02"), "distinct_devices_90d"] == 0


def test_days_and_hours_are_read_on_the_utc_calendar(tmp_path):
    """Ages count midnights crossed, also for an account opened before 1970 (whose
    microseconds since the epoch are negative); the night ends at 05:00 UTC."""
    accounts = pd.concat(
        [
            account_rows("OLD", opened_at="1965-03-01 10:00"),
            account_rows("LATE", opened_at="2025-06-30 23:59:59"),
        ]
    )
    payments = transaction_rows(
        ("2025-06-20 04:59:59", "LATE", "X", 1.0),
        ("2025-06-20 05:00:00", "LATE", "X", 1.0),
        ("2025-06-21 05:00:00", "LATE", "X", 1.0),
        ("2025-06-22 05:00:00", "LATE", "X", 1.0),
    )
    con = connect(
        write_tables(
            tmp_path,
            {
                "accounts": accounts,
                "transactions": payments,
                "labels": pd.DataFrame(columns=["entity_type", "entity_id", "confirmed_at"]),
            },
        )
    )
    features = compute_features(con, "account", pd.DatetimeIndex([SNAPSHOT])).set_index("entity_id")
    assert features.loc["OLD", "account_age_days"] == (SNAPSHOT - utc("1965-03-01")).days
    assert features.loc["LATE", "account_age_days"] == 1
    assert features.loc["LATE", "night_txn_share_30d"] == 0.25


def test_collection_conduct_by_hand(tmp_path):
    """Contacts per debtor-day, night and third-party shares of an agency, with contacts
    before the 90 days and from the cut-off on left out."""
    contacts = [  # (ts, debtor, third party)
        ("2025-06-10 09:00", "A1", False),
        ("2025-06-10 12:00", "A1", True),
        ("2025-06-10 22:00", "A1", False),
        ("2025-06-11 09:00", "A1", False),
        ("2025-06-20 07:59", "A2", None),
        ("2025-04-01 23:00", "A2", False),  # 91 days before the cut-off
        ("2025-07-01 00:00", "A2", True),  # at the cut-off
    ]
    events = pd.DataFrame(contacts, columns=["ts", "account_id", "contacted_third_party"])
    events = events.assign(
        event_id=[f"E{i}" for i in range(len(events))],
        agency_id="G",
        ts=pd.to_datetime(events["ts"], utc=True),
        method="call",
    )
    con = connect(
        write_tables(
            tmp_path,
            {
                "accounts": account_rows("A1", "A2"),
                "intermediaries": pd.DataFrame(
                    {"intermediary_id": ["G"], "kind": ["collection_agency"]}
                ),
                "transactions": transaction_rows(("2025-06-01", "A1", "A2", 1.0)),
                "collection_events": events,
                "labels": pd.DataFrame(columns=["entity_type", "entity_id", "confirmed_at"]),
            },
        )
    )
    agency = compute_features(con, "intermediary", pd.DatetimeIndex([SNAPSHOT])).iloc[0]
    assert agency["debtors_contacted_90d"] == 2
    assert agency["contacts_per_debtor_day_90d"] == pytest.approx(5 / 3)
    assert agency["night_contact_share_90d"] == pytest.approx(2 / 5)
    assert agency["third_party_share_90d"] == pytest.approx(1 / 5)


@pytest.mark.parametrize("entity", ["account", "intermediary"])
def test_features_are_identical_from_run_to_run(entity, tiny_clean_dir):
    """Byte-identical models need bit-identical features, whatever the number of threads
    (money is summed exactly, rings are seeded, PageRank is our own power iteration)."""
    snapshots = pd.DatetimeIndex([SNAPSHOT, utc("2025-08-01")])
    first = compute_features(connect(tiny_clean_dir, threads=1), entity, snapshots)
    again = compute_features(connect(tiny_clean_dir, threads=2), entity, snapshots)
    pd.testing.assert_frame_equal(first, again, check_exact=True)


def test_graph_snapshots_on_threads_equal_one_at_a_time(tiny_clean_dir, monkeypatch):
    """Snapshots' graphs run two at a time and must give what one at a time gives, each
    snapshot's rows its own. Every group larger than two is split by Leiden here, so that
    seeded communities are computed at every snapshot: in Leiden's own process for two
    threads, in place for one (graph.Communities)."""
    snapshots = pd.date_range("2025-05-01", "2025-09-01", freq="MS", tz="UTC")

    def graph_features(threads: int) -> pd.DataFrame:
        monkeypatch.setattr(graph, "GRAPH_THREADS", threads)
        return compute_features(connect(tiny_clean_dir), "account", snapshots)

    unsplit = graph_features(1)
    monkeypatch.setattr(graph, "MAX_COMPONENT_RING", 2)
    one_at_a_time = graph_features(1)
    assert (one_at_a_time["ring_size"] < unsplit["ring_size"]).any()  # Leiden split groups
    pd.testing.assert_frame_equal(graph_features(2), one_at_a_time, check_exact=True)


def test_the_graph_is_computed_in_ordinary_pages(tiny_clean_dir, monkeypatch):
    """While the snapshots' graphs are computed numpy must not ask the kernel for huge pages
    (features/graph.py, ``_ordinary_pages``); once they are, numpy's own setting is back."""
    before = multiarray._get_madvise_hugepage()
    asked = []
    snapshot_features_as_written = graph._snapshot_features

    def snapshot_features(*args):
        asked.append(multiarray._get_madvise_hugepage())
        return snapshot_features_as_written(*args)

    monkeypatch.setattr(graph, "_snapshot_features", snapshot_features)
    snapshots = pd.DatetimeIndex([SNAPSHOT, utc("2025-08-01")])
    compute_features(connect(tiny_clean_dir), "account", snapshots)
    assert asked == [False, False]
    assert multiarray._get_madvise_hugepage() == before


def test_the_graph_gives_numpy_its_setting_back_when_it_fails(tiny_clean_dir, monkeypatch):
    """A snapshot that fails leaves numpy asking for huge pages as it did before."""
    was = multiarray._set_madvise_hugepage(True)
    try:

        def snapshot_features(*args):
            raise RuntimeError("snapshot failed")

        monkeypatch.setattr(graph, "_snapshot_features", snapshot_features)
        with pytest.raises(RuntimeError, match="snapshot failed"):
            compute_features(connect(tiny_clean_dir), "account", pd.DatetimeIndex([SNAPSHOT]))
        assert multiarray._get_madvise_hugepage() is True
    finally:
        multiarray._set_madvise_hugepage(was)


@pytest.mark.parametrize("entity", ["account", "intermediary"])
def test_compressing_the_work_tables_changes_no_feature(entity, tiny_clean_dir, monkeypatch):
    """Tables are compressed once they fill part of DuckDB's memory; how they are stored
    must not change a value."""
    snapshots = pd.DatetimeIndex([SNAPSHOT, utc("2025-08-01")])
    as_written = compute_features(connect(tiny_clean_dir), entity, snapshots)
    monkeypatch.setattr(featurize, "COMPRESS_FROM_SHARE", 0)
    data = connect(tiny_clean_dir, threads=2)
    compressed = compute_features(data, entity, snapshots)
    family = families_for(entity)[0].name
    storage = data.con.execute(
        f"SELECT DISTINCT compression FROM pragma_storage_info('{family}')"
    ).fetchall()
    assert {"Uncompressed"} != {c for (c,) in storage}  # really compressed
    # The spare thread of the checkpoints is given back.
    [(threads,)] = data.con.execute("SELECT current_setting('threads')").fetchall()
    assert threads == 2
    pd.testing.assert_frame_equal(compressed, as_written, check_exact=True)


def test_catalog_names_real_tables_and_files():
    for family in load_catalog().values():
        assert set(family.requires) <= set(TABLES), family.name
        for table in family.uses:
            assert shared_table_sql(table).strip(), (family.name, table)
        if family.engine == "sql":
            assert "SELECT" in family.sql(), family.name


def test_shared_tables_are_dropped_once_no_family_left_reads_them(tiny_clean_dir):
    data = connect(tiny_clean_dir)
    compute_features(data, "account", pd.DatetimeIndex([SNAPSHOT]))
    tables = {
        name for (name,) in data.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
    }
    assert not featurize.SHARED_TABLES & tables
    assert {f.name for f in families_for("account")} <= tables
    # The intermediaries' graph family reads the graph built for the accounts: nothing rebuilt.
    intermediaries = compute_features(data, "intermediary", pd.DatetimeIndex([SNAPSHOT]))
    assert intermediaries["ring_size"].notna().all()
    assert "account_flows_30d" not in data.shared


def test_shared_tables_an_entity_to_come_reads_are_kept_for_it(tiny_clean_dir, monkeypatch):
    """The features stage computes the accounts, then the intermediaries: the payments both
    follow are read once, and every other shared table is dropped with the accounts'."""
    built = []
    monkeypatch.setattr(
        featurize, "shared_table_sql", lambda name: built.append(name) or shared_table_sql(name)
    )
    data = connect(tiny_clean_dir)
    snapshots = pd.DatetimeIndex([SNAPSHOT])
    featurize.family_parts(data, "account", snapshots, later=["intermediary"])
    assert set(data.shared) & featurize.SHARED_TABLES == {"watched_payments_180d"}
    featurize.family_parts(data, "intermediary", snapshots)
    assert built.count("watched_payments_180d") == 1
    assert not set(data.shared) & featurize.SHARED_TABLES


def test_marked_families_build_their_hash_tables_on_their_aggregates(tiny_clean_dir):
    """No LEFT JOIN of a family marked hash_aggregates is flipped to build on every account
    snapshot, and the setting that says so ends with the family."""
    data = connect(tiny_clean_dir)
    featurize.prepare(data, pd.DatetimeIndex([SNAPSHOT, utc("2025-08-01")]))
    sparse = [f for f in load_catalog().values() if f.hash_aggregates]
    assert {f.name for f in sparse} >= {"account_policies", "account_loans", "account_flow"}
    for family in sparse:
        featurize.materialize(data, family)
        with featurize._hash_tables_on_aggregates(data.con):
            plan = data.con.execute(f"EXPLAIN {family.sql()}").fetchall()
        assert "RIGHT" not in str(plan), family.name
    [(disabled,)] = data.con.execute("SELECT current_setting('disabled_optimizers')").fetchall()
    assert disabled == ""


def test_a_family_out_of_line_with_the_entity_rows_is_refused(tiny_clean_dir):
    """Families are lined up by position: one whose rows are in another order would give
    entities each other's features, so the view is not made."""
    data = connect(tiny_clean_dir)
    parts = featurize.family_parts(data, "account", pd.DatetimeIndex([SNAPSHOT]))
    featurize.aligned_view(data, "account", parts)
    flow = parts[1].table
    data.con.execute(
        f"CREATE OR REPLACE TABLE {flow} AS SELECT * FROM {flow} ORDER BY entity_key DESC"
    )
    with pytest.raises(RuntimeError, match="not in line"):
        featurize.aligned_view(data, "account", parts)


def test_a_view_is_written_in_its_row_order(tiny_clean_dir, tmp_path, monkeypatch):
    """The rows reach the Parquet writer as a stream of batches that its threads encode
    side by side: the file must still hold them in the view's order. Batches of a few rows
    make many of them."""
    monkeypatch.setattr(featurize, "STREAM_BATCH_ROWS", 7)
    data = connect(tiny_clean_dir)
    snapshots = pd.DatetimeIndex([SNAPSHOT - pd.DateOffset(months=k) for k in (2, 1, 0)])
    view = featurize.feature_table(data, "account", snapshots)
    path = tmp_path / "accounts.parquet"
    count = featurize.write_parquet(data, view, path, "FORMAT parquet")
    expected = data.con.execute(f"SELECT * FROM {view}").df()
    written = pd.read_parquet(path)
    assert count == len(expected) > 100
    pd.testing.assert_frame_equal(written, expected, check_dtype=False)


def test_snapshots_must_be_given_at_midnight(tiny_clean_dir):
    """Windows count whole days, and the reach of the event tables is set from the first
    and last snapshot: neither means anything without snapshots at midnight UTC."""
    data = connect(tiny_clean_dir)
    with pytest.raises(ValueError, match="no snapshots"):
        compute_features(data, "account", pd.DatetimeIndex([], tz="UTC"))
    with pytest.raises(ValueError, match="midnight"):
        compute_features(data, "account", pd.DatetimeIndex([SNAPSHOT + pd.Timedelta(hours=3)]))
