"""scikit-learn's ColumnTransformer with lathe's default preprocessing, timed.

Numeric columns: median imputation, standard scaling, a missing indicator
where training had missing values; categorical columns: one-hot with
max_categories=20 and an infrequent/unknown bucket. This is the pipeline
crates/data/test_data/make_reference.py checks lathe's output against
(equal within 1e-9). Reading the CSV is timed separately, like lathe's.

usage: python sklearn_prep.py FILE TARGET [--no-rows]  -> one JSON line of seconds
(--no-rows skips the one-row-at-a-time timing, which does not depend on
the table's size.)
"""
import json
import sys
import time

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


def main():
    path, target = sys.argv[1], sys.argv[2]
    time_rows = "--no-rows" not in sys.argv[3:]
    t = time.perf_counter()
    frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    read = time.perf_counter() - t
    x = frame.drop(columns=[target])
    numeric = [c for c in x.columns if pd.api.types.is_numeric_dtype(x[c])]
    categorical = [c for c in x.columns if c not in numeric]
    t = time.perf_counter()
    transformer = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()), numeric),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="<missing>"),
                    OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=20, sparse_output=False),
                ),
                categorical,
            ),
        ]
    )
    transformer.fit(x)
    fit = time.perf_counter() - t
    t = time.perf_counter()
    out = transformer.transform(x)
    transform = time.perf_counter() - t
    # One row at a time, as a server would see it (a one-row DataFrame each).
    per_row = None
    if time_rows:
        rows = x.head(1000)
        t = time.perf_counter()
        for i in range(len(rows)):
            transformer.transform(rows.iloc[[i]])
        per_row = (time.perf_counter() - t) / len(rows)
    print(json.dumps({"read_s": read, "fit_s": fit, "transform_s": transform, "row_us": None if per_row is None else per_row * 1e6,
                      "rows": len(x), "features": int(np.asarray(out).shape[1])}))


if __name__ == "__main__":
    main()
