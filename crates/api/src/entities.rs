//! Entity messages: what responses carry.

use serde::{Deserialize, Serialize};

use crate::num;

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct KeyValue {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct Experiment {
    pub experiment_id: String,
    pub name: String,
    #[serde(default)]
    pub artifact_location: String,
    #[serde(default)]
    pub lifecycle_stage: String,
    #[serde(default, deserialize_with = "num::int")]
    pub last_update_time: i64,
    #[serde(default, deserialize_with = "num::int")]
    pub creation_time: i64,
    #[serde(default)]
    pub tags: Vec<KeyValue>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Metric {
    pub key: String,
    #[serde(deserialize_with = "num::float", serialize_with = "num::write_float")]
    pub value: f64,
    #[serde(default, deserialize_with = "num::int")]
    pub timestamp: i64,
    #[serde(default, deserialize_with = "num::int")]
    pub step: i64,
}

/// A metric history page written straight from core values, without
/// building a wire `Metric` per point first (histories run to 10^5 points).
#[derive(Debug, Clone, Copy)]
pub struct MetricHistoryRef<'a> {
    pub metrics: &'a [lathe_core::Metric],
    pub next_page_token: Option<&'a str>,
}

impl Serialize for MetricHistoryRef<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeSeq, SerializeStruct};

        struct Points<'a>(&'a [lathe_core::Metric]);
        impl Serialize for Points<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut seq = s.serialize_seq(Some(self.0.len()))?;
                for m in self.0 {
                    seq.serialize_element(&PointRef(m))?;
                }
                seq.end()
            }
        }
        struct PointRef<'a>(&'a lathe_core::Metric);
        impl Serialize for PointRef<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                struct Value(f64);
                impl Serialize for Value {
                    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                        num::write_float(&self.0, s)
                    }
                }
                let mut st = s.serialize_struct("Metric", 4)?;
                st.serialize_field("key", &self.0.key)?;
                st.serialize_field("value", &Value(self.0.value))?;
                st.serialize_field("timestamp", &self.0.timestamp)?;
                st.serialize_field("step", &self.0.step)?;
                st.end()
            }
        }
        let fields = if self.next_page_token.is_some() { 2 } else { 1 };
        let mut st = s.serialize_struct("GetMetricHistoryResponse", fields)?;
        st.serialize_field("metrics", &Points(self.metrics))?;
        if let Some(token) = self.next_page_token {
            st.serialize_field("next_page_token", token)?;
        }
        st.end()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct RunInfo {
    pub run_id: String,
    pub run_uuid: String,
    pub run_name: String,
    pub experiment_id: String,
    #[serde(default)]
    pub user_id: String,
    pub status: String,
    #[serde(default, deserialize_with = "num::int")]
    pub start_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "num::opt_int")]
    pub end_time: Option<i64>,
    #[serde(default)]
    pub artifact_uri: String,
    pub lifecycle_stage: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct RunData {
    #[serde(default)]
    pub metrics: Vec<Metric>,
    #[serde(default)]
    pub params: Vec<KeyValue>,
    #[serde(default)]
    pub tags: Vec<KeyValue>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct Dataset {
    pub name: String,
    pub digest: String,
    #[serde(default)]
    pub source_type: String,
    #[serde(default)]
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct DatasetInput {
    #[serde(default)]
    pub tags: Vec<KeyValue>,
    pub dataset: Dataset,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct ModelInput {
    pub model_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct RunInputs {
    #[serde(default)]
    pub dataset_inputs: Vec<DatasetInput>,
    #[serde(default)]
    pub model_inputs: Vec<ModelInput>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct ModelOutput {
    pub model_id: String,
    #[serde(default, deserialize_with = "num::int")]
    pub step: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct RunOutputs {
    #[serde(default)]
    pub model_outputs: Vec<ModelOutput>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct Run {
    pub info: RunInfo,
    #[serde(default)]
    pub data: RunData,
    #[serde(default)]
    pub inputs: RunInputs,
    #[serde(default)]
    pub outputs: RunOutputs,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct Alias {
    pub alias: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct ModelVersion {
    pub name: String,
    pub version: String,
    #[serde(default, deserialize_with = "num::int")]
    pub creation_timestamp: i64,
    #[serde(default, deserialize_with = "num::int")]
    pub last_updated_timestamp: i64,
    #[serde(default)]
    pub user_id: String,
    #[serde(default)]
    pub current_stage: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub run_id: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub run_link: String,
    #[serde(default)]
    pub tags: Vec<KeyValue>,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct RegisteredModel {
    pub name: String,
    #[serde(default, deserialize_with = "num::int")]
    pub creation_timestamp: i64,
    #[serde(default, deserialize_with = "num::int")]
    pub last_updated_timestamp: i64,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub latest_versions: Vec<ModelVersion>,
    #[serde(default)]
    pub tags: Vec<KeyValue>,
    #[serde(default)]
    pub aliases: Vec<Alias>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct LoggedModelInfo {
    pub model_id: String,
    pub experiment_id: String,
    pub name: String,
    #[serde(default)]
    pub artifact_uri: String,
    #[serde(default, deserialize_with = "num::int")]
    pub creation_timestamp_ms: i64,
    #[serde(default, deserialize_with = "num::int")]
    pub last_updated_timestamp_ms: i64,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub status_message: String,
    #[serde(default)]
    pub model_type: String,
    #[serde(default)]
    pub source_run_id: String,
    #[serde(default)]
    pub tags: Vec<KeyValue>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct LoggedModelData {
    #[serde(default)]
    pub params: Vec<KeyValue>,
    #[serde(default)]
    pub metrics: Vec<Metric>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct LoggedModel {
    pub info: LoggedModelInfo,
    #[serde(default)]
    pub data: LoggedModelData,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct FileInfo {
    pub path: String,
    pub is_dir: bool,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "num::opt_int")]
    pub file_size: Option<i64>,
}

/// MLflow's error body.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct ErrorBody {
    pub error_code: String,
    pub message: String,
}
