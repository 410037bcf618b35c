import numpy as np
import pandas as pd
import pytest

from pipeline.baselines import (
    Condition,
    RedFlag,
    RedFlagRules,
    flags_raised,
    load_red_flags,
    logistic_scores,
    logistic_to_json,
    make_logistic,
    rules_scores,
)
from pipeline.catalog import families_for
from pipeline.config import ENTITIES, BaselineConfig

FLAGS = (
    RedFlag("fast", "mule_account", (Condition.parse("share_in_forwarded_24h_30d >= 0.5"),)),
    RedFlag(
        "young_and_busy",
        "mule_account",
        (Condition.parse("account_age_days < 180"), Condition.parse("distinct_payers_30d >= 10")),
    ),
)


def rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "share_in_forwarded_24h_30d": [0.9, 0.9, 0.1, np.nan, 0.6, 0.0],
            "account_age_days": [30, 400, 30, 30, 100, 2000],
            "distinct_payers_30d": [20, 20, 20, 20, 12, 1],
        }
    )


@pytest.mark.parametrize("entity", ENTITIES)
def test_red_flags_use_features_of_their_entity(entity):
    features = {f for family in families_for(entity) for f in family.features}
    flags = load_red_flags(entity)
    assert len(flags) >= 8
    for flag in flags:
        assert {c.feature for c in flag.conditions} <= features, flag.name


def test_flags_count_all_conditions_and_missing_values_raise_nothing():
    assert flags_raised(rows(), FLAGS).tolist() == [2, 1, 1, 1, 2, 0]


def test_a_malformed_condition_is_refused_with_its_text():
    with pytest.raises(ValueError, match="'age is young'"):
        Condition.parse("age is young")


def test_rules_learn_smoothed_rates_that_never_fall_with_more_flags():
    frame = rows()
    label = np.array([1, 0, 0, 0, 1, 0])
    rules = RedFlagRules(FLAGS, prior_strength=2.0).fit(frame, label)
    base = label.mean()
    # One row with no flag (a negative), three with one (none bad), two with two (both bad).
    expected = np.array([(0 + 2 * base) / 3, (0 + 2 * base) / 5, (2 + 2 * base) / 4])
    np.testing.assert_allclose(rules.rate_by_flag_count_, np.maximum.accumulate(expected))
    assert np.all(np.diff(rules.rate_by_flag_count_) >= 0)
    np.testing.assert_allclose(
        rules_scores(rules.to_json(), frame, FLAGS), rules.predict_proba(frame)[:, 1]
    )


def test_rules_refuse_flags_they_were_not_fitted_with():
    rules = RedFlagRules(FLAGS).fit(rows(), [1, 0, 0, 0, 1, 0])
    with pytest.raises(ValueError, match="red flags changed"):
        rules_scores(rules.to_json(), rows(), FLAGS[:1])


def test_exported_logistic_regression_scores_like_scikit_learn():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "amount": rng.lognormal(8, 2, 500),
            "share": rng.random(500),
            "sometimes_missing": np.where(rng.random(500) < 0.3, np.nan, rng.normal(size=500)),
            "never_seen": np.nan,
        }
    )
    label = (rng.random(500) < 1 / (1 + np.exp(-(np.log(frame["amount"]) - 9)))).astype(int)
    features = list(frame.columns)
    fitted = make_logistic(BaselineConfig(logistic_c=1.0, rules_prior_strength=0), seed=0).fit(
        frame, label
    )
    exported = logistic_to_json(fitted, features)
    np.testing.assert_allclose(
        logistic_scores(exported, frame), fitted.predict_proba(frame)[:, 1], rtol=1e-10
    )
    assert exported["coefficients"][0] > 0  # learned that large amounts are riskier
