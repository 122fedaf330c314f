"""scikit-learn models exported to ONNX with skl2onnx and logged with the
stock mlflow client (mlflow.onnx.log_model) to the server in
MLFLOW_TRACKING_URI, each registered as version 1 of its name:

- cancer-onnx: StandardScaler + LogisticRegression on the breast-cancer data,
  float32 input (FloatTensorType), exported with zipmap=False;
- diabetes-onnx: Ridge on scikit-learn's diabetes data, float64 input.

Writes to argv[2] the rows the test sends and scikit-learn's own answers for
them. Prints "skip: ..." and exits 0 when the venv lacks skl2onnx or
onnxruntime (which mlflow.onnx.save_model imports).

usage: onnx_sklearn.py BREAST_CANCER_CSV OUT_JSON
"""

import json
import sys

try:
    import onnxruntime  # noqa: F401
    import skl2onnx  # noqa: F401
except ImportError as missing:
    print(f"skip: {missing}")
    sys.exit(0)

import mlflow
import pandas as pd
from mlflow.models import infer_signature
from skl2onnx import to_onnx
from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

data, out = sys.argv[1], sys.argv[2]
answers = {}

frame = pd.read_csv(data)
labels = frame.pop("diagnosis")
# The ONNX graph takes float32: scikit-learn sees the same float32 values.
features = frame.astype("float32")
classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
classifier.fit(features, labels)
exported = to_onnx(
    classifier,
    initial_types=[("input", FloatTensorType([None, features.shape[1]]))],
    options={"zipmap": False},
)
rows = frame.iloc[:60]
with mlflow.start_run():
    mlflow.onnx.log_model(
        exported,
        name="model",
        signature=infer_signature(frame, classifier.predict_proba(features)),
        registered_model_name="cancer-onnx",
    )
answers["cancer-onnx"] = {
    "columns": list(frame.columns),
    "rows": rows.values.tolist(),
    "classes": [str(c) for c in classifier.classes_],
    # lathe answers a binary classifier with its second class's probability.
    "want": classifier.predict_proba(features.iloc[:60])[:, 1].tolist(),
}

diabetes = load_diabetes(as_frame=True)
regressor = Ridge(alpha=0.5).fit(diabetes.data, diabetes.target)
exported = to_onnx(
    regressor, initial_types=[("input", DoubleTensorType([None, diabetes.data.shape[1]]))]
)
rows = diabetes.data.iloc[:60]
with mlflow.start_run():
    mlflow.onnx.log_model(
        exported,
        name="model",
        signature=infer_signature(diabetes.data, regressor.predict(diabetes.data)),
        registered_model_name="diabetes-onnx",
    )
answers["diabetes-onnx"] = {
    "columns": list(diabetes.data.columns),
    "rows": rows.values.tolist(),
    "want": regressor.predict(rows).tolist(),
}

with open(out, "w") as f:
    json.dump(answers, f)
print("logged 2 models")
