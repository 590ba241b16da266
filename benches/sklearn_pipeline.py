#!/usr/bin/env python3
"""scikit-learn's usual pipelines on the exact split a `kiln train` run wrote (--split-out):
LogisticRegression or Ridge (impute, one-hot, standardize) and HistGradientBoosting (native
categorical support), each scored once on the test rows.

usage: sklearn_pipeline.py DATA.csv TARGET SPLIT.json classification|regression
prints: one line `linear SCORE` and one line `hgb SCORE` (accuracy, or R²)
"""
import json
import sys

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, r2_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


def main():
    path, target, split_path, task = sys.argv[1:5]
    df = pd.read_csv(path)
    split = json.load(open(split_path))
    y = df[target].to_numpy()
    x = df.drop(columns=[target])
    categorical = [
        c
        for c in x.columns
        if not pd.api.types.is_numeric_dtype(x[c]) or pd.api.types.is_bool_dtype(x[c])
    ]
    numeric = [c for c in x.columns if c not in categorical]
    train, test = np.array(split["train"]), np.array(split["test"])
    prep = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                categorical,
            ),
        ]
    )
    x_hgb = x.copy()
    for c in categorical:
        x_hgb[c] = x_hgb[c].astype("category")
    if task == "regression":
        linear = make_pipeline(prep, Ridge(alpha=1.0))
        hgb = HistGradientBoostingRegressor(categorical_features="from_dtype", random_state=0)
        score = r2_score
    else:
        linear = make_pipeline(prep, LogisticRegression(max_iter=10_000))
        hgb = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
        score = accuracy_score
    linear.fit(x.iloc[train], y[train])
    print(f"linear {score(y[test], linear.predict(x.iloc[test])):.4f}")
    hgb.fit(x_hgb.iloc[train], y[train])
    print(f"hgb {score(y[test], hgb.predict(x_hgb.iloc[test])):.4f}")


if __name__ == "__main__":
    main()
