"""Scanner data for the neural tests: real scanner-mode sessions (the flesch2022 protocol run by
simulated agents, as `garden run --simulate` does) and simulated BOLD for them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from garden.analysis.neural.simulate import SimulationConfig, simulate_dataset
from garden.experiment.config import load_protocol
from garden.experiment.simulate import simulate_session
from garden.modeling.agents import get_agent


def scanner_sessions(out: Path, lapses: list[float]) -> Path:
    """One scanner session (session 2 of flesch2022) per lapse rate, participants 01, 02, ..."""
    protocol = load_protocol("flesch2022")
    for k, lapse in enumerate(lapses):
        simulate_session(protocol, f"{k + 1:02d}", 2, get_agent("factorized", {"lapse": float(lapse)}, seed=k), out)
    return out


def simulated_bold(root: Path, lapses: list[float], **config) -> Path:
    """Sessions under root/sessions and their simulated BOLD under root/bold."""
    sessions = scanner_sessions(root / "sessions", lapses)
    return simulate_dataset(sessions, root / "bold", SimulationConfig(**config))


def mask_path(bold: Path, name: str = "brain") -> Path:
    """A mask written by the simulator: "brain" or an ROI name."""
    return bold / "masks" / ("brain_mask.nii.gz" if name == "brain" else f"roi-{name}_mask.nii.gz")


def lapse_range(n: int, low: float = 0.0, high: float = 0.5) -> list[float]:
    return np.linspace(low, high, n).tolist()
