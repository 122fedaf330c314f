"""scikit-learn's side of bench/README.md's eval section: the metric set that
`ClassificationMetrics::compute` and `RegressionMetrics::compute` return, on
synthetic data of the same shape as `crates/eval/examples/timing.rs` (labels
uniform over k classes, probabilities leaning 0.8 towards the truth).

    ~/.cache/lathe/venv-eval/bin/python bench/eval/sklearn_timing.py 1000000
"""

import sys
import time
import warnings

import numpy as np
from sklearn import metrics
from sklearn.calibration import calibration_curve

warnings.simplefilter("ignore")
n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
rng = np.random.default_rng(1)


def data(n, k):
    y = rng.integers(0, k, size=n)
    raw = rng.uniform(size=(n, k)) + 0.8 * np.eye(k)[y]
    return y, raw / raw.sum(axis=1, keepdims=True)


def classification(y, p):
    k = p.shape[1]
    labels = list(range(k))
    pred = (p[:, 1] >= 0.5).astype(int) if k == 2 else p.argmax(axis=1)
    out = {
        "accuracy": metrics.accuracy_score(y, pred),
        "balanced_accuracy": metrics.balanced_accuracy_score(y, pred),
        "log_loss": metrics.log_loss(y, p, labels=labels),
        "confusion": metrics.confusion_matrix(y, pred, labels=labels),
    }
    for avg in ["macro", "micro", "weighted", None]:
        out[f"prf_{avg}"] = metrics.precision_recall_fscore_support(
            y, pred, labels=labels, average=avg, zero_division=0.0
        )
    if k == 2:
        out["roc_auc"] = metrics.roc_auc_score(y, p[:, 1])
        out["pr_auc"] = metrics.average_precision_score(y, p[:, 1])
        out["brier"] = metrics.brier_score_loss(y, p[:, 1])
        out["calibration"] = calibration_curve(y, p[:, 1], n_bins=10)
        prec, rec, thr = metrics.precision_recall_curve(y, p[:, 1])
        f1 = np.where(prec + rec > 0, 2 * prec * rec / np.maximum(prec + rec, 1e-300), 0)
        out["best"] = thr[int(np.argmax(f1[:-1]))]
    else:
        onehot = np.eye(k)[y]
        out["roc_auc"] = metrics.roc_auc_score(y, p, multi_class="ovr", average="macro")
        out["roc_auc_w"] = metrics.roc_auc_score(y, p, multi_class="ovr", average="weighted")
        out["pr_auc"] = metrics.average_precision_score(onehot, p, average="macro")
        out["brier"] = np.mean([metrics.brier_score_loss(onehot[:, c], p[:, c]) for c in labels])
        out["calibration"] = calibration_curve(pred == y, p.max(axis=1), n_bins=10)
    return out


for k in [2, 5]:
    y, p = data(n, k)
    t = time.perf_counter()
    m = classification(y, p)
    print(f"classification k={k} n={n}: all metrics {time.perf_counter() - t:.3f} s (roc_auc {m['roc_auc']:.4f})")

y, p = data(10_000, 2)
t = time.perf_counter()
for _ in range(100):
    idx = rng.integers(0, 10_000, size=10_000)
    classification(y[idx], p[idx])
per = (time.perf_counter() - t) / 100
print(f"bootstrap n=10000 k=2: {per * 2000:.3f} s for 2000 resamples (measured on 100)")

truth = rng.uniform(size=n) * 100
pred = truth + rng.uniform(size=n) * 10 - 5
t = time.perf_counter()
r = [
    metrics.mean_absolute_error(truth, pred),
    metrics.root_mean_squared_error(truth, pred),
    metrics.r2_score(truth, pred),
    metrics.mean_absolute_percentage_error(truth, pred),
    metrics.median_absolute_error(truth, pred),
]
print(f"regression n={n}: all metrics {time.perf_counter() - t:.3f} s (r2 {r[2]:.4f})")
