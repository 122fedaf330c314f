"""Numeric train/test CSVs for bench/train, read alike by lathe and Python.

    make_data.py SHARED_DATA_DIR OUT_DIR [SYNTHETIC_ROWS]

adult: ../shared/data/adult_income.csv one-hot encoded in pandas
(get_dummies over the categorical columns, on train and test together so
both have the same columns), target income >50K as 0/1, the file's own
train/test split.

synthetic: SYNTHETIC_ROWS (default 1,000,000) rows x 50 standard-normal
features from numpy's default_rng(42), 5% missing in the first 5 columns,
a binary target from a noisy non-linear score (thresholds, products, a
sine); the first 80% of rows train, the rest test.
"""

import os
import sys

import numpy as np
import pandas as pd


def adult(data_dir, out):
    df = pd.read_csv(os.path.join(data_dir, "adult_income.csv"))
    y = df["income"].str.strip().str.rstrip(".").eq(">50K").astype(int)
    split = df["split"]
    x = df.drop(columns=["income", "split"])
    cats = [c for c in x.columns if x[c].dtype == object or str(x[c].dtype).startswith("str")]
    x = pd.get_dummies(x, columns=cats, dtype=float)
    x.columns = [f"f{i}" for i in range(x.shape[1])]
    x["target"] = y
    for part in ("train", "test"):
        x[split == part].to_csv(os.path.join(out, f"adult_{part}.csv"), index=False)


def synthetic(out, rows):
    rng = np.random.default_rng(42)
    x = rng.standard_normal((rows, 50))
    score = (
        1.5 * (x[:, 0] > 0.5)
        - 1.0 * x[:, 1] * x[:, 2]
        + np.sin(2.0 * x[:, 3])
        + 0.8 * x[:, 4] ** 2
        - 0.8
        + 0.5 * x[:, 5:15].sum(axis=1) / np.sqrt(10)
        + 0.7 * rng.standard_normal(rows)
    )
    y = (score > 0).astype(int)
    x[:, :5][rng.random((rows, 5)) < 0.05] = np.nan
    df = pd.DataFrame(x, columns=[f"x{i}" for i in range(50)])
    df["target"] = y
    cut = int(rows * 0.8)
    df.iloc[:cut].to_csv(os.path.join(out, "synthetic_train.csv"), index=False, float_format="%.6g")
    df.iloc[cut:].to_csv(os.path.join(out, "synthetic_test.csv"), index=False, float_format="%.6g")


if __name__ == "__main__":
    data_dir, out = sys.argv[1], sys.argv[2]
    rows = int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000
    os.makedirs(out, exist_ok=True)
    adult(data_dir, out)
    synthetic(out, rows)
