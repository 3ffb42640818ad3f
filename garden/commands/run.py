"""``garden run``: run one session of a protocol, for a person (PsychoPy window) or a simulated agent."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from garden.experiment import present
from garden.experiment.config import load_protocol
from garden.experiment.simulate import simulate_session
from garden.arguments import (
    SEED,
    Rule,
    add_rules,
    bounded_int,
    existing_folder,
    finite_float,
    out_folder,
    participant_id,
    requires,
)
from garden.modeling.agents import get_agent, parse_params
from garden.stimuli.sets import load_set


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``run`` sub-command."""
    p = subparsers.add_parser(
        "run", help="run a session of the task (window, or a simulated participant)",
        description="Run one session. Data go to OUT/sub-<ID>/ses-<N>/ and are never overwritten; "
                    "--resume continues an interrupted session after its last recorded trial.")
    p.add_argument("--participant", type=participant_id, metavar="ID", help="participant id, letters and digits (dialog if omitted)")
    p.add_argument("--session", type=bounded_int(1, "session"), metavar="N", help="session number (dialog if omitted)")
    p.add_argument("--protocol", default="flesch2022", help="protocol name (flesch2022, flesch2018) or a .toml path")
    p.add_argument("--curriculum", help="curriculum name of the protocol (default: from the participant number)")
    p.add_argument("--rule-code", type=int, choices=range(1, 9), metavar="1..8",
                   help="counterbalancing code (default: from the participant number)")
    p.add_argument("--seed", type=SEED, help="sequence seed (default: from the protocol seed and participant id)")
    p.add_argument("--fullscreen", action="store_true", help="full-screen window")
    p.add_argument("--allow-timing-problems", action="store_true",
                   help="run although the measured refresh rate differs from the protocol's or vsync is off "
                        "(recorded in the sidecar)")
    p.add_argument("--simulate", metavar="AGENT", help="simulated participant (factorized, linear, random, learner)")
    p.add_argument("--agent-params", metavar="K=V,...", help="agent parameters, e.g. slope=5,lapse=0.05,rt_mean_s=0.5")
    p.add_argument("--agent-seed", type=SEED, default=0, help="seed of the agent's choices and RTs")
    p.add_argument("--window", action="store_true",
                   help="with --simulate: run the real window; the agent presses keys through xdotool")
    p.add_argument("--pace", type=finite_float(0.0, 60.0), default=0.0, metavar="S",
                   help="windowless simulation: wait S s per trial (0..60)")
    p.add_argument("--screenshots", type=out_folder, metavar="DIR", help="save each tree/feedback screen as PNG here")
    p.add_argument("--resume", action="store_true", help="continue an interrupted session")
    p.add_argument("--allow-session-mismatch", action="store_true",
                   help="run a later session even though its protocol, --rule-code, --curriculum, --seed or "
                        "exemplars differ from the participant's first session (recorded in the sidecar)")
    p.add_argument("--stimuli", type=existing_folder, metavar="DIR", help="stimulus set folder (default: render trees)")
    p.add_argument("--out", type=out_folder, default=Path("participants"), help="data folder (default: participants)")
    add_rules(p, Rule("--screenshots", _screenshots_problem),
              requires("--simulate", "--participant", "--session", why="a simulated participant has no dialog"))
    p.set_defaults(func=run_command)


def _screenshots_problem(args: argparse.Namespace) -> str | None:
    """Rule of ``--screenshots``: a simulated session draws screens only in a window."""
    if args.screenshots is not None and args.simulate is not None and not args.window:
        return "a simulated session draws screens only with --window; add --window (or leave --screenshots out)"
    return None


def run_command(args: argparse.Namespace) -> int:
    protocol = load_protocol(args.protocol)
    stimulus_set = None
    if args.stimuli:
        stimulus_set = load_set(args.stimuli)
    common = dict(rule_code=args.rule_code, curriculum=args.curriculum, seed=args.seed, resume=args.resume,
                  allow_mismatch=args.allow_session_mismatch)
    agent = None
    if args.simulate is not None:
        agent = get_agent(args.simulate, parse_params(args.agent_params), args.agent_seed)
        if not args.window:
            pool = stimulus_set.exemplars if stimulus_set is not None else None
            path = simulate_session(protocol, args.participant, args.session, agent, args.out, pool=pool,
                                    pace_s=args.pace, durable=True, progress=sys.stderr.isatty(), **common)
            print(f"wrote {path}")
            return 0

    participant, session = args.participant, args.session
    if participant is None or session is None:
        participant, session = present.ask_ids(participant, session)
    path, completed = present.run_window_session(protocol, participant, session, args.out, stimulus_set=stimulus_set,
                                                 fullscreen=args.fullscreen, agent=agent,
                                                 allow_timing_problems=args.allow_timing_problems,
                                                 screenshots=args.screenshots, **common)
    if not completed:
        print(f"session ended early; data kept in {path}; continue with --resume", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0
