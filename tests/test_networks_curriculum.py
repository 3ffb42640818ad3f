"""Networks run through participants' trial sequences: online SGD, choices in the trial-table contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from optional import skip_module_without

skip_module_without("torch", "[gpu]")

from garden.core.task import item_table  # noqa: E402
from garden.core.trials import read_trials, write_table  # noqa: E402
from garden.cli import main  # noqa: E402
from garden.modeling.networks.config import SweepConfig, TrainConfig  # noqa: E402
from garden.modeling.networks.curriculum import matched_outputs, run_curriculum, sequences  # noqa: E402

LR = 0.05
CONFIG = SweepConfig(scales=(1.0,), ctx_scales=(0.8,), seeds=(0, 1, 2, 3), train=TrainConfig(lr=LR))


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
    out = run_curriculum(trials, CONFIG, lr=LR)
    test = out[out.phase == "test"]
    acc = test.groupby(["group", "context"]).correct.mean()
    assert acc["interleaved", "north"] > 0.85 and acc["interleaved", "south"] > 0.85
    assert acc["blocked", "south"] > 0.85                      # the garden trained last
    assert acc["blocked", "north"] < acc["interleaved", "north"] - 0.2  # catastrophic forgetting


def test_choices_follow_the_outputs_and_form_valid_trial_tables(tmp_path):
    trials = person("interleaved", "P7", reps=2)
    out = run_curriculum(trials, CONFIG, lr=LR)
    assert sorted(out.participant_id.unique()) == ["P7N0", "P7N1", "P7N2", "P7N3"]
    assert (out.choice == (out.network_output > 0)).all() and out.rt.isna().all()
    assert (out.source_participant_id == "P7").all() and (out.group == "interleaved").all()
    table = read_trials(write_table(out, tmp_path / "choices.tsv"))  # the contract's own reader
    assert len(table) == 4 * 150 and set(table.choice.unique()) <= {0.0, 1.0}
    sampled = [run_curriculum(trials, CONFIG, choice_rule="sigmoid", choice_seed=3, lr=LR).choice for _ in range(2)]
    assert sampled[0].equals(sampled[1]) and not sampled[0].equals(out.choice)


def test_networks_learn_only_on_feedback_trials():
    trials = person("interleaved", "P1", reps=1).assign(feedback=0)
    outputs = matched_outputs(sequences(trials), CONFIG, np.full(4, LR))[0]
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
    from garden.modeling.psychometric import fit_table

    trials = pd.concat([person("interleaved", "I1"), person("blocked", "B1")], ignore_index=True)
    fits = fit_table(run_curriculum(trials, CONFIG, lr=LR), models=("factorized", "linear"), phase="test", n_starts=5)
    bic = fits.pivot(index="participant_id", columns="model", values="bic")
    group = fits.drop_duplicates("participant_id").set_index("participant_id").group
    assert len(bic) == 8 and not fits.attrs.get("skipped")
    # interleaved nets keep both rules (factorized wins); blocked nets apply the last rule to both
    # gardens, one shared boundary (linear wins): the forgetting of Flesch et al. (2018)
    assert (bic.factorized < bic.linear)[group == "interleaved"].all()
    assert (bic.linear < bic.factorized)[group == "blocked"].all()


def test_batched_online_sgd_equals_autograd_for_each_network_and_any_chunking():
    """Two participants x 3 networks through their own sequences, in one batch, in chunks of one
    participant, and one network at a time with autograd (float64): the same outputs."""
    import torch

    from garden.modeling.networks.data import task_data
    from garden.modeling.networks.train import augmented_inputs, init_params, online_batch

    data = task_data()
    x = augmented_inputs(data)
    params = init_params(25, [0.1, 1.0, 3.0], [0.5, 0.8, 1.5], [0, 1, 2])
    rng = np.random.default_rng(0)
    items = rng.integers(0, 50, size=(2, 60))
    items[1, 50:] = -1                                            # a shorter sequence, padded
    targets, learn = data.targets[items], rng.random((2, 60)) < 0.7
    lr = np.array([0.3, 0.1, 0.05])
    together = online_batch(x, items, targets, learn, params, lr, l2=0.01, dtype="float64", device="cpu")
    chunked = online_batch(x, items, targets, learn, params, lr, l2=0.01, dtype="float64", device="cpu", chunk=1)
    np.testing.assert_allclose(together, chunked, rtol=0, atol=1e-12)
    assert np.isnan(together[1, 50:]).all()
    for p in range(2):
        for k in range(3):
            w = torch.tensor(np.column_stack([params["w_input"][k], params["w_context"][k], params["b_hidden"][k]]),
                             requires_grad=True)
            w2 = torch.tensor(params["w_output"][k], requires_grad=True)
            b2 = torch.tensor(params["b_output"][k], requires_grad=True)
            for t in range(60):
                if items[p, t] < 0:
                    break
                out = torch.relu(w @ torch.tensor(x[items[p, t]])) @ w2 + b2
                assert out.item() == pytest.approx(together[p, t, k], abs=1e-10)
                if learn[p, t]:
                    loss = 0.5 * (out - targets[p, t]) ** 2 + 0.5 * 0.01 * ((w[:, :-1] ** 2).sum() + (w2 ** 2).sum())
                    loss.backward()
                    with torch.no_grad():
                        for v in (w, w2, b2):
                            v -= lr[k] * v.grad
                            v.grad = None


def test_the_online_learning_rate_rule_reproduces_the_tuned_rates():
    from garden.modeling.networks.config import ONLINE_LRS
    from garden.modeling.networks.curriculum import tune_online_lr

    table = tune_online_lr((0.3, 3.0), (0.5, 1.5))
    chosen = table[table.chosen].set_index("scale").lr
    assert chosen.to_dict() == {0.3: ONLINE_LRS[0.3], 3.0: ONLINE_LRS[3.0]}
    lazy = table[table.scale == 3.0].set_index("lr").last_block_accuracy
    assert lazy[ONLINE_LRS[3.0]] >= 0.9 and lazy[0.01] < lazy[ONLINE_LRS[3.0]]


def test_untuned_scales_are_refused_and_the_sigmoid_rule_has_a_temperature():
    from garden.core.errors import UserError
    from garden.modeling.networks.curriculum import choice_probability, network_lrs

    with pytest.raises(UserError, match="no tuned online learning rate for init scale.*0.7"):
        network_lrs(SweepConfig(scales=(0.7,), ctx_scales=(0.5,), seeds=(0,)))
    assert network_lrs(SweepConfig(scales=(0.7,), ctx_scales=(0.5,), seeds=(0, 1)), 0.2).tolist() == [0.2, 0.2]
    assert choice_probability(np.array([0.25, -0.5]), 0.25) == pytest.approx([1 / (1 + np.exp(-1)), 1 / (1 + np.exp(2))])
