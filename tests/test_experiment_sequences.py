"""Trial sequences: counts, exemplars never repeated across phases, curricula, scanner schedules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from garden.core.errors import UserError
from garden.core.task import reward_value
from garden.core.trials import REQUIRED, format_value, validate
from garden.experiment.config import load_protocol
from garden.experiment.sequences import (
    allocate_exemplars,
    assign,
    numbered_pool,
    run_plan,
    session_sequence,
)

P2022 = load_protocol("flesch2022")
P2018 = load_protocol("flesch2018")


def _switches(contexts: pd.Series) -> np.ndarray:
    """Trial positions (0-based) where the garden changes."""
    c = contexts.to_numpy()
    return np.flatnonzero(c[1:] != c[:-1]) + 1


@pytest.fixture(scope="module")
def both_sessions() -> pd.DataFrame:
    a = assign(P2022, "P006", curriculum="blocked")
    return pd.concat([session_sequence(P2022, a, 1), session_sequence(P2022, a, 2)], ignore_index=True)


def test_every_phase_shows_each_garden_and_tree_equally(both_sessions):
    counts = both_sessions.groupby(["phase", "context", "branchiness", "leafiness"]).size()
    for phase, per_cell in {"training": 1, "baseline": 4, "main": 18, "refresher": 1, "scan": 12}.items():
        assert (counts[phase] == per_cell).all() and len(counts[phase]) == 50


def test_no_exemplar_repeats_across_phases(both_sessions):
    phases_per_tree = both_sessions.groupby(["branchiness", "leafiness", "exemplar"]).phase.nunique()
    assert phases_per_tree.max() == 1
    # each exemplar of a phase is seen once per garden
    per_tree = both_sessions.groupby(["phase", "branchiness", "leafiness", "exemplar", "context"]).size()
    assert (per_tree == 1).all()
    assert both_sessions.groupby(["branchiness", "leafiness"]).exemplar.nunique().eq(36).all()


def test_table_satisfies_the_contract_and_rules(both_sessions):
    text = both_sessions.map(format_value).astype(object)
    _, problems = validate(text)
    assert problems == []
    assert list(both_sessions.columns[:len(REQUIRED)]) == list(REQUIRED)
    expected = reward_value(both_sessions.context, both_sessions.branchiness, both_sessions.leafiness, rule_code=2)
    assert np.array_equal(both_sessions.reward_value, expected)  # P006 -> rule code 2
    for _, session in both_sessions.groupby("session"):
        assert session.trial.tolist() == list(range(1, len(session) + 1))


def test_sequences_are_reproducible_and_differ_between_participants():
    a = assign(P2022, "P006")
    s1, s2 = session_sequence(P2022, a, 1), session_sequence(P2022, a, 1)
    pd.testing.assert_frame_equal(s1, s2)
    other = session_sequence(P2022, assign(P2022, "P007"), 1)
    assert not np.array_equal(s1.exemplar, other.exemplar)


def test_blocked_2022_is_450_then_450_and_interleaved_switches_often():
    blocked = session_sequence(P2022, assign(P2022, "P001", curriculum="blocked"), 1)
    main = blocked[blocked.phase == "main"].reset_index(drop=True)
    assert _switches(main.context).tolist() == [450]
    assert main.block.value_counts().sort_index().tolist() == [225] * 4
    inter = session_sequence(P2022, assign(P2022, "P001", curriculum="interleaved"), 1)
    main = inter[inter.phase == "main"]
    assert 300 < len(_switches(main.context)) < 600  # ~450 expected for a shuffle


@pytest.mark.parametrize("curriculum, length", [("B200", 200), ("B20", 20), ("B2", 2)])
def test_2018_blocked_curricula_switch_every_block_length(curriculum, length):
    seq = session_sequence(P2018, assign(P2018, "S3", curriculum=curriculum), 1)
    train = seq[seq.phase == "training"].reset_index(drop=True)
    assert _switches(train.context).tolist() == list(range(length, 400, length))
    test = seq[seq.phase == "test"]
    assert len(test) == 200 and test.feedback.eq(0).all() and train.feedback.eq(1).all()


def test_2018_exemplar_design_matches_the_published_data(flesch2018):
    """Per participant: training shows 4 exemplars per tree, each twice per garden; the test
    4 new ones, each once per garden (counts from the published exp1a trials)."""
    def design(table: pd.DataFrame) -> dict[str, tuple[int, list[int]]]:
        return {phase: (int(t.groupby(["branchiness", "leafiness"]).exemplar.nunique().max()),
                        sorted(set(t.groupby(["context", "branchiness", "leafiness", "exemplar"]).size())))
                for phase, t in table.groupby("phase")}
    published = pd.read_csv(flesch2018 / "exp1a_trials.csv.gz", nrows=600)
    published = published[published.participant == published.participant.iloc[0]]
    ours = session_sequence(P2018, assign(P2018, "S1"), 1)
    assert design(published) == {"train": (4, [2]), "test": (4, [1])}
    assert design(ours) == {"training": (4, [2]), "test": (4, [1])}
    train, test = (set(ours[ours.phase == p][["branchiness", "leafiness", "exemplar"]].itertuples(index=False))
                   for p in ("training", "test"))
    assert len(train) == len(test) == 4 * 25 and not train & test  # new trees at test


def test_scanner_runs_balance_conditions_and_onsets_are_computed(both_sessions):
    scan = both_sessions[both_sessions.phase == "scan"]
    assert scan.groupby(["run", "context", "branchiness", "leafiness"]).size().eq(2).all()
    gaps = scan.groupby("run").iti_s.apply(lambda v: v.iloc[:-1])
    assert gaps.between(2.0, 6.0).all() and gaps.std() > 0.8
    assert scan.groupby("run").iti_s.last().eq(0).all()  # the lead-out follows a run's last tree
    assert np.allclose(scan.groupby("run").iti_s.sum(), 99 * 4.0)  # fixed-sum jitter: every run as long
    other = session_sequence(P2022, assign(P2022, "P007"), 2)
    other = other[other.phase == "scan"]
    assert np.allclose(other.groupby("run").planned_onset.max(), scan.groupby("run").planned_onset.max())
    assert run_plan(P2022.phases[-1], scan.planned_onset[scan.run == 1].to_numpy()) == {
        "planned_duration_s": pytest.approx(10 + 100 * 2.5 + 99 * 4.0 + 10), "planned_volumes": 333, "tr_s": 2.0}
    for _, run in scan.groupby("run"):
        # tree onset k = lead-in + cue + sum of the first k trials' (cue + tree + ITI), from the plan
        expected = 10.0 + 1.0 + np.concatenate([[0], np.cumsum(1.0 + 1.5 + run.iti_s.to_numpy())[:-1]])
        assert np.allclose(run.planned_onset, expected, atol=1e-9)
    assert scan.block.nunique() == 6


def test_counterbalancing_from_participant_numbers_crosses_rules_and_curricula():
    pairs = {(a.rule_code, a.curriculum) for a in (assign(P2022, f"P{n:03d}") for n in range(1, 9))}
    assert pairs == {(r, c) for r in (1, 2, 3, 4) for c in ("blocked", "interleaved")}
    cells = [(a.rule_code, a.curriculum, a.first_context) for a in (assign(P2022, f"P{n:03d}") for n in range(1, 17))]
    assert len(set(cells)) == 16  # P001..P016: every rule x curriculum x first garden once
    cells = [(a.rule_code, a.accept_side, a.curriculum, a.first_context)
             for a in (assign(P2018, f"P{n:03d}") for n in range(1, 65))]
    assert len(set(cells)) == 64  # P001..P064: 4 rules x 2 sides x 4 curricula x 2 first gardens
    sides = {r: {s for rule, s, _, _ in cells if rule == r} for r in (1, 2, 3, 4)}
    assert all(v == {"left", "right"} for v in sides.values())  # no rule is tied to one accept side
    assert assign(P2018, "P001").accept_side == "left" and assign(P2018, "P005").accept_side == "right"
    with pytest.raises(UserError, match="--rule-code"):
        assign(P2022, "anna")
    assert assign(P2022, "anna", rule_code=3, curriculum="blocked").rule_code == 3


def test_random_sides_are_balanced_and_fixed_sides_constant(both_sessions):
    assert abs((both_sessions.side_accept == "left").mean() - 0.5) < 0.03
    fixed = session_sequence(P2018, assign(P2018, "P005", curriculum="B20"), 1)
    assert fixed.side_accept.eq("right").all()


def test_a_too_small_stimulus_set_is_refused():
    with pytest.raises(UserError, match="needs 36 exemplars per cell"):
        allocate_exemplars(P2022, seed=1, pool=numbered_pool(8))
