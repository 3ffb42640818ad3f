"""``garden fit``, ``garden bms`` and ``garden recover``: psychometric choice models.

Thin wiring: the domain logic is in ``modeling.psychometric``, ``modeling.comparison`` and
``modeling.recovery`` (imported inside the handlers so ``garden --help`` stays fast).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from analysis.choices import ANALYSIS_PHASES
from core.errors import UserError
from core.provenance import write_sidecar
from core.trials import read_trials, write_table
from modeling.comparison import between_groups, bms_table, family_bms_table, likelihood_ratio_tests, winners
from modeling.psychometric import fit_table
from modeling.recovery import write_recovery


def _names(text: str | None) -> list[str] | None:
    return [n.strip() for n in text.split(",") if n.strip()] if text else None


def _ints(text: str, option: str) -> list[int]:
    """Comma-separated integers of a command-line option; UserError naming the option otherwise."""
    try:
        return [int(n) for n in _names(text) or []]
    except ValueError:
        raise UserError(f"{option} {text!r}: expected comma-separated integers (e.g. 1,2,5,6)") from None


def _refuse_existing(*paths: str | Path) -> None:
    """Fail before any work if an output or its JSON sidecar exists (outputs are never overwritten)."""
    for path in map(Path, paths):
        for target in (path, path.with_name(path.name.split(".")[0] + ".json")):
            if target.exists():
                raise FileExistsError(f"{target}: already exists; refusing to overwrite it "
                                      "(choose another --out or move the old file away)")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``fit``, ``bms`` and ``recover`` sub-commands."""
    p = subparsers.add_parser(
        "fit", help="fit psychometric choice models per participant",
        description="Fit factorized / factorized_full / linear (and slope-only sigmoid) choice models to every "
                    "participant of the trial tables. One row per participant x model; participants that cannot "
                    "be fitted are listed on stderr and in the JSON sidecar. Exit 1 only if nothing was fitted.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="trial table(s) or folders of them")
    p.add_argument("--out", required=True, metavar="FITS.tsv", help="output table (never overwritten)")
    p.add_argument("--models", default="factorized,factorized_full,linear",
                   help="comma-separated models (factorized, factorized_full, linear, sigmoid_relevant, "
                        "sigmoid_irrelevant)")
    p.add_argument("--objective", choices=("bernoulli", "choice-matrix"), default="bernoulli",
                   help="trial-level likelihood (default) or the published loss on cell proportions")
    p.add_argument("--missing", choices=("drop", "reject"), default="drop",
                   help="missing responses: leave out (default) or count as reject (published)")
    p.add_argument("--max-rt", type=float, default=None, metavar="SECONDS",
                   help="responses slower than this count as missing (published: 5)")
    p.add_argument("--phase", default=None,
                   help="fit only this phase (default: the test or scan phase when present; 'all' pools every "
                        "phase; a table with several other phases needs --phase)")
    p.add_argument("--bootstrap", type=int, default=0, metavar="N",
                   help="also write 95%% parametric-bootstrap intervals from N refits per participant and model")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    p.add_argument("--profile", action="store_true",
                   help="also write 95%% profile-likelihood intervals (bernoulli; recommended over the Wald SEs)")
    p.add_argument("--starts", type=int, default=30, help="grid start points per participant and model")
    p.add_argument("--jobs", type=int, default=1, help="worker processes")
    p.set_defaults(func=fit_command)

    p = subparsers.add_parser(
        "bms", help="random-effects Bayesian model selection over participants",
        description="Random-effects BMS (VBA_groupBMC semantics) on log evidence = -BIC/2 (or -AIC/2) from a "
                    "FITS.tsv (needs participant_id, model and the criterion column).")
    p.add_argument("fits", metavar="FITS.tsv")
    p.add_argument("--out", required=True, metavar="BMS.tsv", help="output table (never overwritten)")
    p.add_argument("--by", default=None, help="run separately per value of this column (e.g. group)")
    p.add_argument("--models", default=None, help="comma-separated models to compare (default: all)")
    p.add_argument("--criterion", choices=("bic", "aic"), default="bic")
    p.add_argument("--prior", type=float, default=None, help="Dirichlet prior count per model (default 1/K)")
    p.add_argument("--seed", type=int, default=0, help="seed of sampled exceedance probabilities (K > 2)")
    p.add_argument("--winners", default=None, metavar="TSV", help="also write per-participant AIC/BIC winners")
    p.add_argument("--lrt", default=None, metavar="TSV",
                   help="also write likelihood-ratio tests of nested models (bernoulli fits only)")
    p.add_argument("--families", default=None, metavar="TSV",
                   help="also write family-level BMS: factorized family (factorized, factorized_full) vs linear")
    p.add_argument("--between", default=None, metavar="TSV",
                   help="also write the between-group comparison of model frequencies across --by groups")
    p.set_defaults(func=bms_command)

    p = subparsers.add_parser(
        "recover", help="parameter and model recovery from simulated participants",
        description="Simulate participants from each model with known parameters, fit every model, and write "
                    "parameter_recovery.tsv, recovery_summary.tsv (r, bias, RMSE, fraction at bound, "
                    "interval coverage), "
                    "model_recovery.tsv (BIC confusion matrix) and model_confusion.tsv (AIC and BIC, with "
                    "p(generating | winner)) "
                    "into a new folder, with JSON sidecars.")
    p.add_argument("--out", required=True, metavar="FOLDER", help="new output folder")
    p.add_argument("--models", default="factorized,factorized_full,linear")
    p.add_argument("--trials", default="100,200,400", help="test trials per simulated participant (multiples of 50)")
    p.add_argument("--n-sim", type=int, default=40, help="simulated participants per model and trial count")
    p.add_argument("--objective", choices=("bernoulli", "choice-matrix"), default="bernoulli")
    p.add_argument("--rule-codes", default="1,2,5,6",
                   help="counterbalancing codes of the simulated tasks (cycled over simulated participants)")
    p.add_argument("--profile", action="store_true",
                   help="also profile-likelihood intervals and their coverage (about 10x slower)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=1)
    p.set_defaults(func=recover_command)


def fit_phase(trials: pd.DataFrame, phase: str | None) -> str | None:
    """The phase ``garden fit`` fits: ``phase`` as given (None for 'all'), else the first of the
    test/scan phases present, else the only phase; UserError naming --phase for other mixes."""
    if phase is not None:
        return None if phase == "all" else phase
    phases = sorted(map(str, trials["phase"].dropna().unique()))
    chosen = next((p for p in ANALYSIS_PHASES if p in phases), None)
    if chosen is not None or len(phases) <= 1:
        return chosen
    raise UserError(f"--phase: the trials mix phases {phases} and none is a test or scan phase; "
                    "choose one with --phase NAME (or pool them with --phase all)")


def fit_command(args: argparse.Namespace) -> int:
    _refuse_existing(args.out)
    models = _names(args.models)
    trials = read_trials(args.paths)
    phase = fit_phase(trials, args.phase)
    fits = fit_table(trials, models, args.objective, args.missing, max_rt=args.max_rt, phase=phase,
                     n_starts=args.starts, jobs=args.jobs, progress=True, bootstrap=args.bootstrap, seed=args.seed,
                     profile=args.profile)
    skipped = fits.attrs["skipped"]
    for pid, reason in skipped.items():
        print(f"skipped participant {pid}: {reason}", file=sys.stderr)
    if fits.empty:
        print(f"nothing fitted: all {len(skipped)} participant(s) were skipped", file=sys.stderr)
        return 1
    write_table(fits, args.out)
    config = {"paths": [str(p) for p in args.paths], "models": models, "objective": args.objective,
              "missing": args.missing, "max_rt": args.max_rt, "phase": phase, "starts": args.starts,
              "bootstrap": args.bootstrap, "profile": args.profile}
    write_sidecar(args.out, config, seed=args.seed if args.bootstrap else None, skipped=skipped,
                  n_participants=int(fits.participant_id.nunique()))
    print(f"fitted {fits.participant_id.nunique()} participant(s) x {len(models)} model(s) -> {args.out}"
          + (f"; skipped {len(skipped)}" if skipped else ""))
    return 0


def _read_table(path: str):
    if not Path(path).is_file():
        raise UserError(f"{path}: no such file (expected a FITS.tsv written by `garden fit`)")
    return pd.read_csv(path, sep="\t")


def bms_command(args: argparse.Namespace) -> int:
    outputs = [args.out] + [p for p in (args.winners, args.lrt, args.families, args.between) if p]
    _refuse_existing(*outputs)
    if args.between and not args.by:
        raise UserError("--between: needs --by COLUMN naming the groups to compare")
    fits = _read_table(args.fits)
    models = _names(args.models)
    try:
        table = bms_table(fits, by=args.by, models=models, criterion=args.criterion, prior=args.prior,
                          seed=args.seed)
        extra = {}
        if args.lrt:
            extra[args.lrt] = likelihood_ratio_tests(fits)
        if args.families:
            extra[args.families] = family_bms_table(fits, by=args.by, criterion=args.criterion, seed=args.seed)
        if args.between:
            extra[args.between] = between_groups(fits, args.by, models, args.criterion, args.prior)
    except ValueError as exc:
        raise UserError(f"{args.fits}: {exc}") from None
    if table.empty:
        raise UserError(f"{args.fits}: no participant has a {args.criterion} for every compared model")
    config = {"fits": args.fits, "by": args.by, "models": models, "criterion": args.criterion, "prior": args.prior}
    write_table(table, args.out)
    write_sidecar(args.out, config, seed=args.seed)
    if args.winners:
        write_table(winners(fits, args.criterion, models), args.winners)
        write_sidecar(args.winners, config, seed=None)
    for path, extra_table in extra.items():
        write_table(extra_table, path)
        write_sidecar(path, config, seed=args.seed)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    return 0


def recover_command(args: argparse.Namespace) -> int:
    trial_counts = _ints(args.trials, "--trials")
    written = write_recovery(args.out, _names(args.models), trial_counts, args.n_sim, objective=args.objective,
                             rule_codes=_ints(args.rule_codes, "--rule-codes"), seed=args.seed, jobs=args.jobs,
                             profile=args.profile)
    for path in written:
        print(path)
    return 0
