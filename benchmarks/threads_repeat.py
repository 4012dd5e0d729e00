"""Whether a seeded training trial repeats on the same torch thread count and differs on another: one NB201
search proxy (C=8, N=1, 4 epochs on digits, seed 0, the defaults of ``nasforge search``'s stage 1) trained twice
on 1 thread and twice on 2, printing val_acc, test_acc and train_loss of each run.

    python benchmarks/threads_repeat.py

About 10 s on the idle 2-core machine (2 minutes when it is loaded). docs/training.md quotes its val_acc on 1 and 2 threads.
"""

from __future__ import annotations

import argparse

ARCH = "|nor_conv_1x1~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def main(argv: list[str] | None = None) -> None:
    """Train the proxy of :data:`ARCH` on 1, 2, 1, 2 threads and print each run's metrics."""
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    from nasforge.evaluators import TrainingEvaluator
    from nasforge.spaces import get_space

    arch = get_space("nb201").parse(ARCH)
    print(f"{ARCH}: C=8, N=1, 4 epochs, digits, seed 0")
    for threads in (1, 2, 1, 2):
        evaluator = TrainingEvaluator("digits", C=8, N=1, fidelity={"epochs": 4}, threads=threads, seed=0)
        metrics = evaluator.evaluate(arch).metrics
        print(f"threads {threads}: val_acc {metrics['val_acc']:.2f}  test_acc {metrics['test_acc']:.2f}  "
              f"train_loss {metrics['train_loss']:.6f}", flush=True)


if __name__ == "__main__":
    main()
