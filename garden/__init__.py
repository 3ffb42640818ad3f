"""garden: run, fit and analyse the context-dependent tree-planting task (Flesch et al. 2018, 2022).

Start here. The ``garden`` command (``garden --help``) runs participants, fits and reports; from a
notebook, everything goes through one trial table, whoever produced it (a person in PsychoPy, a
simulated agent, a browser participant, a network)::

    import garden
    trials = garden.read_trials("participants/")           # every session under a BIDS-like tree
    model = garden.ChoiceModel("factorized").fit(trials)    # one fit per participant
    model.to_frame()                                        # parameters, SEs, NLL, AIC, BIC, angles
    model.skipped_                                          # who could not be fitted, and why
    rdms = garden.choice_rdms(garden.cell_table(trials))    # RDMs with condition + participant descriptors

Where things are (lowest layer first): ``core`` (task rules, the 50 conditions, the trial-table
contract), ``rsa`` (RDMs, model RDMs, comparisons, MDS), ``stimuli``, ``experiment`` (the task in
PsychoPy, simulated sessions), ``modeling`` (choice models, BMS, agents, networks), ``analysis``
(behavioural and neural analyses, people vs networks), ``reports``; above them this package:
``arguments`` (the command line's argument types and rules), ``pipeline`` (``garden demo``), ``commands``
(one module per sub-command group), ``cli`` (the ``garden`` command). The names below are the
public API; each is documented where it is defined, and loaded on first use (``import garden`` and
``garden --help`` stay fast: the command line needs none of them).
"""

import os
import signal
import sys


def _interrupted_at_start_up(signum: int, frame: object) -> None:
    """Ctrl-C while the ``garden`` command is still being imported: one line and status 130, no traceback
    (``garden.cli.main`` replaces this handler once it runs, and reports a later Ctrl-C itself)."""
    print("garden: interrupted", file=sys.stderr)
    raise SystemExit(130)


if sys.argv[:1] == ["-m"] or os.path.basename(sys.argv[0] if sys.argv else "") == "garden":  # the command line
    signal.signal(signal.SIGINT, _interrupted_at_start_up)  # not on import from a notebook or a script

import importlib  # noqa: E402 (after the handler: Ctrl-C during these imports is the command's too)
from typing import Any  # noqa: E402

__version__ = "0.1.0"

# public name -> the module that defines it (PEP 562 lazy attributes)
_API = {
    "choice_rdms": "garden.analysis.behaviour.choice_rdms",
    "analysis_trials": "garden.analysis.behaviour.choices",
    "cell_table": "garden.analysis.behaviour.choices",
    "network_rdms": "garden.modeling.networks.rdms",
    "item_table": "garden.core.task",
    "reward_value": "garden.core.task",
    "read_trials": "garden.core.trials",
    "write_table": "garden.core.trials",
    "load_protocol": "garden.experiment.config",
    "simulate_session": "garden.experiment.simulate",
    "AGENTS": "garden.modeling.agents",
    "get_agent": "garden.modeling.agents",
    "ChoiceModel": "garden.modeling.choice_model",
    "bms_table": "garden.modeling.comparison",
    "fit_people_files": "garden.analysis.networks.person_fits",
    "recover_networks": "garden.analysis.networks.recovery",
    "write_fit_report": "garden.reports.person_fits_report",
    "network_evidence": "garden.pipeline",
    "load_results": "garden.modeling.networks",
    "train_sweep": "garden.modeling.networks",
    "SweepConfig": "garden.modeling.networks.config",
    "TrainConfig": "garden.modeling.networks.config",
    "regress_rdms": "garden.rsa.compare",
    "model_rdm": "garden.rsa.model_rdms",
    "model_rdms": "garden.rsa.model_rdms",
    "RDMs": "garden.rsa.rdms",
    "plot_rdms": "garden.reports.figures.rdms",
}

__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    """The public API, imported from its defining module on first access."""
    if name not in _API:
        raise AttributeError(f"module 'garden' has no attribute {name!r}")
    value = getattr(importlib.import_module(_API[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])
