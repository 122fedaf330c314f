"""Reference scores of LightGBM (Python, defaults) for lathe's Gbm learner.

Run once with the venv of .ci/run's training step (lightgbm, scikit-learn):

    ~/.cache/lathe/venv-train/bin/python crates/train/test_data/make_gbm_reference.py ../shared/data

It writes small numeric fixtures (a `split` column marks train/test rows)
and gbm_reference.json: LightGBM's test ROC AUC on breast cancer, macro-F1
on penguins (numeric columns, missing values kept as NaN) and RMSE on
diabetes, each fitted with LGBMClassifier()/LGBMRegressor() defaults.
The Rust test `tests/gbm_reference.rs` fits lathe's Gbm with its defaults
on the same rows and must come within 0.01 of each.
"""

import json
import os
import sys

import lightgbm
import numpy as np
import pandas as pd
import sklearn
from sklearn.metrics import f1_score, mean_squared_error, roc_auc_score
from sklearn.model_selection import train_test_split

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 0


def split_column(y, stratify):
    idx = np.arange(len(y))
    _, test = train_test_split(idx, test_size=0.25, random_state=SEED, stratify=y if stratify else None)
    col = np.array(["train"] * len(y), dtype=object)
    col[test] = "test"
    return col


def main(data_dir):
    cases = {}

    bc = pd.read_csv(os.path.join(data_dir, "breast_cancer_wisconsin.csv"))
    bc["split"] = split_column(bc["diagnosis"], True)
    cases["breast_cancer"] = (bc, "diagnosis", "binary")

    pg = pd.read_csv(os.path.join(data_dir, "penguins.csv"))
    pg = pg[["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year", "species"]]
    pg["split"] = split_column(pg["species"], True)
    cases["penguins"] = (pg, "species", "multiclass")

    db = pd.read_csv(os.path.join(data_dir, "diabetes.csv"))
    db["split"] = split_column(db["progression"], False)
    cases["diabetes"] = (db, "progression", "regression")

    out = {
        "lightgbm_version": lightgbm.__version__,
        "sklearn_version": sklearn.__version__,
        "split": "sklearn train_test_split(test_size=0.25, random_state=0, stratified for classifiers)",
        "cases": {},
    }
    for name, (df, target, task) in cases.items():
        df.to_csv(os.path.join(HERE, f"{name}.csv"), index=False)
        train, test = df[df.split == "train"], df[df.split == "test"]
        features = [c for c in df.columns if c not in (target, "split")]
        xtr, xte = train[features].to_numpy(float), test[features].to_numpy(float)
        if task == "regression":
            model = lightgbm.LGBMRegressor(verbose=-1).fit(xtr, train[target].to_numpy(float))
            score = float(np.sqrt(mean_squared_error(test[target], model.predict(xte))))
            metric = "rmse"
        else:
            classes = sorted(df[target].unique())
            code = {c: i for i, c in enumerate(classes)}
            ytr, yte = train[target].map(code).to_numpy(), test[target].map(code).to_numpy()
            model = lightgbm.LGBMClassifier(verbose=-1).fit(xtr, ytr)
            if task == "binary":
                score = float(roc_auc_score(yte, model.predict_proba(xte)[:, 1]))
                metric = "roc_auc"
            else:
                score = float(f1_score(yte, model.predict(xte), average="macro"))
                metric = "macro_f1"
        out["cases"][name] = {
            "file": f"{name}.csv",
            "target": target,
            "task": task,
            "metric": metric,
            "value": score,
            "train_rows": int(len(train)),
            "test_rows": int(len(test)),
        }
    with open(os.path.join(HERE, "gbm_reference.json"), "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "../../../../shared/data"))
