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
(behavioural and neural analyses, people vs networks), ``reports``. The names below are the
public API; each is documented where it is defined.
"""

from analysis.choice_rdms import choice_rdms
from analysis.choices import analysis_trials, cell_table
from analysis.network_tables import network_rdms
from core.task import item_table, reward_value
from core.trials import read_trials, write_table
from experiment.config import load_protocol
from experiment.simulate import simulate_session
from modeling.agents import AGENTS, get_agent
from modeling.choice_model import ChoiceModel
from modeling.comparison import bms_table
from modeling.networks import load_results, train_sweep
from modeling.networks.config import SweepConfig, TrainConfig
from rsa.compare import regress_rdm
from rsa.model_rdms import model_rdm, model_rdms
from rsa.rdms import RDMs

__version__ = "0.1.0"

__all__ = ["AGENTS", "ChoiceModel", "RDMs", "SweepConfig", "TrainConfig", "analysis_trials", "bms_table",
           "cell_table", "choice_rdms", "get_agent", "item_table", "load_protocol", "load_results", "model_rdm",
           "model_rdms", "network_rdms", "read_trials", "regress_rdm", "reward_value", "simulate_session",
           "train_sweep", "write_table"]
