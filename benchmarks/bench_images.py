"""Writing NIfTI images: nibabel's own ``.nii.gz`` writer (gzip, zlib at level 1) against garden's ``write_image``
(gzip by ISA-L's igzip at ``GZIP_LEVEL``) and against ``write_image`` uncompressed (``.nii``), side by side.

``python -m benchmarks images``. Two images: a BOLD run of ``garden neural simulate``'s defaults (the runs of the demo
and the suite: one scanner session of the shipped flesch2022 protocol played by a seeded agent) and a scanner-sized
run (64 x 64 x 36 voxels, 100 volumes, float32: a smooth baseline plus seeded Gaussian noise). Per image and writer:
CPU milliseconds per write and per read of the file by nibabel (means of ``REPEATS``), the file's size, and whether
nibabel reads back the same voxels and affine."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import nibabel
import numpy as np

from garden.analysis.neural.bids import find_runs, write_image
from garden.analysis.neural.simulate import SimulationConfig, simulate_dataset
from garden.experiment.config import load_protocol
from garden.experiment.simulate import simulate_session
from garden.modeling.agents import get_agent

REPEATS = 3
SCANNER_SHAPE = (64, 64, 36, 100)
"""Voxels and volumes of the scanner-sized run."""


def _simulated_run(folder: Path) -> nibabel.Nifti1Image:
    """The first BOLD run ``garden neural simulate`` writes with its defaults, in memory."""
    simulate_session(load_protocol("flesch2022"), "01", 2, get_agent("factorized", {"lapse": 0.1}, seed=0),
                     folder / "sessions")
    bold = simulate_dataset(folder / "sessions", folder / "bold", SimulationConfig())
    run = next(iter(find_runs(bold).values()))[0]
    image = nibabel.load(str(run.bold))
    return nibabel.Nifti1Image(np.asarray(image.dataobj), image.affine, image.header)


def _scanner_run() -> nibabel.Nifti1Image:
    """A scanner-sized run: baseline 100 plus a smooth spatial pattern, plus N(0, 1) noise (seed 0), float32."""
    rng = np.random.default_rng(0)
    grid = np.meshgrid(*[np.linspace(-1, 1, n) for n in SCANNER_SHAPE[:3]], indexing="ij")
    baseline = 100 + 20 * np.cos(np.pi * grid[0]) * np.cos(np.pi * grid[1]) * np.cos(np.pi * grid[2])
    data = (baseline[..., None] + rng.standard_normal(SCANNER_SHAPE)).astype(np.float32)
    return nibabel.Nifti1Image(data, np.diag([2.5, 2.5, 2.5, 1.0]))


def _writers(folder: Path) -> dict:
    """Writer name -> (function writing an image, the path it writes)."""
    return {"nibabel_gz": (lambda image, path: image.to_filename(path), folder / "nibabel.nii.gz"),
            "write_image_gz": (write_image, folder / "garden.nii.gz"),
            "write_image_nii": (write_image, folder / "garden.nii")}


def _measure(image: nibabel.Nifti1Image, folder: Path) -> dict:
    """Per writer: CPU ms per write and per read, bytes written, and whether the image reads back unchanged."""
    out = {"shape": list(image.shape), "raw_bytes": int(image.get_fdata(dtype=np.float32).nbytes)}
    for name, (write, path) in _writers(folder).items():
        start = time.process_time()
        for _ in range(REPEATS):
            path.unlink(missing_ok=True)
            write(image, path)
        cpu_ms = (time.process_time() - start) / REPEATS * 1e3
        start = time.process_time()
        for _ in range(REPEATS):
            back = nibabel.load(str(path))
            voxels = np.asarray(back.dataobj)
        read_ms = (time.process_time() - start) / REPEATS * 1e3
        same = np.array_equal(voxels, np.asarray(image.dataobj)) and np.array_equal(back.affine, image.affine)
        out[name] = {"cpu_ms": round(cpu_ms, 1), "read_cpu_ms": round(read_ms, 1), "bytes": path.stat().st_size,
                     "reads_back_unchanged": bool(same)}
    out["gz_speedup"] = round(out["nibabel_gz"]["cpu_ms"] / out["write_image_gz"]["cpu_ms"], 2)
    return out


def main() -> dict:
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        return {"repeats": REPEATS, "simulated_run": _measure(_simulated_run(folder), folder),
                "scanner_run": _measure(_scanner_run(), folder)}
