#!/usr/bin/env python3
"""PyTorch side of `benches/compare_pytorch_train.sh` and `benches/gpu.sh`: the benchmark MLP
(784-512-256-10), CNN (conv 1->32 3x3, pool 2, conv 32->64 3x3, pool 2, fc 1600->128->10) and
residual CNN (Kiln's `ResidualCnnConfig` defaults: 3x3 stem of 16 channels, one basic block per
stage of 16, 32, 64 channels, batch norm, global average pooling, fc 64->10) trained with Adam
(lr 1e-3, eps 1e-8) and cross-entropy on synthetic MNIST-shaped data, batch 128 unless told,
2 CPU threads or one CUDA device. Prints one line per workload:
"pytorch <device> <workload>: <samples/s> samples/s ...", the median epoch after one warm-up
epoch, as Kiln's `train_step` binary does.

usage: pytorch_train_step.py [--steps 40] [--epochs 4] [--workload mlp,cnn] [--threads 2]
                             [--batch 128] [--device cpu|cuda]
"""
import argparse
import statistics
import time

import torch
from torch import nn


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm, added to the (projected) input, as Kiln's."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.norm1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(cout)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x):
        identity = x if self.shortcut is None else self.shortcut(x)
        y = torch.relu(self.norm1(self.conv1(x)))
        return torch.relu(self.norm2(self.conv2(y)) + identity)


def model(workload):
    if workload == "resnet":
        return nn.Sequential(
            nn.Unflatten(1, (1, 28, 28)),
            nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
            BasicBlock(16, 16, 1), BasicBlock(16, 32, 2), BasicBlock(32, 64, 2),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10),
        )
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
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("pytorch_train_step.py: --device cuda, but torch sees no CUDA device")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    batch = args.batch
    rows = args.steps * batch
    x = torch.rand(rows, 784, device=device)
    y = torch.randint(0, 10, (rows,), device=device)
    where = f"{args.threads} threads" if args.device == "cpu" else torch.cuda.get_device_name()
    for workload in args.workload.split(","):
        net = model(workload).to(device)
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-8)
        loss_fn = nn.CrossEntropyLoss()
        rates = []
        for _ in range(args.epochs):
            order = torch.randperm(rows, device=device)
            if args.device == "cuda":
                torch.cuda.synchronize()
            started = time.perf_counter()
            for step in range(args.steps):
                idx = order[step * batch:(step + 1) * batch]
                optimizer.zero_grad()
                loss = loss_fn(net(x[idx]), y[idx])
                loss.backward()
                optimizer.step()
            # The epoch ends when the GPU has run everything queued.
            if args.device == "cuda":
                torch.cuda.synchronize()
            rates.append(rows / (time.perf_counter() - started))
        measured = rates[1:] if len(rates) > 1 else rates
        print(
            f"pytorch {args.device} {workload}: {statistics.median(measured):.0f} samples/s "
            f"(median of {len(measured)} epochs of {args.steps} steps of {batch}; "
            f"warm-up {rates[0]:.0f}; torch {torch.__version__}, {where})"
        )


if __name__ == "__main__":
    main()
