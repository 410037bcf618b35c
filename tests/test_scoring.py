"""The pieces of the scoring job: partitions, reason codes, ranks and bands, drift, rings."""

import numpy as np
import pandas as pd
import pytest

from pipeline.drift import population_stability, reference_bins
from pipeline.partitions import partition_of
from pipeline.rings import ring_report
from pipeline.scoring import rank_and_band, reason_codes


def test_partitions_are_stable_and_cover_every_entity():
    ids = pd.Series([f"A{i:09d}" for i in range(10_000)])
    parts = partition_of(ids, 8)
    assert set(parts) == set(range(8))
    assert np.bincount(parts).min() > 1000  # roughly even
    np.testing.assert_array_equal(
        parts, partition_of(ids.sample(frac=1, random_state=0).sort_index(), 8)
    )
    assert partition_of(pd.Series(["A000000042"]), 8)[0] == parts[42]


def test_reason_codes_are_the_features_pushing_the_score_up_most():
    values = pd.DataFrame({"a": [1.0, 2.0], "b": [10.0, 20.0], "c": [0.5, np.nan], "d": [7.0, 8.0]})
    contributions = np.array([[0.2, 1.5, -0.3, 0.9], [-0.1, -0.2, 0.4, -0.5]])
    texts = {"a": "text a", "b": "text b", "c": "text c", "d": "text d"}
    reasons = reason_codes(contributions, values, texts)
    first = reasons.iloc[0]
    assert [first[f"reason_{i}_feature"] for i in (1, 2, 3)] == ["b", "d", "a"]
    assert first["reason_1_value"] == 10.0 and first["reason_1_contribution"] == 1.5
    assert first["reason_1_text"] == "text b"
    second = reasons.iloc[1]
    # Only one feature pushes the second row up; the other slots stay empty.
    assert second["reason_1_feature"] == "c" and np.isnan(second["reason_1_value"])
    assert pd.isna(second["reason_2_feature"]) and np.isnan(second["reason_2_contribution"])


def test_ranks_are_total_and_the_alert_band_is_the_budget():
    scored = pd.DataFrame(
        {"entity_id": ["c", "a", "b", "d", "e"], "score": [0.5, 0.5, 0.2, 0.03, 0.001]}
    )
    ranked = rank_and_band(scored, budget=1, high=0.1, medium=0.01)
    assert ranked["entity_id"].tolist() == ["a", "c", "b", "d", "e"]  # ties by id
    assert ranked["rank"].tolist() == [1, 2, 3, 4, 5]
    assert ranked["risk_band"].tolist() == ["alert", "high", "high", "medium", "low"]


def test_psi_is_zero_on_the_reference_and_alerts_on_a_shift():
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"amount": rng.lognormal(5, 1, 20_000), "share": rng.random(20_000)})
    train.loc[::10, "share"] = np.nan
    reference = reference_bins(train, ["amount", "share"])
    same = population_stability(reference, train).set_index("feature")
    assert same["psi"].max() < 1e-9 and set(same["status"]) == {"ok"}
    moved = train.assign(amount=train["amount"] * 3, share=train["share"].fillna(0.5) ** 0.9)
    shifted = population_stability(reference, moved).set_index("feature")
    assert shifted.loc["amount", "status"] == "alert" and shifted.loc["amount", "psi"] > 0.25
    # Losing the missing values (10 % of rows) alone is a warning-sized move.
    assert shifted.loc["share", "psi"] >= 0.10


def test_ring_report_groups_members_and_names_the_typology_their_reasons_point_to():
    members = pd.DataFrame(
        {
            "entity_id": ["A1", "A2", "I1", "A3", "A4"],
            "entity_type": ["account", "account", "intermediary", "account", "account"],
            "ring_id": ["ring-x", "ring-x", "ring-x", "ring-y", None],
            "score": [0.9, 0.1, 0.5, 0.8, 0.7],
            "reason_1_feature": [
                "pass_through_ratio_30d",
                "distinct_devices_90d",
                "fee_to_loan_ratio_180d",
                "x",
                "y",
            ],
        }
    )
    links = pd.DataFrame(
        {"ring_id": ["ring-x"], "shared_devices": [["D1"]], "shared_phones": [[]],
         "payments_within_30d": [3], "money_moved_within_30d": [1200.0]}
    )  # fmt: skip
    typologies = {
        "pass_through_ratio_30d": "mule_account",
        "distinct_devices_90d": "mule_account",
        "fee_to_loan_ratio_180d": "illegal_loan_intermediary",
    }
    report = ring_report(members, links, typologies)
    assert report["ring_id"].tolist() == ["ring-x"]  # ring-y has one member: not a ring
    ring = report.iloc[0]
    assert ring["members"] == ["A1", "A2", "I1"] and ring["intermediaries"] == ["I1"]
    assert ring["max_score"] == 0.9 and ring["mean_score"] == pytest.approx(0.5)
    assert ring["typology"] == "mule_account" and ring["money_moved_within_30d"] == 1200.0
