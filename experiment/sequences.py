"""Trial sequences of every phase and curriculum, and exemplar allocation across phases.

Pure and seeded: the same protocol, participant and seed always give the same table, which is
what lets ``--resume`` continue a session exactly where it stopped and lets simulated and real
participants run the same trials.

* Counterbalancing (``assign``): rule code, (fixed) accept side, curriculum and the first garden of a
  blocked order can come from the participant number (the digits at the end of the id), fully
  crossed in that order, the rule code fastest (``counterbalancing_factors``).
* Exemplars (``allocate_exemplars``): for each of the 25 cells the participant's exemplar pool is
  permuted once and every phase of every session takes the next ``exemplars_per_cell`` of them, so
  no tree repeats across phases.
* Order (``phase_trials``): a phase shows each (garden, cell) ``trials / 50`` times, cycling through
  its exemplars; interleaved = shuffled; blocked = ``block_length`` trials of one garden, then of the
  other, alternating (450/450 for 2022; 200, 20 or 2 for 2018); scanner runs each hold every
  condition equally often, shuffled within the run, with a fixed-sum ITI jitter and a computed onset
  schedule (``run_plan``: planned duration and volumes).
  ``max_trials`` keeps only a phase's first trials (pilots and tests).
* Practice (``[practice]``, phase ``practice``): each attempt is one block of the best and worst cells
  of each garden, on practice exemplars (``PRACTICE_EXEMPLARS`` when rendered); the sequence holds the
  attempts planned so far (``practice_attempts``), each drawn from its own seed.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from garden.core.errors import UserError
from garden.core.task import LEVELS, reward_value
from garden.core.trials import check_participant_id
from garden.experiment.config import PARTICIPANT, PRACTICE_EXEMPLARS, PRACTICE_PHASE, Phase, Protocol

CELLS: list[tuple[int, int]] = [(int(b), int(l)) for b in LEVELS for l in LEVELS]
"""The 25 (branchiness, leafiness) cells, leafiness fastest."""

ExemplarPool = Callable[[int, int], list[str]]
"""Exemplar labels available for a cell (branchiness, leafiness), e.g. ``StimulusSet.exemplars``."""
Allocation = list[dict[tuple[int, int], list[str]]]
"""Exemplars of every phase (protocol order): (branchiness, leafiness) -> labels."""

# Purposes mixed into the seed so each random choice has its own stream.
_ALLOCATE, _ORDER, _SIDES, _ITI, _FIRST, _PRACTICE = range(6)


@dataclass(frozen=True)
class Assignment:
    """One participant's counterbalancing and seed (recorded in the session sidecar)."""

    participant_id: str
    rule_code: int
    curriculum: str
    accept_side: str | None
    """'left'/'right' when sides are fixed per participant; None when drawn every trial."""
    seed: int
    first_context: str | None = None
    """Garden of the first block of a blocked order; None in sessions recorded before it was
    counterbalanced (their first garden was drawn from the seed)."""


def participant_number(participant_id: str) -> int | None:
    """The number at the end of a participant id ('P017' -> 17), or None if it has none."""
    match = re.search(r"(\d+)$", participant_id)
    return int(match.group(1)) if match else None


def participant_seed(protocol_seed: int, participant_id: str) -> int:
    """A stable 32-bit seed for one participant under one protocol seed."""
    return zlib.crc32(f"{protocol_seed}:{participant_id}".encode())


def _number_for(participant_id: str, what: str, flag: str) -> int:
    number = participant_number(participant_id)
    if number is None or number < 1:
        raise UserError(f"participant id {participant_id!r} ends in no number >= 1 to assign the {what} from; "
                        f"pass {flag} or use an id like P001")
    return number


def _has_blocked_order(protocol: Protocol) -> bool:
    return any(p.order == "blocked" for p in protocol.phases) or (
        any(p.order == "curriculum" for p in protocol.phases)
        and any(c.order == "blocked" for c in protocol.curricula.values()))


def counterbalancing_factors(protocol: Protocol) -> list[tuple[str, list[Any]]]:
    """The factors assigned from the participant number, in crossing order, with their levels:
    the rule code (1..4), the accept side (fixed sides), the curriculum, the first garden of a
    blocked order; each only where the protocol assigns it from the participant number.

    Participant n (k = n - 1) gets level ``(k // p) % len(levels)`` of each factor, ``p`` the
    product of the sizes of the factors before it: P001..P0N, N the product of all sizes, cover
    every combination once (flesch2018: 4 rules x 2 sides x 4 curricula x 2 first gardens = 64;
    flesch2022: 4 rules x 2 curricula x 2 first gardens = 16).
    """
    factors: list[tuple[str, list[Any]]] = []
    if protocol.rule_code == PARTICIPANT:
        factors.append(("rule_code", [1, 2, 3, 4]))
    if protocol.keys.sides == "fixed" and protocol.keys.accept_side == PARTICIPANT:
        factors.append(("accept_side", ["left", "right"]))
    if protocol.curriculum == PARTICIPANT:
        factors.append(("curriculum", list(protocol.curricula)))
    if _has_blocked_order(protocol):
        factors.append(("first_context", list(protocol.contexts)))
    return factors


def crossed_levels(protocol: Protocol, number: int) -> dict[str, Any]:
    """The level of each counterbalancing factor for participant ``number`` (see
    ``counterbalancing_factors``)."""
    levels, period = {}, 1
    for name, options in counterbalancing_factors(protocol):
        levels[name] = options[((number - 1) // period) % len(options)]
        period *= len(options)
    return levels


FLAGS = {"rule_code": "--rule-code", "curriculum": "--curriculum", "accept_side": "a protocol with keys.accept_side"}


def assign(protocol: Protocol, participant_id: str, rule_code: int | None = None,
           curriculum: str | None = None, seed: int | None = None) -> Assignment:
    """Counterbalancing of one participant: explicit values win, else the protocol, else the
    participant number (fully crossed, see ``counterbalancing_factors``). An id without a number
    needs every factor given except the first garden, which is then drawn from the seed."""
    check_participant_id(participant_id)
    if seed is None:
        seed = participant_seed(protocol.seed, participant_id)
    given = {"rule_code": rule_code, "curriculum": curriculum}
    needed = [n for n, _ in counterbalancing_factors(protocol) if n in FLAGS and given.get(n) is None]
    number = participant_number(participant_id)
    if needed:
        number = _number_for(participant_id, needed[0].replace("_", " "), FLAGS[needed[0]])
    if number is not None and number >= 1:
        crossed = crossed_levels(protocol, number)
    else:
        crossed = {"first_context": protocol.contexts[int(np.random.default_rng([seed, _FIRST]).integers(2))]}
    if rule_code is None:
        rule_code = protocol.rule_code if protocol.rule_code != PARTICIPANT else crossed["rule_code"]
    if int(rule_code) not in range(1, 9):
        raise UserError(f"rule code {rule_code!r} is invalid: use 1..4 (cardinal) or 5..8 (diagonal)")
    names = list(protocol.curricula)
    if curriculum is None:
        curriculum = protocol.curriculum if protocol.curriculum != PARTICIPANT else crossed["curriculum"]
    if curriculum not in protocol.curricula:
        raise UserError(f"curriculum {curriculum!r} is not in protocol {protocol.name!r}; use one of {names}")
    accept_side = None
    if protocol.keys.sides == "fixed":
        accept_side = protocol.keys.accept_side
        if accept_side == PARTICIPANT:
            accept_side = crossed["accept_side"]
    first = crossed["first_context"] if _has_blocked_order(protocol) else None
    return Assignment(participant_id, int(rule_code), curriculum, accept_side, int(seed), first)


def numbered_pool(size: int) -> ExemplarPool:
    """Exemplar labels '1'..'size' for every cell (trees rendered on the fly)."""
    labels = [str(i) for i in range(1, size + 1)]
    return lambda b, l: list(labels)


def allocate_exemplars(protocol: Protocol, seed: int, pool: ExemplarPool | None = None) -> Allocation:
    """Exemplars of every phase (protocol order, all sessions), drawn without replacement per cell.

    Returns one dict per phase mapping (branchiness, leafiness) to its exemplar labels. Rendered
    trees (no ``pool``): a practice phase takes one of ``PRACTICE_EXEMPLARS`` per cell, outside the
    main pool; a stimulus set's practice takes the next of the set's exemplars like any phase.
    """
    rendered = pool is None
    pool = pool or numbered_pool(protocol.exemplar_pool)
    reserved = [rendered and p.name == PRACTICE_PHASE for p in protocol.phases]
    need = sum(p.exemplars_per_cell for p, r in zip(protocol.phases, reserved) if not r)
    out: list[dict[tuple[int, int], list[str]]] = [{} for _ in protocol.phases]
    for b, l in CELLS:
        labels = list(pool(b, l))
        if len(labels) < need:
            raise UserError(f"protocol {protocol.name!r} needs {need} exemplars per cell without repeats but only "
                            f"{len(labels)} are available for B{b}L{l}; use a larger stimulus set or "
                            "fewer exemplars_per_cell")
        order = np.random.default_rng([seed, _ALLOCATE, b, l]).permutation(len(labels))
        practice = PRACTICE_EXEMPLARS[np.random.default_rng([seed, _PRACTICE, b, l]).integers(len(PRACTICE_EXEMPLARS))]
        start = 0
        for i, phase in enumerate(protocol.phases):
            if reserved[i]:
                out[i][(b, l)] = [practice]
                continue
            out[i][(b, l)] = [labels[j] for j in order[start:start + phase.exemplars_per_cell]]
            start += phase.exemplars_per_cell
    return out


def _items(phase: Phase, exemplars: dict[tuple[int, int], list[str]], contexts: tuple[str, str],
           rng: np.random.Generator) -> pd.DataFrame:
    """Every showing of the phase, with its run: each (garden, cell) ``trials / 50`` times."""
    repeats = phase.trials // 50
    per_run = repeats // phase.runs
    rows = []
    for context in contexts:
        for b, l in CELLS:
            labels = exemplars[(b, l)] * (repeats // len(exemplars[(b, l)]))
            for k, j in enumerate(rng.permutation(repeats)):
                rows.append((context, b, l, labels[j], k // per_run + 1))
    return pd.DataFrame(rows, columns=["context", "branchiness", "leafiness", "exemplar", "run"])


def _practice_items(phase: Phase, exemplars: dict[tuple[int, int], list[str]], contexts: tuple[str, str],
                    rule_code: int, seed: int, attempts: int) -> pd.DataFrame:
    """The trees of ``attempts`` practice attempts (``run`` = attempt): ``phase.trials / 2`` per garden,
    half of them of the garden's best cells (highest value) and half of its worst, drawn per attempt
    from its own seed (so an added attempt leaves the earlier ones as they were)."""
    b, l = np.array(CELLS).T
    rows = []
    for attempt in range(1, attempts + 1):
        rng = np.random.default_rng([seed, _PRACTICE, attempt])
        for context in contexts:
            values = reward_value(np.full(len(b), context), b, l, rule_code, contexts)
            per_garden = phase.trials // 2
            for extreme, n in ((values.max(), per_garden - per_garden // 2), (values.min(), per_garden // 2)):
                cells = np.flatnonzero(values == extreme)
                drawn = np.concatenate([rng.permutation(cells) for _ in range(-(-n // len(cells)))])[:n]
                rows += [(context, int(b[c]), int(l[c]), exemplars[CELLS[c]][0], attempt) for c in drawn]
    return pd.DataFrame(rows, columns=["context", "branchiness", "leafiness", "exemplar", "run"])


def _blocked(items: pd.DataFrame, block_length: int, first: str, contexts: tuple[str, str],
             rng: np.random.Generator) -> pd.DataFrame:
    """Alternate ``block_length`` shuffled trials of one garden with as many of the other."""
    order = (first, contexts[1] if first == contexts[0] else contexts[0])
    chunks = []
    for context in order:
        rows = items[items.context == context]
        rows = rows.iloc[rng.permutation(len(rows))]
        chunks.append([rows.iloc[i:i + block_length] for i in range(0, len(rows), block_length)])
    pieces = [c for pair in zip(*chunks) for c in pair]
    pieces += chunks[0][len(chunks[1]):] + chunks[1][len(chunks[0]):]
    return pd.concat(pieces, ignore_index=True)


def _interleaved(items: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Shuffle within each run (a single run outside the scanner)."""
    runs = [rows.iloc[rng.permutation(len(rows))] for _, rows in items.groupby("run", sort=True)]
    return pd.concat(runs, ignore_index=True)


def _itis(phase: Phase, runs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """ITI after each trial (s). Fixed; or, jittered online, uniform in [iti_s, iti_max_s]; or,
    jittered in the scanner, a fixed-sum jitter: the gaps between a run's trials are evenly spaced
    over [iti_s, iti_max_s] in random order, so that every run of every participant lasts the same,
    and a run's last trial has none (the lead-out follows it). Rounded to 1 ms."""
    t, n = phase.timing, len(runs)
    if not t.jittered:
        itis = np.full(n, t.iti_s)
    elif not phase.scanner:
        return np.round(rng.uniform(t.iti_s, t.iti_max_s, n), 3)
    else:
        itis = np.empty(n)
        for r in np.unique(runs):
            idx = np.flatnonzero(runs == r)
            itis[idx[:-1]] = rng.permutation(np.round(np.linspace(t.iti_s, t.iti_max_s, len(idx) - 1), 3))
    if phase.scanner:
        itis[np.flatnonzero(np.diff(runs, append=np.inf) != 0)] = 0.0
    return itis


def scanner_schedule(phase: Phase, run: np.ndarray, iti: np.ndarray) -> np.ndarray:
    """Planned tree onsets (s from the run's trigger), computed from the plan, never accumulated
    from measured durations: lead-in, then per trial cue, tree for the full window, ITI."""
    t = phase.timing
    onsets = np.empty(len(run))
    for r in np.unique(run):
        idx = np.flatnonzero(run == r)
        trial_s = t.cue_s + t.response_window_s + iti[idx]
        starts = t.lead_in_s + np.concatenate([[0.0], np.cumsum(trial_s)[:-1]])
        onsets[idx] = starts + t.cue_s
    return onsets


def run_plan(phase: Phase, planned_onsets: np.ndarray) -> dict[str, float | int]:
    """Planned length of a scanner run whose trees are planned at ``planned_onsets`` (s from its
    trigger): to the end of the last tree's window plus the lead-out (s), and the volumes (TRs) that
    cover it."""
    duration = round(float(np.max(planned_onsets)) + phase.timing.response_window_s + phase.timing.lead_out_s, 3)
    return {"planned_duration_s": duration, "planned_volumes": int(math.ceil(duration / phase.timing.tr_s - 1e-9)),
            "tr_s": phase.timing.tr_s}


def phase_trials(protocol: Protocol, phase_index: int, assignment: Assignment,
                 exemplars: dict[tuple[int, int], list[str]], *, practice_attempts: int = 1) -> pd.DataFrame:
    """The ordered trials of one phase (no session-level numbering yet); a practice phase holds
    ``practice_attempts`` attempts, one block each, shuffled within each."""
    phase = protocol.phases[phase_index]
    rng = np.random.default_rng([assignment.seed, _ORDER, phase_index])
    practice = phase.name == PRACTICE_PHASE
    if practice:
        items = _practice_items(phase, exemplars, protocol.contexts, assignment.rule_code,
                                assignment.seed + phase_index, practice_attempts)
    else:
        items = _items(phase, exemplars, protocol.contexts, rng)
    order, block_length = phase.order, phase.block_length
    if order == "curriculum":
        curriculum = protocol.curricula[assignment.curriculum]
        order, block_length = curriculum.order, curriculum.block_length
    if order == "blocked":
        first = assignment.first_context
        if first is None:  # recorded before the first garden was counterbalanced: as it was drawn then
            first = protocol.contexts[int(np.random.default_rng([assignment.seed, _FIRST, phase_index]).integers(2))]
        table = _blocked(items, block_length, first, protocol.contexts, rng)
    else:
        table = _interleaved(items, rng)
    n = len(table)
    table.insert(0, "phase", phase.name)
    table["reward_value"] = reward_value(table.context.to_numpy(), table.branchiness.to_numpy(),
                                         table.leafiness.to_numpy(), assignment.rule_code, protocol.contexts)
    side_rng = np.random.default_rng([assignment.seed, _SIDES, phase_index])
    table["side_accept"] = (assignment.accept_side if assignment.accept_side
                            else np.where(side_rng.random(n) < 0.5, "left", "right"))
    table["feedback"] = int(phase.feedback)
    table["iti_s"] = _itis(phase, table.run.to_numpy(), np.random.default_rng([assignment.seed, _ITI, phase_index]))
    table["planned_onset"] = (scanner_schedule(phase, table.run.to_numpy(), table.iti_s.to_numpy())
                              if phase.scanner else np.nan)
    attempt = table.run.to_numpy(int)
    if not phase.scanner:
        table["run"] = np.nan
    per_block = phase.block_trials or n
    table["phase_block"] = attempt if phase.scanner or practice else np.arange(n) // per_block + 1
    return table.iloc[: phase.max_trials or n].reset_index(drop=True)


def session_sequence(protocol: Protocol, assignment: Assignment, session: int,
                     pool: ExemplarPool | None = None, *, allocation: Allocation | None = None,
                     practice_attempts: int = 1) -> pd.DataFrame:
    """Every trial of one session in order, in the trial-table layout (choices and RTs empty).

    Columns: the contract's (``choice``/``rt`` NaN), plus ``group``/``curriculum``/``rule_code``,
    ``feedback`` (1 if shown), ``side_accept`` (left/right), ``run`` (scanner runs), ``iti_s``
    (planned ITI after the trial, s) and ``planned_onset`` (scanner: tree onset from the run's
    trigger, s). ``block`` counts breaks and runs through the session, from 1. ``allocation``:
    the exemplars to use (default: ``allocate_exemplars`` from the seed and ``pool``);
    ``practice_attempts``: attempts of the session's practice planned so far (one block each; another
    attempt leaves every earlier trial as it was and moves the later ones back).
    """
    exemplars = allocation or allocate_exemplars(protocol, assignment.seed, pool)
    wanted = {id(p) for p in protocol.session_phases(session)}
    tables, block = [], 0
    for i, phase in enumerate(protocol.phases):
        if id(phase) not in wanted:
            continue
        table = phase_trials(protocol, i, assignment, exemplars[i], practice_attempts=practice_attempts)
        table["block"] = table.pop("phase_block") + block
        block = int(table.block.max())
        tables.append(table)
    seq = pd.concat(tables, ignore_index=True)
    seq.insert(0, "participant_id", assignment.participant_id)
    seq.insert(1, "session", int(session))
    seq["trial"] = np.arange(1, len(seq) + 1)
    seq["choice"] = np.nan
    seq["rt"] = np.nan
    seq["group"] = assignment.curriculum
    seq["curriculum"] = assignment.curriculum
    seq["rule_code"] = assignment.rule_code
    first = ["participant_id", "session", "phase", "block", "trial", "context", "branchiness", "leafiness",
             "exemplar", "reward_value", "choice", "rt"]
    return seq[first + [c for c in seq.columns if c not in first]]
