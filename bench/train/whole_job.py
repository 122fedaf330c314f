"""The Python side of bench/train/whole_job.sh: the job `lathe train` does,
written the way a data scientist writes it with the usual stack.

    whole_job.py DATA.csv TARGET TRACKING_URI EXPERIMENT [THREADS]

Read the CSV with pandas; hold out 20 % stratified (seed 42); a scikit-learn
ColumnTransformer (numbers: median imputation + standard scaling; text
columns: most-frequent imputation + one-hot with unknown categories ignored);
LightGBM with its defaults; test metrics from scikit-learn (ROC AUC, PR AUC,
accuracy, F1, log loss, Brier); ROC, PR and calibration plots with
matplotlib; everything logged to an MLflow tracking server, the model with
`mlflow.lightgbm.log_model` (signature and input example included) and the
fitted preprocessing beside it.

The imports are inside the timed job: they are part of what a user waits for.
Prints one JSON line: wall seconds per stage, the run id and the test AUC.
"""

import json
import sys
import time

T0 = time.perf_counter()


def main(path, target, tracking_uri, experiment, threads=2):
    stages = {}
    t = time.perf_counter()
    import lightgbm
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mlflow
    import mlflow.lightgbm
    import numpy as np
    import pandas as pd
    from mlflow.models import infer_signature
    from sklearn.calibration import calibration_curve
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.metrics import (
        accuracy_score,
        average_precision_score,
        brier_score_loss,
        f1_score,
        log_loss,
        precision_recall_curve,
        roc_auc_score,
        roc_curve,
    )
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    stages["import"] = time.perf_counter() - t

    t = time.perf_counter()
    df = pd.read_csv(path)
    stages["read"] = time.perf_counter() - t

    t = time.perf_counter()
    y_raw = df[target]
    classes = sorted(y_raw.dropna().unique())
    y = (y_raw == classes[-1]).astype(int).to_numpy()
    x = df.drop(columns=[target])
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.2, stratify=y, random_state=42
    )
    numeric = [c for c in x.columns if pd.api.types.is_numeric_dtype(x[c])]
    text = [c for c in x.columns if c not in numeric]
    prep = ColumnTransformer(
        [
            ("num", Pipeline([("impute", SimpleImputer(strategy="median")),
                              ("scale", StandardScaler())]), numeric),
            ("cat", Pipeline([("impute", SimpleImputer(strategy="most_frequent")),
                              ("onehot", OneHotEncoder(handle_unknown="ignore",
                                                       sparse_output=False))]), text),
        ]
    )
    xt_train = prep.fit_transform(x_train)
    xt_test = prep.transform(x_test)
    stages["preprocess"] = time.perf_counter() - t

    t = time.perf_counter()
    model = lightgbm.LGBMClassifier(verbose=-1, n_jobs=threads)
    model.fit(xt_train, y_train)
    stages["fit"] = time.perf_counter() - t

    t = time.perf_counter()
    proba = model.predict_proba(xt_test)[:, 1]
    label = (proba >= 0.5).astype(int)
    metrics = {
        "roc_auc": roc_auc_score(y_test, proba),
        "pr_auc": average_precision_score(y_test, proba),
        "accuracy": accuracy_score(y_test, label),
        "f1": f1_score(y_test, label),
        "log_loss": log_loss(y_test, proba),
        "brier": brier_score_loss(y_test, proba),
    }
    figures = {}
    fig, ax = plt.subplots()
    fpr, tpr, _ = roc_curve(y_test, proba)
    ax.plot(fpr, tpr)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    figures["eval/roc.png"] = fig
    fig, ax = plt.subplots()
    precision, recall, _ = precision_recall_curve(y_test, proba)
    ax.plot(recall, precision)
    ax.set(xlabel="recall", ylabel="precision", title="PR")
    figures["eval/pr.png"] = fig
    fig, ax = plt.subplots()
    observed, predicted = calibration_curve(y_test, proba, n_bins=10)
    ax.plot(predicted, observed, marker="o")
    ax.set(xlabel="predicted", ylabel="observed", title="calibration")
    figures["eval/calibration.png"] = fig
    stages["evaluate"] = time.perf_counter() - t

    t = time.perf_counter()
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(experiment)
    with mlflow.start_run() as run:
        mlflow.log_input(mlflow.data.from_pandas(df, source=path, targets=target), "training")
        mlflow.log_params({f"lgbm_{k}": v for k, v in model.get_params().items()})
        mlflow.log_metrics(metrics)
        for name, fig in figures.items():
            mlflow.log_figure(fig, name)
        # MLflow 3's default skops format asks for the fitted encoder's dtypes to be trusted.
        mlflow.sklearn.log_model(prep, name="preprocessing", skops_trusted_types=["numpy.dtype"])
        mlflow.lightgbm.log_model(
            model,
            name="model",
            signature=infer_signature(xt_test[:100], proba[:100]),
            input_example=xt_test[:5],
        )
        run_id = run.info.run_id
    stages["log"] = time.perf_counter() - t

    print(json.dumps({"tool": "python", "stages_s": stages,
                      "job_s": time.perf_counter() - T0, "run_id": run_id,
                      "roc_auc": metrics["roc_auc"],
                      "versions": {"lightgbm": lightgbm.__version__,
                                   "mlflow": mlflow.__version__,
                                   "pandas": pd.__version__,
                                   "numpy": np.__version__}}))


if __name__ == "__main__":
    main(*sys.argv[1:5], *([int(sys.argv[5])] if len(sys.argv) > 5 else []))
