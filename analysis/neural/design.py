"""The model-RDM regression design: how collinear it is and a well-conditioned one for a contrast.

The 7 brain model RDMs are strongly collinear on squared distances (crossnobis estimates squared
distances): grid^2 = only_branchiness^2 + only_leafiness^2 + a context term exactly, so the other six
models explain almost all of the grid model and a 7-model OLS beta of grid can take either sign
with the same fit. Each model's variance inflation factor (VIF = 1 / (1 - R^2) of that model on
the others; > 10 is the usual warning level) and the design's condition number say how far a
beta can be trusted; a contrast between two models (orthogonal - grid) is estimated in the design
of those two models only, whose VIF is small.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from garden.rsa.compare import variance_inflation, zscore
from garden.rsa.model_rdms import model_rdms

VIF_WARNING = 10.0
"""VIF above which a model's beta is flagged as not identifiable in its design."""


def design_matrix(models: tuple[str, ...], context_offset: float, *, squared: bool) -> np.ndarray:
    """(n_pairs, n_models) z-scored lower triangles of the model RDMs (squared distances when
    ``squared``)."""
    vectors = model_rdms(list(models), context_offset).vectors()
    return np.column_stack([zscore(v ** (2 if squared else 1), name) for name, v in zip(models, vectors)])


def design_table(designs: dict[str, tuple[str, ...]], context_offset: float, *, squared: bool) -> pd.DataFrame:
    """design, model, vif, condition number, flagged (vif > VIF_WARNING), distances ("squared" or
    "plain"), one row per model of each named design."""
    rows = []
    for name, models in designs.items():
        matrix = design_matrix(models, context_offset, squared=squared)
        factors = variance_inflation(matrix)
        condition = float(np.linalg.cond(matrix))
        rows += [{"design": name, "model": model, "vif": float(f), "condition_number": condition,
                  "flagged": bool(f > VIF_WARNING), "distances": "squared" if squared else "plain"}
                 for model, f in zip(models, factors)]
    return pd.DataFrame(rows)
