"""Memory budgets: the bytes a command will allocate, estimated before it starts work.

Why: a value inside its documented range can still ask for more memory than the machine has
(``neural simulate --tr 1e-9`` is a time grid of billions of volumes; a NIfTI header may claim 2000³
voxels; a zip member may inflate to gigabytes). Commands estimate the size of what they will build from
their arguments and input headers, and refuse past a budget with the estimate in the message, instead
of dying with MemoryError (or taking the machine down) minutes later. The budgets are documented in
docs/user-errors.md and raised on a bigger machine with ``GARDEN_MAX_<NAME>``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable

from garden.core.errors import UserError

BUDGETS: dict[str, tuple[float, str]] = {
    "memory_gib": (8.0, "GiB of arrays one command may allocate (volumes, time grids, searchlight spheres)"),
    "decoded_gib": (8.0, "GiB one input file may decode or decompress to (.nii.gz, zip members, .mat)"),
    "figure_megapixels": (100.0, "megapixels of one figure (width x height x dpi²)"),
}
"""Budget by name: (default, what it bounds); ``GARDEN_MAX_<NAME>`` overrides the default."""
GIB = 2.0**30


def budget(name: str) -> float:
    """The budget ``name`` of ``BUDGETS``, or its ``GARDEN_MAX_<NAME>`` override (a positive number)."""
    variable = f"GARDEN_MAX_{name.upper()}"
    text = os.environ.get(variable)
    if text is None:
        return BUDGETS[name][0]
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise UserError(f"{variable}={text!r}: not a positive number; set it to the larger budget you want")
    return value


def array_bytes(shape: Iterable[float], itemsize: int = 8, copies: float = 1.0) -> float:
    """Bytes of ``copies`` arrays of ``shape`` with ``itemsize``-byte items (floats: no overflow)."""
    return math.prod(float(n) for n in shape) * itemsize * copies


def _size(nbytes: float) -> str:
    for unit, scale in (("TiB", 2.0**40), ("GiB", GIB), ("MiB", 2.0**20)):
        if nbytes >= scale:
            return f"{nbytes / scale:.3g} {unit}"
    return f"{nbytes / 1024:.3g} KiB"


def check_memory(nbytes: float, what: str, *, name: str = "memory_gib") -> None:
    """UserError when ``what`` needs ``nbytes`` (estimated) over the budget ``name`` (a GiB budget);
    ``what`` names the option or file that sets the size (e.g. ``--tr 1e-09: a time grid of ...``)."""
    limit = budget(name) * GIB
    if not nbytes <= limit:  # also refuses a NaN estimate
        raise UserError(f"{what} needs about {_size(nbytes)}, over the {_size(limit)} budget; make it smaller, or "
                        f"raise the budget on a bigger machine (GARDEN_MAX_{name.upper()})")


def check_pixels(width_in: float, height_in: float, dpi: float, what: str) -> None:
    """UserError when a ``width_in`` x ``height_in`` inch figure at ``dpi`` exceeds the pixel budget."""
    megapixels = width_in * height_in * dpi**2 / 1e6
    limit = budget("figure_megapixels")
    if not megapixels <= limit:
        raise UserError(f"{what}: a figure of {megapixels:.3g} megapixels, over the {limit:g}-megapixel budget; "
                        "lower --dpi, or raise the budget (GARDEN_MAX_FIGURE_MEGAPIXELS)")
