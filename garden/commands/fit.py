"""``garden fit``, ``garden bms`` and ``garden recover``: psychometric choice models.

Thin wiring: the domain logic is in ``garden.modeling.psychometric``, ``garden.modeling.comparison`` and
``garden.modeling.recovery`` (imported when this module is: ``garden --help`` does not load it, ``garden fit
--help`` does).
"""

from __future__ import annotations

import argparse
import sys

from garden.analysis.behaviour.choices import fit_phase
from garden.core.errors import UserError
from garden.core.provenance import require_complete, write_sidecar
from garden.core.trials import read_trials, write_table
from garden.arguments import (
    SEED,
    add_rules,
    bounded_int,
    distinct,
    existing_file,
    existing_path,
    finite_float,
    name_list,
    new_file,
    new_folder,
    only_with,
    requires,
)
from garden.modeling.comparison import (
    FAMILIES,
    between_groups,
    bms_table,
    family_bms_table,
    is_foreign,
    likelihood_ratio_tests,
    read_fits,
    winners,
)
from garden.modeling.models import DEFAULT_MODELS, MODELS
from garden.modeling.psychometric import fit_table
from garden.modeling.recovery import TRUTHS, write_recovery

MODEL_NAMES = tuple(MODELS)
PROFILE_RULE = only_with("--profile", "--objective", "bernoulli", "profile-likelihood intervals are computed for the "
                         "trial-level likelihood")
"""``--profile`` of ``fit`` and ``recover``: bernoulli fits only."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``fit``, ``bms`` and ``recover`` sub-commands."""
    p = subparsers.add_parser(
        "fit", help="fit psychometric choice models per participant",
        description="Fit factorized / factorized_full / linear (and slope-only sigmoid) choice models to every "
                    "participant of the trial tables. One row per participant x model; participants that cannot "
                    "be fitted are listed on stderr and in the JSON sidecar. Exit 1 only if nothing was fitted.")
    p.add_argument("paths", nargs="+", type=existing_path, metavar="PATH", help="trial table(s) or folders of them")
    p.add_argument("--out", required=True, type=new_file(".tsv"), metavar="FITS.tsv", help="output table (never overwritten)")
    p.add_argument("--models", type=name_list(MODEL_NAMES), default=DEFAULT_MODELS,
                   help="comma-separated models (factorized, factorized_full, linear, sigmoid_relevant, "
                        "sigmoid_irrelevant)")
    p.add_argument("--objective", choices=("bernoulli", "choice-matrix"), default="bernoulli",
                   help="trial-level likelihood (default) or the published loss on cell proportions")
    p.add_argument("--missing", choices=("drop", "reject"), default="drop",
                   help="missing responses: leave out (default) or count as reject (published)")
    p.add_argument("--max-rt", type=finite_float(0.0, above=True), default=None, metavar="SECONDS",
                   help="responses slower than this count as missing (published: 5)")
    p.add_argument("--phase", default=None,
                   help="fit only this phase (default: the test or scan phase when present; 'all' pools every "
                        "phase; a table with several other phases needs --phase)")
    p.add_argument("--bootstrap", type=bounded_int(0, "bootstrap"), default=0, metavar="N",
                   help="also write 95%% parametric-bootstrap intervals from N refits per participant and model")
    p.add_argument("--seed", type=SEED, default=0, help="seed of the bootstrap and the posterior sampler")
    p.add_argument("--profile", action="store_true",
                   help="also write 95%% profile-likelihood intervals (bernoulli)")
    p.add_argument("--posterior", action="store_true",
                   help="also write 95%% posterior intervals and medians, Jeffreys prior on the bounds (bernoulli; "
                        "coverage interior and at a bound in docs/modeling.md)")
    p.add_argument("--starts", type=bounded_int(1, "starts"), default=30, help="grid start points per participant and model")
    p.add_argument("--jobs", type=bounded_int(1, "jobs"), default=1, help="worker processes")
    p.add_argument("--include-incomplete", action="store_true",
                   help="also fit sessions whose sidecar says completed: false (recorded in the sidecar)")
    add_rules(p, PROFILE_RULE)
    p.set_defaults(func=fit_command)

    p = subparsers.add_parser(
        "bms", help="random-effects Bayesian model selection over participants",
        description="Random-effects BMS (VBA_groupBMC semantics, VB run to its fixed point) on log evidence = "
                    "-BIC/2 (or -AIC/2) from a FITS.tsv of likelihood fits (needs participant_id, model and the "
                    "criterion column). Headline: protected exceedance probabilities and the Bayesian omnibus risk. "
                    "A table from another tool (no garden sidecar) is used and reported as foreign.")
    p.add_argument("fits", type=existing_file, metavar="FITS.tsv")
    p.add_argument("--out", required=True, type=new_file(".tsv"), metavar="BMS.tsv", help="output table (never overwritten)")
    p.add_argument("--by", default=None, help="run separately per value of this column (e.g. group)")
    p.add_argument("--models", type=name_list(), default=None, help="comma-separated models to compare (default: all)")
    p.add_argument("--criterion", choices=("bic", "aic"), default="bic")
    p.add_argument("--prior", type=finite_float(0.0, 1e6, above=True), default=None,
                   help="Dirichlet prior count per model, > 0 (default 1/K)")
    p.add_argument("--seed", type=SEED, default=0, help="recorded in the sidecars (exceedance probabilities are exact)")
    p.add_argument("--stop", choices=("fixed-point", "vba"), default="fixed-point",
                   help="VB stopping rule: its fixed point (default; n_iter and converged columns) or VBA's "
                        "(|dF| <= 1e-4 or 32 iterations, to reproduce published VBA runs)")
    p.add_argument("--exact", action="store_true",
                   help="also exact_* columns: the frequency posterior integrated by quadrature, no VB (2 or 3 models)")
    p.add_argument("--winners", type=new_file(".tsv"), default=None, metavar="TSV", help="also write per-participant AIC/BIC winners")
    p.add_argument("--lrt", type=new_file(".tsv"), default=None, metavar="TSV", help="also write likelihood-ratio tests of nested models (bernoulli fits only)")
    p.add_argument("--include-incomplete", action="store_true",
                   help="use a FITS table whose sidecar says completed: false (an unfinished fit; recorded)")
    p.add_argument("--families", type=new_file(".tsv"), default=None, metavar="TSV",
                   help="also write family-level BMS: factorized family (factorized, factorized_full) vs linear, "
                        "against the family null (equal family frequencies); honours --models, --prior, --by")
    p.add_argument("--between", type=new_file(".tsv"), default=None, metavar="TSV",
                   help="also write the between-group comparison of model frequencies across --by groups")
    add_rules(p, distinct("--out", "--winners", "--lrt", "--families", "--between"),
              requires("--between", "--by", why="the column naming the groups to compare"))
    p.set_defaults(func=bms_command)

    p = subparsers.add_parser(
        "recover", help="parameter and model recovery from simulated participants",
        description="Simulate participants from each model with known parameters, fit every model, and write "
                    "parameter_recovery.tsv, recovery_summary.tsv (r, bias, RMSE, fraction at bound, "
                    "coverage of Wald, transformed-scale Wald, profile and posterior intervals with Wilson "
                    "intervals), "
                    "model_recovery.tsv (BIC confusion matrix) and model_confusion.tsv (AIC and BIC, with "
                    "p(generating | winner)) "
                    "into a new folder, with JSON sidecars.")
    p.add_argument("--out", required=True, type=new_folder, metavar="FOLDER", help="new output folder")
    p.add_argument("--models", type=name_list(MODEL_NAMES), default=DEFAULT_MODELS,
                   help="models to simulate and fit: two or more for model recovery; one gives parameter recovery "
                        "(and a trivial 1 x 1 confusion matrix)")
    p.add_argument("--trials", type=trial_counts, default=(100, 200, 400),
                   help="test trials per simulated participant (multiples of 50)")
    p.add_argument("--n-sim", type=bounded_int(1, "n_sim"), default=40, help="simulated participants per model and trial count")
    p.add_argument("--objective", choices=("bernoulli", "choice-matrix"), default="bernoulli")
    p.add_argument("--rule-codes", type=rule_codes, default=(1, 2, 5, 6),
                   help="counterbalancing codes of the simulated tasks, cycled over simulated participants (1..8)")
    p.add_argument("--profile", action="store_true",
                   help="also profile-likelihood intervals and their coverage (about 10x slower)")
    p.add_argument("--posterior", action="store_true",
                   help="also posterior intervals (Jeffreys prior) and their coverage (bernoulli)")
    p.add_argument("--truth", choices=TRUTHS, default="ranges",
                   help="generating parameters: uniform on realistic ranges, or drawn from the posterior's "
                        "Jeffreys prior on the bounds (simulation-based calibration of --posterior: coverage "
                        "is then 95%% given any feature of the data, a fit at a bound included)")
    p.add_argument("--seed", type=SEED, default=0)
    p.add_argument("--jobs", type=bounded_int(1, "jobs"), default=1)
    add_rules(p, PROFILE_RULE)
    p.set_defaults(func=recover_command)


def trial_counts(text: str) -> tuple[int, ...]:
    """argparse type of ``recover --trials``: multiples of 50, each at most ``LIMITS['trials']``."""
    one = bounded_int(50, "trials")
    counts = tuple(one(v) for v in text.split(",") if v.strip())
    if not counts or any(n % 50 for n in counts):
        raise argparse.ArgumentTypeError(f"{text!r}: give multiples of 50 (2 gardens x 25 trees), e.g. 100,200")
    return counts


def rule_codes(text: str) -> tuple[int, ...]:
    """argparse type of ``recover --rule-codes``: comma-separated codes 1..8."""
    one = bounded_int(1, high=8)
    codes = tuple(one(v) for v in text.split(",") if v.strip())
    if not codes:
        raise argparse.ArgumentTypeError(f"{text!r}: give counterbalancing codes 1..8, e.g. 1,2,5,6")
    return codes


def fit_command(args: argparse.Namespace) -> int:
    models = list(args.models)
    trials = read_trials(args.paths, include_incomplete=args.include_incomplete)
    phase = fit_phase(trials, args.phase)
    fits = fit_table(trials, models, args.objective, args.missing, max_rt=args.max_rt, phase=phase,
                     n_starts=args.starts, jobs=args.jobs, progress=True, bootstrap=args.bootstrap, seed=args.seed,
                     profile=args.profile, posterior=args.posterior)
    skipped = fits.attrs["skipped"]
    for pid, reason in skipped.items():
        print(f"skipped participant {pid}: {reason}", file=sys.stderr)
    if fits.empty:
        print(f"nothing fitted: all {len(skipped)} participant(s) were skipped", file=sys.stderr)
        return 1
    config = {"paths": [str(p) for p in args.paths], "models": models, "objective": args.objective,
              "missing": args.missing, "max_rt": args.max_rt, "phase": phase, "starts": args.starts,
              "bootstrap": args.bootstrap, "profile": args.profile, "posterior": args.posterior,
              "include_incomplete": args.include_incomplete}
    seed = args.seed if args.bootstrap or args.posterior else None
    write_sidecar(args.out, config, seed=seed, completed=False)  # before the table: a cut write is not foreign
    write_table(fits, args.out)
    write_sidecar(args.out, config, seed=seed, skipped=skipped, overwrite=True,
                  n_participants=int(fits.participant_id.nunique()), completed=True)  # after the table: complete
    print(f"fitted {fits.participant_id.nunique()} participant(s) x {len(models)} model(s) -> {args.out}"
          + (f"; skipped {len(skipped)}" if skipped else ""))
    return 0


def bms_command(args: argparse.Namespace) -> int:
    models = list(args.models) if args.models else None
    fits = read_fits(args.fits, criterion=args.criterion, models=models, by=args.by)
    foreign = is_foreign(args.fits)
    if not foreign:
        require_complete(args.fits, include_incomplete=args.include_incomplete)
    if args.families:
        check_families(args.fits, models or sorted(set(fits["model"])))
    options = {"criterion": args.criterion, "prior": args.prior, "stop": args.stop}
    try:
        table = bms_table(fits, by=args.by, models=models, exact=args.exact, **options)
        outputs = {args.out: table}
        if args.winners:
            outputs[args.winners] = winners(fits, args.criterion, models)
        if args.lrt:
            outputs[args.lrt] = likelihood_ratio_tests(fits)
        if args.families:
            outputs[args.families] = family_bms_table(fits, by=args.by, models=models, **options)
        if args.between:
            outputs[args.between] = between_groups(fits, args.by, models, **options)
    except ValueError as exc:
        raise UserError(f"{args.fits}: {exc}") from None
    config = {"fits": str(args.fits), "by": args.by, "models": models, "criterion": args.criterion,
              "prior": args.prior, "stop": args.stop, "exact": args.exact,
              "families": FAMILIES if args.families else None,
              "foreign": foreign, "include_incomplete": args.include_incomplete}
    for path, result in outputs.items():  # every table computed before the first is written
        write_table(result, path)
        write_sidecar(path, config, seed=None if path == args.winners else args.seed, completed=True)
    if foreign:
        print(f"note: {args.fits} has no garden sidecar: a foreign table (e.g. from another tool), its "
              f"{args.criterion} taken as given (garden cannot check it is a likelihood's)", file=sys.stderr)
    headline = ["protected_exceedance_probability", "bor", "expected_frequency", "n_iter", "converged"]
    print(table[[c for c in table.columns if c in ([args.by, "model", "n"] + headline)]]
          .to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    return 0


def check_families(path, models: list[str]) -> None:
    """UserError unless ``models`` (those compared) reach at least two of ``FAMILIES``: family inference
    compares families, and one family has frequency 1 whatever the data."""
    reached = [name for name, members in FAMILIES.items() if set(members) & set(models)]
    if len(reached) < 2:
        missing = {name: list(members) for name, members in FAMILIES.items() if name not in reached}
        raise UserError(f"--families: {path} compares models of {len(reached)} family ({', '.join(reached) or 'none'}) "
                        f"only; family inference needs >= 2: add fits of {missing} (or leave out --families)")


def recover_command(args: argparse.Namespace) -> int:
    written = write_recovery(args.out, list(args.models), list(args.trials), args.n_sim, objective=args.objective,
                             rule_codes=list(args.rule_codes), seed=args.seed, jobs=args.jobs, profile=args.profile,
                             posterior=args.posterior, truth=args.truth)
    for path in written:
        print(path)
    return 0
