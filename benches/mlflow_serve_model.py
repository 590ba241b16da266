"""Saves scikit-learn's LogisticRegression, trained on a Kiln bench dataset, as an MLflow model
for `mlflow models serve` (benches/compare_serving.sh).

    python benches/mlflow_serve_model.py credit_g OUT_DIR   # datasets/tabular/credit_g.csv
    python benches/mlflow_serve_model.py mnist OUT_DIR      # datasets/mnist, 10,000 digits

credit_g: one-hot for text columns, standardized numbers, by column name (the request is a
`dataframe_split`). mnist: 784 pixel columns without names (the request is `instances`).
"""

import gzip
import struct
import sys

import mlflow.sklearn
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4 : 4 + 4 * dims])
    return np.frombuffer(data[4 + 4 * dims :], dtype=np.uint8).reshape(shape)


def main():
    name, out = sys.argv[1], sys.argv[2]
    if name == "mnist":
        # Pixels arrive as 0-255, as Kiln's image bundles take them.
        x = idx("datasets/mnist/train-images-idx3-ubyte.gz")[:10000].reshape(10000, -1)
        y = idx("datasets/mnist/train-labels-idx1-ubyte.gz")[:10000]
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=200))
        model.fit(x.astype(np.float64), y)
    else:
        frame = pd.read_csv(f"datasets/tabular/{name}.csv")
        y = frame.pop("label")
        numbers = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
        text = [c for c in frame.columns if c not in numbers]
        model = make_pipeline(
            ColumnTransformer(
                [
                    ("text", OneHotEncoder(handle_unknown="ignore"), text),
                    ("numbers", StandardScaler(), numbers),
                ]
            ),
            LogisticRegression(max_iter=1000),
        )
        model.fit(frame, y)
    mlflow.sklearn.save_model(model, out)


if __name__ == "__main__":
    main()
