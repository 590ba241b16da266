#!/usr/bin/env python3
"""scikit-learn's StandardScaler + LogisticRegression on the exact split Kiln's `tabular`
example used, for a like-for-like accuracy reference.

usage: sklearn_tabular.py NAME SPLIT.json
  (SPLIT.json from `cargo run --release -p kiln-examples --bin tabular -- NAME --save-split SPLIT.json`)
"""
import json
import os
import sys

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def main():
    name, split_path = sys.argv[1], sys.argv[2]
    here = os.path.dirname(os.path.abspath(__file__))
    df = pd.read_csv(os.path.join(here, "..", "datasets", "tabular", f"{name}.csv"))
    split = json.load(open(split_path))
    x, y = df.drop(columns=["label"]).to_numpy(), df["label"].to_numpy()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=10_000))
    model.fit(x[split["train"]], y[split["train"]])
    accuracy = model.score(x[split["test"]], y[split["test"]])
    print(f"sklearn {name}: test accuracy {accuracy:.4f} on the same {len(split['test'])} test rows")


if __name__ == "__main__":
    main()
