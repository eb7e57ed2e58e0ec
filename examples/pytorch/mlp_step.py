"""PyTorch baseline for `peff bench`'s Figure 1(b) MLP figures (`fmnist_steps_per_sec_1t`,
`fmnist_density_steps_per_sec_1t`).

Times Adam steps (lr 1e-3, cross-entropy) of the 784-200-200-10 ReLU MLP on a batch of 64
inputs, on one CPU thread, and prints one JSON line: the best steps/s over timed blocks, as
peff's benchmark does.

`--density D` prunes the three weight matrices (ranked together) to the D largest |theta_0| at
init, as peff's `fmnist_density_steps_per_sec_1t` does, with `torch.nn.utils.prune` (the mask
multiplied into each weight before every forward pass). PyTorch's dense kernels still multiply
every pruned weight, so its rate does not depend on D.

    python examples/pytorch/mlp_step.py                  # needs torch (CPU build is enough)
    python examples/pytorch/mlp_step.py --density 0.0047
"""

import argparse
import json

import torch
from torch import nn

from conv_step import best_rate, prune_at_init


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--density", type=float, default=1.0)
    args = parser.parse_args()
    if not 0.0 < args.density <= 1.0:
        parser.error(f"--density must be in (0, 1], got {args.density}")
    torch.set_num_threads(1)
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Linear(784, 200), nn.ReLU(), nn.Linear(200, 200), nn.ReLU(), nn.Linear(200, 10)
    )
    if args.density < 1.0:
        prune_at_init(net, args.density)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.rand(64, 784)
    y = torch.randint(0, 10, (64,))
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn(net(x), y).backward()
        opt.step()

    print(json.dumps({
        "widths": [784, 200, 200, 10],
        "batch": 64,
        "density": args.density,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "adam_steps_per_sec": best_rate(step),
    }))


if __name__ == "__main__":
    main()
