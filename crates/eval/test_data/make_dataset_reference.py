"""Reference values for lathe-eval on models trained on ../shared/data.

Run with a Python that has scikit-learn, scipy and statsmodels
(`python3 -m venv ~/.cache/lathe/venv-eval && pip install scikit-learn pandas scipy statsmodels`):

    python crates/eval/test_data/make_dataset_reference.py ../shared/data \
        > crates/eval/test_data/dataset_reference.json

Three held-out test sets, each with the labels, the model's outputs and what
scikit-learn (or statsmodels, for McNemar) computes on them:

- binary: LogisticRegression on breast-cancer (positive class: malignant),
- multiclass: LogisticRegression on penguins (three species), sliced by sex,
- regression: LinearRegression on diabetes, sliced by sex.

Bootstrap intervals are checked on the same draws lathe makes: SplitMix64 is
re-implemented here (`scaled(n) = (next_u64() * n) >> 64`), each resample's
metric comes from scikit-learn and the interval from `np.percentile`.

Probabilities are rounded to 6 decimals and renormalised so that the fixture
stays small and every row sums to 1 in binary floating point as closely as the
model's own output does; the metrics are computed on the stored values.
"""

import json
import sys
import warnings

import numpy as np
import pandas as pd
import scipy
import sklearn
import statsmodels
from sklearn import metrics
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from statsmodels.stats.contingency_tables import mcnemar

warnings.simplefilter("ignore")
DATA = sys.argv[1] if len(sys.argv) > 1 else "../shared/data"
MASK = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next_u64(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def scaled(self, n):
        return (self.next_u64() * n) >> 64


def draws(n, resamples, seed):
    rng = SplitMix64(seed)
    return [np.array([rng.scaled(n) for _ in range(n)]) for _ in range(resamples)]


def interval(values, level):
    values = np.sort(np.asarray([v for v in values if np.isfinite(v)]))
    alpha = (1 - level) / 2
    return {
        "low": float(np.percentile(values, 100 * alpha)),
        "high": float(np.percentile(values, 100 * (1 - alpha))),
        "resamples": int(len(values)),
    }


def rounded_proba(p):
    p = np.round(p, 6)
    return p / p.sum(axis=1, keepdims=True)


def reliability(prob, outcome, bins=10):
    """Equal-width bins as sklearn's calibration_curve (uniform) assigns them."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    ids = np.searchsorted(edges[1:-1], prob)
    frac, mean = metrics_calibration(outcome, prob, bins)
    counts = np.bincount(ids, minlength=bins)
    conf_sum = np.bincount(ids, weights=prob, minlength=bins)
    hit_sum = np.bincount(ids, weights=outcome, minlength=bins)
    nz = counts > 0
    ece = float(np.sum(counts[nz] / len(prob) * np.abs(hit_sum[nz] / counts[nz] - conf_sum[nz] / counts[nz])))
    return {
        "counts": counts.tolist(),
        "fraction_positive": frac.tolist(),
        "mean_predicted": mean.tolist(),
        "ece": ece,
    }


def metrics_calibration(outcome, prob, bins):
    from sklearn.calibration import calibration_curve

    return calibration_curve(outcome, prob, n_bins=bins, strategy="uniform")


def classification_expected(y, proba):
    n, k = proba.shape
    labels = list(range(k))
    if k == 2:
        y_pred = (proba[:, 1] >= 0.5).astype(int)
    else:
        y_pred = proba.argmax(axis=1)
    out = {
        "y_pred": y_pred.tolist(),
        "confusion": metrics.confusion_matrix(y, y_pred, labels=labels).tolist(),
        "accuracy": metrics.accuracy_score(y, y_pred),
        "balanced_accuracy": metrics.balanced_accuracy_score(y, y_pred),
        "log_loss": metrics.log_loss(y, proba, labels=labels),
    }
    for avg in ["macro", "micro", "weighted"]:
        for name, fn in [
            ("precision", metrics.precision_score),
            ("recall", metrics.recall_score),
            ("f1", metrics.f1_score),
        ]:
            out[f"{name}_{avg}"] = fn(y, y_pred, labels=labels, average=avg, zero_division=0.0)
    for name, fn in [
        ("precision", metrics.precision_score),
        ("recall", metrics.recall_score),
        ("f1", metrics.f1_score),
    ]:
        out[f"{name}_per_class"] = fn(y, y_pred, labels=labels, average=None, zero_division=0.0).tolist()
    out["support"] = np.bincount(y, minlength=k).tolist()
    present = len(set(y.tolist())) == k
    onehot = np.eye(k)[y]
    if k == 2:
        auc = metrics.roc_auc_score(y, proba[:, 1]) if present else None
        out["roc_auc_macro"] = auc
        out["roc_auc_weighted"] = auc
        out["pr_auc"] = metrics.average_precision_score(y, proba[:, 1]) if y.sum() > 0 else None
        out["brier"] = metrics.brier_score_loss(y, proba[:, 1])
        out["reliability"] = reliability(proba[:, 1], y.astype(float))
        prec, rec, thr = metrics.precision_recall_curve(y, proba[:, 1])
        # F1 from counts at each threshold (p >= t), first maximum in sklearn's ascending order.
        f1s = [metrics.f1_score(y, (proba[:, 1] >= t).astype(int), zero_division=0.0) for t in thr]
        best = int(np.argmax(f1s))
        out["best_f1_threshold"] = float(thr[best])
        out["best_f1"] = float(f1s[best])
        out["pr_curve_points"] = len(thr) + 1
    else:
        out["roc_auc_macro"] = (
            metrics.roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=labels)
            if present
            else None
        )
        out["roc_auc_weighted"] = (
            metrics.roc_auc_score(y, proba, multi_class="ovr", average="weighted", labels=labels)
            if present
            else None
        )
        out["pr_auc"] = (
            metrics.average_precision_score(onehot, proba, average="macro") if present else None
        )
        # Mean over classes of the one-vs-rest Brier score.
        out["brier"] = float(np.mean([metrics.brier_score_loss(onehot[:, c], proba[:, c]) for c in labels]))
        conf = proba.max(axis=1)
        out["reliability"] = reliability(conf, (y_pred == y).astype(float))
    return out


def binary_case():
    df = pd.read_csv(f"{DATA}/breast_cancer_wisconsin.csv")
    target = df.columns[-1]
    y = (df[target] == "malignant").astype(int).to_numpy()
    X = df.drop(columns=[target]).to_numpy(dtype=float)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(Xtr, ytr)
    nb = GaussianNB().fit(Xtr, ytr)
    proba = rounded_proba(lr.predict_proba(Xte))
    proba_b = rounded_proba(nb.predict_proba(Xte))
    expected = classification_expected(yte, proba)
    expected["brier_check_sum_over_classes"] = float(np.mean(np.sum((proba - np.eye(2)[yte]) ** 2, axis=1)))
    # Bootstrap on lathe's draws: accuracy and ROC AUC.
    boot = draws(len(yte), 200, 42)
    yp = np.asarray(expected["y_pred"])
    acc = [metrics.accuracy_score(yte[d], yp[d]) for d in boot]
    auc = [
        metrics.roc_auc_score(yte[d], proba[d, 1]) if len(set(yte[d].tolist())) == 2 else np.nan
        for d in boot
    ]
    bootstrap = {"resamples": 200, "seed": 42, "level": 0.95, "accuracy": interval(acc, 0.95), "roc_auc": interval(auc, 0.95)}
    # McNemar of logistic regression against naive Bayes (both at 0.5).
    pa, pb = (proba[:, 1] >= 0.5).astype(int), (proba_b[:, 1] >= 0.5).astype(int)
    return {
        "name": "breast_cancer_logistic",
        "classes": ["benign", "malignant"],
        "y_true": yte.tolist(),
        "proba": proba.tolist(),
        "expected": expected,
        "bootstrap": bootstrap,
        "mcnemar_models": {"pred_a": pa.tolist(), "pred_b": pb.tolist(), **mcnemar_expected(yte, pa, pb)},
    }


def mcnemar_expected(y, pa, pb):
    a_ok, b_ok = pa == y, pb == y
    b = int(np.sum(a_ok & ~b_ok))
    c = int(np.sum(~a_ok & b_ok))
    return mcnemar_table(b, c)


def mcnemar_table(b, c):
    table = [[0, b], [c, 0]]
    exact = b + c < 25
    r = mcnemar(table, exact=exact, correction=True)
    return {"b": b, "c": c, "exact": exact, "statistic": float(r.statistic), "pvalue": float(r.pvalue)}


def multiclass_case():
    df = pd.read_csv(f"{DATA}/penguins.csv").dropna().reset_index(drop=True)
    classes = sorted(df["species"].unique())
    y = df["species"].map({c: i for i, c in enumerate(classes)}).to_numpy()
    X = df[["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]].to_numpy(dtype=float)
    idx = np.arange(len(df))
    itr, ite = train_test_split(idx, test_size=0.3, random_state=1, stratify=y)
    # A deliberately weak model (two features, strong regularisation) so that
    # every metric is away from its perfect value.
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.02, max_iter=1000))
    model.fit(X[itr][:, [0, 3]], y[itr])
    proba = rounded_proba(model.predict_proba(X[ite][:, [0, 3]]))
    yte = y[ite]
    sex = df["sex"].to_numpy()[ite]
    slices = []
    for value in sorted(set(sex.tolist())):
        m = sex == value
        slices.append({"value": value, "count": int(m.sum()), "expected": classification_expected(yte[m], proba[m])})
    return {
        "name": "penguins_logistic",
        "classes": classes,
        "y_true": yte.tolist(),
        "proba": proba.tolist(),
        "sex": sex.tolist(),
        "expected": classification_expected(yte, proba),
        "slices": slices,
    }


def regression_expected(y, p):
    return {
        "mae": metrics.mean_absolute_error(y, p),
        "rmse": float(np.sqrt(metrics.mean_squared_error(y, p))),
        "r2": metrics.r2_score(y, p),
        "mape": metrics.mean_absolute_percentage_error(y, p),
        "median_absolute_error": metrics.median_absolute_error(y, p),
    }


def regression_case():
    df = pd.read_csv(f"{DATA}/diabetes.csv")
    y = df["progression"].to_numpy(dtype=float)
    X = df.drop(columns=["progression"]).to_numpy(dtype=float)
    idx = np.arange(len(df))
    itr, ite = train_test_split(idx, test_size=0.25, random_state=0)
    model = LinearRegression().fit(X[itr], y[itr])
    pred = np.round(model.predict(X[ite]), 9)
    yte = y[ite]
    sex = df["sex"].astype(str).to_numpy()[ite]
    slices = []
    for value in sorted(set(sex.tolist())):
        m = sex == value
        slices.append({"value": value, "count": int(m.sum()), "expected": regression_expected(yte[m], pred[m])})
    boot = draws(len(yte), 200, 7)
    rmse = [float(np.sqrt(metrics.mean_squared_error(yte[d], pred[d]))) for d in boot]
    return {
        "name": "diabetes_linear",
        "y_true": yte.tolist(),
        "y_pred": pred.tolist(),
        "sex": sex.tolist(),
        "expected": regression_expected(yte, pred),
        "slices": slices,
        "bootstrap": {"resamples": 200, "seed": 7, "level": 0.9, "rmse": interval(rmse, 0.9)},
        # MAPE's epsilon: a true value of 0 divides by float64's epsilon.
        "mape_with_zero": {
            "y_true": [0.0, 1.0, -2.0, 3.0],
            "y_pred": [0.5, 1.5, -2.0, 2.0],
            "mape": metrics.mean_absolute_percentage_error([0.0, 1.0, -2.0, 3.0], [0.5, 1.5, -2.0, 2.0]),
        },
        "constant_target": {
            "y_true": [3.0, 3.0, 3.0],
            "y_pred": [3.0, 2.0, 4.0],
            "r2": metrics.r2_score([3.0, 3.0, 3.0], [3.0, 2.0, 4.0]),
            "r2_perfect": metrics.r2_score([3.0, 3.0, 3.0], [3.0, 3.0, 3.0]),
        },
    }


doc = {
    "generator": "crates/eval/test_data/make_dataset_reference.py",
    "sklearn_version": sklearn.__version__,
    "numpy_version": np.__version__,
    "scipy_version": scipy.__version__,
    "statsmodels_version": statsmodels.__version__,
    "binary": binary_case(),
    "multiclass": multiclass_case(),
    "regression": regression_case(),
    "mcnemar_tables": [mcnemar_table(b, c) for b, c in [(0, 0), (3, 0), (5, 9), (12, 12), (10, 14), (15, 30), (40, 25), (100, 80), (7, 1)]],
}
json.dump(doc, sys.stdout, separators=(",", ":"))
sys.stdout.write("\n")
