"""Writes the XGBoost fixtures for crates/train/src/xgboost: a small model per
task in XGBoost's JSON format and the Python library's own predictions on
held-out rows (some with missing values), which the pure-Rust predictor must
reproduce within 1e-6.

    python3 -m venv venv && venv/bin/pip install xgboost-cpu scikit-learn pandas
    venv/bin/python make_reference.py ../../../../../shared/data   # folder with the CSVs
"""
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb

data = Path(sys.argv[1])
out = Path(__file__).parent
rng = np.random.default_rng(7)


def fixture(name, frame, target, params, classes=None):
    y = frame[target]
    x = frame.drop(columns=[target]).astype("float64")
    if classes is not None:
        y = y.map({c: i for i, c in enumerate(classes)})
    order = rng.permutation(len(x))
    test, train = order[:40], order[40:]
    model = xgb.XGBClassifier(**params) if classes is not None else xgb.XGBRegressor(**params)
    model.fit(x.iloc[train], y.iloc[train])
    rows = x.iloc[test].to_numpy().copy()
    # Missing values take each split's default direction.
    holes = rng.random(rows.shape) < 0.1
    rows[holes] = np.nan
    booster = model.get_booster()
    margin = booster.predict(xgb.DMatrix(rows, feature_names=list(x.columns)), output_margin=True)
    if classes is not None:
        predicted = model.predict_proba(rows)
    else:
        predicted = model.predict(rows)
    booster.save_model(str(out / f"{name}.json"))
    reference = {
        "features": list(x.columns),
        "classes": classes or [],
        "rows": [[None if np.isnan(v) else float(v) for v in row] for row in rows],
        "margin": np.asarray(margin, dtype="float64").tolist(),
        "predictions": np.asarray(predicted, dtype="float64").tolist(),
        "xgboost": xgb.__version__,
    }
    (out / f"{name}_reference.json").write_text(json.dumps(reference))


cancer = pd.read_csv(data / "breast_cancer_wisconsin.csv")
fixture("binary", cancer, "diagnosis", dict(n_estimators=15, max_depth=3, learning_rate=0.3),
        classes=sorted(cancer["diagnosis"].unique()))
penguins = pd.read_csv(data / "penguins.csv").drop(columns=["island", "sex", "year"])
fixture("multiclass", penguins, "species", dict(n_estimators=10, max_depth=3),
        classes=sorted(penguins["species"].unique()))
diabetes = pd.read_csv(data / "diabetes.csv")
fixture("regression", diabetes, "progression", dict(n_estimators=20, max_depth=4))
