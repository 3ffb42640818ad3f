"""MDS of ROI RDMs for the report (``garden.analysis.neural.stats.group_mds``): known geometries come back
from group-mean RDMs shaped like the cross-validated ones (a constant of about 1 plus the signal)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial.distance import pdist, squareform

from garden.analysis.neural.stats import group_mds
from garden.rsa.mds import mds_panels
from garden.rsa.model_rdms import condition_table
from garden.rsa.rdms import RDMs
from garden.rsa.model_rdms import model_rdm
from garden.rsa.distances import lower


def _rdms(geometries: dict[str, np.ndarray], method: str, n: int = 3, noise: float = 0.005) -> RDMs:
    """ROI RDMs as ``read_roi_rdms`` gives them: ``n`` noisy copies of each ROI's geometry."""
    rng = np.random.default_rng(0)
    rows, matrices = [], []
    for roi, rdm in geometries.items():
        for s in range(n):
            e = rng.normal(0, noise, rdm.shape)
            rows.append({"participant_id": f"sub-{s:02d}", "session": 2, "roi": roi, "method": method})
            matrices.append((rdm + (e + e.T) / 2) * (1 - np.eye(50)))
    return RDMs(np.stack(matrices), condition_table(), pd.DataFrame(rows), method)


def _embedded(panel: pd.DataFrame) -> np.ndarray:
    return squareform(pdist(panel[["dim1", "dim2", "dim3"]].to_numpy()))


def test_group_mds_recovers_each_rois_geometry_under_a_constant_offset():
    models = {name: model_rdm(name) for name in ("orthogonal", "grid")}
    table = _rdms({f"roi_{name}": 1 + 0.1 * m / m.max() for name, m in models.items()}, "correlation")
    panels = group_mds(table, seed=0)
    assert list(dict.fromkeys(panels.panel)) == ["roi_orthogonal", "roi_grid"] and len(panels) == 100
    for name, model in models.items():
        part = panels[panels.panel == f"roi_{name}"]
        assert np.corrcoef(lower(_embedded(part)), lower(model))[0, 1] > 0.9
    # metric SMACOF bends the same configuration to fit the constant: why the report uses classical MDS
    mean = table.subset(roi="roi_orthogonal").mean()
    metric = mds_panels(mean, ["a"], 0, kind="metric")
    assert np.corrcoef(lower(_embedded(metric)), lower(models["orthogonal"]))[0, 1] < 0.8


def test_group_mds_takes_the_square_root_of_crossnobis_rdms():
    grid = model_rdm("grid")
    panels = group_mds(_rdms({"lazy": grid**2}, "crossnobis", noise=0.0))
    np.testing.assert_allclose(lower(_embedded(panels)), lower(grid), rtol=1e-6, atol=1e-6)
