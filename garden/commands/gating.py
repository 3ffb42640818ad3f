"""``garden gating``: the gating analysis (Flesch et al. 2022) of finished network sweeps as tidy tables."""

from __future__ import annotations

import argparse

import pandas as pd

from garden.analysis.networks.gating import (
    control_table,
    dynamics_table,
    gating_tests,
    overlap_table,
    tree_accuracy_table,
)
from garden.core.provenance import write_sidecar
from garden.core.trials import write_table
from garden.arguments import existing_folder, new_folder
from garden.modeling.networks.sweep import load_results

TABLES = {
    "gating_control": "Per network: final accuracy overall and on congruent / incongruent / neutral trees, beside "
                      "the ceilings of any network additive in stimulus and context (linear hidden units).",
    "gating_trees": "Per network x scored item: final output, target (value / 25) and whether its sign is right.",
    "gating_overlap": "Per network x when (init / final) x rule (unit active on any / most items of a context): "
                      "fractions of hidden units task-selective per context, shared, dead; Jaccard overlap of "
                      "the two contexts' active sets.",
    "gating_dynamics": "Per network x recorded step (at most 200 per network): the overlap measures (rule any) and "
                       "the Pearson r across units of the north and south context weights, over all units "
                       "(ctx_corr_all) and over the units active in exactly one context (ctx_corr_selective).",
    "gating_tests": "Per sweep and measure: per-seed slopes on log10 init scale (one-sided Wilcoxon in the stated "
                    "direction) and richest vs laziest scale paired by seed (two-sided Wilcoxon).",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``gating`` sub-command."""
    p = subparsers.add_parser(
        "gating", help="gating analysis of network sweeps: linear-unit control, unit overlap, context-weight dynamics",
        description="Reads finished sweeps (garden train --out DIR; e.g. one with ReLU and one with "
                    "--hidden-activation linear hidden units) and writes OUT/" + ".tsv, OUT/".join(TABLES)
                    + ".tsv, each with a JSON sidecar; every table has a hidden_activation column. Never overwrites.")
    p.add_argument("sweeps", nargs="+", type=existing_folder, metavar="SWEEP", help="finished sweep folder(s)")
    p.add_argument("--out", required=True, type=new_folder, metavar="OUT", help="new (or empty) output folder")
    p.set_defaults(func=gating_command)


def gating_command(args: argparse.Namespace) -> int:
    sweeps = [load_results(folder) for folder in args.sweeps]   # every input checked before any work
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in TABLES}
    for folder, results in zip(args.sweeps, sweeps):
        activation = results.config.train.hidden_activation
        overlap = overlap_table(results)
        tables = {"gating_control": control_table(results), "gating_trees": tree_accuracy_table(results),
                  "gating_overlap": overlap, "gating_dynamics": dynamics_table(results.summary, results.arrays),
                  "gating_tests": gating_tests(overlap, results.summary)}
        for name, table in tables.items():
            parts[name].append(table.assign(hidden_activation=activation, sweep=str(folder)))
        control = tables["gating_control"]
        print(f"{folder} ({activation} hidden units, {len(control)} networks): accuracy {control.accuracy.mean():.3f}, "
              f"incongruent {control.acc_incongruent.mean():.3f} (ceiling {control.ceiling_incongruent.iloc[0]:.3f})")
    args.out.mkdir(parents=True, exist_ok=True)
    config = {"sweeps": [str(f) for f in args.sweeps]}
    for name, description in TABLES.items():
        path = write_table(pd.concat(parts[name], ignore_index=True), args.out / f"{name}.tsv")
        write_sidecar(path, config, None, description=description,
                      sweep_configs={str(f): r.config.to_dict() for f, r in zip(args.sweeps, sweeps)})
    print(f"wrote {len(TABLES)} tables to {args.out}")
    return 0
