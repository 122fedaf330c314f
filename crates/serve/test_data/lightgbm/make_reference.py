"""Writes the LightGBM fixture for lathe-serve's test of MLflow's lightgbm
flavor: a small booster trained on the breast-cancer table with feature names
that contain spaces (as scikit-learn's copy of the data has; LightGBM stores
them with underscores), saved in LightGBM's text format, with LightGBM's own
predictions on held-out rows (some values missing).

    python3 -m venv venv && venv/bin/pip install lightgbm pandas
    venv/bin/python make_reference.py ../../../../../shared/data/breast_cancer_wisconsin.csv
"""
import json
import sys
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

out = Path(__file__).parent
frame = pd.read_csv(sys.argv[1])
y = (frame.pop("diagnosis") == "malignant").astype(int)
frame.columns = [c.replace("_", " ") for c in frame.columns]
rng = np.random.default_rng(11)
order = rng.permutation(len(frame))
test, train = order[:30], order[30:]
booster = lgb.train(
    {"objective": "binary", "num_leaves": 7, "learning_rate": 0.2, "verbose": -1, "seed": 1},
    lgb.Dataset(frame.iloc[train], y.iloc[train]),
    num_boost_round=12,
)
rows = frame.iloc[test].to_numpy().copy()
rows[rng.random(rows.shape) < 0.1] = np.nan
booster.save_model(str(out / "model.lgb"))
reference = {
    "features": list(frame.columns),
    "rows": [[None if np.isnan(v) else float(v) for v in row] for row in rows],
    "predictions": booster.predict(rows).tolist(),
    "lightgbm": lgb.__version__,
}
(out / "reference.json").write_text(json.dumps(reference))
