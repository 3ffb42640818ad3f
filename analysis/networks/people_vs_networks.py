"""People against networks, behaviour against behaviour: whose choice pattern matches a person's?

Why: the lab's question is whether people learn like rich (small init scale) or lazy (large)
networks. People give choices, so they are compared with the networks' *choices*: each person's
choice RDM (|p_i - p_j| over the 50 conditions, ``garden.rsa.distances.choice_rdm``) against the choice RDMs of
networks, from p(accept) = sigmoid(output / T) of their outputs (``network_choice_rdms``), or from
the choices of networks run through that person's own trial sequence (``matched_similarity``); and
the psychometric parameters of the same models fitted to both (``matched_parameters``).
Hidden-layer RDMs are compared with neural RDMs and model RDMs only, never with choices.

What each comparison can and cannot say: a choice RDM holds only which trees are accepted how
often, so it separates networks whose choices differ (factorized vs linear boundaries, forgetting
of the first garden, noisy vs exact) but not representations that yield the same choices: fully
trained rich and lazy networks both answer every tree right, and their choice RDMs differ only
through their output scale. Matched networks carry the person's learning history (curriculum,
feedback), so their choices can differ by scale where learning speed or forgetting differ. A best
matching scale is therefore a statement about behaviour, not about the person's hidden geometry.
Group profiles get bootstrap intervals over participants (seeded), and the bootstrap
distribution of the best scale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from garden.modeling.networks.config import CHOICE_TEMPERATURE
from garden.modeling.networks.curriculum import choice_probability
from garden.rsa.candidates import finite_conditions
from garden.rsa.compare import COMPARISONS, regress_rdms
from garden.rsa.distances import choice_rdm
from garden.rsa.model_rdms import condition_table
from garden.rsa.rdms import RDMs

def network_choice_rdms(outputs: np.ndarray, labels: Sequence, temperature: float = CHOICE_TEMPERATURE,
                        by: str = "scale") -> RDMs:
    """Choice RDMs |p_i - p_j| of networks' p(accept) = sigmoid(output / T) on the 50 conditions
    (``outputs`` (N, 50) in value / 25 units), rdm descriptor ``by`` = ``labels`` (N,) (e.g. init scales)."""
    p = choice_probability(outputs, temperature)
    return RDMs(np.stack([choice_rdm(row) for row in p]), condition_table(), pd.DataFrame({by: list(labels)}),
                "|p_i - p_j|")


def matched_similarity(people: RDMs, networks: RDMs, sources: Mapping[str, tuple[str, float]],
                       method: str = "spearman") -> pd.DataFrame:
    """``participant_id``, ``scale``, ``similarity``, ``n_networks``: each person's choice RDM against
    the mean choice RDM of the networks run through that person's own sequence, per init scale.

    ``people`` and ``networks``: choice RDMs named by their rdm descriptor ``participant_id`` (for
    networks, the network's id); ``sources``: network id -> (source participant, scale).
    Conditions missing in the person's or the networks' RDM are left out of both."""
    compare = COMPARISONS[method]
    nets = dict(zip(networks.rdm_descriptors["participant_id"], networks.matrices))
    rows = []
    for pid, rdm in zip(people.rdm_descriptors["participant_id"], people.matrices):
        mine = {}
        for net, (source, scale) in sources.items():
            if str(source) == str(pid) and net in nets:
                mine.setdefault(scale, []).append(nets[net])
        for scale, stack in sorted(mine.items()):
            mean = np.mean(np.stack(stack), axis=0)
            both = np.where(np.isnan(mean), np.nan, rdm)
            keep = finite_conditions(both)
            rows.append({"participant_id": pid, "scale": scale, "n_networks": len(stack),
                         "similarity": compare(both[np.ix_(keep, keep)], mean[np.ix_(keep, keep)])})
    return pd.DataFrame(rows, columns=["participant_id", "scale", "similarity", "n_networks"])


def beta_profiles(rdms: RDMs, models: RDMs) -> pd.DataFrame:
    """The rdm descriptors and ``beta_<model>`` per RDM: z-scored regression (no intercept,
    ``garden.rsa.compare.regress_rdms``) on the model RDMs, over the dissimilarities the RDM has. A
    constant RDM gets NaN betas."""
    betas = regress_rdms(rdms, models)
    names = list(dict.fromkeys(betas["model"]))
    wide = betas["beta"].to_numpy().reshape(len(rdms), len(names))
    return rdms.rdm_descriptors.assign(**{f"beta_{m}": wide[:, k] for k, m in enumerate(names)})


def compare_beta_profiles(people: pd.DataFrame, networks: pd.DataFrame, best: pd.DataFrame,
                          groups: Mapping[str, str]) -> pd.DataFrame:
    """Mean beta profile of each group beside the mean profile of networks at its best scale.

    ``people``: ``beta_profiles`` of participants (with ``participant_id``); ``networks``:
    ``scale`` and ``beta_<model>`` per network; ``best``: the ``best`` table of ``bootstrap_profiles``;
    ``groups``: participant_id -> group ("all" for the others). Columns: ``group``, ``best_scale``,
    ``model``, ``beta_people``, ``beta_networks``.
    """
    betas = [c for c in people.columns if c.startswith("beta_")]
    people = people.assign(group=people["participant_id"].map(lambda pid: groups.get(pid, "all")))
    rows = []
    for _, row in best.iterrows():
        mine = people[people.group == row.group][betas].mean()
        nets = networks[np.isclose(networks["scale"], row.best_scale)][betas].mean()
        rows += [{"group": row.group, "best_scale": row.best_scale, "model": b.removeprefix("beta_"),
                  "beta_people": mine[b], "beta_networks": nets[b]} for b in betas]
    return pd.DataFrame(rows)


MATCHED_PARAMETERS = ("bias", "slope", "offset", "lapse")
"""Factorized-model parameters compared between people and their matched networks."""


def matched_parameters(best: pd.DataFrame, people_fits: pd.DataFrame, network_fits: pd.DataFrame,
                       parameters: Sequence[str], model: str = "factorized") -> pd.DataFrame:
    """Psychometric parameters of each person beside the mean of the networks at their best scale.

    ``best``: ``participant_id``, ``best_scale`` (``best_scales``); ``people_fits``: rows of
    ``garden.modeling.psychometric.fit_table`` (``participant_id``, ``model``, parameters); ``network_fits``:
    the same for networks plus their ``scale`` and, when they were run through people's own trial
    sequences, ``source_participant_id`` (then only the networks run through that person count).
    Long result: ``participant_id``, ``best_scale``, ``parameter``, ``person``, ``networks`` (mean
    over the matched networks), ``n_networks``.
    """
    people = people_fits[people_fits.model == model].set_index("participant_id")
    nets = network_fits[network_fits.model == model]
    rows = []
    for _, row in best.iterrows():
        matched = nets[np.isclose(nets["scale"], row.best_scale)]
        person = people.loc[row.participant_id] if row.participant_id in people.index else None
        if "source_participant_id" in matched:
            matched = matched[matched["source_participant_id"].astype(str) == str(row.participant_id)]
        for param in parameters:
            rows.append({"participant_id": row.participant_id, "best_scale": row.best_scale, "parameter": param,
                         "person": person[param] if person is not None else np.nan,
                         "networks": matched[param].mean(), "n_networks": len(matched)})
    return pd.DataFrame(rows)


def phase_accuracy(people: pd.DataFrame, networks: pd.DataFrame) -> pd.DataFrame:
    """Accuracy per participant, phase and init scale of the networks run through that person's
    sequence, beside the person's own: ``participant_id``, ``phase``, ``scale``, ``accuracy_networks``
    (mean over the networks' seeds), ``accuracy_networks_min`` / ``_max`` (over seeds),
    ``accuracy_person``. ``people``: trial tables (``correct``); ``networks``: ``run_curriculum``
    tables (``source_participant_id``, ``scale``, ``network_seed``, ``correct``)."""
    nets = networks.groupby(["source_participant_id", "phase", "scale", "network_seed"], sort=False)[
        "correct"].mean().groupby(level=[0, 1, 2], sort=False).agg(["mean", "min", "max"]).reset_index()
    nets.columns = ["participant_id", "phase", "scale", "accuracy_networks", "accuracy_networks_min",
                    "accuracy_networks_max"]
    mine = people.groupby(["participant_id", "phase"], sort=False)["correct"].mean().rename("accuracy_person")
    nets["participant_id"] = nets["participant_id"].astype(str)
    mine = mine.reset_index().astype({"participant_id": str})
    return nets.merge(mine, on=["participant_id", "phase"], how="left")
