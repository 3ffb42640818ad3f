"""Is this person rich or lazy? Networks fitted to each person's own choices, beside the choice models.

``fit_people(trials, out)`` fits, per person, every init scale's network by likelihood
(``garden.modeling.networks.likelihood``: lr, temperature, lapse on a grid; averaged over init
seeds) and the behavioural choice models (``garden.modeling.psychometric``: factorized,
factorized_full, linear; ``garden.modeling.learning_curve``: factorized and linear whose choices
move from chance with a fitted time constant) on the same scored trials, and writes one JSON per person
(``OUT/people/<participant_id>.json``, atomically; a rerun skips the people already there), then
``OUT/scales.tsv`` (person x scale), ``OUT/group_bms.tsv`` (random-effects BMS over scales by
curriculum) and ``OUT/people.tsv`` (one row per person, written last) with sidecars.

Per person: the best scale, its 95 % profile interval over log σ, the posterior over scales
(uniform priors), p(rich) (scales ≤ ``RICH_MAX_SCALE``), the network's BIC (4 parameters) against
the choice models' BICs, and the verdict: ``no network describes this person better than the
choice models`` when a choice model has the lower BIC; otherwise ``rich``, ``lazy`` or
``undecided`` (p < ``CONFIDENT`` either way), or ``not identifiable under this curriculum`` when a
recovery table (``garden networks recover``) says choices under the person's curriculum do not tell
rich from lazy.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from garden.core.errors import UserError
from garden.core.files import write_file
from garden.core.jobs import run_jobs
from garden.core.provenance import read_json, to_jsonable, write_json, write_sidecar
from garden.core.task import CONTEXTS
from garden.core.trials import read_trials
from garden.modeling.comparison import bms
from garden.modeling.networks import likelihood as lk
from garden.modeling.networks.curriculum import sequences
from garden.modeling.learning_curve import LEARNING_MODELS, fit_learning
from garden.modeling.psychometric import fit_table

CHOICE_MODELS = ("factorized", "factorized_full", "linear")
"""The static behavioural baselines (``garden.modeling.psychometric``)."""
BASELINES = CHOICE_MODELS + LEARNING_MODELS
"""Every baseline a network must beat: the static choice models and the same with a learning curve
(``garden.modeling.learning_curve``), so a person who learns gradually is not taken for a network."""
NO_NETWORK = "no network describes this person better than the choice models"
NOT_IDENTIFIABLE = "not identifiable under this curriculum"
CURRICULUM_ALIASES = {"int": "interleaved"}
PEOPLE_PER_JOB = 8
IDENTIFIABLE_ACCURACY = 0.9
"""Rich-vs-lazy accuracy of the confident classifications of network-generated people a curriculum
needs in a recovery table before the people trained under it are classified."""


def check_feedback(trials: pd.DataFrame, source: str) -> None:
    """UserError unless every trial says whether feedback was shown (networks learn only then)."""
    if "feedback" not in trials.columns:
        raise UserError(f"{source}: column 'feedback' is missing, so networks would learn on trials the person got "
                        "no feedback on; re-import with `garden import` (it records feedback from phase "
                        "train/test) or add the column (1 shown, 0 not)")
    if trials["feedback"].isna().any():
        raise UserError(f"{source}: column 'feedback' is empty on {int(trials['feedback'].isna().sum())} trials; "
                        "fill it (1 shown, 0 not)")


def contexts_of(trials: pd.DataFrame, source: str) -> tuple[str, str]:
    """The two garden labels, in the project's order when they are its own."""
    labels = tuple(dict.fromkeys(trials["context"]))
    contexts = CONTEXTS if set(labels) <= set(CONTEXTS) else tuple(sorted(labels))
    if len(contexts) != 2:
        raise UserError(f"{source}: column 'context' has labels {list(labels)}; expected two gardens")
    return contexts


def _curriculum(person: pd.DataFrame) -> str:
    for column in ("curriculum", "group"):
        if column in person.columns and person[column].notna().any():
            return str(person[column].dropna().iloc[0])
    return ""


def person_results(trials: pd.DataFrame, grid: lk.FitGrid, contexts: tuple[str, str]) -> list[dict]:
    """Every person's network and choice-model fits (one dict each; see the module docstring)."""
    seqs = sequences(trials, contexts)
    choices, scored = lk.choice_arrays(seqs)
    outputs = lk.network_outputs(seqs, grid)
    summary = lk.scale_summary(lk.log_likelihoods(outputs, choices, scored, grid), grid)
    summary.update(lk.phase_accuracy(outputs, seqs, summary["lr_index"]))
    posterior = lk.scale_posterior(summary["log_evidence"])
    lo, hi = lk.profile_interval(summary["ll_max"], grid.scales)
    static = fit_table(trials, CHOICE_MODELS)
    models = pd.concat([static, fit_learning(trials, static, LEARNING_MODELS)], ignore_index=True)
    rows = []
    for i, (pid, person) in enumerate(zip(seqs.participant_ids, seqs.trials)):
        n = int(scored[i].sum())
        best = int(summary["ll_max"][i].argmax())
        mine = models[models.participant_id.astype(str) == pid]
        rows.append({
            "participant_id": pid, "curriculum": _curriculum(person), "n_choices": n,
            "scales": list(grid.scales), "ll_max": summary["ll_max"][i], "log_evidence": summary["log_evidence"][i],
            "lr": summary["lr"][i], "temperature": summary["temperature"][i], "lapse": summary["lapse"][i],
            "net_last_block": summary["net_last_block"][i],
            "net_test_first_garden": summary["net_test_first_garden"][i],
            "posterior": posterior[i], "best_scale": grid.scales[best], "scale_lo": lo[i], "scale_hi": hi[i],
            "p_rich": float(posterior[i][np.asarray(grid.scales) <= lk.RICH_MAX_SCALE].sum()),
            "bic_network": float(lk.bic(summary["ll_max"][i, best], lk.FREE_PARAMETERS, n)),
            "bic_choice": dict(zip(mine.model, mine.bic.astype(float))),
        })
    return [to_jsonable(r) for r in rows]


def curriculum_key(name: str) -> str:
    """A curriculum's name compared across sources: case-insensitive, ``int`` (the published data's
    label) = ``interleaved`` (the protocol's)."""
    key = str(name).strip().lower()
    return CURRICULUM_ALIASES.get(key, key)


def verdicts(people: pd.DataFrame, unidentifiable: Sequence[str] = ()) -> pd.DataFrame:
    """Add ``best_choice_model``, ``bic_choice_best``, ``network_better``, ``classification`` and
    ``verdict`` (module docstring) to a table with one row per person."""
    bics = pd.DataFrame(list(people["bic_choice"])).reindex(columns=list(BASELINES))
    out = people.drop(columns=["bic_choice"]).copy()
    for m in BASELINES:
        out[f"bic_{m}"] = bics[m].to_numpy()
    finite = bics.fillna(np.inf)
    out["best_choice_model"] = finite.idxmin(axis=1).where(np.isfinite(finite.min(axis=1)), "")
    out["bic_choice_best"] = finite.min(axis=1).to_numpy()
    out["network_better"] = out["bic_network"] < out["bic_choice_best"]
    out["classification"] = lk.classify(out["p_rich"].to_numpy())
    verdict = np.where(out["network_better"], out["classification"], NO_NETWORK)
    blind = out["curriculum"].map(curriculum_key).isin([curriculum_key(c) for c in unidentifiable]) \
        & out["network_better"]
    out["verdict"] = np.where(blind, NOT_IDENTIFIABLE, verdict)
    return out


def _person_file(out: Path, pid: str) -> Path:
    return out / "people" / f"{pid}.json"


def grid_from(grid_dict: dict) -> lk.FitGrid:
    """The ``FitGrid`` of its ``to_dict`` (as stored in JSON: lists for tuples)."""
    return lk.FitGrid(**{k: tuple(v) if isinstance(v, list) else v for k, v in grid_dict.items()})


def fit_chunk(trials: pd.DataFrame, grid_dict: dict, contexts: tuple[str, str], out: str) -> None:
    """One job: fit the people of ``trials`` and write each one's JSON (atomically, last)."""
    grid = grid_from(grid_dict)
    for row in person_results(trials, grid, contexts):
        path = _person_file(Path(out), row["participant_id"])
        if not path.exists():
            write_json(path, row)


def unidentifiable_curricula(recovery: str | os.PathLike | None) -> list[str]:
    """Curricula of a recovery table (``garden networks recover``'s ``recovery.tsv``) whose confident
    rich-vs-lazy accuracy is below ``IDENTIFIABLE_ACCURACY`` or that classify nobody with confidence."""
    if recovery is None:
        return []
    try:
        table = pd.read_csv(recovery, sep="\t")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
        table = pd.DataFrame()
    if not {"curriculum", "identifiable"} <= set(table.columns):
        raise UserError(f"{recovery}: not a recovery table (needs columns curriculum, identifiable); "
                        "make one with `garden networks recover`")
    return sorted(table.loc[~table["identifiable"].astype(bool), "curriculum"].astype(str))


def fit_people(trials: pd.DataFrame, out: str | os.PathLike, grid: lk.FitGrid = lk.FitGrid(), *,
               source: str = "trials", recovery: str | os.PathLike | None = None, jobs: int = 1,
               executor: str = "inline", people_per_job: int = PEOPLE_PER_JOB, progress: bool = True) -> pd.DataFrame:
    """Fit networks and choice models to every person of ``trials``; write ``out`` (module docstring);
    return the people table. Resumable: rerun with the same settings to finish an interrupted fit."""
    check_feedback(trials, source)
    contexts = contexts_of(trials, source)
    out = Path(out)
    blind = unidentifiable_curricula(recovery)
    settings = {"grid": grid.to_dict(), "choice_models": list(BASELINES), "contexts": list(contexts),
                "recovery": None if recovery is None else str(recovery)}
    _claim(out, settings)
    trials = trials.assign(participant_id=trials["participant_id"].astype(str))
    pids = list(dict.fromkeys(trials["participant_id"]))
    todo = [p for p in pids if not _person_file(out, p).exists()]
    calls = [(trials[trials.participant_id.isin(todo[i:i + people_per_job])], grid.to_dict(), contexts, str(out))
             for i in range(0, len(todo), people_per_job)]
    bar = tqdm(total=len(pids), initial=len(pids) - len(todo), unit="person", desc="fitting networks",
               disable=not progress)
    if executor == "inline":
        for call in calls:
            fit_chunk(*call)
            bar.update(call[0].participant_id.nunique())
    else:
        run_jobs(fit_chunk, calls, executor=executor, folder=out / "jobs", jobs=jobs)
        bar.update(len(todo))
    bar.close()
    return _merge(out, pids, settings, blind)


def fit_people_files(paths: Sequence[str | os.PathLike], out: str | os.PathLike, grid: lk.FitGrid = lk.FitGrid(),
                     *, include_incomplete: bool = False, **options) -> pd.DataFrame:
    """``fit_people`` on the trial tables under ``paths`` (files or folders; ``read_trials``): what
    ``garden networks fit PATH... --out DIR`` runs, for notebooks."""
    trials = read_trials(list(paths), include_incomplete=include_incomplete)
    return fit_people(trials, out, grid, source=", ".join(map(str, paths)), **options)


def _claim(out: Path, settings: dict) -> None:
    """Write ``out/fit.json`` or check that an earlier run used the same settings."""
    path = out / "fit.json"
    if path.exists():
        if read_json(path)["settings"] != to_jsonable(settings):
            raise UserError(f"{path}: this folder holds a fit with other settings; use another --out")
        return
    if (out / "people.tsv").exists():
        raise UserError(f"{out}: already holds a finished fit; use another --out")
    write_json(path, {"settings": to_jsonable(settings),
                      "note": "settings of the fit in this folder; a rerun with the same ones resumes it"})


def group_bms(per_scale: pd.DataFrame) -> pd.DataFrame:
    """Random-effects BMS over the scales (``garden.modeling.comparison.bms`` on each person's log
    evidence per scale), by curriculum: per curriculum x scale the expected frequency, exceedance and
    protected exceedance probability, and the rich family's expected frequency (scales ≤
    ``RICH_MAX_SCALE``)."""
    rows = []
    for curriculum, group in per_scale.groupby("curriculum", sort=False):
        evidence = group.pivot(index="participant_id", columns="scale", values="log_evidence")
        if len(evidence.columns) < 2:
            continue
        result = bms(evidence.to_numpy())  # exceedance probabilities by quadrature (no sampling)
        rich = float(result["expected_frequency"][evidence.columns.to_numpy() <= lk.RICH_MAX_SCALE].sum())
        rows += [{"curriculum": curriculum, "scale": s, "people": len(evidence),
                  "expected_frequency": result["expected_frequency"][j],
                  "exceedance_probability": result["exceedance_probability"][j],
                  "protected_exceedance_probability": result["protected_exceedance_probability"][j],
                  "bor": result["bor"], "rich_expected_frequency": rich}
                 for j, s in enumerate(evidence.columns)]
    return pd.DataFrame(rows)


def _merge(out: Path, pids: list[str], settings: dict, blind: list[str]) -> pd.DataFrame:
    rows = [read_json(_person_file(out, p)) for p in pids]
    per_scale = pd.DataFrame([{"participant_id": r["participant_id"], "curriculum": r["curriculum"], "scale": s,
                               **{k: r[k][j] for k in ("ll_max", "log_evidence", "lr", "temperature", "lapse",
                                                        "posterior", "net_last_block", "net_test_first_garden")}}
                              for r in rows for j, s in enumerate(r["scales"])])
    people = verdicts(pd.DataFrame([{k: v for k, v in r.items() if not isinstance(v, list)} for r in rows]), blind)
    if not (out / "people.tsv").exists():
        write_file(out / "scales.tsv", per_scale.to_csv(sep="\t", index=False))
        write_file(out / "group_bms.tsv", group_bms(per_scale).to_csv(sep="\t", index=False))
        write_sidecar(out / "group_bms.tsv", settings, 0, completed=True,
                      method="random-effects BMS over the scales of each person's log evidence, by curriculum "
                             "(garden.modeling.comparison.bms, 100 000 exceedance samples)")
        write_file(out / "people.tsv", people.to_csv(sep="\t", index=False))
        note = ("networks with per-item unit-norm inputs (docs/networks.md) run through each person's own sequence, "
                "learning only on feedback trials; p(accept) = lapse/2 + (1-lapse) * mean over seeds of "
                "sigmoid(output/T); likelihood over every scored choice; choice models fitted on the same trials")
        write_sidecar(out / "scales.tsv", settings, None, completed=True, method=note,
                      columns={"ll_max": "maximum log-likelihood over lr x temperature x lapse",
                               "log_evidence": "log mean likelihood over the grid (uniform prior)",
                               "posterior": "posterior probability of this scale (uniform priors)",
                               "net_last_block": "the network's sign accuracy (mean over seeds) at the fitted lr on "
                                                 "the last 100 feedback trials",
                               "net_test_first_garden": "the same on the trials without feedback in the garden of "
                                                        "the person's first trial"})
        write_sidecar(out / "people.tsv", settings, None, completed=True, method=note,
                      unidentifiable_curricula=blind, rich_max_scale=lk.RICH_MAX_SCALE, confident=lk.CONFIDENT,
                      network_parameters=lk.FREE_PARAMETERS)
    return people


def read_fit(folder: str | os.PathLike) -> tuple[lk.FitGrid, tuple[str, str], pd.DataFrame, pd.DataFrame]:
    """(grid, contexts, people.tsv, scales.tsv) of a finished ``fit_people`` folder; UserError naming
    the file and the fix when it is not one."""
    folder = Path(folder)
    for name in ("fit.json", "people.tsv", "scales.tsv"):
        if not (folder / name).is_file():
            raise UserError(f"{folder}: no {name}, so not a finished network fit; run `garden networks fit ... "
                            f"--out {folder}` (a rerun finishes an interrupted one)")
    settings = read_json(folder / "fit.json")["settings"]
    grid = grid_from(settings["grid"])
    tables = [pd.read_csv(folder / name, sep="\t", dtype={"participant_id": str})
              for name in ("people.tsv", "scales.tsv")]
    return grid, tuple(settings["contexts"]), tables[0], tables[1]
