#!/usr/bin/env bash
# `kiln serve` against `mlflow models serve`, in one sitting, on loopback: throughput and
# p50/p99 latency at 1, 16 and 64 concurrent clients, one row per request, for
#   - credit_g: Kiln's linear bundle vs scikit-learn's LogisticRegression (one-hot + scaling),
#     the same `dataframe_split` body;
#   - MNIST: Kiln's MLP bundle (2 epochs on the 60,000 digits) vs LogisticRegression on 10,000
#     digits, the same `instances` body (784 pixel values).
# Each load: `serve_load` (benches/src/bin/serve_load.rs), 20 warm-up requests per client, then
# up to REQUESTS requests or 15 s. MLflow serves with its defaults (uvicorn, `--env-manager
# local`, 1 worker as on these 2 cores); Kiln with its defaults (1 model worker; requests that queue while it runs share the next
# forward pass).
#
#   benches/compare_serving.sh [REQUESTS]   # default 4000
#
# Needs Python 3 with venv; MLflow and scikit-learn go into .venv-mlflow on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${1:-4000}
if ! .venv-mlflow/bin/python -c 'import mlflow, sklearn, pandas' 2>/dev/null; then
  python3 -m venv .venv-mlflow
  .venv-mlflow/bin/pip install -q mlflow scikit-learn pandas
fi
cargo build --release -q -p kiln -p kiln-benches --features kiln/cli --bin kiln --bin serve_load
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$1/ping" >/dev/null && return 0; sleep 0.2; done; echo "server on $1 did not start" >&2; return 1; }

echo "== training the models"
./target/release/kiln train --data datasets/tabular/credit_g.csv --target label --model linear \
  --output "$tmp/credit_g" --quiet >/dev/null
./target/release/kiln train --data datasets/mnist --model mlp --epochs 2 --output "$tmp/mnist" \
  --quiet >/dev/null
.venv-mlflow/bin/python benches/mlflow_serve_model.py credit_g "$tmp/credit_g-mlflow"
.venv-mlflow/bin/python benches/mlflow_serve_model.py mnist "$tmp/mnist-mlflow"

echo "== request bodies (one row each)"
.venv-mlflow/bin/python - "$tmp" <<'PY'
import gzip, json, sys
import pandas as pd
tmp = sys.argv[1]
frame = pd.read_csv("datasets/tabular/credit_g.csv").drop(columns=["label"])
row = frame.iloc[[0]]
json.dump({"dataframe_split": {"columns": list(row.columns), "data": row.values.tolist()}},
          open(f"{tmp}/credit_g.json", "w"))
with gzip.open("datasets/mnist/t10k-images-idx3-ubyte.gz", "rb") as f:
    pixels = list(f.read()[16:16 + 784])
json.dump({"instances": [pixels]}, open(f"{tmp}/mnist.json", "w"))
PY

load() { # name server url body
  for c in 1 16 64; do
    line=$(./target/release/serve_load --url "$3" --body "$4" --clients "$c" \
      --requests "$requests" --seconds 15)
    echo "$1 $2 $line" | tee -a "$tmp/results.txt"
  done
}

for model in credit_g mnist; do
  port=$(free_port)
  ./target/release/kiln serve "$tmp/$model" --port "$port" >"$tmp/kiln-$model.log" 2>&1 &
  pids+=($!); wait_up "$port"
  load "$model" kiln "http://127.0.0.1:$port/invocations" "$tmp/$model.json"
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

  port=$(free_port)
  PATH="$PWD/.venv-mlflow/bin:$PATH" .venv-mlflow/bin/mlflow models serve -m "$tmp/$model-mlflow" --env-manager local \
    --host 127.0.0.1 --port "$port" >"$tmp/mlflow-$model.log" 2>&1 &
  pids+=($!); wait_up "$port"
  load "$model" mlflow "http://127.0.0.1:$port/invocations" "$tmp/$model.json"
  pkill -P "${pids[-1]}" 2>/dev/null || true; kill "${pids[-1]}" 2>/dev/null || true
  wait "${pids[-1]}" 2>/dev/null || true
done

echo
echo "| model | clients | Kiln req/s | MLflow req/s | ratio | Kiln p50 / p99 ms | MLflow p50 / p99 ms |"
echo "|---|---|---|---|---|---|---|"
awk '
  { key = $1 " " $4; tp[$2, key] = $10; p50[$2, key] = $12; p99[$2, key] = $14; keys[key] = 1;
    order[++n] = key }
  END {
    for (i = 1; i <= n; i++) { k = order[i]; if (seen[k]++) continue; split(k, a, " ");
      printf "| %s | %s | %.0f | %.0f | %.1fx | %s / %s | %s / %s |\n", a[1], a[2],
        tp["kiln", k], tp["mlflow", k], tp["kiln", k] / tp["mlflow", k],
        p50["kiln", k], p99["kiln", k], p50["mlflow", k], p99["mlflow", k] }
  }' "$tmp/results.txt"
