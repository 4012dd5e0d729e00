"""A MobileNet-like chain with per-stage kernel size, expansion ratio and depth choices.

Three stages of inverted-residual (MBConv) blocks; stage ``s`` picks ``stage{s}.block``, its blocks'
expansion ratio and kernel size (``e3_k3`` ... ``e6_k7``: one label shared by the stage's blocks, so one
decision) and ``stage{s}.depth`` (1-3 blocks; the first block of a stage changes width and stride, the
others keep the shape and add a residual). 18^3 = 5,832 architectures.

The same definition gives a weight-sharing supernet; this file trains it with nasforge's one-shot
trainer (SPOS: uniform single-path sampling), ranks random sub-networks by their validation accuracy
with inherited weights, and exports the best one as a plain network with those weights: with ``--out FOLDER``
it is saved there as nasforge saves a trained network (``model.json`` and safetensors weights; ``nasforge export
FOLDER --format onnx --out best.onnx`` converts it). The command below takes about 20 seconds on 2 CPU cores
(measured 2026-12-07 at load 2-3, one torch thread: ``--threads``, default 1): 0.9 s per supernet epoch, the rest
start-up and scoring; the same ``--seed`` gives the same network::

    python examples/mobilenet_chain.py --epochs 10 --candidates 20 --out mobilenet-best

It needs PyTorch: ``pip install 'nasforge[torch]'`` (the ONNX export: ``pip install 'nasforge[torch,export]'``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

from torch import nn

from nasforge.models.layers import ConvBNReLU, MBConv
from nasforge.spaces.model_space import LayerChoice, Repeat


class MobileNetChain(nn.Module):
    """3x3 stem, then per stage ``depth`` MBConv blocks (stride 2 at the first block of stages 2 and 3)."""

    def __init__(self, num_classes: int = 10, in_channels: int = 3, stem: int = 16,
                 widths: Sequence[int] = (16, 24, 32), strides: Sequence[int] = (1, 2, 2)) -> None:
        super().__init__()
        self.stem = ConvBNReLU(in_channels, stem, 3)
        stages, c_in = [], stem
        for s, (width, stride) in enumerate(zip(widths, strides), start=1):

            def block(i: int, c_in: int = c_in, width: int = width, stride: int = stride, s: int = s) -> nn.Module:
                c, st = (c_in, stride) if i == 0 else (width, 1)
                return LayerChoice({f"e{e}_k{k}": (lambda e=e, k=k: MBConv(c, width, k, st, e))
                                    for e in (3, 6) for k in (3, 5, 7)}, label=f"stage{s}.block")

            stages.append(Repeat(block, depth=[1, 2, 3], label=f"stage{s}.depth"))
            c_in = width
        self.stages = nn.Sequential(*stages)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, num_classes))

    def forward(self, x):
        return self.head(self.stages(self.stem(x)))


def at_least(low: int, below: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer >= ``low`` (and < ``below``, if given); anything else stops with the option
    named (exit status 2)."""
    def integer(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
        if below is not None and value >= below:
            raise argparse.ArgumentTypeError(f"must be < {below}, got {value}")
        return value
    return integer


def main(argv: list[str] | None = None) -> tuple[str, float]:
    """Train the supernet on digits (SPOS), score ``--candidates`` random sub-networks on the validation
    split with inherited weights (BN statistics recalibrated) and save the best in ``--out`` (if given);
    returns the best (text form, accuracy)."""
    import numpy as np
    import torch

    from nasforge.data import load_dataset
    from nasforge.export import save_model
    from nasforge.oneshot.scoring import ScoreConfig, SubnetScorer
    from nasforge.oneshot.trainer import OneShotConfig, train_supernet
    from nasforge.spaces.model_space import ModelSpace
    from nasforge.training import count_params

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog="example: python examples/mobilenet_chain.py --epochs 10 --candidates 20 "
                                            "--out mobilenet-best",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--epochs", type=at_least(1), default=10, help="supernet training epochs")
    parser.add_argument("--candidates", type=at_least(1), default=20, help="random sub-networks to score")
    parser.add_argument("--seed", type=at_least(0, below=2**63), default=0, help="seed of training and of the sampling")
    parser.add_argument("--out", metavar="FOLDER", help="new folder to save the best network in (model.json and "
                        "weights, as nasforge export reads them); left out, nothing is written")
    parser.add_argument("--threads", type=at_least(1), default=1,
                        help="torch threads (as nasforge oneshot train --threads): one is the fastest where other "
                             "jobs share the cores, and the result depends on it")
    args = parser.parse_args(argv)
    out = None if args.out is None else Path(args.out)
    if out is not None and out.exists() and (not out.is_dir() or any(out.iterdir())):  # checked before training
        parser.error(f"argument --out: {args.out} exists and is not an empty folder; name a new one")

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)  # the supernet's initial weights, as nasforge oneshot train draws them
    data = load_dataset("digits")
    space = ModelSpace(MobileNetChain, in_channels=1, input_shape=(1, 8, 8))
    supernet = space.supernet()  # every choice is a LayerChoice or a depth: one weight-shared network
    print(space, f"supernet: {sum(p.numel() for p in supernet.parameters()):,d} weights")
    record = train_supernet(supernet, data, OneShotConfig(method="spos", epochs=args.epochs, seed=args.seed),
                            on_epoch=lambda epoch, entry: print(f"epoch {epoch + 1}/{args.epochs}: loss "
                                                                f"{entry['train_loss']:.3f}", flush=True))
    print(f"supernet trained {args.epochs} epochs in {record.train_seconds:.0f} s "
          f"(final loss {record.history[-1]['train_loss']:.3f})")
    scorer = SubnetScorer(supernet, data, ScoreConfig(bn_mode="recalibrate"))
    rng = np.random.default_rng(args.seed)
    archs = sorted({space.canonical(space.sample(rng)) for _ in range(args.candidates)}, key=space.format)
    acc, text, arch = max((scorer.score(a)["val_acc"], space.format(a), a) for a in archs)
    net = space.build(arch)
    with scorer.prepared(arch):  # the plain network, with the supernet's weights and the BN statistics scored
        net.load_state_dict(supernet.subnet_state_dict(arch))
    print(f"best of {len(archs)} sampled: {text} ({acc:.1f}% val with inherited weights, "
          f"{count_params(net):,d} params)")
    if out is not None:
        folder = save_model(out, net, model_name="model_space", arch=arch,
                            model_kwargs={"space": space.config()}, num_classes=data.num_classes,
                            in_channels=data.in_channels, preprocessing=data.preprocessing(),
                            metrics={"val_acc": acc})
        print(f"saved it in {folder} (nasforge export {folder} --format onnx --out best.onnx converts it)")
    return text, acc


if __name__ == "__main__":
    main()
