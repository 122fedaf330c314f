//! ONNX models (MLflow's `onnx` flavor), run by tract, a pure-Rust runtime,
//! so a scikit-learn, XGBoost or PyTorch model exported to ONNX in Python is
//! served without Python and without a native library.
//!
//! The common export is one float tensor `[rows, features]` in (skl2onnx's
//! `FloatTensorType([None, n])`), fed from the signature's columns in
//! order, and a float tensor out: `probabilities` for a classifier exported
//! with `zipmap=False`, `variable` for a regressor, or a network's only
//! output. Anything else is refused at load time with what the model has,
//! so a misfit shows when `lathe serve` starts rather than per request. The
//! graph is optimized once at load; each request runs its rows as one batch.

use std::{
    collections::{BTreeMap, HashSet},
    fmt,
    sync::Arc,
};

use tract_onnx::{
    pb::{self, tensor_shape_proto::dimension::Value as Dim, type_proto::Value as Type},
    prelude::*,
};

use crate::scorer::Output;

/// ONNX's `TensorProto.DataType` codes for the element types we accept or name.
const FLOAT: i32 = 1;
const DOUBLE: i32 = 11;

/// Why a classifier exported with ZipMap is refused, and the fix.
const ZIPMAP: &str = "its probabilities are a ZipMap (a sequence of maps), which lathe does not \
    serve; export the classifier with skl2onnx's options={\"zipmap\": False} so they are a \
    tensor";

/// What the chosen output holds per row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// One score per class.
    Probabilities,
    /// One value (a regression).
    Value,
}

/// An ONNX graph optimized for its input `[rows, features]`.
#[derive(Clone)]
pub struct OnnxModel {
    plan: Arc<TypedSimplePlan>,
    input: String,
    dtype: DatumType,
    features: usize,
    output: String,
    width: usize,
    answer: Answer,
    classes: Vec<String>,
}

impl OnnxModel {
    /// The files beside the model that hold its weights (ONNX's external
    /// data, which `mlflow.onnx.log_model` writes for large tensors by
    /// default), for the caller to read and pass to [`OnnxModel::from_bytes`].
    pub fn external_files(bytes: &[u8]) -> Result<Vec<String>, String> {
        let proto = decode(bytes)?;
        let mut files: Vec<String> = proto
            .graph
            .iter()
            .flat_map(|g| &g.initializer)
            .filter_map(|t| external(t).map(|(location, _, _)| location.to_string()))
            .collect();
        files.sort();
        files.dedup();
        Ok(files)
    }

    /// Reads, checks and optimizes a serialized ONNX model; `external` holds
    /// the contents of its [`OnnxModel::external_files`], by name.
    pub fn from_bytes(
        bytes: &[u8],
        external: &BTreeMap<String, Vec<u8>>,
    ) -> Result<OnnxModel, String> {
        let onnx = runtime();
        let mut proto = decode(bytes)?;
        inline_external_data(&mut proto, external)?;
        let graph = proto.graph.as_ref().ok_or("not an ONNX model: it has no graph")?;
        if graph.node.iter().any(|n| n.op_type == "ZipMap") {
            return Err(ZIPMAP.into());
        }
        // Older exporters list weights among the inputs too.
        let weights: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
        let inputs: Vec<&pb::ValueInfoProto> =
            graph.input.iter().filter(|i| !weights.contains(i.name.as_str())).collect();
        let (input, dtype, features) = match inputs.as_slice() {
            [one] => matrix(one),
            _ => None,
        }
        .ok_or_else(|| {
            format!(
                "lathe serves ONNX models with one 2-D float input [rows, features] (skl2onnx's \
                 FloatTensorType([None, n])); this one has {}",
                describe_all(&inputs)
            )
        })?;
        let input = input.to_string();
        let floats: Vec<&pb::ValueInfoProto> = graph
            .output
            .iter()
            .filter(|o| tensor(o).is_some_and(|t| is_float(t.elem_type)))
            .collect();
        let output = ["probabilities", "variable"]
            .iter()
            .find_map(|name| floats.iter().find(|o| o.name == *name))
            .or_else(|| floats.first())
            .map(|o| o.name.clone())
            .ok_or_else(|| {
                let outputs: Vec<&pb::ValueInfoProto> = graph.output.iter().collect();
                format!("it has no float tensor output to answer with ({})", describe_all(&outputs))
            })?;
        let classes = class_labels(graph);
        let proto = with_int_labels(proto);

        let mut model = onnx
            .model_for_proto_model(&proto)
            .map_err(|e| format!("tract cannot read the graph: {e:#}"))?;
        let rows = model.symbols.sym("rows");
        let fact = InferenceFact::dt_shape(dtype, [rows.to_dim(), features.to_dim()]);
        let typed = model
            .set_input_fact(0, fact)
            .and_then(|()| model.select_outputs_by_name([output.as_str()]))
            .and_then(|()| model.into_optimized())
            .map_err(|e| format!("tract cannot prepare the graph: {e:#}"))?;
        let shape = typed.output_fact(0).map_err(|e| format!("{e:#}"))?.shape.clone();
        let width = match shape.dims() {
            [_] => Some(1),
            [_, width] => tract_onnx::prelude::tract_data::internal::DimLike::to_usize(width).ok(),
            _ => None,
        }
        .ok_or_else(|| format!("its output '{output}' has shape {shape:?}, not [rows, k]"))?;
        let answer = if output == "probabilities" || (width > 1 && output != "variable") {
            Answer::Probabilities
        } else if width == 1 {
            Answer::Value
        } else {
            return Err(format!("its output '{output}' has {width} values per row, expected 1"));
        };
        let classes = match (answer, classes) {
            (Answer::Value, _) => Vec::new(),
            (Answer::Probabilities, Some(classes)) if classes.len() == width => classes,
            (Answer::Probabilities, _) => (0..width).map(|c| c.to_string()).collect(),
        };
        let plan =
            typed.into_runnable().map_err(|e| format!("tract cannot plan the graph: {e:#}"))?;
        Ok(OnnxModel { plan, input, dtype, features, output, width, answer, classes })
    }

    /// How many columns a row has.
    pub fn features(&self) -> usize {
        self.features
    }

    /// Class labels in probability order (from the exported classifier,
    /// else `0..k`); empty for a regressor.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// Scores all rows in one run of the graph.
    pub fn score_rows(&self, rows: &[Vec<f64>]) -> Result<Vec<Output>, String> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut data = Vec::with_capacity(rows.len() * self.features);
        for row in rows {
            if row.len() != self.features {
                return Err(format!(
                    "a row has {} values, the model takes {}",
                    row.len(),
                    self.features
                ));
            }
            data.extend_from_slice(row);
        }
        let shape = [rows.len(), self.features];
        let input = if self.dtype == DatumType::F64 {
            Tensor::from_shape(&shape, &data)
        } else {
            // The narrowing is the model's own: it was exported for float32 inputs.
            let data: Vec<f32> = data.iter().map(|&v| v as f32).collect();
            Tensor::from_shape(&shape, &data)
        }
        .map_err(|e| format!("{e:#}"))?;
        let outputs = self.plan.run(tvec!(input.into_tvalue())).map_err(|e| format!("{e:#}"))?;
        let out = outputs.first().ok_or("the graph gave no output")?;
        let out = out.cast_to::<f64>().map_err(|e| format!("{e:#}"))?;
        let view = out.to_plain_array_view::<f64>().map_err(|e| format!("{e:#}"))?;
        let values: Vec<f64> = view.iter().copied().collect();
        if values.len() != rows.len() * self.width {
            return Err(format!(
                "output '{}' has {} values for {} rows of width {}",
                self.output,
                values.len(),
                rows.len(),
                self.width
            ));
        }
        Ok(values
            .chunks(self.width)
            .map(|row| match (self.answer, row) {
                (Answer::Probabilities, [_, positive]) => Output::Probability(*positive),
                (Answer::Probabilities, _) => Output::Probabilities(row.to_vec()),
                (Answer::Value, _) => Output::Value(row[0]),
            })
            .collect())
    }
}

impl fmt::Debug for OnnxModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnnxModel")
            .field("input", &self.input)
            .field("features", &self.features)
            .field("output", &self.output)
            .field("width", &self.width)
            .field("classes", &self.classes)
            .finish_non_exhaustive()
    }
}

impl PartialEq for OnnxModel {
    /// Two handles on the same loaded graph; graphs are not compared.
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.plan, &other.plan)
    }
}

fn decode(bytes: &[u8]) -> Result<pb::ModelProto, String> {
    runtime().proto_model_for_read(&mut &*bytes).map_err(|e| format!("not an ONNX model: {e:#}"))
}

/// ONNX's `TensorProto.DataLocation` for data kept in another file.
const EXTERNAL: i32 = 1;

/// `(location, offset, length)` of a tensor kept in another file.
fn external(t: &pb::TensorProto) -> Option<(&str, usize, Option<usize>)> {
    if t.data_location != Some(EXTERNAL) {
        return None;
    }
    let get = |key: &str| t.external_data.iter().find(|e| e.key == key).map(|e| e.value.as_str());
    let number = |key: &str| get(key).and_then(|v| v.parse::<usize>().ok());
    Some((get("location")?, number("offset").unwrap_or(0), number("length")))
}

/// Moves each external tensor's bytes into the model, as if it had been
/// saved in one file.
fn inline_external_data(
    proto: &mut pb::ModelProto,
    files: &BTreeMap<String, Vec<u8>>,
) -> Result<(), String> {
    let Some(graph) = proto.graph.as_mut() else { return Ok(()) };
    for tensor in &mut graph.initializer {
        let Some((location, offset, length)) = external(tensor) else { continue };
        let file = files.get(location).ok_or_else(|| {
            format!("its tensor '{}' is in '{location}', which is not beside it", tensor.name)
        })?;
        let end = length.map_or(Some(file.len()), |n| offset.checked_add(n));
        let data = end.and_then(|end| file.get(offset..end)).ok_or_else(|| {
            format!("its tensor '{}' lies past the end of '{location}'", tensor.name)
        })?;
        tensor.raw_data = data.to_vec();
        tensor.data_location = None;
        tensor.external_data.clear();
    }
    Ok(())
}

/// tract's ONNX reader, plus the one ai.onnx.ml operator skl2onnx emits for
/// every `StandardScaler`/`MinMaxScaler` that tract lacks: `Scaler`.
fn runtime() -> tract_onnx::Onnx {
    let mut onnx = tract_onnx::onnx();
    onnx.op_register.insert("Scaler", scaler::parse);
    onnx
}

fn tensor(value: &pb::ValueInfoProto) -> Option<&pb::type_proto::Tensor> {
    match value.r#type.as_ref()?.value.as_ref()? {
        Type::TensorType(t) => Some(t),
    }
}

fn is_float(elem_type: i32) -> bool {
    elem_type == FLOAT || elem_type == DOUBLE
}

/// `(name, element type, features)` of an input `[rows, features]` of floats.
fn matrix(value: &pb::ValueInfoProto) -> Option<(&str, DatumType, usize)> {
    let t = tensor(value)?;
    let dtype = match t.elem_type {
        FLOAT => DatumType::F32,
        DOUBLE => DatumType::F64,
        _ => return None,
    };
    match t.shape.as_ref()?.dim.as_slice() {
        [_, width] => match width.value {
            Some(Dim::DimValue(n)) if n > 0 => {
                Some((value.name.as_str(), dtype, usize::try_from(n).ok()?))
            }
            _ => None,
        },
        _ => None,
    }
}

/// `name: float[?, 30]` for each value, for messages.
fn describe_all(values: &[&pb::ValueInfoProto]) -> String {
    if values.is_empty() {
        return "none".into();
    }
    let described: Vec<String> = values.iter().map(|v| describe(v)).collect();
    described.join(", ")
}

fn describe(value: &pb::ValueInfoProto) -> String {
    let Some(t) = tensor(value) else {
        return format!("{}: not a tensor (a sequence or map)", value.name);
    };
    let ty = match t.elem_type {
        FLOAT => "float",
        DOUBLE => "double",
        2 => "uint8",
        3 => "int8",
        6 => "int32",
        7 => "int64",
        8 => "string",
        9 => "bool",
        10 => "float16",
        _ => "other",
    };
    let dims: Vec<String> = t.shape.as_ref().map_or_else(Vec::new, |shape| {
        shape
            .dim
            .iter()
            .map(|d| match &d.value {
                Some(Dim::DimValue(n)) => n.to_string(),
                Some(Dim::DimParam(p)) if !p.is_empty() => p.clone(),
                _ => "?".into(),
            })
            .collect()
    });
    format!("{}: {ty}[{}]", value.name, dims.join(", "))
}

/// The labels of the graph's classifier (ai.onnx.ml `*Classifier` nodes
/// carry them as `classlabels_strings` or `classlabels_ints`).
fn class_labels(graph: &pb::GraphProto) -> Option<Vec<String>> {
    let node = graph.node.iter().find(|n| n.op_type.ends_with("Classifier"))?;
    node.attribute.iter().find_map(|a| match a.name.as_str() {
        "classlabels_strings" => {
            Some(a.strings.iter().map(|s| String::from_utf8_lossy(s).into_owned()).collect())
        }
        "classlabels_ints" => Some(a.ints.iter().map(i64::to_string).collect()),
        _ => None,
    })
}

/// The model with its classifiers' string labels replaced by their
/// positions: tract cannot translate a classifier with string labels, and
/// only the probabilities are served (the labels were read beforehand).
fn with_int_labels(mut proto: pb::ModelProto) -> pb::ModelProto {
    /// ONNX's `AttributeProto.AttributeType` for a list of integers.
    const INTS: i32 = 7;
    let Some(graph) = proto.graph.as_mut() else { return proto };
    for node in graph.node.iter_mut().filter(|n| n.op_type.ends_with("Classifier")) {
        for attribute in node.attribute.iter_mut().filter(|a| a.name == "classlabels_strings") {
            attribute.name = "classlabels_ints".into();
            attribute.r#type = INTS;
            attribute.ints = (0..attribute.strings.len()).map(|i| i as i64).collect();
            attribute.strings.clear();
        }
    }
    proto
}

/// ai.onnx.ml `Scaler`, built from tract's own subtraction and multiplication.
mod scaler {
    use tract_onnx::{model::ParsingContext, pb, tract_hir::internal::*};

    /// ai.onnx.ml `Scaler`: `(x - offset) * scale`, per column or for all.
    #[derive(Debug, Clone)]
    struct Scaler {
        offset: Arc<Tensor>,
        scale: Arc<Tensor>,
    }

    /// Builds the op from the node's `offset` and `scale` (one value each, or one per column).
    pub(super) fn parse(
        _ctx: &ParsingContext,
        node: &pb::NodeProto,
    ) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
        let row = |values: Vec<f32>| -> TractResult<Arc<Tensor>> {
            let width = values.len();
            Ok(tensor1(&values).into_shape(&[1, width])?.into_arc_tensor())
        };
        let offset = node.get_attr_opt_vec::<f32>("offset")?.unwrap_or_else(|| vec![0.0]);
        let scale = node.get_attr_opt_vec::<f32>("scale")?.unwrap_or_else(|| vec![1.0]);
        Ok((expand(Scaler { offset: row(offset)?, scale: row(scale)? }), vec![]))
    }

    impl Expansion for Scaler {
        fn name(&self) -> StaticName {
            "Scaler".into()
        }

        fn rules<'r, 'p: 'r, 's: 'r>(
            &'s self,
            s: &mut Solver<'r>,
            inputs: &'p [TensorProxy],
            outputs: &'p [TensorProxy],
        ) -> InferenceResult {
            check_input_arity(inputs, 1)?;
            check_output_arity(outputs, 1)?;
            s.equals(&outputs[0].datum_type, DatumType::F32)?;
            s.equals(&inputs[0].shape, &outputs[0].shape)?;
            Ok(())
        }

        fn wire(
            &self,
            prefix: &str,
            model: &mut TypedModel,
            inputs: &[OutletId],
        ) -> TractResult<TVec<OutletId>> {
            let mut x = inputs[0];
            ensure!(model.outlet_fact(x)?.rank() == 2, "Scaler expects a [rows, features] input");
            if model.outlet_fact(x)?.datum_type != DatumType::F32 {
                let cast = tract_onnx::tract_core::ops::cast::cast(DatumType::F32);
                x = model.wire_node(format!("{prefix}.to_f32"), cast, &[x])?[0];
            }
            let offset = model.add_const(format!("{prefix}.offset"), self.offset.clone())?;
            let scale = model.add_const(format!("{prefix}.scale"), self.scale.clone())?;
            let sub = tract_onnx::tract_core::ops::math::sub();
            let centred = model.wire_node(format!("{prefix}.sub"), sub, &[x, offset])?[0];
            let mul = tract_onnx::tract_core::ops::math::mul();
            model.wire_node(format!("{prefix}.mul"), mul, &[centred, scale])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// skl2onnx's export of StandardScaler + LogisticRegression (3 classes,
    /// string labels, zipmap=False) and scikit-learn's own probabilities;
    /// `test_data/onnx/make_fixtures.py` wrote them.
    const CLASSIFIER: &[u8] = include_bytes!("../test_data/onnx/classifier.onnx");
    const REFERENCE: &str = include_str!("../test_data/onnx/reference.json");

    fn error(bytes: &[u8]) -> String {
        match OnnxModel::from_bytes(bytes, &BTreeMap::new()) {
            Ok(model) => panic!("loaded {model:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn a_scikit_learn_pipeline_scores_a_batch_as_scikit_learn_does() {
        let model =
            OnnxModel::from_bytes(CLASSIFIER, &BTreeMap::new()).unwrap_or_else(|e| panic!("{e}"));
        let reference: serde_json::Value = serde_json::from_str(REFERENCE).unwrap();
        assert_eq!(model.features(), 4);
        assert_eq!(serde_json::json!(model.classes()), reference["classes"]);
        let rows: Vec<Vec<f64>> = serde_json::from_value(reference["rows"].clone()).unwrap();
        let want: Vec<Vec<f64>> =
            serde_json::from_value(reference["probabilities"].clone()).unwrap();
        let got = model.score_rows(&rows).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got.len(), rows.len());
        for (r, (got, want)) in got.iter().zip(&want).enumerate() {
            let Output::Probabilities(got) = got else { panic!("row {r}: {got:?}") };
            for (g, w) in got.iter().zip(want) {
                assert!((g - w).abs() <= 1e-5, "row {r}: {got:?} vs scikit-learn's {want:?}");
            }
        }
        // One row alone gives what it gave inside the batch.
        let one = model.score_rows(&rows[3..4]).unwrap_or_else(|e| panic!("{e}"));
        let batch = model.score_rows(&rows).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(one[0], batch[3]);
        assert_eq!(model.score_rows(&[]).unwrap_or_default(), Vec::new());
        let short = model.score_rows(&[vec![1.0, 2.0]]).unwrap_err();
        assert!(short.contains("2 values, the model takes 4"), "{short}");
    }

    #[test]
    fn a_regressor_with_its_weights_beside_it_predicts_in_float64() {
        let model = include_bytes!("../test_data/onnx/regressor.onnx");
        let weights = include_bytes!("../test_data/onnx/regressor.weights");
        let reference: serde_json::Value =
            serde_json::from_str(include_str!("../test_data/onnx/regressor.json")).unwrap();
        let files = OnnxModel::external_files(model).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(files, ["regressor.weights"]);

        let missing = OnnxModel::from_bytes(model, &BTreeMap::new()).unwrap_err();
        assert!(missing.contains("in 'regressor.weights', which is not beside it"), "{missing}");
        let short = BTreeMap::from([(files[0].clone(), weights[..20].to_vec())]);
        let short = OnnxModel::from_bytes(model, &short).unwrap_err();
        assert!(short.contains("past the end of 'regressor.weights'"), "{short}");

        let beside = BTreeMap::from([(files[0].clone(), weights.to_vec())]);
        let model = OnnxModel::from_bytes(model, &beside).unwrap_or_else(|e| panic!("{e}"));
        assert!(model.classes().is_empty());
        let rows: Vec<Vec<f64>> = serde_json::from_value(reference["rows"].clone()).unwrap();
        let want: Vec<f64> = serde_json::from_value(reference["predictions"].clone()).unwrap();
        let got = model.score_rows(&rows).unwrap_or_else(|e| panic!("{e}"));
        for (r, (got, want)) in got.iter().zip(&want).enumerate() {
            let Output::Value(got) = got else { panic!("row {r}: {got:?}") };
            assert!((got - want).abs() <= 1e-9, "row {r}: {got} vs scikit-learn's {want}");
        }
    }

    #[test]
    fn what_lathe_cannot_serve_is_refused_with_what_the_model_has() {
        let garbage = error(b"these bytes are not a protobuf of a model");
        assert!(garbage.starts_with("not an ONNX model"), "{garbage}");
        assert!(error(b"").contains("no graph"), "an empty file");

        let two = error(include_bytes!("../test_data/onnx/two_inputs.onnx"));
        assert!(two.contains("one 2-D float input"), "{two}");
        assert!(two.contains("a: float[?, 2], b: int64[?]"), "{two}");

        let zipmap = error(include_bytes!("../test_data/onnx/zipmap.onnx"));
        assert!(zipmap.contains("ZipMap") && zipmap.contains("\"zipmap\": False"), "{zipmap}");
    }
}
