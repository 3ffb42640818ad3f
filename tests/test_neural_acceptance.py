"""The known answer, end to end through the commands: 12 simulated participants' scanner sessions
(real scanner-mode events) -> simulated BOLD with a rich (orthogonal), a lazy (grid) and a null ROI
-> nilearn GLM -> cross-validated RDMs and a crossnobis searchlight -> model statistics, networks
and accuracy. The statistics must recover what was simulated."""

from __future__ import annotations

import json

import nibabel
import numpy as np
import pandas as pd
import pytest
from neural_helpers import lapse_range, mask_path, scanner_sessions
from threadpoolctl import threadpool_limits

from garden.analysis.neural.glm import load_mask
from garden.analysis.neural.searchlight import sphere_offsets
from garden.cli import main

RICH, LAZY = (0.01, 0.1, 0.4), (1.0, 2.0, 3.0)


def _garden(*args) -> None:
    assert main([str(a) for a in args]) == 0


def _touches(roi: np.ndarray, radius: int) -> np.ndarray:
    """Voxels whose searchlight sphere of ``radius`` contains a voxel of ``roi``."""
    near = np.zeros_like(roi)
    for offset in sphere_offsets(radius):
        near |= np.roll(roi, tuple(offset), axis=(0, 1, 2))
    return near


@pytest.mark.slow
def test_known_geometry_is_recovered_end_to_end(tmp_path):
    sessions = scanner_sessions(tmp_path / "sessions", lapse_range(12))
    bold, glm, rdms, light, nets, stats = (tmp_path / n for n in ("bold", "glm", "rdms", "sl", "nets", "stats"))
    with threadpool_limits(1):
        _garden("neural", "simulate", sessions, "--out", bold, "--snr", 0.5, "--seed", 1)
        brain = mask_path(bold)
        rois = [x for name in ("rich", "lazy", "noise") for x in ("--roi", f"{name}={mask_path(bold, name)}")]
        _garden("neural", "glm", bold, "--mask", brain, "--out", glm, "--noise-model", "ols", "--confounds", "motion")
        _garden("neural", "rdms", glm, "--out", rdms, *rois)
        _garden("neural", "searchlight", glm, "--mask", brain, "--out", light, "--method", "crossnobis",
                "--radius", 2, "--models", "grid,orthogonal")
        _garden("train", "--scales", ",".join(map(str, RICH + LAZY)), "--ctx-scales", "0.5,0.5,0.5,0.8,1.35,1.5",
                "--seeds", 2, "--steps", 3000, "--threads", 1, "--out", nets)
        _garden("neural", "stats", rdms, "--out", stats, "--behaviour", bold, "--networks", nets, "--searchlight",
                light, "--mask", brain, "--models", "grid,rotated_grid,orthogonal,parallel,only_branchiness,"
                "only_leafiness,diagonal", *rois[:4], "--n-perm", 2000, "--n-boot", 200, "--restarts", 2)

    def table(name: str) -> pd.DataFrame:
        return pd.read_csv(stats / "tables" / f"neural_{name}.tsv", sep="\t")

    contrasts = table("roi_contrasts").set_index("roi")
    assert contrasts.loc["rich", "p_one_sided"] < 0.01  # orthogonal beta > grid beta
    assert contrasts.loc["lazy", "p_reverse"] < 0.01  # grid beta > orthogonal beta
    assert min(contrasts.loc["noise", ["p_one_sided", "p_reverse"]]) > 0.05
    group = table("roi_group")
    assert group[group.roi == "noise"]["p_one_sided"].min() > 0.05 / 7  # no model, Bonferroni over the 7

    best = table("network_best").set_index("roi")
    assert best.loc["rich", "best_scale"] in RICH[:1] and best.loc["lazy", "best_scale"] in LAZY[-1:]

    relation = table("accuracy_relation").set_index("roi")
    assert relation.loc["rich", "pearson_r"] > 0.5

    significant = np.asarray(nibabel.load(str(stats / "searchlight" / "group_model-orthogonal_desc-fdr_mask.nii.gz"))
                             .dataobj).astype(bool)
    rich, _ = load_mask(mask_path(bold, "rich"))
    inside_brain, _ = load_mask(brain)
    far = inside_brain & ~_touches(rich, 2)
    assert significant[rich].mean() > 0.5
    assert significant[far].mean() <= 0.05
    truth = json.loads((bold / "ground_truth.json").read_text())
    assert truth["config"]["snr"] == 0.5 and len(truth["participants"]) == 12

    _garden("report", stats)  # the stats folder's tables/ feed the report's "Neural geometry" section
    text = (stats / "report.html").read_text(encoding="utf-8")
    neural = text[text.index("<section id='neural'>"):].split("</section>")[0]
    assert neural.count("data:image/png;base64,") == 6 and "<h3>neural roi contrasts</h3>" in neural
    assert "not drawn" not in neural
