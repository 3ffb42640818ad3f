"""``garden arrange``: run the tree-arrangement ("arena") task for one participant and phase."""

from __future__ import annotations

import argparse
from pathlib import Path

from garden.experiment.arrangement.task import DEFAULT_STRINGS, ArrangementConfig, run_arrangement
from garden.arguments import (
    SEED,
    bounded_int,
    existing_file,
    existing_folder,
    out_folder,
    participant_id,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``arrange`` sub-command."""
    p = subparsers.add_parser(
        "arrange", help="run the tree-arrangement task (drag 25 trees by similarity)",
        description="Participants drag the 25 trees inside a circle so that distance reflects "
                    "dissimilarity, several times; saves positions after every arrangement and the "
                    "25 x 25 RDM at the end. \"Done\" needs every tree moved once (unless --allow-unmoved). "
                    "Escape asks, then Y aborts and keeps finished arrangements. Never overwrites.")
    p.add_argument("--participant", required=True, type=participant_id, help="participant id (letters and digits)")
    p.add_argument("--session", required=True, type=bounded_int(1, "session"), help="session number (1-based)")
    p.add_argument("--phase", required=True, choices=("pre", "post"), help="before or after training")
    p.add_argument("--arrangements", type=bounded_int(1, "arrangements"), default=6, help="number of arrangements (default 6)")
    p.add_argument("--stimuli", type=existing_folder, default=None,
                   help="stimulus set folder (B{b}L{l}_{exemplar}.png); default: render trees now")
    p.add_argument("--out", type=out_folder, default=Path("participants"), help="participants folder")
    p.add_argument("--seed", type=SEED, default=None, help="seed of layouts and exemplar choice (default: random, recorded)")
    p.add_argument("--fullscreen", action="store_true", help="full screen (default: a window)")
    p.add_argument("--allow-unmoved", action="store_true",
                   help='let "Done" finish an arrangement before every tree was moved (default: refused)')
    p.add_argument("--window-size", type=bounded_int(200, "window_px"), nargs=2, default=(900, 900), metavar=("W", "H"),
                   help="window size in pixels when not full screen (default 900 900)")
    p.add_argument("--strings", type=existing_file, default=None, help="TOML file with the screen texts "
                   "(default experiment/strings/arrangement_en.toml)")
    p.set_defaults(func=arrange_command)


def arrange_command(args: argparse.Namespace) -> int:
    config = ArrangementConfig(participant_id=args.participant, session=args.session, phase=args.phase,
                               n_arrangements=args.arrangements, out=args.out, stimuli=args.stimuli,
                               seed=args.seed, fullscreen=args.fullscreen,
                               window_size_px=tuple(args.window_size), strings=args.strings or DEFAULT_STRINGS,
                               require_all_moved=not args.allow_unmoved)
    result = run_arrangement(config)
    state = "aborted after" if result.aborted else "finished"
    print(f"{state} {result.n_completed} arrangement(s) (seed {result.seed})")
    if result.n_completed:
        print(f"data: {result.files.trees}\nRDM: {result.files.rdm_tsv}")
    else:
        print("nothing saved")
    return 0
