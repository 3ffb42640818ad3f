"""Shared test fixtures: where ../shared is (tests that need it skip when it is absent)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GARDEN_SHARED", REPO.parent / "shared"))
FLESCH2018 = SHARED / "data" / "flesch2018"
REFERENCE_TREES = SHARED / "reference" / "trees"
BIDS_VALIDATOR = REPO / "tools" / "bids-validator" / "node_modules" / ".bin" / "bids-validator"


@pytest.fixture
def flesch2018() -> Path:
    """Folder of the published Flesch et al. (2018) data; skips the test when absent."""
    if not (FLESCH2018 / "exp1a_trials.csv.gz").exists():
        pytest.skip(f"published data not found at {FLESCH2018}")
    return FLESCH2018


@pytest.fixture
def reference_trees() -> Path:
    """Folder of the 25 published tree PNGs; skips the test when absent."""
    if not (REFERENCE_TREES / "B1L1_1.png").exists():
        pytest.skip(f"published trees not found at {REFERENCE_TREES}")
    return REFERENCE_TREES


@pytest.fixture
def one_torch_thread():
    """Run a torch test on one thread (deterministic kernels, no oversubscription), then restore."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def bids_errors():
    """Runs the official BIDS validator (npm bids-validator 1.15.0, installed by ``make test``) on a
    folder; returns its errors as 'CODE: files' lines (empty: valid). Skips when not installed."""
    if not BIDS_VALIDATOR.exists():
        pytest.skip(f"BIDS validator not installed at {BIDS_VALIDATOR} (make test installs it)")

    def errors(folder: Path) -> list[str]:
        out = subprocess.run([str(BIDS_VALIDATOR), str(folder), "--json"], capture_output=True, text=True,
                             timeout=120)
        report = json.loads(out.stdout)
        return [f"{e['key']}: {[f['file']['relativePath'] for f in e['files'][:3] if f.get('file')]}"
                for e in report["issues"]["errors"]]
    return errors
