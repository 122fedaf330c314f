"""Writes the ONNX fixtures of lathe-serve's tests (run with the test venv:
scikit-learn 1.9.1, skl2onnx 1.20.0, onnx 1.23.2):

- classifier.onnx: StandardScaler + 3-class LogisticRegression on 4 features,
  exported with zipmap=False (the Scaler op tract lacks, LinearClassifier with
  string labels, a probabilities tensor); reference.json holds rows and
  scikit-learn's predict_proba for them.
- zipmap.onnx: the same classifier exported with skl2onnx's defaults (ZipMap).
- two_inputs.onnx: a graph with two inputs, which lathe refuses.
- regressor.onnx: Ridge on 3 features, float64 input (MatMul + Add), its
  weights saved as external data in regressor.weights (as
  mlflow.onnx.log_model does for large tensors); regressor.json holds rows
  and scikit-learn's predictions.
"""
import json

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from skl2onnx import to_onnx
from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

X, y = make_classification(
    n_samples=200, n_features=4, n_informative=3, n_redundant=0, n_classes=3, random_state=0
)
X = (X * [1.0, 10.0, 100.0, 0.1] + [0.0, 5.0, -50.0, 1.0]).astype(np.float32)
labels = np.array(["setosa", "versicolor", "virginica"])[y]
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, labels)
inputs = [("input", FloatTensorType([None, 4]))]
with open("classifier.onnx", "wb") as f:
    f.write(to_onnx(model, initial_types=inputs, options={"zipmap": False}).SerializeToString())
with open("zipmap.onnx", "wb") as f:
    f.write(to_onnx(model, initial_types=inputs).SerializeToString())
rows = X[:12]
reference = {
    "classes": model.classes_.tolist(),
    "rows": rows.astype(float).tolist(),
    "probabilities": model.predict_proba(rows).tolist(),
}
with open("reference.json", "w") as f:
    json.dump(reference, f)

a = helper.make_tensor_value_info("a", TensorProto.FLOAT, [None, 2])
b = helper.make_tensor_value_info("b", TensorProto.INT64, [None])
out = helper.make_tensor_value_info("sum", TensorProto.FLOAT, [None, 2])
graph = helper.make_graph(
    [helper.make_node("Cast", ["b"], ["bf"], to=TensorProto.FLOAT),
     helper.make_node("Unsqueeze", ["bf", "axes"], ["b2"]),
     helper.make_node("Add", ["a", "b2"], ["sum"])],
    "two_inputs",
    [a, b],
    [out],
    initializer=[helper.make_tensor("axes", TensorProto.INT64, [1], [1])],
)
two = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
onnx.checker.check_model(two)
with open("two_inputs.onnx", "wb") as f:
    f.write(two.SerializeToString())

Xr = np.linspace(-3.0, 3.0, 60).reshape(20, 3) ** [1, 2, 3]
yr = Xr @ [2.0, -1.5, 0.25] + 40.0
ridge = Ridge(alpha=0.1).fit(Xr, yr)
exported = to_onnx(ridge, initial_types=[("input", DoubleTensorType([None, 3]))])
# Only tensors held as raw bytes are moved out: re-encode skl2onnx's.
weights = [numpy_helper.from_array(numpy_helper.to_array(t), t.name) for t in exported.graph.initializer]
del exported.graph.initializer[:]
exported.graph.initializer.extend(weights)
onnx.save_model(
    exported,
    "regressor.onnx",
    save_as_external_data=True,
    all_tensors_to_one_file=True,
    location="regressor.weights",
    size_threshold=0,
)
with open("regressor.json", "w") as f:
    json.dump({"rows": Xr[:8].tolist(), "predictions": ridge.predict(Xr[:8]).tolist()}, f)
