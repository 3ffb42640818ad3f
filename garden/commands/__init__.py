"""One module per ``garden`` sub-command group, each with ``register(subparsers)``.

``COMMANDS`` names every command, the module that registers it and its one-line help. ``garden.cli``
builds the top-level parser from this table alone and imports a command's module only when that
command is invoked, so ``garden --help`` loads no command's domain (no pandas, scipy, torch, psychopy).
A command module may import its own domain at module level (``garden fit --help`` loads the fitting
code). Adding a command: a module here with ``register`` and its lines in ``COMMANDS``, in the order the
modules register them; tests/test_cli_startup.py checks the table against the modules.

Modules: ``run``, ``arrange``, ``stimuli``, ``web`` (running people: PsychoPy, arrangement, tree images,
the browser task), ``tables`` (validate, import), ``fit`` (choice models: fit, bms, recover),
``grid_prior``, ``train`` (network sweeps and curricula), ``networks`` (networks as cognitive models),
``gating``, ``neural``, ``demo``, ``report``, ``session_report``.
"""

from typing import NamedTuple


class Command(NamedTuple):
    """A sub-command: the module under ``garden.commands`` that registers it, and its one-line help."""

    module: str
    help: str


COMMANDS = {
    "arrange": Command("arrange", "run the tree-arrangement task (drag 25 trees by similarity)"),
    "demo": Command("demo", "run the end-to-end demo (stimuli, simulated people, fits, networks, RSA, report)"),
    "fit": Command("fit", "fit psychometric choice models per participant"),
    "bms": Command("fit", "random-effects Bayesian model selection over participants"),
    "recover": Command("fit", "parameter and model recovery from simulated participants"),
    "gating": Command("gating", "gating analysis of network sweeps: linear-unit control, unit overlap, "
                                "context-weight dynamics"),
    "grid-prior": Command("grid_prior", "Kendall tau_a of each arrangement RDM with the 25-tree grid model, "
                                        "and pre/post change"),
    "networks": Command("networks", "fit networks to people's choices (rich or lazy?) and check recovery"),
    "neural": Command("neural", "scanner data: simulate BOLD, GLM, RDMs, model statistics"),
    "report": Command("report", "rebuild DIR/report.html from existing results (or from a participants/ tree)"),
    "run": Command("run", "run a session of the task (window, or a simulated participant)"),
    "session-report": Command("session_report", "one participant's session as a self-contained HTML page"),
    "stimuli": Command("stimuli", "make, check and preview tree stimulus sets"),
    "validate": Command("tables", "check trial tables against the trial-table contract"),
    "import": Command("tables", "import a table with other column names into participants/ layout"),
    "train": Command("train", "train rich/lazy networks (init scales x seeds) and measure them"),
    "web": Command("web", "the task in a web browser (jsPsych): static site or server"),
}
"""Command name -> its module and one-line help, in the order ``garden --help`` lists them."""
