"""Reference logistic regression for lathe-train, fitted by scikit-learn.

Run with the Python that has scikit-learn (e.g. ~/.cache/lathe/venv/bin/python):

    python crates/train/test_data/make_reference.py > crates/train/test_data/logistic_reference.json

Data: the breast cancer CSV the CLI embeds (all 569 rows), label
`diagnosis`, positive class `malignant`, every feature standardized with the
population standard deviation (StandardScaler). lathe's objective is
mean log loss + l2/2 * ||w||^2 with an unpenalized bias; scikit-learn's is
C * sum(log loss) + 1/2 * ||w||^2, so the same minimum has C = 1 / (n * l2).
"""

import csv
import json
import pathlib
import sys

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.preprocessing import StandardScaler

CSV = pathlib.Path(__file__).resolve().parents[2] / "cli" / "data" / "breast_cancer_wisconsin.csv"
L2 = 0.01

with CSV.open(newline="") as f:
    rows = list(csv.reader(f))
header, body = rows[0], rows[1:]
label_at = header.index("diagnosis")
features = [h for i, h in enumerate(header) if i != label_at]
X = np.array([[float(v) for i, v in enumerate(r) if i != label_at] for r in body])
y = np.array([1 if r[label_at] == "malignant" else 0 for r in body])

scaler = StandardScaler().fit(X)
Xs = scaler.transform(X)
n = len(y)
model = LogisticRegression(C=1.0 / (n * L2), solver="lbfgs", tol=1e-12, max_iter=100_000)
model.fit(Xs, y)
proba = model.predict_proba(Xs)[:, 1]

json.dump(
    {
        "generator": "crates/train/test_data/make_reference.py",
        "sklearn_version": sklearn.__version__,
        "data": "crates/cli/data/breast_cancer_wisconsin.csv",
        "label_column": "diagnosis",
        "positive_class": "malignant",
        "rows": n,
        "l2": L2,
        "C": 1.0 / (n * L2),
        "feature_names": features,
        "scaler_mean": scaler.mean_.tolist(),
        "scaler_scale": scaler.scale_.tolist(),
        "coef": model.coef_[0].tolist(),
        "intercept": float(model.intercept_[0]),
        "train_log_loss": log_loss(y, proba),
        "train_roc_auc": roc_auc_score(y, proba),
        "first_probabilities": proba[:10].tolist(),
    },
    sys.stdout,
    indent=1,
)
sys.stdout.write("\n")
