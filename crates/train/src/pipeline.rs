//! A fitted pipeline: the [`Preprocessor`] fitted on the training rows plus
//! the [`TabularModel`] fitted on its features, saved together as one MLflow
//! model directory.
//!
//! The directory holds `preprocess.json`, `model.txt`, `lathe_model.json`,
//! `input_example.json` (two training rows in MLflow's `split` orient) and an
//! `MLmodel` with the `lathe_tabular` flavor and an MLflow signature whose
//! inputs are the raw columns the preprocessing reads. `python_function` is
//! not claimed: no Python class loads these files.
//!
//! Serving scores one JSON object with [`FittedPipeline::predict_row`] (no
//! DataFrame); batch scoring uses [`FittedPipeline::predict_frame`]. Both go
//! through the preprocessor's shared per-cell code and the same trees, so
//! they agree exactly.

use std::path::Path;

use lathe_data::{ColumnType, Preprocessor, TransformReport};
use polars::prelude::{AnyValue, DataFrame, DataType};

use crate::mlflow::{colspec_json, yaml_quote};
use crate::{
    Error, MlmodelInfo, Prediction, Predictions, Result, TabularModel, LINEAR_FILE, META_FILE,
    TREES_FILE,
};

/// File name of the fitted preprocessing inside a model directory.
pub const PREPROCESS_FILE: &str = "preprocess.json";
/// File name of MLflow's model description.
pub const MLMODEL_FILE: &str = "MLmodel";
/// File name of the input example (MLflow's `split` orient).
pub const INPUT_EXAMPLE_FILE: &str = "input_example.json";
/// The flavor name in `MLmodel`.
pub const FLAVOR: &str = "lathe_tabular";

/// One raw input column of the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputColumn {
    /// Column name.
    pub name: String,
    /// MLflow's colspec type: `double`, `long`, `string`, `boolean` or `datetime`.
    pub mlflow_type: String,
}

/// Preprocessing + model, loadable from and savable to a model directory.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedPipeline {
    preprocessor: Preprocessor,
    model: TabularModel,
    inputs: Vec<InputColumn>,
    example: Option<serde_json::Value>,
}

impl FittedPipeline {
    /// Joins a preprocessor and the model fitted on its features. `sample`
    /// (the training rows) gives integer columns the `long` type and the
    /// first two rows the input example.
    pub fn new(
        preprocessor: Preprocessor,
        model: TabularModel,
        sample: &DataFrame,
    ) -> Result<FittedPipeline> {
        check_features(&preprocessor, &model)?;
        let inputs = preprocessor
            .input_columns()
            .into_iter()
            .map(|(name, kind)| {
                let integer = sample
                    .column(&name)
                    .is_ok_and(|c| c.dtype().is_integer() && c.null_count() == 0);
                InputColumn { mlflow_type: mlflow_type(kind, integer).into(), name }
            })
            .collect();
        let mut pipeline = FittedPipeline { preprocessor, model, inputs, example: None };
        pipeline.example = Some(pipeline.input_example(sample)?);
        Ok(pipeline)
    }

    /// The pipeline from the bytes of its files, as an artifact store hands
    /// them out. Without `mlmodel` the signature types are derived from the
    /// preprocessing (numbers as `double`).
    pub fn from_files(
        preprocess_json: &str,
        meta_json: &str,
        model_txt: &str,
        mlmodel: Option<&str>,
        input_example: Option<&str>,
    ) -> Result<FittedPipeline> {
        let preprocessor = Preprocessor::from_json(preprocess_json)?;
        let meta = serde_json::from_str(meta_json)
            .map_err(|e| Error::ModelFile(format!("{META_FILE}: {e}")))?;
        let model = body_model(meta, model_txt)?;
        check_features(&preprocessor, &model)?;
        let declared = match mlmodel {
            Some(text) => signature_inputs(text)?,
            None => None,
        };
        let inputs = match declared {
            Some(inputs) => inputs,
            None => preprocessor
                .input_columns()
                .into_iter()
                .map(|(name, kind)| InputColumn {
                    mlflow_type: mlflow_type(kind, false).into(),
                    name,
                })
                .collect(),
        };
        let names: Vec<String> = preprocessor.input_columns().into_iter().map(|(n, _)| n).collect();
        if inputs.iter().map(|c| &c.name).ne(names.iter()) {
            return Err(Error::ModelFile(format!(
                "{MLMODEL_FILE}: the signature inputs are not the columns {PREPROCESS_FILE} reads ({names:?})"
            )));
        }
        let example = match input_example {
            Some(text) => Some(
                serde_json::from_str(text)
                    .map_err(|e| Error::ModelFile(format!("{INPUT_EXAMPLE_FILE}: {e}")))?,
            ),
            None => None,
        };
        Ok(FittedPipeline { preprocessor, model, inputs, example })
    }

    /// Reads a model directory written by [`FittedPipeline::save`].
    pub fn load(dir: &Path) -> Result<FittedPipeline> {
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name))
                .map_err(|e| Error::ModelFile(format!("{}: {e}", dir.join(name).display())))
        };
        let optional = |name: &str| dir.join(name).is_file().then(|| read(name)).transpose();
        let mlmodel = optional(MLMODEL_FILE)?;
        let example = optional(INPUT_EXAMPLE_FILE)?;
        FittedPipeline::from_files(
            &read(PREPROCESS_FILE)?,
            &read(META_FILE)?,
            &read(if dir.join(TREES_FILE).is_file() { TREES_FILE } else { LINEAR_FILE })?,
            mlmodel.as_deref(),
            example.as_deref(),
        )
    }

    /// The file that holds the model's body: `model.txt` (trees) or `linear.json`.
    pub fn body_file(&self) -> &'static str {
        if self.model.model_text().is_some() {
            TREES_FILE
        } else {
            LINEAR_FILE
        }
    }

    fn body(&self) -> Result<String> {
        match (self.model.model_text(), self.model.linear()) {
            (Some(text), _) => Ok(text.to_string()),
            (None, Some(weights)) => serde_json::to_string(weights)
                .map_err(|e| Error::ModelFile(format!("{LINEAR_FILE}: {e}"))),
            (None, None) => Err(Error::ModelFile("the model has neither trees nor weights".into())),
        }
    }

    /// Every file of the model directory, by name.
    pub fn files(&self, info: &MlmodelInfo<'_>) -> Result<Vec<(&'static str, Vec<u8>)>> {
        let meta = serde_json::to_string_pretty(self.model.meta())
            .map_err(|e| Error::ModelFile(format!("{META_FILE}: {e}")))?;
        let mut files = vec![
            (PREPROCESS_FILE, self.preprocessor.to_json()?.into_bytes()),
            (self.body_file(), self.body()?.into_bytes()),
            (META_FILE, meta.into_bytes()),
            (MLMODEL_FILE, self.mlmodel(info).into_bytes()),
        ];
        if let Some(example) = &self.example {
            files.push((INPUT_EXAMPLE_FILE, example.to_string().into_bytes()));
        }
        Ok(files)
    }

    /// Writes the model directory (created if needed).
    pub fn save(&self, dir: &Path, info: &MlmodelInfo<'_>) -> Result<()> {
        let io = |p: &Path, e: std::io::Error| Error::ModelFile(format!("{}: {e}", p.display()));
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        for (name, bytes) in self.files(info)? {
            let path = dir.join(name);
            std::fs::write(&path, bytes).map_err(|e| io(&path, e))?;
        }
        Ok(())
    }

    /// The fitted preprocessing.
    pub fn preprocessor(&self) -> &Preprocessor {
        &self.preprocessor
    }

    /// The fitted model.
    pub fn model(&self) -> &TabularModel {
        &self.model
    }

    /// The raw input columns with their MLflow types, in order.
    pub fn inputs(&self) -> &[InputColumn] {
        &self.inputs
    }

    /// MLflow's colspec JSON of the inputs.
    pub fn signature_inputs_json(&self) -> String {
        colspec_json(self.inputs.iter().map(|c| (c.name.as_str(), c.mlflow_type.as_str())))
    }

    /// MLflow's colspec JSON of the outputs: `prediction`, then one
    /// `proba_<class>` per class for classifiers.
    pub fn signature_outputs_json(&self) -> String {
        let classes = self.model.classes();
        let probas: Vec<String> = classes.iter().map(|c| format!("proba_{c}")).collect();
        let kind = if classes.is_empty() { "double" } else { "string" };
        let mut cols = vec![("prediction", kind)];
        cols.extend(probas.iter().map(|p| (p.as_str(), "double")));
        colspec_json(cols)
    }

    /// The `MLmodel` file.
    pub fn mlmodel(&self, info: &MlmodelInfo<'_>) -> String {
        let q = yaml_quote;
        let meta = self.model.meta();
        let classes: Vec<String> = meta.classes.iter().map(|c| q(c)).collect();
        let example = if self.example.is_some() {
            format!(
                "saved_input_example_info:\n  artifact_path: {INPUT_EXAMPLE_FILE}\n  \
                 pandas_orient: split\n  type: dataframe\n"
            )
        } else {
            String::new()
        };
        format!(
            "artifact_path: {artifact_path}\n\
             flavors:\n\
             \x20 {FLAVOR}:\n\
             \x20   classes: [{classes}]\n\
             \x20   data: {body}\n\
             \x20   learner: {learner}\n\
             \x20   lathe_version: {lathe_version}\n\
             \x20   meta: {META_FILE}\n\
             \x20   preprocess: {PREPROCESS_FILE}\n\
             \x20   task: {task}\n\
             model_uuid: {model_uuid}\n\
             run_id: {run_id}\n\
             {example}\
             signature:\n\
             \x20 inputs: {inputs}\n\
             \x20 outputs: {outputs}\n\
             \x20 params: null\n\
             utc_time_created: {created}\n",
            artifact_path = q(info.artifact_path),
            body = self.body_file(),
            classes = classes.join(", "),
            learner = q(&meta.learner),
            lathe_version = q(info.lathe_version),
            task = q(&format!("{:?}", meta.task).to_ascii_lowercase()),
            model_uuid = q(info.model_uuid),
            run_id = q(info.run_id),
            inputs = q(&self.signature_inputs_json()),
            outputs = q(&self.signature_outputs_json()),
            created = q(info.utc_time_created),
        )
    }

    /// The prediction for one JSON object (the columns of the signature).
    pub fn predict_row(
        &self,
        row: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Prediction> {
        let features = self.preprocessor.transform_row(row)?;
        self.model.predict_row(&features)
    }

    /// Predictions for every row of `frame`, and what the preprocessing noticed
    /// (unseen categories per column).
    pub fn predict_frame(&self, frame: &DataFrame) -> Result<(Predictions, TransformReport)> {
        let (features, report) = self.preprocessor.transform(frame)?;
        Ok((self.model.predict(&features)?, report))
    }

    /// The first two rows of `sample`'s input columns in MLflow's split orient.
    fn input_example(&self, sample: &DataFrame) -> Result<serde_json::Value> {
        let rows = sample.height().min(2);
        let columns: Vec<&str> = self.inputs.iter().map(|c| c.name.as_str()).collect();
        let mut data = vec![Vec::with_capacity(columns.len()); rows];
        for name in &columns {
            let col = sample
                .column(name)
                .map_err(|e| Error::Features(format!("input example, column {name:?}: {e}")))?;
            for (i, row) in data.iter_mut().enumerate() {
                let value = col
                    .get(i)
                    .map_err(|e| Error::Features(format!("input example, column {name:?}: {e}")))?;
                row.push(json_value(&value));
            }
        }
        Ok(serde_json::json!({ "columns": columns, "data": data }))
    }
}

/// The preprocessing's outputs must be the model's features, in order.
fn check_features(preprocessor: &Preprocessor, model: &TabularModel) -> Result<()> {
    if preprocessor.feature_names() != model.feature_names() {
        return Err(Error::ModelFile(format!(
            "{PREPROCESS_FILE} makes {} features that are not the {} features of {META_FILE}",
            preprocessor.feature_names().len(),
            model.feature_names().len()
        )));
    }
    Ok(())
}

fn mlflow_type(kind: ColumnType, integer: bool) -> &'static str {
    match kind {
        ColumnType::Numeric if integer => "long",
        ColumnType::Numeric => "double",
        ColumnType::Boolean => "boolean",
        ColumnType::Datetime => "datetime",
        ColumnType::Categorical | ColumnType::Text => "string",
    }
}

fn json_value(v: &AnyValue<'_>) -> serde_json::Value {
    match v {
        AnyValue::Null => serde_json::Value::Null,
        AnyValue::Boolean(b) => (*b).into(),
        AnyValue::String(s) => (*s).into(),
        AnyValue::StringOwned(s) => s.as_str().into(),
        other if other.dtype().is_integer() => {
            other.extract::<i64>().map_or(serde_json::Value::Null, Into::into)
        }
        other if other.dtype() == DataType::Float32 || other.dtype() == DataType::Float64 => other
            .extract::<f64>()
            .and_then(serde_json::Number::from_f64)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        other => other.to_string().into(),
    }
}

/// The `signature: inputs:` colspec of an `MLmodel` this module wrote (one
/// line, a single-quoted or plain YAML scalar); `None` when it has none.
fn signature_inputs(mlmodel: &str) -> Result<Option<Vec<InputColumn>>> {
    let Some(line) = mlmodel.lines().find_map(|l| l.strip_prefix("  inputs: ")) else {
        return Ok(None);
    };
    let text = match line.strip_prefix('\'').and_then(|l| l.strip_suffix('\'')) {
        Some(quoted) => quoted.replace("''", "'"),
        None => line.to_string(),
    };
    let bad = |e: String| Error::ModelFile(format!("{MLMODEL_FILE}: signature inputs: {e}"));
    let specs: Vec<serde_json::Value> =
        serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    specs
        .iter()
        .map(|s| {
            let field = |k: &str| {
                s.get(k).and_then(|v| v.as_str()).map(str::to_string).ok_or_else(|| {
                    bad(format!("a column without a string {k:?}; expected name and type"))
                })
            };
            Ok(InputColumn { name: field("name")?, mlflow_type: field("type")? })
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

#[cfg(all(test, feature = "lightgbm"))]
#[path = "pipeline_tests.rs"]
mod tests;

/// The model from its metadata and its body file's text: linear weights
/// (`linear.json`) for the `linear` learner, LightGBM's text otherwise.
fn body_model(meta: crate::ModelMeta, body: &str) -> Result<TabularModel> {
    if meta.learner == "linear" {
        let weights = serde_json::from_str(body)
            .map_err(|e| Error::ModelFile(format!("{LINEAR_FILE}: {e}")))?;
        TabularModel::from_linear(meta, weights)
    } else {
        TabularModel::from_parts(meta, body.to_string())
    }
}
