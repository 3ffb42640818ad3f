"""Change of behaviour between two phases of each participant: the 2022 baseline vs scan test.

Why: Flesch et al. (2022) compared each participant's baseline (pre-training) test with the
scanner phase by Wilcoxon signed-rank tests on the psychometric parameters (|bias|, lapse, slope,
offset) and on the choice-RDM betas (factorized and linear model RDMs). Here the factorized model
is fitted to each phase separately (``garden.modeling.psychometric.fit_table``, trial-level likelihood)
and the choice-RDM betas are computed per phase (``garden.analysis.behaviour.choice_rdms.participant_betas``);
only participants with both phases enter the tests.
"""

from __future__ import annotations

import pandas as pd

from garden.analysis.behaviour.measures import effect_test
from garden.analysis.behaviour.choice_rdms import participant_betas
from garden.analysis.behaviour.choices import cell_table
from garden.modeling.psychometric import fit_table

PHASES = ("baseline", "scan")
"""The 2022 protocol's phases compared (before and after training)."""
PARAMETERS = ("bias", "lapse", "slope", "offset")
MODEL = "factorized"


def phase_values(trials: pd.DataFrame, phases: tuple[str, str] = PHASES, *,
                 parameters: tuple[str, ...] = PARAMETERS, model: str = MODEL) -> pd.DataFrame:
    """Long table, one row per participant, phase and measure: ``participant_id``, ``group``,
    ``phase``, ``parameter`` ('|bias|' (degrees), 'lapse', 'slope' (per feature level), 'offset' (feature levels) of
    ``model``'s fit, 'beta_factorized' and 'beta_linear' of the choice RDM), ``value``.
    Empty when either phase is absent."""
    present = set(trials["phase"].astype(str))
    if not set(phases) <= present:
        return pd.DataFrame(columns=["participant_id", "group", "phase", "parameter", "value"])
    rows = []
    for phase in phases:
        part = trials[trials["phase"].astype(str) == phase]
        part = part.assign(group=part.get("group", part.get("curriculum", "all")))
        fits = fit_table(part, [model])
        for param in parameters:
            values = fits[param].abs() if param == "bias" else fits[param]
            rows.append(pd.DataFrame({"participant_id": fits["participant_id"], "group": fits["group"],
                                      "phase": phase, "parameter": "|bias|" if param == "bias" else param,
                                      "value": values.to_numpy(float)}))
        betas = participant_betas(cell_table(part))
        for column in [c for c in betas.columns if c.startswith("beta_")]:
            rows.append(pd.DataFrame({"participant_id": betas["participant_id"], "group": betas["group"],
                                      "phase": phase, "parameter": column, "value": betas[column].to_numpy(float)}))
    return pd.concat(rows, ignore_index=True)


def phase_tests(values: pd.DataFrame, phases: tuple[str, str] = PHASES) -> pd.DataFrame:
    """Wilcoxon signed-rank test of each parameter of ``phase_values`` between the two phases over
    the participants with both (difference = first phase − second phase), all participants pooled
    as in the 2022 paper."""
    if values.empty:
        return pd.DataFrame()
    return effect_test(values, "value", "phase", phases, paired=True, by=["parameter"]).drop(columns="measure")
