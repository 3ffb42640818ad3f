"""``garden stimuli make|sheet|check``: make a tree set, draw its 5x5 contact sheet, validate a set."""

from __future__ import annotations

import argparse

from garden.core.errors import UserError
from garden.core.files import write_with
from garden.core.provenance import write_sidecar
from garden.arguments import SEED, bounded_int, existing_folder, new_file, new_folder
from garden.stimuli.sets import contact_sheet, load_set, make_set


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``stimuli`` with its ``make``, ``sheet`` and ``check`` sub-commands."""
    parser = subparsers.add_parser("stimuli", help="make, check and preview tree stimulus sets",
                                   description="Procedural trees graded in branchiness and leafiness.")
    commands = parser.add_subparsers(dest="stimuli_command", metavar="SUBCOMMAND", required=True)

    p = commands.add_parser("make", help="render a new set of B{b}L{l}_{exemplar}.png files with a manifest",
                            description="Render 25 cells x N exemplars into a new folder (never overwrites) "
                                        "with manifest.json (generator version, parameters, seed, SHA-256 per file).")
    p.add_argument("--out", required=True, type=new_folder, help="new (or empty) output folder")
    p.add_argument("--exemplars", type=bounded_int(1, "exemplars"), required=True, help="exemplars per cell (published: 50)")
    p.add_argument("--size", type=bounded_int(8, "size_px"), required=True,
                   help="image side in pixels, 8..2048 (published: 250 or 443)")
    p.add_argument("--seed", type=SEED, default=0, help="random seed of the set (default 0)")
    p.add_argument("--jobs", type=bounded_int(1, "jobs"), default=1, help="worker processes (default 1)")
    p.set_defaults(func=make_command)

    p = commands.add_parser("sheet", help="draw the 5x5 contact sheet of a set",
                            description="Rows branchiness 1..5 (top to bottom), columns leafiness 1..5.")
    p.add_argument("set_dir", type=existing_folder, metavar="DIR", help="folder of B{b}L{l}_{exemplar}.png files (ours or published)")
    p.add_argument("--out", required=True, type=new_file(".png"), help="output image (.png); never overwritten")
    p.add_argument("--exemplar", default=None, help="exemplar to show in every cell (default: each cell's first)")
    p.add_argument("--cell-px", type=bounded_int(8, "cell_px"), default=120, help="side of one cell in pixels (default 120)")
    p.set_defaults(func=sheet_command)

    p = commands.add_parser("check", help="validate a set: all 25 cells, enough exemplars, hashes",
                            description="Exit 0 when complete; with a manifest, also re-hash every file's pixels.")
    p.add_argument("set_dir", type=existing_folder, metavar="DIR", help="folder of B{b}L{l}_{exemplar}.png files")
    p.add_argument("--min-exemplars", type=bounded_int(1, "exemplars"), default=1, help="exemplars each cell must have (default 1)")
    p.set_defaults(func=check_command)


def make_command(args: argparse.Namespace) -> int:
    out = make_set(args.out, args.exemplars, args.size, seed=args.seed, jobs=args.jobs)
    print(f"wrote {25 * args.exemplars} trees and manifest.json to {out}")
    return 0


def sheet_command(args: argparse.Namespace) -> int:
    out = args.out  # new_file checked that neither it nor its sidecar exists
    stimulus_set = load_set(args.set_dir)
    bad = stimulus_set.verify() if stimulus_set.manifest is not None else []
    if bad:
        raise UserError(f"{stimulus_set.path}: {len(bad)} file(s) differ from manifest.json ({', '.join(bad[:5])}); "
                        "remake the set (garden stimuli make) or restore the files")
    sheet = contact_sheet(stimulus_set, cell_px=args.cell_px, exemplar=args.exemplar)
    write_with(out, lambda fh: sheet.save(fh, format="PNG"))
    write_sidecar(out, {"set_dir": str(stimulus_set.path), "exemplar": args.exemplar, "cell_px": args.cell_px})
    print(f"wrote {out}")
    return 0


def check_command(args: argparse.Namespace) -> int:
    stimulus_set = load_set(args.set_dir, min_exemplars=args.min_exemplars)
    summary = f"{stimulus_set.path}: 25 cells, at least {stimulus_set.n_exemplars} exemplars each"
    if stimulus_set.manifest is None:
        print(f"{summary} (no manifest: hashes not checked)")
        return 0
    bad = stimulus_set.verify()
    if bad:
        print(f"{summary}; {len(bad)} file(s) differ from manifest.json: {', '.join(bad[:10])}")
        return 1
    print(f"{summary}; all {len(stimulus_set.manifest['files'])} files match manifest.json")
    return 0
