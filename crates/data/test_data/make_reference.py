"""Reference features for lathe-data's preprocessing, computed with scikit-learn.

Run from this directory with scikit-learn, pandas and numpy installed:
    python make_reference.py   # writes reference.json

Each case fits on `train` (minus the target) and transforms `apply`, with
lathe's semantics expressed in scikit-learn pieces, column by column in file
order:
  numeric      SimpleImputer(strategy) -> scaler, then MissingIndicator
               (unscaled) when the training column had missing values;
  categorical  OneHotEncoder(handle_unknown="infrequent_if_exist",
               max_categories) plus lathe's always-present `unknown`
               column = 1 - (sum of the kept categories' columns), i.e.
               sklearn's infrequent column or an unseen label;
  text         TfidfVectorizer(max_features) with its defaults on the
               column with missing as "".
"""

import json

import numpy as np
import pandas as pd
import sklearn
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, RobustScaler, StandardScaler

CASES = [
    dict(name="penguins_default", train="penguins.csv", apply="penguins.csv", target="species",
         text=[], imputation="median", scaling="standard"),
    dict(name="penguins_mean_minmax", train="penguins.csv", apply="penguins.csv", target="species",
         text=[], imputation="mean", scaling="minmax"),
    dict(name="penguins_most_frequent_robust", train="penguins.csv", apply="penguins.csv",
         target="species", text=[], imputation="most_frequent", scaling="robust"),
    dict(name="adult_default", train="adult_train.csv", apply="adult_apply.csv", target="income",
         text=[], imputation="median", scaling="standard"),
    dict(name="sentiment_default", train="sentiment_train.csv", apply="sentiment_apply.csv",
         target="label", text=["text"], imputation="median", scaling="standard"),
]
SCALERS = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}
MAX_CATEGORIES = 20
MAX_FEATURES = 2000


def case(c):
    train = pd.read_csv(c["train"], keep_default_na=False, na_values=[""])
    apply = pd.read_csv(c["apply"], keep_default_na=False, na_values=[""])
    names, blocks = [], []
    for col in train.columns:
        if col == c["target"]:
            continue
        if col in c["text"]:
            docs = train[col].fillna("")
            counts = np.sort(np.asarray(CountVectorizer().fit_transform(docs).sum(axis=0)).ravel())[::-1]
            # sklearn breaks count ties at the cap with an unstable argsort:
            # cap where the counts step down (terms seen at least 3 times).
            max_features = int((counts >= 3).sum())
            assert counts[max_features - 1] != counts[max_features] and max_features < len(counts)
            vec = TfidfVectorizer(max_features=max_features).fit(docs)
            c["max_features"] = max_features
            blocks.append(vec.transform(apply[col].fillna("")).toarray())
            names += [f"{col}__tfidf__{t}" for t in vec.get_feature_names_out()]
        elif pd.api.types.is_numeric_dtype(train[col]):
            x_train = train[[col]].to_numpy(dtype=float)
            x_apply = apply[[col]].to_numpy(dtype=float)
            imp = SimpleImputer(strategy=c["imputation"]).fit(x_train)
            scaler = SCALERS[c["scaling"]]().fit(imp.transform(x_train))
            blocks.append(scaler.transform(imp.transform(x_apply)))
            names.append(col)
            if np.isnan(x_train).any():
                ind = MissingIndicator(features="missing-only").fit(x_train)
                blocks.append(ind.transform(x_apply).astype(float))
                names.append(f"{col}__missing")
        else:
            x_train = train[[col]].astype(object).where(train[[col]].notna(), np.nan)
            x_apply = apply[[col]].astype(object).where(apply[[col]].notna(), np.nan)
            enc = OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=MAX_CATEGORIES,
                                sparse_output=False).fit(x_train)
            out = enc.transform(x_apply)
            cats = list(enc.categories_[0])
            infrequent = enc.infrequent_categories_[0]
            infrequent = [] if infrequent is None else list(infrequent)
            kept = [k for k in cats if not any(k is i or k == i for i in infrequent)]
            kept_block = out[:, : len(kept)]
            blocks.append(kept_block)
            blocks.append((1.0 - kept_block.sum(axis=1)).reshape(-1, 1))
            names += [f"{col}=<missing>" if isinstance(k, float) else f"{col}={k}" for k in kept]
            names.append(f"{col}__unknown")
    values = np.hstack(blocks)
    return dict(name=c["name"], train=c["train"], apply=c["apply"], target=c["target"],
                imputation=c["imputation"], scaling=c["scaling"],
                max_features=c.get("max_features", MAX_FEATURES), feature_names=names,
                values=values.tolist())


def main():
    out = dict(generator="make_reference.py", sklearn=sklearn.__version__, cases=[case(c) for c in CASES])
    with open("reference.json", "w") as f:
        json.dump(out, f)
    for c in out["cases"]:
        print(c["name"], len(c["values"]), "x", len(c["feature_names"]))


if __name__ == "__main__":
    main()
