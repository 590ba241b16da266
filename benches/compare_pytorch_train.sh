#!/usr/bin/env bash
# Training samples/s of the benchmark MLP and CNN (batch 128, Adam) in Kiln (default CPU device,
# or KILN_DEVICE) and PyTorch CPU (2 threads), run alternately in one sitting (ROUNDS rounds,
# default 2), then the median of each and the ratio Kiln / PyTorch.
#
#   benches/compare_pytorch_train.sh
#   ROUNDS=3 STEPS=40 benches/compare_pytorch_train.sh
#
# PyTorch comes from PyPI into .venv-torch on first use (a large download: PyPI's Linux wheel is
# the CUDA build; it runs on the CPU here). TORCH_PYTHON points at another interpreter instead.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-2}
steps=${STEPS:-40}
device=${KILN_DEVICE:-flex}
py=${TORCH_PYTHON:-.venv-torch/bin/python}
if ! "$py" -c 'import torch' 2>/dev/null; then
  python3 -m venv .venv-torch
  .venv-torch/bin/pip install -q torch
  py=.venv-torch/bin/python
fi
cargo build --release -q -p kiln-benches --bin train_step
log=$(mktemp)
for _ in $(seq "$rounds"); do
  ./target/release/train_step --device "$device" --steps "$steps" | tee -a "$log"
  "$py" benches/pytorch_train_step.py --steps "$steps" | tee -a "$log"
done
python3 - "$log" <<'PY'
import re, statistics, sys
rates = {}
for line in open(sys.argv[1]):
    m = re.match(r"(\w+) \w+ (\w+): (\d+) samples/s", line)
    if m:
        rates.setdefault((m[1], m[2]), []).append(float(m[3]))
for workload in ("mlp", "cnn"):
    k, p = rates.get(("kiln", workload)), rates.get(("pytorch", workload))
    if k and p:
        k, p = statistics.median(k), statistics.median(p)
        print(f"{workload}: kiln {k:.0f} vs pytorch {p:.0f} samples/s -> {k / p:.2f}x")
PY
rm -f "$log"
