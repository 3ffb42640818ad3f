"""``garden train``: train and measure rich/lazy networks (a sweep of init scales x seeds), or run
networks through participants' trial sequences (``--curriculum``)."""

from __future__ import annotations

import argparse

from core.errors import UserError
from garden.arguments import float_list
from modeling.networks.config import (
    CHOICE_TEMPERATURE,
    PUBLISHED_CTX_SCALES,
    PUBLISHED_SCALES,
    SweepConfig,
    TrainConfig,
)
from modeling.networks.curriculum import run_curriculum_file
from modeling.networks.sweep import train_sweep


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train`` sub-command."""

    p = subparsers.add_parser(
        "train", help="train rich/lazy networks (init scales x seeds) and measure them",
        description="Train many networks at once (one batched trainer), measure each one, and write "
                    "DIR/summary.tsv (one row per scale x seed) and DIR/results.npz with JSON sidecars. "
                    "Resumable per shard: run the same command again to finish an interrupted sweep. "
                    "With --curriculum, train online on each participant's trial sequence instead and "
                    "write the networks' choices as a trial table (DIR/choices.tsv).")
    p.add_argument("--scales", type=float_list, default=PUBLISHED_SCALES, metavar="S,...",
                   help="input->hidden init SDs (default: the published 8)")
    p.add_argument("--ctx-scales", type=float_list, default=PUBLISHED_CTX_SCALES, metavar="S,...",
                   help="context->hidden init SDs, one per scale (default: the published 8)")
    p.add_argument("--seeds", type=int, default=30, help="networks per scale: seeds FIRST..FIRST+N-1 (default 30)")
    p.add_argument("--first-seed", type=int, default=0, help="first seed (default 0)")
    p.add_argument("--steps", type=int, default=10_000, help="full-batch gradient steps (default 10000)")
    p.add_argument("--lr", type=float, default=None,
                   help="learning rate (default 5e-3 full batch; with --curriculum the tuned online rate per scale)")
    p.add_argument("--hidden", type=int, default=100, help="hidden units (default 100)")
    p.add_argument("--l2", type=float, default=0.0, help="L2 penalty on the weights (default 0)")
    p.add_argument("--inputs", choices=("blobs", "images"), default="blobs", help="stimulus code (default blobs)")
    p.add_argument("--image-size", type=int, default=32, help="image side in pixels for --inputs images")
    p.add_argument("--rule-code", type=int, default=1, help="counterbalancing code of the rules (cardinal 1..4)")
    p.add_argument("--context-offset", type=float, default=1.0, help="model-RDM context offset (default 1)")
    p.add_argument("--record-every", type=int, default=10, help="stride of saved curves in steps (default 10)")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--device", default="auto", help="torch device: auto (cuda if present), cpu, cuda")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--shards", type=int, default=1, help="split the sweep into K shards (default 1)")
    p.add_argument("--executor", choices=("inline", "local", "slurm"), default="inline",
                   help="run shards here (inline) or as submitit jobs: local processes or SLURM")
    p.add_argument("--slurm-partition", default=None, help="SLURM partition (with --executor slurm)")
    p.add_argument("--timeout-min", type=int, default=240, help="per-shard job time limit in minutes")
    p.add_argument("--curriculum", default=None, metavar="FILE",
                   help="trial table(s) (file or folder): train online on each participant's trials in order")
    p.add_argument("--choice-rule", choices=("sign", "sigmoid"), default="sign",
                   help="with --curriculum: accept when the output > 0 (sign) or sample p = sigmoid(output / T)")
    p.add_argument("--temperature", type=float, default=CHOICE_TEMPERATURE,
                   help=f"with --choice-rule sigmoid: T in value/25 units (default {CHOICE_TEMPERATURE})")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.set_defaults(func=train_command)


def train_command(args: argparse.Namespace) -> int:
    if args.seeds < 1:
        raise UserError(f"--seeds {args.seeds} is invalid: use the number of networks per scale (>= 1)")
    train = TrainConfig(steps=args.steps, lr=TrainConfig.lr if args.lr is None else args.lr, n_hidden=args.hidden, l2=args.l2,
                        record_every=args.record_every, dtype=args.dtype, device=args.device,
                        threads=args.threads)
    config = SweepConfig(scales=args.scales, ctx_scales=args.ctx_scales,
                         seeds=tuple(range(args.first_seed, args.first_seed + args.seeds)), train=train,
                         inputs=args.inputs, image_size_px=args.image_size, rule_code=args.rule_code,
                         context_offset=args.context_offset)
    if args.curriculum:
        path = run_curriculum_file(args.curriculum, config, args.out, choice_rule=args.choice_rule, lr=args.lr,
                                   temperature=args.temperature)
        print(f"wrote {path}")
        return 0

    slurm = {"timeout_min": args.timeout_min}
    if args.slurm_partition:
        slurm["slurm_partition"] = args.slurm_partition
    out = train_sweep(config, args.out, shards=args.shards, executor=args.executor, slurm=slurm)
    print(f"wrote {out / 'summary.tsv'} and {out / 'results.npz'} ({len(config.networks())} networks)")
    return 0
