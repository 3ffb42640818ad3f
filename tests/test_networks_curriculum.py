"""Networks run through participants' trial sequences: online SGD, choices in the trial-table contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from core.task import item_table  # noqa: E402
from core.trials import read_trials, write_table  # noqa: E402
from garden.cli import main  # noqa: E402
from modeling.networks.config import SweepConfig, TrainConfig  # noqa: E402
from modeling.networks.curriculum import learns_on, run_curriculum
from modeling.networks.train import online_outputs  # noqa: E402

CONFIG = SweepConfig(scales=(1.0,), ctx_scales=(0.8,), seeds=(0, 1, 2, 3), train=TrainConfig(lr=0.05))


def person(curriculum: str, pid: str, reps: int = 8, seed: int = 0) -> pd.DataFrame:
    """A participant: ``reps`` passes over the 50 items with feedback (blocked: all north first),
    then one test pass without feedback."""
    rng = np.random.default_rng(seed)
    items = item_table().drop(columns=["context_index", "category"])
    train = pd.concat([items.iloc[rng.permutation(50)] for _ in range(reps)])
    if curriculum == "blocked":
        train = pd.concat([train[train.context == "north"], train[train.context == "south"]])
    test = items.iloc[rng.permutation(50)]
    table = pd.concat([train.assign(phase="train", feedback=1), test.assign(phase="test", feedback=0)],
                      ignore_index=True)
    return table.assign(participant_id=pid, session=1, block=1, trial=np.arange(1, len(table) + 1), exemplar="1",
                        choice=np.nan, rt=np.nan, group=curriculum)


def test_blocked_training_makes_networks_forget_the_first_garden():
    trials = pd.concat([person("blocked", "B1"), person("interleaved", "I1")], ignore_index=True)
    out = run_curriculum(trials, CONFIG)
    test = out[out.phase == "test"]
    acc = test.groupby(["group", "context"]).correct.mean()
    assert acc["interleaved", "north"] > 0.85 and acc["interleaved", "south"] > 0.85
    assert acc["blocked", "south"] > 0.85                      # the garden trained last
    assert acc["blocked", "north"] < acc["interleaved", "north"] - 0.2  # catastrophic forgetting


def test_choices_follow_the_outputs_and_form_valid_trial_tables(tmp_path):
    trials = person("interleaved", "P7", reps=2)
    out = run_curriculum(trials, CONFIG)
    assert sorted(out.participant_id.unique()) == ["P7N0", "P7N1", "P7N2", "P7N3"]
    assert (out.choice == (out.network_output > 0)).all() and out.rt.isna().all()
    assert (out.source_participant_id == "P7").all() and (out.group == "interleaved").all()
    table = read_trials(write_table(out, tmp_path / "choices.tsv"))  # the contract's own reader
    assert len(table) == 4 * 150 and set(table.choice.unique()) <= {0.0, 1.0}
    sampled = [run_curriculum(trials, CONFIG, choice_rule="sigmoid", choice_seed=3).choice for _ in range(2)]
    assert sampled[0].equals(sampled[1]) and not sampled[0].equals(out.choice)


def test_networks_learn_only_on_feedback_trials():
    trials = person("interleaved", "P1", reps=1).assign(feedback=0)
    outputs = online_outputs(trials, CONFIG, learns_on(trials))
    first = trials.groupby(["context", "branchiness", "leafiness"]).ngroup().to_numpy()
    again = np.concatenate([trials.index[first == f].to_numpy()[1:] for f in range(50)])
    pair = np.concatenate([trials.index[first == f].to_numpy()[:1] for f in range(50)])
    np.testing.assert_array_equal(outputs[again], outputs[pair])  # no learning: same tree, same output


def test_cli_curriculum(tmp_path, capsys):
    path = write_table(person("blocked", "P2", reps=1), tmp_path / "p2.tsv")
    args = ["train", "--curriculum", str(path), "--scales", "1", "--ctx-scales", "0.8", "--seeds", "2",
            "--lr", "0.05", "--out", str(tmp_path / "net")]
    assert main(args) == 0
    table = read_trials(tmp_path / "net" / "choices.tsv")
    assert len(table) == 2 * 100 and (tmp_path / "net" / "choices.json").exists()
    assert main(args) == 2 and "already exists" in capsys.readouterr().err


def test_network_choices_fit_with_the_psychometric_models():
    from modeling.psychometric import fit_table

    trials = pd.concat([person("interleaved", "I1"), person("blocked", "B1")], ignore_index=True)
    fits = fit_table(run_curriculum(trials, CONFIG), models=("factorized", "linear"), phase="test", n_starts=5)
    bic = fits.pivot(index="participant_id", columns="model", values="bic")
    group = fits.drop_duplicates("participant_id").set_index("participant_id").group
    assert len(bic) == 8 and not fits.attrs.get("skipped")
    # interleaved nets keep both rules (factorized wins); blocked nets apply the last rule to both
    # gardens, one shared boundary (linear wins): the forgetting of Flesch et al. (2018)
    assert (bic.factorized < bic.linear)[group == "interleaved"].all()
    assert (bic.linear < bic.factorized)[group == "blocked"].all()
