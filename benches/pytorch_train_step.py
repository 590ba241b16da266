#!/usr/bin/env python3
"""PyTorch CPU side of `benches/compare_pytorch_train.sh`: the benchmark MLP (784-512-256-10)
and CNN (conv 1->32 3x3, pool 2, conv 32->64 3x3, pool 2, fc 1600->128->10) trained at batch 128
with Adam (lr 1e-3, eps 1e-8) and cross-entropy on synthetic MNIST-shaped data, 2 threads.
Prints one line per workload: "pytorch cpu <workload>: <samples/s> samples/s ...", the median
epoch after one warm-up epoch, as Kiln's `train_step` binary does.

usage: pytorch_train_step.py [--steps 40] [--epochs 4] [--workload mlp,cnn] [--threads 2]
"""
import argparse
import statistics
import time

import torch
from torch import nn


def model(workload):
    if workload == "mlp":
        return nn.Sequential(
            nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10)
        )
    return nn.Sequential(
        nn.Unflatten(1, (1, 28, 28)),
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10),
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--workload", default="mlp,cnn")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rows = args.steps * 128
    x = torch.rand(rows, 784)
    y = torch.randint(0, 10, (rows,))
    for workload in args.workload.split(","):
        net = model(workload)
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-8)
        loss_fn = nn.CrossEntropyLoss()
        rates = []
        for _ in range(args.epochs):
            order = torch.randperm(rows)
            started = time.perf_counter()
            for step in range(args.steps):
                idx = order[step * 128:(step + 1) * 128]
                optimizer.zero_grad()
                loss = loss_fn(net(x[idx]), y[idx])
                loss.backward()
                optimizer.step()
            rates.append(rows / (time.perf_counter() - started))
        measured = rates[1:] if len(rates) > 1 else rates
        print(
            f"pytorch cpu {workload}: {statistics.median(measured):.0f} samples/s "
            f"(median of {len(measured)} epochs of {args.steps} steps; warm-up {rates[0]:.0f}; "
            f"torch {torch.__version__}, {args.threads} threads)"
        )


if __name__ == "__main__":
    main()
