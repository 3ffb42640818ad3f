"""Settings of a network sweep (torch-free): the published init scales and the training options.

Paradigm §4: input->hidden init SD ``scale`` (small = rich, large = lazy) paired with a
context->hidden SD ``ctx_scale``; hidden->output SD 0.01; biases 0.1; 100 ReLU units; loss
1/2 sum of squared errors over the 50 items; full-batch gradient descent, lr 5e-3, 10 000 steps.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from garden.core.errors import SettingError, UserError

PUBLISHED_SCALES = (0.01, 0.1, 0.2, 0.3, 0.4, 1.0, 2.0, 3.0)
PUBLISHED_CTX_SCALES = (0.5, 0.5, 0.5, 0.5, 0.5, 0.8, 1.35, 1.5)
N_ITEMS = 50
"""Items of the task (2 contexts x 25 trees): the published inputs are normalised over them."""
NOISE_SDS = tuple(round(0.01 * k, 2) for k in range(11))
"""The paper's 11 input-noise SDs, 0 to 0.1 in steps of 0.01 (input units)."""
ONLINE_LR_GRID = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3)
"""Learning rates tried per init scale for online SGD through a trial sequence (``tune_online_lr``)."""
ONLINE_LRS = {0.01: 0.3, 0.1: 0.1, 0.2: 0.1, 0.3: 0.05, 0.4: 0.05, 1.0: 0.1, 2.0: 0.1, 3.0: 0.1}
"""Online learning rate per published init scale: the value of ``ONLINE_LR_GRID`` with the highest
mean accuracy in the last 100 of 400 interleaved training trials (``curriculum.tune_online_lr`` with
its defaults; ``tests/test_networks_curriculum.py`` re-derives two of them)."""
PAPER_L2S = tuple(float(v) for v in np.linspace(0.0, 0.1, 8))
"""The paper's L2 sweep: lambda = linspace(0, 0.1, 8) (penalty 1/2 lambda sum of squared weights, biases
excluded), run on lazy nets (scale 3, ctx_scale 1.5), 30 runs (``garden train --l2 paper``)."""
PAPER_LRS = tuple(round(0.001 * k, 3) for k in range(1, 11))
"""The paper's learning-rate sweep: 1e-3, 2e-3, ..., 1e-2 (10 values), run on a rich (0.01, 0.5) and a lazy
(3, 1.5) net, 20 runs each (``garden train --lr paper``)."""
SWEPT_SETTINGS = ("l2", "lr")
"""Training settings (``TrainConfig`` fields) that ``garden train`` can sweep, one folder per value."""
CHOICE_TEMPERATURE = 0.25
"""Temperature (value / 25 units) of the sigmoid choice rule p(accept) = sigmoid(output / T): an
exactly trained network then has psychometric slope 1 / T = 4 per feature level, the middle of the
simulated population's slopes (``garden.modeling.agents.population_params``: U(2, 6))."""
DTYPES = ("float32", "float64")
HIDDEN_ACTIVATIONS = ("relu", "linear")
"""Hidden-unit nonlinearity: the published ReLU, or the identity (the gating analysis's linear-hidden-unit
control: the network is then linear in its inputs and cannot gate units by context)."""
CARDINAL_RULE_CODES = (1, 2, 3, 4)
INPUT_NORMS = ("published", "item")
"""How the inputs are scaled: ``published`` (stimulus and context matrices divided by their Frobenius
norm over the 50 items, per-item norm ~ 1/sqrt(50)) or ``item`` (each item's stimulus and context
vectors of norm 1, init SDs divided by sqrt(50): the same starting network; docs/networks.md,
"Networks that learn in a person's time")."""
PERSON_LR = 0.1
"""Online learning rate under ``input_norm="item"`` at which every published scale reaches 1.00 in the
last interleaved training block of real 2018 sequences (docs/networks.md)."""


@dataclass(frozen=True)
class TrainConfig:
    """How each network is trained (full batch) or run through a curriculum (online SGD)."""

    steps: int = 10_000
    lr: float = 5e-3
    n_hidden: int = 100
    l2: float = 0.0          # penalty 1/2 * l2 * sum of squared weights (not biases)
    output_sd: float = 0.01  # hidden->output init SD
    bias: float = 0.1        # initial hidden and output biases
    record_every: int = 10   # stride (steps) of the saved loss/accuracy curves
    dtype: str = "float32"
    device: str = "auto"     # "auto" = cuda when available, else cpu
    threads: int = 0         # CPU threads; 0 = the BLAS's (numpy's; torch's on a GPU)
    hidden_activation: str = "relu"  # "linear": the linear-hidden-unit control (HIDDEN_ACTIVATIONS)

    def __post_init__(self) -> None:
        if self.steps < 0 or self.n_hidden < 1 or self.record_every < 1 or self.threads < 0:
            raise UserError("steps and threads must be >= 0, n_hidden and record_every >= 1")
        if self.lr <= 0 or self.l2 < 0:
            raise UserError(f"learning rate must be > 0 and l2 >= 0 (got lr={self.lr}, l2={self.l2})")
        if self.dtype not in DTYPES:
            raise UserError(f"dtype {self.dtype!r} is invalid: use one of {list(DTYPES)}")
        if self.hidden_activation not in HIDDEN_ACTIVATIONS:
            raise SettingError("hidden_activation", f"{self.hidden_activation!r} is invalid: use one of "
                                                    f"{list(HIDDEN_ACTIVATIONS)}")


@dataclass(frozen=True)
class SweepConfig:
    """A sweep: every (scale, ctx_scale) pair x every seed, trained and measured the same way."""

    scales: tuple[float, ...] = PUBLISHED_SCALES
    ctx_scales: tuple[float, ...] = PUBLISHED_CTX_SCALES
    seeds: tuple[int, ...] = tuple(range(30))
    train: TrainConfig = field(default_factory=TrainConfig)
    inputs: str = "blobs"
    image_size_px: int = 32
    rule_code: int = 1
    context_offset: float = 1.0   # model-RDM context offset (feature units), explicit (docs/networks.md)
    noise_sds: tuple[float, ...] = NOISE_SDS
    noise_repeats: int = 20
    noise_seed: int = 0
    input_norm: str = "published"   # INPUT_NORMS

    def __post_init__(self) -> None:
        if len(self.scales) != len(self.ctx_scales) or not self.scales:
            raise SettingError("scales", f"init scales and {{ctx_scales}} must pair up: got {len(self.scales)} "
                                         f"scales and {len(self.ctx_scales)} context scales")
        if min(self.scales) <= 0 or min(self.ctx_scales) < 0:
            raise UserError("init scales must be > 0 and context scales >= 0")
        if len(set(self.seeds)) != len(self.seeds) or not self.seeds:
            raise UserError("seeds must be distinct and at least one")
        if self.input_norm not in INPUT_NORMS:
            raise SettingError("input_norm", f"{self.input_norm!r} is invalid: use one of {list(INPUT_NORMS)}")
        if self.rule_code not in CARDINAL_RULE_CODES:
            raise SettingError("rule_code", f"{self.rule_code} is diagonal: the network measures regress hidden RDMs "
                                            "on the model RDMs of the cardinal task, which do not describe diagonal "
                                            "rules (5..8); use a cardinal code 1..4")

    def networks(self) -> pd.DataFrame:
        """One row per network (scale, ctx_scale, seed), scale-major, in the order of every output."""
        rows = [(s, c, seed) for s, c in zip(self.scales, self.ctx_scales) for seed in self.seeds]
        return pd.DataFrame(rows, columns=["scale", "ctx_scale", "seed"])

    def init_sds(self) -> tuple[np.ndarray, np.ndarray]:
        """Per network (``networks()`` order) the input->hidden and context->hidden init SDs actually
        drawn: ``scale`` and ``ctx_scale``, divided by sqrt(50) under ``input_norm="item"`` (whose
        per-item input norms are sqrt(50) times the published ones), so the initial pre-activations
        are those of the published network."""
        nets, factor = self.networks(), self.init_sd_factor()
        return nets.scale.to_numpy(float) * factor, nets.ctx_scale.to_numpy(float) * factor

    def init_sd_factor(self) -> float:
        """What ``scale`` and ``ctx_scale`` are multiplied by when drawing weights (``init_sds``)."""
        return 1.0 / np.sqrt(N_ITEMS) if self.input_norm == "item" else 1.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "SweepConfig":
        data = dict(data)
        data["train"] = TrainConfig(**data["train"])
        for key in ("scales", "ctx_scales", "seeds", "noise_sds"):
            data[key] = tuple(data[key])
        return cls(**data)
