"""``garden train``: train and measure rich/lazy networks (a sweep of init scales x seeds), or run
networks through participants' trial sequences (``--curriculum``)."""

from __future__ import annotations

import argparse
import math
import re

from garden.arguments import (
    SEED,
    Rule,
    add_rules,
    bounded_int,
    executor_options,
    existing_path,
    finite_float,
    MAX_INIT_SCALE,
    float_list,
    job_resources,
    limit,
    out_folder,
    raising,
)
from garden.modeling.networks.config import (
    CHOICE_TEMPERATURE,
    HIDDEN_ACTIVATIONS,
    PAPER_L2S,
    PAPER_LRS,
    PUBLISHED_CTX_SCALES,
    PUBLISHED_SCALES,
    SweepConfig,
    TrainConfig,
)
from garden.modeling.networks.curriculum import run_curriculum_file
from garden.modeling.networks.sweep import train_setting_sweep, train_sweep


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train`` sub-command."""

    p = subparsers.add_parser(
        "train", help="train rich/lazy networks (init scales x seeds) and measure them",
        description="Train many networks at once (one batched trainer), measure each one, and write "
                    "DIR/summary.tsv (one row per scale x seed) and DIR/results.npz with JSON sidecars. "
                    "Resumable per shard: run the same command again to finish an interrupted sweep. "
                    "With --curriculum, train online on each participant's trial sequence instead and "
                    "write the networks' choices as a trial table (DIR/choices.tsv).")
    p.add_argument("--scales", type=float_list(0.0, MAX_INIT_SCALE, above=True), default=PUBLISHED_SCALES,
                   metavar="S,...",
                   help="input->hidden init SDs, > 0 (default: the published 8)")
    p.add_argument("--ctx-scales", type=float_list(0.0, MAX_INIT_SCALE), default=PUBLISHED_CTX_SCALES, metavar="S,...",
                   help="context->hidden init SDs, one per scale (default: the published 8)")
    p.add_argument("--seeds", type=bounded_int(1, "networks"), default=30,
                   help="networks per scale: seeds FIRST..FIRST+N-1 (default 30)")
    p.add_argument("--first-seed", type=SEED, default=0, help="first seed (default 0)")
    p.add_argument("--steps", type=bounded_int(0, "steps"), default=10_000, help="full-batch gradient steps (default 10000)")
    p.add_argument("--lr", type=setting_values(float_list(0.0, 10.0, above=True, name="settings"), PAPER_LRS),
                   default=None, metavar="R[,R...]|paper",
                   help="learning rate, in (0, 10] (default 5e-3 full batch; with --curriculum the tuned online "
                        "rate per scale). Several values (or 'paper': the paper's 10, 1e-3..1e-2): one sweep per "
                        "value in DIR/lr-<R>/ and all rows in DIR/settings.tsv")
    p.add_argument("--hidden", type=bounded_int(1, "hidden"), default=100, help="hidden units (default 100)")
    p.add_argument("--hidden-activation", choices=HIDDEN_ACTIVATIONS, default="relu",
                   help="hidden units: relu (published) or linear (the gating analysis's control; not with --curriculum)")
    p.add_argument("--l2", type=setting_values(float_list(0.0, 100.0, name="settings"), PAPER_L2S), default=(0.0,),
                   metavar="L[,L...]|paper",
                   help="L2 penalty on the weights, 0..100 (default 0; the paper swept 0..0.1). Several values (or "
                        "'paper': linspace(0, 0.1, 8)): one sweep per value in DIR/l2-<L>/, all rows in "
                        "DIR/settings.tsv")
    p.add_argument("--inputs", choices=("blobs", "images"), default="blobs", help="stimulus code (default blobs)")
    p.add_argument("--image-size", type=bounded_int(8, "image_px"), default=32,
                   help="image side in pixels for --inputs images (8..128)")
    p.add_argument("--rule-code", type=bounded_int(1, high=8), default=1, help="counterbalancing code of the rules (cardinal 1..4)")
    p.add_argument("--context-offset", type=finite_float(0.0, 1e3), default=1.0,
                   help="model-RDM context offset, feature units >= 0 (default 1)")
    p.add_argument("--record-every", type=bounded_int(1, "steps"), default=10, help="stride of saved curves in steps (default 10)")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--device", type=device_name, default="auto", help="auto (cuda if torch sees one), cpu (numpy), cuda, cuda:N (torch: the [gpu] extra)")
    p.add_argument("--threads", type=bounded_int(0, "threads"), default=0, help="CPU threads (default 0: the BLAS's)")
    p.add_argument("--shards", type=bounded_int(1, "shards"), default=1, help="split the sweep into K shards (default 1)")
    executor_options(p, "shard", jobs=False)
    p.add_argument("--curriculum", type=existing_path, default=None, metavar="FILE",
                   help="trial table(s) (file or folder): train online on each participant's trials in order")
    p.add_argument("--choice-rule", choices=("sign", "sigmoid"), default="sign",
                   help="with --curriculum: accept when the output > 0 (sign) or sample p = sigmoid(output / T)")
    p.add_argument("--temperature", type=finite_float(0.0, 1e3, above=True), default=CHOICE_TEMPERATURE,
                   help=f"with --choice-rule sigmoid: T in value/25 units (default {CHOICE_TEMPERATURE})")
    p.add_argument("--include-incomplete", action="store_true",
                   help="with --curriculum: also use sessions whose sidecar says completed: false")
    p.add_argument("--out", required=True, type=out_folder, metavar="DIR", help="output folder")
    add_rules(p, Rule("--device", cuda_problem), Rule("--hidden", memory_problem), Rule("--shards", shards_problem),
              Rule("--l2", setting_problem))
    p.set_defaults(func=train_command)


COPIES = 8
"""Copies of each network's weights and activity held while training (init, final, gradients, curves)."""
TORCH_GIB = 1.0
"""Memory (GiB) of a job's Python with torch loaded, before any network (measured: 0.22 GB after `import torch`)."""
DEVICE = re.compile(r"^(auto|cpu|cuda(:\d{1,2})?)$")


def device_name(text: str) -> str:
    """argparse type of ``--device``: auto, cpu, cuda or cuda:N (whether it exists is checked before training)."""
    if not DEVICE.match(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a device; use auto, cpu, cuda or cuda:N")
    return text


def setting_values(parse_list, paper: tuple[float, ...]):
    """argparse type of ``--l2`` / ``--lr``: comma-separated values (``parse_list``) or ``paper`` (the paper's sweep)."""
    def parse(text: str) -> tuple[float, ...]:
        return tuple(paper) if text.strip().lower() == "paper" else parse_list(text)
    parse.__name__ = "list of numbers or 'paper'"
    return parse


def _many(args: argparse.Namespace) -> list[str]:
    return [name for name in ("l2", "lr") if getattr(args, name) is not None and len(getattr(args, name)) > 1]


def swept_setting(args: argparse.Namespace) -> str | None:
    """``l2`` or ``lr`` when that option has several values (one sweep per value), else None."""
    many = _many(args)
    return many[0] if many else None


def setting_problem(args: argparse.Namespace) -> str | None:
    """Rule of ``--l2``/``--lr``: one of them swept at a time, and not with ``--curriculum``."""
    many = _many(args)
    if len(many) > 1:
        return "--l2 and --lr both have several values: sweep one setting at a time"
    if many and args.curriculum:
        return f"--{many[0]} with several values sweeps full-batch training; with --curriculum give one value"
    return None


def input_units(args: argparse.Namespace) -> int:
    """Input units of one network: the stimulus code's units and 2 context units."""
    return (args.image_size ** 2 if args.inputs == "images" else 50) + 2


def networks_gib(args: argparse.Namespace, n_networks: float) -> float:
    """Estimated memory (GiB) of training ``n_networks`` networks at once (``COPIES`` of their weights)."""
    return n_networks * args.hidden * (input_units(args) + 50 + 2) * 8 * COPIES / 2**30


def _networks(args: argparse.Namespace) -> int:
    return len(args.scales) * args.seeds


def cuda_problem(args: argparse.Namespace) -> str | None:
    """Rule of ``--device``: an asked-for CUDA device exists in this torch build on this machine."""
    if not args.device.startswith("cuda"):
        return None
    # loads torch (slow): only to check a CUDA device the user asked for
    from garden.modeling.networks.backend import check_device  # deferred: start-up
    return raising(lambda a: check_device(a.device))(args)


def memory_problem(args: argparse.Namespace) -> str | None:
    """Rule of ``--hidden`` (and the sweep's size): the networks trained at once fit ``limit("train_gib")``."""
    at_once = _networks(args) / args.shards if args.executor == "inline" else _networks(args)  # inline: in turn
    gib = networks_gib(args, at_once)
    if gib > limit("train_gib"):
        return (f"this sweep ({_networks(args)} networks x {args.hidden} hidden units x {input_units(args)} inputs) "
                f"needs about {gib:.0f} GiB; at most {limit('train_gib')} (GARDEN_MAX_TRAIN_GIB raises it): "
                "use fewer --seeds/--scales, --hidden or a smaller --image-size, or more --shards")
    return None


def shards_problem(args: argparse.Namespace) -> str | None:
    """Rule of ``--shards``: at most one shard per network."""
    if args.shards > _networks(args):
        return f"--shards {args.shards}: the sweep has {_networks(args)} networks; use 1..{_networks(args)}"
    return None


def train_command(args: argparse.Namespace) -> int:
    swept = swept_setting(args)
    lr = None if args.lr is None else args.lr[0]
    train = TrainConfig(steps=args.steps, lr=TrainConfig.lr if lr is None else lr, n_hidden=args.hidden, l2=args.l2[0],
                        record_every=args.record_every, dtype=args.dtype, device=args.device,
                        threads=args.threads, hidden_activation=args.hidden_activation)
    config = SweepConfig(scales=args.scales, ctx_scales=args.ctx_scales,
                         seeds=tuple(range(args.first_seed, args.first_seed + args.seeds)), train=train,
                         inputs=args.inputs, image_size_px=args.image_size, rule_code=args.rule_code,
                         context_offset=args.context_offset)
    if args.curriculum:
        path = run_curriculum_file(args.curriculum, config, args.out, choice_rule=args.choice_rule, lr=lr,
                                   temperature=args.temperature, include_incomplete=args.include_incomplete)
        print(f"wrote {path}")
        return 0

    per_shard = math.ceil(len(config.networks()) / args.shards)
    slurm = job_resources(args, threads=args.threads, mem_gb=networks_gib(args, per_shard) + TORCH_GIB)
    if swept:
        values = getattr(args, swept)
        out = train_setting_sweep(config, args.out, swept, values, shards=args.shards, executor=args.executor,
                                  slurm=slurm)
        print(f"wrote {out / 'settings.tsv'} ({len(values)} sweeps of {len(config.networks())} networks, "
              f"{swept} = {', '.join(f'{v:g}' for v in values)})")
        return 0
    out = train_sweep(config, args.out, shards=args.shards, executor=args.executor, slurm=slurm)
    print(f"wrote {out / 'summary.tsv'} and {out / 'results.npz'} ({len(config.networks())} networks)")
    return 0
