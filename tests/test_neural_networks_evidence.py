"""Rich or lazy, neural evidence first: `garden neural networks` compares each scanned person's ROI
RDMs with the hidden RDMs of the networks fitted to their own choices (`garden networks fit`).

Known answer on data the analysis did not make: the people are network people of the shipped 2018
protocol (interleaved), 5 whose choices come from a rich network (σ 0.01) and 5 from a lazy one (σ 3),
each with an init seed and learning rate the fit never uses (``recovery.simulate_people``). Their
scanner data come from the independent simulator (tests/fmriprep_sim.py: its own HRF, AR(1) noise,
drifts, motion, no nilearn): the "rich" ROI holds the hidden activity, after the person's training, of
a σ 0.01 network with the person's seed and learning rate, the "lazy" ROI that of a σ 3 network (so
each person's own network sits in one ROI, the other family's in the other), and the "noise" ROI random
patterns drawn per person. The GLM, RDMs, fit and comparison run with their defaults through the
commands. Per group the chain must read the own network's ROI as that family, with behaviour agreeing,
never read the other ROI as the group's family, and read the noise ROI "cannot tell"."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fmriprep_sim import write_dataset

from garden.analysis.networks.recovery import protocol_sequence, simulate_people
from garden.cli import main
from garden.core.errors import UserError
from garden.core.task import CONTEXTS
from garden.core.trials import write_table
from garden.modeling.networks.config import SweepConfig, TrainConfig
from garden.modeling.networks.curriculum import matched_outputs, sequences
from garden.modeling.networks.data import task_data
from garden.modeling.networks.measures import forward
from garden.rsa import evidence
from garden.rsa.evidence import RICH_MAX_SCALE
from garden.rsa.rdms import RDMs
from garden.rsa.model_rdms import condition_table

PEOPLE = 10
ROIS = ("rich", "lazy", "noise")
RICH, LAZY = (0.01, 0.5), (3.0, 1.5)   # init scale, context scale


def _garden(*args) -> None:
    assert main([str(a) for a in args]) == 0


def _trained_hidden(trials: pd.DataFrame, truth: pd.DataFrame, scale: float, ctx_scale: float) -> np.ndarray:
    """(people, 50, 100) hidden activity on the 50 items of a network of init scale ``scale`` with each
    person's generating seed and learning rate, after their whole sequence."""
    out = []
    for row in truth.itertuples():
        config = SweepConfig(scales=(scale,), ctx_scales=(ctx_scale,), seeds=(row.network_seed,),
                             train=TrainConfig(dtype="float64", threads=1), input_norm="item")
        seqs = sequences(trials[trials["participant_id"] == row.participant_id], CONTEXTS)
        _, final = matched_outputs(seqs, config, np.array([row.lr]), final=True)
        data = task_data(input_norm="item")
        hidden, _ = forward({k: v[0] for k, v in final.items()}, data.stimulus, data.context)
        out.append(hidden[0])
    return np.stack(out)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """People's trials, their network fit, the simulated scanner dataset and its ROI RDMs; the ids of
    the rich and of the lazy people."""
    root = tmp_path_factory.mktemp("evidence")
    trials, truth = simulate_people("flesch2018", ["interleaved"], PEOPLE, seed=0, agents=(),
                                    scales=(RICH[0], LAZY[0]), ctx_scales=(RICH[1], LAZY[1]))
    geometries = {"rich": _trained_hidden(trials, truth, *RICH), "lazy": _trained_hidden(trials, truth, *LAZY),
                  "noise": "random"}
    ids = {pid: f"{k + 1:02d}" for k, pid in enumerate(truth["participant_id"])}
    write_table(trials.assign(participant_id=trials["participant_id"].map(ids)), root / "people.tsv")
    dataset = write_dataset(root / "ds", n_participants=PEOPLE, n_runs=2, snr=1.0, seed=5, geometries=geometries)
    _garden("networks", "fit", root / "people.tsv", "--threads", 1, "--out", root / "fits")
    _garden("neural", "glm", dataset, "--out", root / "glm")
    rois = [x for name in ROIS for x in ("--roi", f"{name}={dataset / 'rois' / f'roi-{name}_mask.nii.gz'}")]
    _garden("neural", "rdms", root / "glm", "--out", root / "rdms", *rois)
    groups = {kind: [ids[p] for p in truth.loc[truth["scale"] == scale, "participant_id"]]
              for kind, scale in (("rich", RICH[0]), ("lazy", LAZY[0]))}
    return root, groups


def _evidence(root, people, out, capsys) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """`garden neural networks` on ``people``: (reading, conclusion) by ROI and what it printed."""
    _garden("neural", "networks", root / "rdms", "--fits", root / "fits", "--trials", root / "people.tsv",
            "--participants", ",".join(people), "--out", out)
    table = lambda name: pd.read_csv(out / "tables" / f"neural_networks_{name}.tsv", sep="\t")  # noqa: E731
    assert len(table("similarity")) == len(people) * len(ROIS) * 8
    return table("reading").set_index("roi"), table("conclusion").set_index("roi"), capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["rich", "lazy"])
def test_the_chain_reads_the_people_s_own_network(study, kind, tmp_path, capsys):
    root, groups = study
    other = "lazy" if kind == "rich" else "rich"
    reading, conclusion, printed = _evidence(root, groups[kind], tmp_path / "evidence", capsys)
    own = reading.loc[kind]
    assert own["reading"] == kind and own["ceiling_lower"] > 0.3
    assert (own["best_scale"] <= RICH_MAX_SCALE) == (kind == "rich")
    assert conclusion.loc[kind, "behaviour_reading"] == kind and conclusion.loc[kind, "consistency"] == "agree"
    assert reading.loc[other, "reading"] != kind   # the other family's network of the same person
    assert reading.loc["noise", "reading"] == "cannot tell"
    assert conclusion.loc["noise", "consistency"] == "neural cannot tell" and "cannot tell rich from lazy" in printed
    _garden("report", tmp_path / "evidence")   # the report's section states the chain
    text = (tmp_path / "evidence" / "report.html").read_text(encoding="utf-8")
    assert "<h2>Rich or lazy? The evidence</h2>" in text and f"{kind}: {kind}, by the neural evidence" in text
    assert text.count("src='data:image/png;base64,") == 1


@pytest.mark.slow
def test_refuses_people_without_a_fit(study, tmp_path, capsys):
    root, _ = study
    partial = tmp_path / "people.tsv"
    people = pd.read_csv(root / "people.tsv", sep="\t", dtype={"participant_id": str})
    people[people["participant_id"] != "03"].to_csv(partial, sep="\t", index=False)
    base = ["neural", "networks", str(root / "rdms"), "--trials", str(partial), "--out", str(tmp_path / "out")]
    for extra, message in ((["--fits", str(root / "fits")], "['sub-03'] have ROI RDMs but no network fit in "),
                           (["--fits", str(root / "glm")], "no fit.json, so not a finished network fit"),
                           (["--fits", str(root / "fits"), "--participants", "01,99"],
                            "--participants: ['sub-99'] have no ROI RDMs")):
        assert main(base + extra) == 2
        error = capsys.readouterr().err
        assert message in error and error.count("\n") == 1 and "Traceback" not in error
    no_feedback = tmp_path / "no_feedback.tsv"
    people.drop(columns="feedback").to_csv(no_feedback, sep="\t", index=False)
    assert main(["neural", "networks", str(root / "rdms"), "--fits", str(root / "fits"), "--trials", str(no_feedback),
                 "--out", str(tmp_path / "out")]) == 2
    assert "column 'feedback' is missing" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_noise_ceilings_equal_rsatoolbox():
    pytest.importorskip("rsatoolbox")
    from rsatoolbox.inference import boot_noise_ceiling

    rng = np.random.default_rng(0)
    shared = rng.standard_normal((50, 4))
    matrices = [np.linalg.norm(p[:, None] - p[None], axis=-1)
                for p in (shared + 0.8 * rng.standard_normal((50, 4)) for _ in range(6))]
    rdms = RDMs(np.stack(matrices), condition_table(),
                pd.DataFrame({"participant_id": [f"sub-{k}" for k in range(6)], "roi": "x"}))
    for measure, theirs in (("spearman", "spearman"), ("pearson", "corr")):
        ours = evidence.noise_ceilings(rdms, measure=measure).iloc[0]
        lower, upper = boot_noise_ceiling(rdms.to_rsatoolbox(), method=theirs, rdm_descriptor="participant_id")
        assert ours["lower"] == pytest.approx(lower, abs=1e-10) and ours["upper"] == pytest.approx(upper, abs=1e-10)
        assert 0.2 < ours["lower"] < ours["upper"] < 1


def test_behaviour_reading_needs_a_majority():
    assert evidence.behaviour_reading(pd.Series(["rich", "rich", "lazy"]))[0] == "rich"
    assert evidence.behaviour_reading(pd.Series(["rich", "lazy", "undecided", "lazy"]))[0] == "cannot tell"
    said, counts = evidence.behaviour_reading(pd.Series(["lazy", "lazy", evidence.CANNOT_TELL]))
    assert said == "lazy" and counts.endswith("of 3")


def test_neural_reading_gates():
    """rich / lazy by the interval of rich - lazy; cannot tell when it spans 0, when the ROI's ceiling
    is low, or when no network describes the ROI."""
    rng = np.random.default_rng(1)
    scales = np.array([0.01, 0.4, 1.0, 3.0])
    shapes = {"a": [0.6, 0.5, 0.4, 0.3], "b": [0.3, 0.4, 0.5, 0.6], "c": [0.5, 0.5, 0.5, 0.5],
              "d": [0.6, 0.5, 0.4, 0.3], "e": [0.08, 0.05, 0.02, 0.0]}
    rows = [{"participant_id": f"sub-{p}", "roi": roi, "scale": s, "similarity": m + rng.normal(0, 0.02)}
            for roi, means in shapes.items() for p in range(6) for s, m in zip(scales, means)]
    ceilings = pd.DataFrame({"roi": list(shapes), "n": 6, "lower": [0.5, 0.5, 0.5, 0.05, 0.5], "upper": 0.7})
    profile, people, reading = evidence.neural_reading(pd.DataFrame(rows), ceilings, n_boot=500, seed=0)
    reading = reading.set_index("roi")
    assert list(reading["reading"]) == ["rich", "lazy", "cannot tell", "cannot tell", "cannot tell"]
    assert "spans 0" in reading.loc["c", "reason"] and "do not replicate" in reading.loc["d", "reason"]
    assert "no network describes" in reading.loc["e", "reason"]
    assert reading.loc["a", "best_scale"] == 0.01 and reading.loc["b", "best_scale"] == 3.0
    assert reading.loc["a", "rich_minus_lazy"] == pytest.approx(0.2, abs=0.03)
    assert reading.loc["a", "relative_to_upper"] == pytest.approx(reading.loc["a", "best_similarity"] / 0.7)
    assert len(profile) == 5 * 4 and len(people) == 5 * 6
    chain = evidence.conclusion_chain(reading.reset_index(), ("lazy", "lazy 4 of 6")).set_index("roi")
    assert list(chain["consistency"]) == ["disagree", "agree", "neural cannot tell", "neural cannot tell",
                                          "neural cannot tell"]


def test_fitted_hidden_rdms_pick_each_scale_s_fitted_rate_and_average_seeds():
    """The batched run (learning rates x scales x seeds) gives, per person and scale, the seed mean of
    the RDMs of networks run one at a time at that scale's fitted rate."""
    from garden.modeling.networks.fitted_rdms import fitted_hidden_rdms, lr_indices
    from garden.modeling.networks.likelihood import FitGrid
    from garden.rsa.distances import rdm

    trials = pd.concat([protocol_sequence("flesch2018", pid, "B20").assign(participant_id=pid)
                        for pid in ("P001", "P002")])
    trials = trials[trials["trial"] <= 120]   # the start of the first session: seconds
    grid = FitGrid(scales=(0.1, 2.0), ctx_scales=(0.5, 1.35), seeds=(0, 1), lrs=(0.02, 0.1), dtype="float64")
    seqs = sequences(trials, CONTEXTS)
    fitted = pd.DataFrame({"participant_id": np.repeat(seqs.participant_ids, 2), "scale": [0.1, 2.0] * 2,
                           "lr": [0.1, 0.02, 0.02, 0.1]})
    index = lr_indices(seqs, fitted, grid)
    assert index.tolist() == [[1, 0], [0, 1]]
    rdms = fitted_hidden_rdms(seqs, index, grid)
    assert rdms.rdm_descriptors[["scale", "lr"]].values.tolist() == [[0.1, 0.1], [2.0, 0.02], [0.1, 0.02], [2.0, 0.1]]
    data = task_data(input_norm="item")
    for k, row in rdms.rdm_descriptors.iterrows():
        person = trials[trials["participant_id"] == row["participant_id"]]
        config = SweepConfig(scales=(row["scale"],), ctx_scales=(0.5 if row["scale"] == 0.1 else 1.35,), seeds=(0, 1),
                             train=TrainConfig(dtype="float64"), input_norm="item")
        _, final = matched_outputs(sequences(person, CONTEXTS), config, np.full(2, row["lr"]), final=True)
        hidden, _ = forward({name: v[0] for name, v in final.items()}, data.stimulus, data.context)
        np.testing.assert_allclose(rdms.matrices[k], np.mean([rdm(h) for h in hidden], axis=0), rtol=1e-8, atol=1e-10)
    with pytest.raises(UserError, match="not on the fit's grid"):
        lr_indices(seqs, fitted.assign(lr=0.05), grid)
