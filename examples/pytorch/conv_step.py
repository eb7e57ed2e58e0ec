"""PyTorch baseline for `peff bench`'s ConvNet figures (`conv_steps_per_sec_1t`).

Times Adam steps (lr 1e-3, cross-entropy) of Synaptic-Flow's `conv` model with L = 4 weight
layers and N = 32 channels (3 convolutions 3 x 3, padding 1, ReLU, then one Linear layer) on a
batch of 64 images, on one CPU thread, for CIFAR-shaped (3 x 32 x 32) and FashionMNIST-shaped
(1 x 28 x 28) inputs. Prints one JSON line per shape: the best steps/s over timed blocks, as
peff's benchmark does.

`--density D` prunes the weights (convolution kernels and the linear weight, ranked together)
to the D largest |theta_0| at init, as peff's `conv_density_steps_per_sec_1t` does, with
`torch.nn.utils.prune` (the mask multiplied into each weight before every forward pass, the
way pruning codes such as Synaptic-Flow train). PyTorch's dense kernels still multiply every
pruned weight, so its rate does not depend on D.

    python examples/pytorch/conv_step.py                  # needs torch (CPU build is enough)
    python examples/pytorch/conv_step.py --density 0.0047
"""

import argparse
import json
import time

import torch
from torch import nn


def conv_net(shape, classes=10, depth=4, channels=32):
    c, h, w = shape
    layers = [nn.Conv2d(c, channels, 3, padding=1), nn.ReLU()]
    for _ in range(depth - 2):
        layers += [nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU()]
    layers += [nn.Flatten(), nn.Linear(channels * h * w, classes)]
    return nn.Sequential(*layers)


def prune_at_init(net, density):
    """Global magnitude pruning at init of every Conv2d and Linear weight to `density`."""
    from torch.nn.utils import prune

    params = [(m, "weight") for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=1.0 - density)


def best_rate(step, seconds=8.0, rounds=5):
    for _ in range(3):
        step()
    start, count = time.perf_counter(), 0
    while time.perf_counter() - start < seconds / (2 * rounds) or count < 3:
        step()
        count += 1
    best = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(count):
            step()
        best = max(best, count / (time.perf_counter() - start))
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--density", type=float, default=1.0)
    args = parser.parse_args()
    if not 0.0 < args.density <= 1.0:
        parser.error(f"--density must be in (0, 1], got {args.density}")
    torch.set_num_threads(1)
    torch.manual_seed(0)
    for shape in [(3, 32, 32), (1, 28, 28)]:
        net = conv_net(shape)
        if args.density < 1.0:
            prune_at_init(net, args.density)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        x = torch.rand(64, *shape)
        y = torch.randint(0, 10, (64,))
        loss_fn = nn.CrossEntropyLoss()

        def step():
            opt.zero_grad(set_to_none=True)
            loss_fn(net(x), y).backward()
            opt.step()

        rate = best_rate(step)
        print(json.dumps({
            "shape": list(shape),
            "batch": 64,
            "density": args.density,
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "adam_steps_per_sec": rate,
        }))


if __name__ == "__main__":
    main()
