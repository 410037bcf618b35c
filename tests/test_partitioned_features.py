"""Account features by hash partition on real Dask workers equal the one-machine ones."""

import json

import pandas as pd
import pytest

from pipeline.stages import features as stage


@pytest.fixture(scope="module")
def one_machine(tiny_params, tiny_clean_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("one-machine")
    stage.run(tiny_params, clean=tiny_clean_dir, out=out, as_of=None)
    return out


def test_partitions_on_a_local_cluster_give_the_same_features(
    one_machine, tiny_params, tiny_clean_dir, tmp_path
):
    params = tiny_params.model_copy(
        update={"features": tiny_params.features.model_copy(update={"partitions": 3})}
    )
    out = tmp_path / "features"
    stage.run(params, clean=tiny_clean_dir, out=out, as_of=None, scheduler="local-cluster:2")

    for table in ("accounts", "intermediaries"):
        expected = pd.read_parquet(one_machine / f"{table}.parquet")
        got = pd.read_parquet(out / f"{table}.parquet")
        assert len(got) == len(expected) > 0
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
    accounts = pd.read_parquet(out / "accounts.parquet")
    # Counts over all accounts and the graph reached every partition, not only its own.
    assert accounts["max_accounts_per_device_90d"].max() > 1 and accounts["bad_in_ring"].max() > 0
    assert json.loads((out / "manifest.json").read_text()) == json.loads(
        (one_machine / "manifest.json").read_text()
    )
    assert not (out / "_partitions").exists()
