"""Reference coefficients of scikit-learn's linear models for lathe's Linear.

    ~/.cache/lathe/venv-train/bin/python crates/train/test_data/make_linear_reference.py

Reads the fixtures make_gbm_reference.py wrote (train rows only; penguins
rows with a missing value dropped) and stores in linear_reference.json:
Ridge(alpha=1.0) on diabetes' raw features; LogisticRegression(C=1.0) (L2,
lbfgs, tight tolerance) on standardized breast cancer (binary) and penguins
(multinomial); and an L1 fit (saga, l1_ratio=1, C=0.05) on breast cancer.
StandardScaler uses the population standard deviation, as lathe does.
"""

import json
import os
import warnings

import numpy as np
import pandas as pd
import sklearn
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
warnings.simplefilter("ignore")


def load(name, target):
    df = pd.read_csv(os.path.join(HERE, f"{name}.csv"))
    df = df[df.split == "train"].drop(columns=["split"]).dropna()
    x = df.drop(columns=[target]).to_numpy(float)
    return x, df[target]


def codes(y):
    classes = sorted(y.unique())
    return y.map({c: i for i, c in enumerate(classes)}).to_numpy()


out = {"sklearn_version": sklearn.__version__, "cases": {}}

x, y = load("diabetes", "progression")
m = Ridge(alpha=1.0).fit(x, y.to_numpy(float))
out["cases"]["diabetes_ridge"] = {"coef": [m.coef_.tolist()], "intercept": [float(m.intercept_)], "rows": len(x)}

for name, target in [("breast_cancer", "diagnosis"), ("penguins", "species")]:
    x, y = load(name, target)
    z = StandardScaler().fit_transform(x)
    m = LogisticRegression(C=1.0, tol=1e-12, max_iter=100000).fit(z, codes(y))
    out["cases"][f"{name}_l2"] = {"coef": m.coef_.tolist(), "intercept": m.intercept_.tolist(), "rows": len(x)}

x, y = load("breast_cancer", "diagnosis")
z = StandardScaler().fit_transform(x)
m = LogisticRegression(C=0.05, l1_ratio=1.0, solver="saga", tol=1e-10, max_iter=1000000).fit(z, codes(y))
out["cases"]["breast_cancer_l1"] = {
    "coef": m.coef_.tolist(),
    "intercept": m.intercept_.tolist(),
    "rows": len(x),
    "c": 0.05,
}

with open(os.path.join(HERE, "linear_reference.json"), "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
