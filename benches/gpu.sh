#!/usr/bin/env bash
# The GPU benchmark (issue 14) as one prepared script: Kiln on a GPU device against PyTorch on
# the same GPU, in one sitting. Training samples/s of the benchmark MLP, CNN and residual CNN
# (synthetic MNIST-shaped data, Adam) at batch 128 and 1024, then the MNIST CNN example end to
# end (wall time and test accuracy). Prints one Markdown table (and writes it to
# $OUT/gpu-bench.md when OUT is set, as on the lent device machine).
#
#   benches/gpu.sh build     # on a CPU machine with the registries (no GPU needed): LLVM from
#                            # PyPI (scripts/llvm.sh), the release binaries with kiln/cuda in
#                            # target/gpu, PyTorch (PyPI's Linux wheel is the CUDA build) and
#                            # libdevice (PyPI's nvidia-cuda-nvcc-cu12) in .venv-torch
#   benches/gpu.sh run       # on the GPU machine, no network needed: the table
#   benches/gpu.sh dry-run   # the same run on this CPU, end to end: Kiln on `flex` (or
#                            # KILN_GPU_DEVICE, e.g. wgpu on lavapipe) from target/release,
#                            # PyTorch on the CPU, 2 steps per epoch, the example for 1 epoch
#
# Settings (environment): KILN_GPU_DEVICE (default cuda; flex in dry-run), KILN_GPU_BIN (the
# binaries' directory; default target/gpu/release, target/release in dry-run), TORCH_PYTHON
# (default .venv-torch/bin/python), CUDA_PATH (found in the PyTorch venv's nvidia-cuda-nvcc
# wheel when unset: CubeCL reads libdevice from $CUDA_PATH/nvvm/libdevice).
#
# Pinned: the `cuda` build needs LLVM 23.1 (scripts/llvm.sh pins PyPI's mlc-llvm-static
# 23.1.1.post0, the layout CubeCL's bundler expects); cudarc loads libcuda.so.1 at run time, so
# the build machine needs no CUDA toolkit. Every binary linked with `cuda` carries static LLVM
# and is large, so the build links only train_step and mnist_cnn.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
py=${TORCH_PYTHON:-.venv-torch/bin/python}

case "$mode" in
  build)
    scripts/llvm.sh
    cargo build --release --target-dir target/gpu --features kiln/cuda \
      -p kiln-benches --bin train_step -p kiln-examples --bin mnist_cnn
    if ! "$py" -c 'import torch, nvidia.cuda_nvcc' 2>/dev/null; then
      python3 -m venv .venv-torch
      .venv-torch/bin/pip install -q torch nvidia-cuda-nvcc-cu12
    fi
    echo "built: target/gpu/release/{train_step,mnist_cnn}; PyTorch and libdevice in .venv-torch"
    exit 0
    ;;
  run)
    device=${KILN_GPU_DEVICE:-cuda}
    bin=${KILN_GPU_BIN:-target/gpu/release}
    torch_device=cuda
    steps_small=40 steps_large=10 epochs=4 example_epochs=8
    ;;
  dry-run)
    device=${KILN_GPU_DEVICE:-flex}
    bin=${KILN_GPU_BIN:-target/release}
    torch_device=cpu
    steps_small=2 steps_large=2 epochs=2 example_epochs=1
    if [[ ! -x $bin/train_step || ! -x $bin/mnist_cnn ]]; then
      cargo build --release -q -p kiln-benches --bin train_step -p kiln-examples --bin mnist_cnn
    fi
    ;;
  *)
    echo "usage: benches/gpu.sh build | run | dry-run" >&2
    exit 2
    ;;
esac

for b in train_step mnist_cnn; do
  if [[ ! -x $bin/$b ]]; then
    echo "gpu.sh: $bin/$b is missing; run \`benches/gpu.sh build\` first (or set KILN_GPU_BIN)" >&2
    exit 1
  fi
done
if ! "$py" -c 'import torch' 2>/dev/null; then
  echo "gpu.sh: $py cannot import torch; run \`benches/gpu.sh build\` or set TORCH_PYTHON" >&2
  exit 1
fi
if [[ $device == cuda && -z ${CUDA_PATH:-} ]]; then
  nvcc_dir=$("$py" -c 'import nvidia.cuda_nvcc, os; print(os.path.dirname(nvidia.cuda_nvcc.__file__))' 2>/dev/null || true)
  if [[ -n $nvcc_dir && -e $nvcc_dir/nvvm/libdevice/libdevice.10.bc ]]; then
    export CUDA_PATH=$nvcc_dir
  fi
fi

log=$(mktemp)
trap 'rm -f "$log" "$log.example"' EXIT
echo "== $mode: Kiln on $device ($bin), PyTorch on $torch_device ($py)"
"$bin"/train_step --device "$device" --workload mlp --steps 1 --epochs 1 >/dev/null # fails early on a missing device
for batch in 128 1024; do
  steps=$steps_small
  [[ $batch == 1024 ]] && steps=$steps_large
  for w in mlp cnn resnet; do
    "$bin"/train_step --device "$device" --workload "$w" --batch "$batch" --steps "$steps" \
      --epochs "$epochs" | sed "s/^/$batch /" | tee -a "$log"
    # -W ignore: torch's warnings (e.g. no NumPy) hide nothing we need; its errors still show.
    "$py" -W ignore benches/pytorch_train_step.py --device "$torch_device" --workload "$w" \
      --batch "$batch" --steps "$steps" --epochs "$epochs" | sed "s/^/$batch /" | tee -a "$log"
  done
done

echo "== the MNIST CNN example, $example_epochs epochs on $device"
bundle=$(mktemp -d)
started=$(date +%s.%N)
"$bin"/mnist_cnn --device "$device" --epochs "$example_epochs" --bundle "$bundle/mnist_cnn" | tee "$log.example"
ended=$(date +%s.%N)
rm -rf "$bundle"

table=$(python3 - "$log" "$log.example" "$started" "$ended" "$device" "$torch_device" "$mode" <<'PY'
import re, sys
log, example, started, ended, device, torch_device, mode = sys.argv[1:]
rates = {}
for line in open(log):
    m = re.match(r"(\d+) (kiln|pytorch) \S+ (\w+): (\d+) samples/s", line)
    if m:
        rates[(int(m[1]), m[3], m[2])] = float(m[4])
print(f"| workload | batch | Kiln `{device}` samples/s | PyTorch `{torch_device}` samples/s | Kiln / PyTorch |")
print("|---|---|---|---|---|")
for batch in (128, 1024):
    for w in ("mlp", "cnn", "resnet"):
        k, p = rates.get((batch, w, "kiln")), rates.get((batch, w, "pytorch"))
        ratio = f"{k / p:.2f}×" if k and p else "n/a"
        show = lambda v: f"{v:,.0f}" if v else "missing"
        print(f"| {w} | {batch} | {show(k)} | {show(p)} | {ratio} |")
text = open(example).read()
acc = re.search(r"^test accuracy ([0-9.]+)", text, re.M)
print()
print(f"MNIST CNN example (`mnist_cnn --device {device}`): {float(ended) - float(started):.1f} s wall, "
      f"test accuracy {acc[1] if acc else 'not found in its output'}" + (" (dry run)" if mode == "dry-run" else ""))
PY
)
echo
echo "$table"
if [[ -n ${OUT:-} ]]; then
  mkdir -p "$OUT"
  echo "$table" >"$OUT/gpu-bench.md"
fi
