"""The Python side of bench/train: LightGBM or XGBoost with defaults on the
numeric CSVs of make_data.py; prints one JSON line like lathe's fit_csv.

    python_fit.py lightgbm|xgboost TRAIN.csv TEST.csv TARGET THREADS
"""

import json
import resource
import sys
import time

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score


def main(tool, train_path, test_path, target, threads):
    threads = int(threads)
    t = time.perf_counter()
    train, test = pd.read_csv(train_path), pd.read_csv(test_path)
    x, y = train.drop(columns=[target]).to_numpy(float), train[target].to_numpy()
    tx, ty = test.drop(columns=[target]).to_numpy(float), test[target].to_numpy()
    read_s = time.perf_counter() - t

    if tool == "lightgbm":
        import lightgbm

        model = lightgbm.LGBMClassifier(verbose=-1, n_jobs=threads)
        version = lightgbm.__version__
    else:
        import xgboost

        model = xgboost.XGBClassifier(tree_method="hist", n_jobs=threads)
        version = xgboost.__version__
    t = time.perf_counter()
    model.fit(x, y)
    fit_s = time.perf_counter() - t

    t = time.perf_counter()
    scores = model.predict_proba(tx)[:, 1]
    predict_s = time.perf_counter() - t

    # Single-row latency through each library's fastest plain call for one row.
    n = min(len(tx), 2000)
    if tool == "lightgbm":
        booster = model.booster_
        one = lambda r: booster.predict(r)  # noqa: E731
    else:
        booster = model.get_booster()
        one = lambda r: booster.inplace_predict(r)  # noqa: E731
    rows = [tx[i : i + 1] for i in range(n)]
    one(rows[0])
    t = time.perf_counter()
    for r in rows:
        one(r)
    single_row_us = (time.perf_counter() - t) * 1e6 / n

    print(
        json.dumps(
            {
                "tool": tool,
                "version": version,
                "read_s": read_s,
                "fit_s": fit_s,
                "predict_s": predict_s,
                "single_row_us": single_row_us,
                "auc": float(roc_auc_score(ty, scores)),
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:6])
