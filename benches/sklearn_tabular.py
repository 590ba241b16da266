#!/usr/bin/env python3
"""scikit-learn's StandardScaler + LogisticRegression (or LinearRegression for diabetes) on the
exact split Kiln's `tabular` example used, for a like-for-like reference.

usage: sklearn_tabular.py NAME SPLIT.json
  (SPLIT.json from `cargo run --release -p kiln-examples --bin tabular -- NAME --save-split SPLIT.json`)
"""
import json
import os
import sys

import pandas as pd
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import r2_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def main():
    name, split_path = sys.argv[1], sys.argv[2]
    here = os.path.dirname(os.path.abspath(__file__))
    df = pd.read_csv(os.path.join(here, "..", "datasets", "tabular", f"{name}.csv"))
    split = json.load(open(split_path))
    target = "target" if "target" in df.columns else "label"
    x, y = df.drop(columns=[target]).to_numpy(), df[target].to_numpy()
    train, test = split["train"], split["test"]
    if name == "diabetes":
        model = make_pipeline(StandardScaler(), LinearRegression())
        model.fit(x[train], y[train])
        r2 = r2_score(y[test], model.predict(x[test]))
        print(f"sklearn {name}: test R² {r2:.4f} on the same {len(test)} test rows")
        return
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=10_000))
    model.fit(x[train], y[train])
    accuracy = model.score(x[test], y[test])
    print(f"sklearn {name}: test accuracy {accuracy:.4f} on the same {len(test)} test rows")

if __name__ == "__main__":
    main()
