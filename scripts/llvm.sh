#!/usr/bin/env bash
# Installs the LLVM 23 SDK that the `cpu` and `cuda` features need at build time, from PyPI,
# and marks it installed for Burn's LLVM bundler, so `cargo build --features kiln/cpu` (or
# kiln/cuda) runs with no download from the bundler's own server. Idempotent: a second run
# checks the install and exits.
#
#   scripts/llvm.sh            # then: cargo build --release --features kiln/cpu,kiln/cuda …
#
# Not needed for the default `flex` backend or for `wgpu`.
#
# Why these pins:
# - CubeCL's CPU and CUDA backends compile kernels through LLVM (`cubecl-llvm`), whose build
#   dependency `tracel-llvm-bundler` 23.1.0-4 looks for a complete LLVM 23.1 install in
#   `<data_local_dir>/tracel/tracel-llvm-23.1.0-4/` (data_local_dir: $XDG_DATA_HOME, else
#   ~/.local/share) marked by a `.tracel-llvm-installed` file, and downloads one otherwise.
# - PyPI's `mlc-llvm-static` 23.1.1.post0 ships that layout (static libraries, headers,
#   `bin/llvm-config`); its `[all]` extra adds the NVPTX target that `cuda` needs.
# - The SDK goes into a venv under KILN_LLVM_DIR (default <data_local_dir>/kiln/llvm-23), and
#   the bundler's directory is a symlink to it.
set -euo pipefail
package="mlc-llvm-static[all]==23.1.1.post0"
data_dir=${XDG_DATA_HOME:-$HOME/.local/share}
bundler_dir="$data_dir/tracel/tracel-llvm-23.1.0-4"
venv=${KILN_LLVM_DIR:-$data_dir/kiln/llvm-23}

if [ -f "$bundler_dir/.tracel-llvm-installed" ] && [ -x "$bundler_dir/bin/llvm-config" ]; then
  echo "LLVM $("$bundler_dir/bin/llvm-config" --version) is installed at $bundler_dir"
  exit 0
fi

echo "== $package into $venv"
if [ ! -x "$venv/bin/pip" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q "$package"

# The SDK's root is the folder holding bin/llvm-config.
config=$(find "$venv" -path '*/bin/llvm-config' -type f | head -n 1)
if [ -z "$config" ]; then
  echo "error: $package installed no bin/llvm-config under $venv" >&2
  exit 1
fi
root=$(dirname "$(dirname "$config")")
version=$("$config" --version)
case "$version" in
  23.*) ;;
  *) echo "error: $config reports LLVM $version, not 23.x" >&2; exit 1 ;;
esac

mkdir -p "$(dirname "$bundler_dir")"
if [ -e "$bundler_dir" ] && [ ! -L "$bundler_dir" ]; then
  echo "error: $bundler_dir exists and is not this script's symlink; move it away first" >&2
  exit 1
fi
ln -sfn "$root" "$bundler_dir"
touch "$bundler_dir/.tracel-llvm-installed"
echo "LLVM $version (targets: $("$config" --targets-built)) at $bundler_dir -> $root"
