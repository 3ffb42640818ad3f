"""Known answers for the task rules, and agreement with the programmed rewards of the 2018 data."""

import numpy as np
import pandas as pd
import pytest

from garden.core import task
from garden.core.errors import UserError


def test_item_table_order_and_cardinal_values():
    items = task.item_table(1)
    assert len(items) == 50
    # index = ctx*25 + (b-1)*5 + (l-1)
    row = items.iloc[25 + 3 * 5 + 1]
    assert (row.context, row.branchiness, row.leafiness) == ("south", 4, 2)
    values = items.reward_value.to_numpy().reshape(2, 5, 5)
    np.testing.assert_array_equal(values[0, 2], [-50, -25, 0, 25, 50])  # north: leafiness relevant
    np.testing.assert_array_equal(values[1, :, 2], [-50, -25, 0, 25, 50])  # south: branchiness relevant
    assert not np.any(np.signbit(values) & (values == 0)), "no negative zeros in written values"


@pytest.mark.parametrize("code, north_sign, south_sign", [(1, 1, 1), (2, -1, -1), (3, -1, 1), (4, 1, -1)])
def test_counterbalancing_directions(code, north_sign, south_sign):
    assert task.reward_value("north", 3, 5, code)[()] == 50 * north_sign
    assert task.reward_value("south", 5, 3, code)[()] == 50 * south_sign


def test_diagonal_rule_is_clipped_sum_and_difference():
    values = task.item_table(5).reward_value.to_numpy().reshape(2, 5, 5)
    b, l = np.meshgrid(np.arange(1, 6), np.arange(1, 6), indexing="ij")
    np.testing.assert_array_equal(values[0], np.clip(25 * (b + l - 6), -50, 50))
    np.testing.assert_array_equal(values[1], np.clip(25 * (b - l), -50, 50))


def test_correctness_and_congruency():
    np.testing.assert_array_equal(task.correct_choice([-25, 0, 50]), [0, np.nan, 1])
    # cardinal high-high: (b=1,l=5) is worth +50 north and -50 south -> incongruent corner
    assert task.congruency(1, 5, 1)[()] == "incongruent"
    assert task.congruency(5, 5, 1)[()] == "congruent"
    assert task.congruency(3, 5, 1)[()] == "neutral"
    counts = pd.Series(task.congruency(*np.meshgrid(np.arange(1, 6), np.arange(1, 6)), 1).ravel()).value_counts()
    assert counts["congruent"] == 8 and counts["incongruent"] == 8 and counts["neutral"] == 9


def test_bad_rule_code_and_context_are_user_errors():
    with pytest.raises(UserError, match="rule code"):
        task.get_rule(9)
    with pytest.raises(UserError, match="unknown context"):
        task.reward_value("east", 1, 1)


def test_rules_match_programmed_rewards_of_published_data(flesch2018):
    for exp in ("exp1a", "exp1b"):
        trials = pd.read_csv(flesch2018 / f"{exp}_trials.csv.gz",
                             usecols=["context", "branchiness", "leafiness", "reward_value", "rew_assignment"])
        for code, rows in trials.groupby("rew_assignment"):
            expected = task.reward_value(rows.context.to_numpy(), rows.branchiness, rows.leafiness, int(code))
            np.testing.assert_array_equal(expected, rows.reward_value.to_numpy(), err_msg=f"{exp} code {code}")
