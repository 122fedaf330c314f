"""Registers the anchors' LightGBM model (the booster ../shared/bench/serving/
train_model.py wrote as LightGBM text) in a running lathe server with the
stock mlflow client, exactly as a user would register a booster trained in
Python: `mlflow.lightgbm.log_model(booster, signature=...)` + a registered
model version. Prints the version's URI.

usage: register_lathe.py TRACKING_URL WORKDIR NAME
"""
import json
import sys
from pathlib import Path

import lightgbm as lgb
import mlflow
import numpy as np
import pandas as pd
from mlflow.models import infer_signature

url, workdir, name = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
mlflow.set_tracking_uri(url)
mlflow.set_experiment("serving-bench")
booster = lgb.Booster(model_file=str(workdir / "lgbm_model.txt"))
columns = json.loads((workdir / "columns.json").read_text())
example = pd.DataFrame(np.zeros((2, len(columns))), columns=columns)
with mlflow.start_run():
    info = mlflow.lightgbm.log_model(
        booster, name="model", signature=infer_signature(example, booster.predict(example))
    )
version = mlflow.register_model(info.model_uri, name)
print(f"models:/{name}/{version.version}")
