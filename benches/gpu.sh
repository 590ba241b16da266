#!/usr/bin/env bash
# The GPU benchmark (issue 14) as one prepared script: Kiln on a GPU device against PyTorch on
# the same GPU, in one sitting. Training samples/s of the benchmark MLP, CNN and residual CNN
# (synthetic MNIST-shaped data, Adam) at batch 128 and 1024, then the MNIST CNN example end to
# end (wall time and test accuracy). Prints one Markdown table (and writes it to
# $OUT/gpu-bench.md when OUT is set, as on the lent device machine). PyTorch's rows run first;
# when Kiln's first row gives no figure, its error goes to the log, its other rows and the example
# are not run, and the script exits 1 after writing the table.
#
#   benches/gpu.sh build     # on a CPU machine with the registries (no GPU, no CUDA toolkit):
#                            # LLVM from PyPI (scripts/llvm.sh), the two release binaries with
#                            # kiln/cuda and kiln/fusion (Burn's own GPU configuration: autotune
#                            # and fusion) in target/gpu, then stripped and packed into
#                            # .gpu/kiln-gpu.tar.xz (git-ignored) small enough to travel
#   benches/gpu.sh run       # on the GPU machine: no network, no Rust; the table
#   benches/gpu.sh dry-run   # the same run on this CPU, end to end: Kiln on `flex` (or
#                            # KILN_GPU_DEVICE, e.g. wgpu on lavapipe), PyTorch on the CPU,
#                            # 2 steps per epoch, the example for 1 epoch
#   benches/gpu.sh rehearse  # `run` as the device call will run it, on this CPU (after `build`):
#                            # the tree and .gpu copied elsewhere, an empty environment, the
#                            # build checkout's datasets/ hidden; Kiln on flex, PyTorch on the CPU
#
# The lent device machine (docs/gpu.md) has python3 with a CUDA PyTorch and a CUDA toolkit, but
# no Rust and no network, and takes at most 64 MiB of files with the call (the repository's
# tracked files are ~22 MiB of it). Each binary linked with `cuda` carries static LLVM (~700 MB
# unstripped), so `build` strips both and packs them into one xz archive whose dictionary spans
# both files (the LLVM they share is stored once); the call carries `.gpu`:
#   device run: command `benches/gpu.sh run`, carry [".gpu"]
#
# Where the binaries come from, in order: KILN_GPU_BIN (a directory); .gpu/kiln-gpu.tar.xz,
# unpacked into $TMPDIR; target/gpu/release; in dry-run only, target/release (built if missing,
# without cuda). The packed binaries also hold `flex`, so a dry run after `build` checks the
# very files that travel.
# PyTorch: TORCH_PYTHON, else .venv-torch/bin/python, else python3 (the GPU machine's, which
# holds a CUDA PyTorch); a dry run with none installs PyPI's torch into .venv-torch.
# Other settings: KILN_GPU_DEVICE (default cuda; flex in dry-run and rehearse); KILN_GPU_TORCH_DEVICE
# (PyTorch's device in `run`, default cuda); KILN_GPU_SITTING, the seconds
# after which no process starts and running ones are stopped (480, inside the call's 540;
# 7200 in dry-run); its last 120 s (900 in dry-run) are kept for the example. CUDA_PATH: CubeCL reads
# libdevice from $CUDA_PATH/nvvm/libdevice and otherwise looks in /usr/local/cuda, /opt/cuda,
# /usr/lib/cuda and /usr; when none has it, the script tries the toolkit of the `nvcc` on PATH,
# then the PyTorch environment's NVIDIA nvcc wheel, then its Triton's copy. libcuda.so.1: the
# loader's, else the lent machine's driver mount /usr/local/nvidia/lib64 (LD_LIBRARY_PATH).
#
# Pinned: the `cuda` build needs LLVM 23.1 (scripts/llvm.sh pins PyPI's mlc-llvm-static
# 23.1.1.post0, the layout CubeCL's bundler expects); cudarc loads libcuda.so.1 at run time, so
# the build machine needs no CUDA toolkit, and binds CUDA 13.0's driver API
# (CUDARC_CUDA_VERSION=13000, the lent machine's driver 580; set it for an older driver).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
pack=.gpu/kiln-gpu.tar.xz
# The device tool's limit on what travels with a call (the tree plus carried paths).
carry_limit=$((64 * 1024 * 1024))

# The Python that imports torch: TORCH_PYTHON alone when set, else .venv-torch's, else python3.
find_torch() {
  local candidate candidates=(.venv-torch/bin/python python3)
  [[ -n ${TORCH_PYTHON:-} ]] && candidates=("$TORCH_PYTHON")
  for candidate in "${candidates[@]}"; do
    if "$candidate" -c 'import torch' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

# Binaries to a directory: the first of KILN_GPU_BIN, the pack, target/gpu/release that holds both.
find_bin() {
  if [[ -n ${KILN_GPU_BIN:-} ]]; then
    echo "$KILN_GPU_BIN"
  elif [[ -f $pack ]]; then
    local dir=${TMPDIR:-/tmp}/kiln-gpu-bin
    rm -rf "$dir" && mkdir -p "$dir"
    # (The "data" filter where this Python has it: 3.12, and 3.8-3.11 from their 2023 releases.)
    python3 -c 'import sys, tarfile
safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
tarfile.open(sys.argv[1]).extractall(sys.argv[2], **safe)' "$pack" "$dir"
    echo "$dir"
  elif [[ -x target/gpu/release/train_step && -x target/gpu/release/mnist_cnn ]]; then
    echo target/gpu/release
  fi
}

case "$mode" in
  build)
    scripts/llvm.sh
    # cudarc binds the CUDA driver API of one CUDA version, by default the newest it knows (13.4
    # for cudarc 0.19.10) when no nvcc is here. The lent machine's driver (580) is CUDA 13.0, and
    # an entry point newer than the driver would fail when first called; drivers run older
    # bindings, so bind 13.0.
    export CUDARC_CUDA_VERSION=${CUDARC_CUDA_VERSION:-13000}
    cargo build --release --target-dir target/gpu --features kiln/cuda,kiln/fusion \
      -p kiln-benches --bin train_step -p kiln-examples --bin mnist_cnn
    # A pack newer than both binaries holds them already (cargo relinks only what changed).
    if [[ -f $pack && $pack -nt target/gpu/release/train_step && $pack -nt target/gpu/release/mnist_cnn ]]; then
      echo "$pack is newer than both binaries: kept"
    else
      mkdir -p .gpu
      stripped=$(mktemp -d)
      trap 'rm -rf "$stripped"' EXIT
      for b in train_step mnist_cnn; do
        strip -o "$stripped/$b" "target/gpu/release/$b"
      done
      # One xz stream with a dictionary larger than both files, so the second binary's copy of
      # LLVM is a back-reference to the first (xz -9 alone has a 64 MiB dictionary). The BCJ x86
      # filter makes machine code compress better. Python's lzma, so no xz binary is needed here
      # or there.
      python3 - "$pack" "$stripped" <<'PY'
import io, lzma, os, sys, tarfile
out, folder = sys.argv[1:]
data = io.BytesIO()
with tarfile.open(fileobj=data, mode="w") as tar:
    for name in ("train_step", "mnist_cnn"):
        tar.add(os.path.join(folder, name), arcname=name)
raw = data.getvalue()
dict_size = min(1 << 30, max(1 << 26, 1 << (len(raw) - 1).bit_length()))
filters = [{"id": lzma.FILTER_X86}, {"id": lzma.FILTER_LZMA2, "preset": 9, "dict_size": dict_size}]
# Written aside and renamed, so an interrupted pack is never taken for a finished one.
with open(out + ".part", "wb") as f:
    f.write(lzma.compress(raw, format=lzma.FORMAT_XZ, filters=filters))
os.replace(out + ".part", out)
print(f"packed {len(raw) / 2**20:.0f} MiB of stripped binaries into {out}: "
      f"{os.path.getsize(out) / 2**20:.1f} MiB (dictionary {dict_size >> 20} MiB)")
PY
    fi
    # What travels besides the pack: tracked files and untracked ones git does not ignore.
    tree=$(git ls-files -z --cached --others --exclude-standard | du -cb --files0-from=- | tail -1 | cut -f1)
    total=$((tree + $(stat -c %s "$pack")))
    echo "with the working tree ($((tree / 1048576)) MiB): $((total / 1048576)) MiB of the device tool's 64 MiB"
    if ((total > carry_limit)); then
      echo "gpu.sh: too large to carry to the device machine; build the binaries where they run" >&2
      exit 1
    fi
    echo "built: target/gpu/release/{train_step,mnist_cnn}, packed in $pack (carry .gpu)"
    exit 0
    ;;
  rehearse)
    # The device call as it will be, on this CPU: what the device tool copies (tracked files,
    # untracked ones git does not ignore, and .gpu) at another path, `run` there under an empty
    # environment (no cargo on PATH, an empty HOME, so no LLVM install or registry), with
    # the build checkout's datasets/ hidden where `unshare` allows it (the binaries know that
    # path). Kiln runs on flex (or KILN_GPU_DEVICE), PyTorch on the CPU.
    [[ -f $pack ]] || { echo "gpu.sh: no $pack: run \`benches/gpu.sh build\` first" >&2; exit 1; }
    py=$(find_torch) || { echo "gpu.sh: no Python with torch (TORCH_PYTHON, .venv-torch); a dry run installs one" >&2; exit 1; }
    py=$("$py" -c 'import sys; print(sys.executable)')
    stage=$(mktemp -d "${TMPDIR:-/tmp}/kiln-rehearsal.XXXXXX")
    mkdir -p "$stage/tree" "$stage/home" "$stage/tmp"
    { git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
        [[ -e $f ]] && printf '%s\0' "$f"
      done; printf '%s\0' "$pack"; } | tar --null -T - -cf - | tar -C "$stage/tree" -xf -
    size=$(du -sb "$stage/tree" | cut -f1)
    echo "copied to $stage/tree: $((size / 1048576)) MiB of the device tool's 64 MiB"
    if ((size > carry_limit)); then
      echo "gpu.sh: too large to carry to the device machine" >&2
      exit 1
    fi
    call=(env -i HOME="$stage/home" PATH=/usr/local/bin:/usr/bin:/bin TMPDIR="$stage/tmp"
      OUT="$stage/out" TORCH_PYTHON="$py" KILN_GPU_DEVICE="${KILN_GPU_DEVICE:-flex}"
      KILN_GPU_TORCH_DEVICE=cpu bash benches/gpu.sh run)
    rc=0 checkout_data=$PWD/datasets
    if unshare -m --propagation private true 2>/dev/null; then
      echo "hiding $checkout_data from the run (a private mount namespace)"
      (cd "$stage/tree" && unshare -m --propagation private sh -c \
        'mount -t tmpfs -o ro tmpfs "$0" && exec "$@"' "$checkout_data" "${call[@]}") || rc=$?
    else
      echo "gpu.sh: \`unshare -m\` is not allowed here, so the binaries could still read $checkout_data" >&2
      (cd "$stage/tree" && "${call[@]}") || rc=$?
    fi
    # The unpacked binaries are ~300 MiB; the table and log stay.
    rm -rf "$stage/tree" "$stage/tmp" "$stage/home"
    echo "rehearsal: status $rc, ${SECONDS} s in all; the table and log are in $stage/out"
    exit "$rc"
    ;;
  run)
    device=${KILN_GPU_DEVICE:-cuda}
    bin=$(find_bin)
    torch_device=${KILN_GPU_TORCH_DEVICE:-cuda}
    steps_small=40 steps_large=10 epochs=4 example_epochs=8
    # Per process: the first on a device tunes its kernels. The whole sitting, from the script's
    # start (unpacking included), ends by 480 s so the table is written inside the device call's
    # 540 s; the example keeps its last 120 s for itself.
    limit=150 example_limit=240 sitting=${KILN_GPU_SITTING:-480} example_reserve=120
    ;;
  dry-run)
    device=${KILN_GPU_DEVICE:-flex}
    bin=$(find_bin)
    if [[ -z $bin ]]; then
      bin=target/release
      if [[ ! -x $bin/train_step || ! -x $bin/mnist_cnn ]]; then
        cargo build --release -q -p kiln-benches --bin train_step -p kiln-examples --bin mnist_cnn
      fi
    fi
    torch_device=cpu
    steps_small=2 steps_large=2 epochs=2 example_epochs=1
    limit=900 example_limit=900 sitting=${KILN_GPU_SITTING:-7200} example_reserve=900
    if ! find_torch >/dev/null; then
      python3 -m venv .venv-torch
      .venv-torch/bin/pip install -q torch
    fi
    ;;
  *)
    echo "usage: benches/gpu.sh build | run | dry-run | rehearse" >&2
    exit 2
    ;;
esac

if [[ -z $bin ]]; then
  echo "gpu.sh: no binaries: run \`benches/gpu.sh build\` first (it writes $pack and target/gpu/release), or set KILN_GPU_BIN" >&2
  exit 1
fi
for b in train_step mnist_cnn; do
  if [[ ! -x $bin/$b ]]; then
    echo "gpu.sh: $bin/$b is missing; run \`benches/gpu.sh build\` first (or set KILN_GPU_BIN)" >&2
    exit 1
  fi
done
if ! py=$(find_torch); then
  echo "gpu.sh: ${TORCH_PYTHON:-neither .venv-torch/bin/python nor python3} cannot import torch; set TORCH_PYTHON to a Python that can" >&2
  exit 1
fi
# CubeCL takes CUDA_PATH as it is when set, so one without libdevice is searched past too.
if [[ $device == cuda && ! -e ${CUDA_PATH:-/nonexistent}/nvvm/libdevice/libdevice.10.bc ]]; then
  [[ -n ${CUDA_PATH:-} ]] && echo "gpu.sh: CUDA_PATH=$CUDA_PATH has no nvvm/libdevice/libdevice.10.bc; looking elsewhere" >&2
  unset CUDA_PATH
  found=
  for root in /usr/local/cuda /opt/cuda /usr/lib/cuda /usr; do
    [[ -e $root/nvvm/libdevice/libdevice.10.bc ]] && found=$root && break
  done
  if [[ -z $found ]] && command -v nvcc >/dev/null; then
    root=$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")")
    [[ -e $root/nvvm/libdevice/libdevice.10.bc ]] && export CUDA_PATH=$root
  fi
  if [[ -z $found && -z ${CUDA_PATH:-} ]]; then
    # The PyTorch environment's copy: NVIDIA's nvcc wheel (nvidia/cuda_nvcc/ for CUDA 12,
    # nvidia/cu13/ for 13), else Triton's (triton/backends/nvidia/lib/, a copy of the same file,
    # which PyTorch's CUDA builds pull in), linked into a root laid out as CubeCL reads it.
    bc=$("$py" - 2>/dev/null <<'LIBDEVICE' || true
import glob, os, site
bases = site.getsitepackages() + [site.getusersitepackages()]
for pattern in ("nvidia/*/nvvm/libdevice/libdevice.10.bc", "triton/backends/nvidia/lib/libdevice.10.bc"):
    for base in bases:
        for bc in sorted(glob.glob(os.path.join(base, pattern))):
            print(bc)
            raise SystemExit
LIBDEVICE
)
    if [[ $bc == */nvvm/libdevice/libdevice.10.bc ]]; then
      export CUDA_PATH=${bc%/nvvm/libdevice/libdevice.10.bc}
    elif [[ -n $bc ]]; then
      root=${TMPDIR:-/tmp}/kiln-libdevice
      mkdir -p "$root/nvvm/libdevice"
      ln -sf "$bc" "$root/nvvm/libdevice/libdevice.10.bc"
      export CUDA_PATH=$root
    fi
  fi
fi

# cudarc opens libcuda.so.1 by name. The lent machine mounts its driver at /usr/local/nvidia (read
# only); when the loader's cache does not know libcuda there, name the folder.
if [[ $device == cuda ]] && ! (ldconfig -p 2>/dev/null || true) | grep -q 'libcuda\.so\.1'; then
  for dir in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
    if [[ -e $dir/libcuda.so.1 ]]; then
      export LD_LIBRARY_PATH=$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
      break
    fi
  done
fi

# The log of every measured line; under $OUT when set, so a sitting cut short still brings back
# what it measured.
if [[ -n ${OUT:-} ]]; then
  mkdir -p "$OUT"
  log=$OUT/gpu-bench.log
  : >"$log"
else
  log=$(mktemp)
  trap 'rm -f "$log" "$log.example"' EXIT
fi
example_log=$log.example
# Seconds a process may run: its own limit ($1), or what is left before $2 seconds into the
# script if that is less (bash's SECONDS counts from the script's start).
budget() {
  local left=$(($2 - SECONDS))
  echo $((left < $1 ? left : $1))
}
# One measured command, stopped after $limit seconds or at the sitting's end less the example's
# reserve: a workload that is slow to tune or hangs costs its own row ("missing" in the table),
# not the sitting, and the table is always written.
# Sets `measured` to the command's status ("skipped" when not run) and `seconds` to its limit.
measure() {
  local label=$1 rc=0
  shift
  seconds=$(budget "$limit" $((sitting - example_reserve)))
  if ((seconds < 20)); then
    echo "gpu.sh: skipped \`${*##*/}\`: the sitting's time is spent" | tee -a "$log" >&2
    measured=skipped
    return 0
  fi
  # Its errors too, so the log alone explains a missing row.
  timeout -k 10 "$seconds" "$@" 2>&1 | sed "s/^/$label /" | tee -a "$log" || rc=$?
  if ((rc != 0)); then
    echo "gpu.sh: \`${*##*/}\` failed or ran past ${seconds} s (status $rc)" | tee -a "$log" >&2
  fi
  measured=$rc
}
# Stripped binaries: a backtrace would be frames without names.
export RUST_BACKTRACE=0
# The example's MNIST: the binaries look in the checkout they were built from (a path of the
# build machine) unless told; the device machine has this tree's datasets/ and no network.
export KILN_DATASETS_DIR=${KILN_DATASETS_DIR:-$PWD/datasets} KILN_OFFLINE=1
echo "== $mode: Kiln on $device ($bin), PyTorch on $torch_device ($py)" | tee -a "$log"
# The machine, for the record beside the figures.
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | sed 's/^/gpu: /' | tee -a "$log" || true
fi
echo "libdevice under: ${CUDA_PATH:-${found:-none found}}; torch $("$py" -c 'import torch; print(torch.__version__, torch.version.cuda)' 2>&1 | tail -1)" | tee -a "$log"
# PyTorch's rows first: each takes seconds and their sum is predictable, so when Kiln's kernels
# are slow to tune, the sitting's end cuts Kiln's rows (which then say so), not the reference.
for batch in 128 1024; do
  steps=$steps_small
  [[ $batch == 1024 ]] && steps=$steps_large
  for w in mlp cnn resnet; do
    # -W ignore: torch's warnings (e.g. no NumPy) hide nothing we need; its errors still show.
    measure "$batch" "$py" -W ignore benches/pytorch_train_step.py --device "$torch_device" \
      --workload "$w" --batch "$batch" --steps "$steps" --epochs "$epochs"
  done
done
# Kiln's first row is also its device check: when it gives no figure (the device error, when the
# GPU, its driver or libdevice is missing, or no step within its time), the log has its output
# and what the machine has, and Kiln's other rows and the example are not run.
kiln_ok=1
for batch in 128 1024; do
  steps=$steps_small
  [[ $batch == 1024 ]] && steps=$steps_large
  for w in mlp cnn resnet; do
    ((kiln_ok)) || continue
    measure "$batch" "$bin"/train_step --device "$device" --workload "$w" --batch "$batch" \
      --steps "$steps" --epochs "$epochs"
    if [[ $batch$w == 128mlp && $measured != skipped ]] &&
      ! grep -Eq '^128 kiln \S+ mlp: [0-9]+ samples/s' "$log"; then
      kiln_ok=0
      {
        if ((measured == 124)); then
          echo "gpu.sh: Kiln did not finish its first row on \`$device\` in $seconds s (compiling or tuning kernels, or hung); its other rows and the example are not run"
        else
          echo "gpu.sh: Kiln cannot use \`$device\` here (status $measured; its output is above, the first panic often the cause); its other rows and the example are not run"
        fi
        if [[ $device == cuda ]]; then
          echo "libcuda known to the loader: $( (ldconfig -p 2>/dev/null || true) | grep -o 'libcuda\.so[.0-9]*' | sort -u | tr '\n' ' ')"
          echo "LD_LIBRARY_PATH: ${LD_LIBRARY_PATH:-unset}; libcuda under /usr/local/nvidia: $(ls /usr/local/nvidia/lib*/libcuda.so* 2>/dev/null | tr '\n' ' ')"
          echo "CUDA roots: $(ls -d /usr/local/cuda* /opt/cuda /usr/lib/cuda 2>/dev/null | tr '\n' ' ')"
          echo "libdevice files: $(timeout 20 find /usr/local /opt /usr/lib -name 'libdevice*.bc' 2>/dev/null | head -5 | tr '\n' ' ')"
        fi
      } | tee -a "$log" >&2
    fi
  done
done

echo "== the MNIST CNN example, $example_epochs epochs on $device"
bundle=$(mktemp -d)
started=$(date +%s.%N)
rc=0
example_limit=$(budget "$example_limit" "$sitting")
if ((!kiln_ok)); then
  : >"$example_log"
elif ((example_limit < 10)); then
  echo "gpu.sh: skipped the example: the sitting's time is spent" | tee -a "$log" >&2
  echo skipped >"$example_log"
else
  timeout -k 10 "$example_limit" "$bin"/mnist_cnn --device "$device" --epochs "$example_epochs" \
    --bundle "$bundle/mnist_cnn" 2>&1 | tee "$example_log" || rc=$?
fi
ended=$(date +%s.%N)
((rc == 0)) || echo "gpu.sh: mnist_cnn failed or ran past ${example_limit} s (status $rc)" | tee -a "$log" >&2
rm -rf "$bundle"

table=$(python3 - "$log" "$example_log" "$started" "$ended" "$device" "$torch_device" "$mode" "$kiln_ok" "$rc" <<'PY'
import re, sys
log, example, started, ended, device, torch_device, mode, kiln_ok, rc = sys.argv[1:]
rates = {}
for line in open(log, errors="replace"):
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
        kiln = show(k) if k or kiln_ok == "1" else "failed, see log"
        print(f"| {w} | {batch} | {kiln} | {show(p)} | {ratio} |")
text = open(example, errors="replace").read()
acc = re.search(r"^test accuracy ([0-9.]+)", text, re.M)
print()
if kiln_ok != "1" or text == "skipped\n":
    why = "the sitting's time was spent" if kiln_ok == "1" else f"Kiln could not use `{device}` (the log has the error)"
    print(f"MNIST CNN example (`mnist_cnn --device {device}`): not run, {why}")
    sys.exit(0)
wall = float(ended) - float(started)
if rc != "0":
    print(f"MNIST CNN example (`mnist_cnn --device {device}`): failed or stopped after {wall:.1f} s "
          f"(status {rc}; {example} has its output)")
    sys.exit(0)
print(f"MNIST CNN example (`mnist_cnn --device {device}`): {wall:.1f} s wall, "
      f"test accuracy {acc[1] if acc else 'not found in its output'}" + (" (dry run)" if mode == "dry-run" else ""))
PY
) || table="gpu.sh: the table could not be made; the log ($log) has every measured line"
echo
echo "$table"
if [[ -n ${OUT:-} ]]; then
  mkdir -p "$OUT"
  echo "$table" >"$OUT/gpu-bench.md"
fi
# The table is written either way; the status says whether Kiln ran.
if ((!kiln_ok)); then
  echo "gpu.sh: Kiln could not use \`$device\`; the log${OUT:+ ($OUT/gpu-bench.log)} has the error" >&2
  exit 1
fi
((rc == 0)) || exit 1
