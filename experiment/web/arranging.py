"""The tree-arrangement task in the browser: what the page gets, and the files of each arrangement.

Why: the arrangement task (``garden arrange``) was run online in 2022. The page (``arrange.html``)
drags the trees; everything else is ``garden.experiment.arrangement.task``'s: the settings and their checks
(``ArrangementConfig``, ``validate``), the exemplar choice and start layouts from the session seed
(``garden.experiment.arrangement.data``), and the files (``ArrangementWriter``: tree table appended and
fsynced after every arrangement, created with the first one, RDM at the end, never overwritten).
Positions are in arena-radius units (origin at the centre, x right, y up). The browser picks a tree
by its image box (PsychoPy's version by its drawn pixels); trees stay inside the circle as there.
"""

from __future__ import annotations

import dataclasses
import math
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from garden.core.errors import UserError
from garden.experiment.arrangement import data as ad
from garden.experiment.arrangement.task import RENDER_EXEMPLARS, ArrangementConfig, validate
from garden.experiment.arrangement.task import load_strings as arrangement_strings
from garden.experiment.web.refusals import Rejected
from garden.experiment.web.paths import tree_url

EDGE_TOLERANCE = 1e-3
"""A reported position may lie this far (arena radii) beyond a tree's allowed disc (pixel rounding)."""


@dataclass
class OpenArrangement:
    """One participant's arrangements in progress."""

    config: ArrangementConfig
    seed: int
    exemplars: list[str]
    layouts: np.ndarray
    browser: dict[str, Any] = field(default_factory=dict)
    writer: ad.ArrangementWriter | None = None

    @property
    def done(self) -> int:
        """Arrangements recorded so far."""
        return len(self.writer.finals) if self.writer else 0


class WebArrangements:
    """The arrangement sessions of one server (``n_arrangements`` each)."""

    def __init__(self, out: str | Path, *, n_arrangements: int = 6, stimulus_set: Any | None = None):
        self.out, self.n, self.stimulus_set = Path(out), int(n_arrangements), stimulus_set
        self.open: dict[tuple[str, int, str], OpenArrangement] = {}

    def _options(self) -> dict[tuple[int, int], list[str]]:
        if self.stimulus_set is not None:
            return {(int(b), int(l)): self.stimulus_set.exemplars(int(b), int(l)) for b, l in ad.CELLS}
        return {(int(b), int(l)): list(RENDER_EXEMPLARS) for b, l in ad.CELLS}

    def begin(self, participant: str, session: int, phase: str, browser: dict[str, Any],
              seed: int | None = None) -> dict[str, Any]:
        """Open (or, after a reload, continue) a participant's arrangements; what the page needs (with the
        session ``seed``: new, or given when a static site's planned arrangements are imported)."""
        key = (participant, session, phase)
        if key not in self.open:
            config = ArrangementConfig(participant_id=participant, session=session, phase=phase,
                                       n_arrangements=self.n, out=self.out,
                                       stimuli=getattr(self.stimulus_set, "path", None))
            try:
                validate(config)
            except UserError as exc:
                raise Rejected(400, str(exc)) from None
            files = ad.arrangement_files(self.out, participant, session, phase)
            if files.existing():
                raise Rejected(409, f"{files.existing()[0].name}: already recorded; arrangements are never "
                                   "overwritten (use another session or phase)")
            seed = secrets.randbits(32) if seed is None else int(seed)
            self.open[key] = OpenArrangement(dataclasses.replace(config, seed=seed), seed,
                                             ad.choose_exemplars(self._options(), seed),
                                             ad.start_layouts(seed, self.n, config.ring_radius_arena), browser)
        live = self.open[key]
        half = live.config.tree_size_arena / 2
        trees = [{"label": label, "url": tree_url(b, l, e), "half": [half, half]}
                 for label, (b, l), e in zip(ad.LABELS, ad.CELLS, live.exemplars)]
        return {"participant_id": participant, "session": session, "phase": phase, "n_arrangements": self.n,
                "seed": live.seed, "next": live.done + 1, "trees": trees, "starts": live.layouts.tolist(),
                "strings": arrangement_strings(live.config.strings)}

    def add(self, participant: str, session: int, phase: str, body: dict[str, Any]) -> dict[str, Any]:
        """Record one finished arrangement (durable on return); the RDM after the last."""
        live = self.open.get((participant, session, phase))
        if live is None:
            raise Rejected(409, f"sub-{participant} ses-{session} phase {phase}: no open arrangement; reload the page")
        number = body.get("arrangement")
        if number != live.done + 1:
            raise Rejected(409, f"arrangement {number!r}: expected arrangement {live.done + 1}")
        final = _points(body.get("final"), "final")
        moves = body.get("moves")
        if not isinstance(moves, list) or len(moves) != ad.N_TREES or \
                not all(isinstance(m, int) and not isinstance(m, bool) and 0 <= m <= 10**6 for m in moves):
            raise Rejected(400, f"moves: expected {ad.N_TREES} counts >= 0")
        duration = body.get("duration_s")
        if isinstance(duration, bool) or not isinstance(duration, (int, float)) or \
                not math.isfinite(duration) or not 0 <= duration <= 86400:
            raise Rejected(400, f"duration_s: {duration!r} is not a time in 0..86400 s")
        limit = 1 - live.config.tree_size_arena / 2
        if np.any(np.hypot(final[:, 0], final[:, 1]) > limit + EDGE_TOLERANCE):
            raise Rejected(400, f"final: a tree lies outside the arena (centres must be within {limit:g} radii)")
        final = ad.clamp_to_disc(final, limit)
        if live.writer is None:  # files appear with the first finished arrangement, as in `garden arrange`
            settings = {**dataclasses.asdict(live.config), "mode": "browser", "browser": live.browser}
            live.writer = ad.ArrangementWriter(ad.arrangement_files(self.out, participant, session, phase),
                                               participant_id=participant, session=session, phase=phase,
                                               exemplars=live.exemplars, config=settings, seed=live.seed)
        live.writer.add(live.layouts[number - 1], final, moves, float(duration))
        finished = live.done == self.n
        if finished:
            live.writer.finish()
            del self.open[(participant, session, phase)]
        return {"recorded": number, "finished": finished}


def _points(value: Any, name: str) -> np.ndarray:
    """(25, 2) finite positions from a JSON list of [x, y] pairs; Rejected otherwise."""
    ok = isinstance(value, list) and len(value) == ad.N_TREES and all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                    and math.isfinite(v) for v in p) for p in value)
    if not ok:
        raise Rejected(400, f"{name}: expected {ad.N_TREES} [x, y] pairs of numbers (arena radii)")
    return np.asarray(value, float)
