"""What links a ring's members, read from the clean tables the way the scoring job does."""

import pandas as pd

from pipeline.catalog import library_text
from pipeline.featurize import connect


def test_ring_links_come_out_the_same_whatever_duckdb_threads_did(tiny_clean_dir):
    # A few large rings, so each shares many devices and phones: any list DuckDB builds
    # in the order its threads happened to finish would show here.
    def links(threads: int) -> pd.DataFrame:
        data = connect(tiny_clean_dir, threads=threads)
        accounts = data.con.execute("SELECT account_id AS entity_id FROM accounts").df()
        members = accounts.assign(ring_id="ring-" + (accounts.index % 3).astype(str))
        data.con.register("ring_members", members)
        data.con.register(
            "snapshots", pd.DataFrame({"snapshot_date": [pd.Timestamp("2025-12-01", tz="UTC")]})
        )
        return data.con.execute(library_text("ring_links.sql")).df().sort_values("ring_id")

    wide = links(8)
    for devices in wide["shared_devices"]:
        assert len(devices) > 10 and list(devices) == sorted(set(devices))
    for phones in wide["shared_phones"]:
        assert list(phones) == sorted(set(phones))
    assert (wide["money_moved_within_30d"] > 0).all()
    pd.testing.assert_frame_equal(wide.reset_index(drop=True), links(1).reset_index(drop=True))
