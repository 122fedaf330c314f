"""Reference values for lathe-eval's binary-classification metrics.

Run with the Python that has scikit-learn (e.g. ~/.cache/lathe/venv/bin/python):

    python crates/eval/test_data/make_reference.py > crates/eval/test_data/binary_reference.json

Each case holds the inputs (y_true as 0/1, y_prob as the positive-class
probability, y_pred = y_prob >= 0.5) and what scikit-learn computes on them.
`roc_auc` is null where scikit-learn returns NaN (only one class in y_true).
"""

import json
import math
import sys
import warnings

import numpy as np
import sklearn
from sklearn import metrics

warnings.simplefilter("ignore")


def case(name, y_true, y_prob):
    y_true = np.asarray(y_true, dtype=np.int64)
    y_prob = np.asarray(y_prob, dtype=np.float64)
    y_pred = (y_prob >= 0.5).astype(np.int64)
    tn, fp, fn, tp = metrics.confusion_matrix(y_true, y_pred, labels=[0, 1]).ravel()
    auc = metrics.roc_auc_score(y_true, y_prob) if len(set(y_true.tolist())) == 2 else math.nan
    return {
        "name": name,
        "y_true": y_true.tolist(),
        "y_prob": y_prob.tolist(),
        "y_pred": y_pred.tolist(),
        "expected": {
            "tp": int(tp),
            "fp": int(fp),
            "tn": int(tn),
            "fn": int(fn),
            "accuracy": metrics.accuracy_score(y_true, y_pred),
            "precision": metrics.precision_score(y_true, y_pred, zero_division=0.0),
            "recall": metrics.recall_score(y_true, y_pred, zero_division=0.0),
            "f1": metrics.f1_score(y_true, y_pred, zero_division=0.0),
            "log_loss": metrics.log_loss(y_true, y_prob, labels=[0, 1]),
            "roc_auc": None if math.isnan(auc) else auc,
        },
    }


rng = np.random.default_rng(20240611)
n = 200
y_big = rng.integers(0, 2, size=n)
# Rounded to two decimals so many scores tie, across both classes.
p_big = np.round(np.clip(0.35 * y_big + rng.uniform(0.0, 0.65, size=n), 0.0, 1.0), 2)

cases = [
    case("sklearn_docstring", [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]),
    case(
        "ties_across_classes",
        [0, 1, 0, 1, 1, 0, 1, 0, 0, 1],
        [0.5, 0.5, 0.2, 0.8, 0.8, 0.2, 0.5, 0.9, 0.1, 0.3],
    ),
    case("all_scores_tied", [0, 1, 1, 0, 1], [0.3, 0.3, 0.3, 0.3, 0.3]),
    case("hard_zeros_and_ones_are_clipped", [0, 1, 1, 0, 1, 0], [0.0, 1.0, 0.0, 1.0, 0.7, 0.2]),
    case("perfect_separation", [0, 0, 0, 1, 1], [0.01, 0.2, 0.3, 0.6, 0.99]),
    case("inverted", [1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]),
    case("no_predicted_positives", [0, 1, 0, 1, 0], [0.1, 0.45, 0.2, 0.3, 0.49]),
    case("only_positives", [1, 1, 1], [0.2, 0.6, 0.9]),
    case("random_200_rounded", y_big.tolist(), p_big.tolist()),
]

json.dump(
    {
        "generator": "crates/eval/test_data/make_reference.py",
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "threshold": 0.5,
        "cases": cases,
    },
    sys.stdout,
    indent=1,
)
sys.stdout.write("\n")
