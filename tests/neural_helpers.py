"""Scanner data for the neural tests: real scanner-mode sessions (the flesch2022 protocol run by
simulated agents, as `garden run --simulate` does) and simulated BOLD for them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from built_once import built_once
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


def shared_bold(tmp_path_factory: pytest.TempPathFactory, lapses: list[float]) -> Path:
    """``simulated_bold`` for ``lapses`` (default settings, one BLAS thread), built once per test run and shared by
    the modules and xdist workers that ask for the same lapses: read it, never change it (copy it first)."""
    def build(folder: Path) -> None:
        with threadpool_limits(1):
            simulated_bold(folder, lapses)
    return built_once(tmp_path_factory, "bold_lapses_" + "_".join(f"{lapse:g}" for lapse in lapses), build) / "bold"


def mask_path(bold: Path, name: str = "brain") -> Path:
    """A mask written by the simulator: "brain" or an ROI name."""
    return bold / "masks" / ("brain_mask.nii.gz" if name == "brain" else f"roi-{name}_mask.nii.gz")


def lapse_range(n: int, low: float = 0.0, high: float = 0.5) -> list[float]:
    return np.linspace(low, high, n).tolist()
