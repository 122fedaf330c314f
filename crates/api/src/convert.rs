//! Conversions between wire messages and core types, both ways: the server
//! writes responses from core values, the REST client reads them back.

use lathe_core as core;

use crate::*;

impl From<&core::Tag> for KeyValue {
    fn from(t: &core::Tag) -> Self {
        KeyValue { key: t.key.clone(), value: t.value.clone() }
    }
}
impl From<&core::Param> for KeyValue {
    fn from(p: &core::Param) -> Self {
        KeyValue { key: p.key.clone(), value: p.value.clone() }
    }
}
impl From<&KeyValue> for core::Tag {
    fn from(kv: &KeyValue) -> Self {
        core::Tag { key: kv.key.clone(), value: kv.value.clone() }
    }
}
impl From<&KeyValue> for core::Param {
    fn from(kv: &KeyValue) -> Self {
        core::Param { key: kv.key.clone(), value: kv.value.clone() }
    }
}

/// Tags of any core entity as wire key-values.
pub fn tags(tags: &[core::Tag]) -> Vec<KeyValue> {
    tags.iter().map(KeyValue::from).collect()
}

/// Wire key-values as core tags.
pub fn core_tags(kvs: &[KeyValue]) -> Vec<core::Tag> {
    kvs.iter().map(core::Tag::from).collect()
}

impl From<&core::Metric> for Metric {
    fn from(m: &core::Metric) -> Self {
        Metric { key: m.key.clone(), value: m.value, timestamp: m.timestamp, step: m.step }
    }
}
impl From<&Metric> for core::Metric {
    fn from(m: &Metric) -> Self {
        core::Metric { key: m.key.clone(), value: m.value, timestamp: m.timestamp, step: m.step }
    }
}

impl From<&core::Experiment> for Experiment {
    fn from(e: &core::Experiment) -> Self {
        Experiment {
            experiment_id: e.experiment_id.clone(),
            name: e.name.clone(),
            artifact_location: e.artifact_location.clone(),
            lifecycle_stage: e.lifecycle_stage.as_str().into(),
            last_update_time: e.last_update_time,
            creation_time: e.creation_time,
            tags: tags(&e.tags),
        }
    }
}

fn parse_or<T: std::str::FromStr>(s: &str, default: T) -> T {
    s.parse().unwrap_or(default)
}

impl From<&Experiment> for core::Experiment {
    fn from(e: &Experiment) -> Self {
        core::Experiment {
            experiment_id: e.experiment_id.clone(),
            name: e.name.clone(),
            artifact_location: e.artifact_location.clone(),
            lifecycle_stage: parse_or(&e.lifecycle_stage, core::LifecycleStage::Active),
            creation_time: e.creation_time,
            last_update_time: e.last_update_time,
            tags: core_tags(&e.tags),
        }
    }
}

impl From<&core::RunInfo> for RunInfo {
    fn from(i: &core::RunInfo) -> Self {
        RunInfo {
            run_id: i.run_id.clone(),
            run_uuid: i.run_id.clone(),
            run_name: i.run_name.clone(),
            experiment_id: i.experiment_id.clone(),
            user_id: i.user_id.clone(),
            status: i.status.as_str().into(),
            start_time: i.start_time,
            end_time: i.end_time,
            artifact_uri: i.artifact_uri.clone(),
            lifecycle_stage: i.lifecycle_stage.as_str().into(),
        }
    }
}

impl From<&RunInfo> for core::RunInfo {
    fn from(i: &RunInfo) -> Self {
        core::RunInfo {
            run_id: if i.run_id.is_empty() { i.run_uuid.clone() } else { i.run_id.clone() },
            experiment_id: i.experiment_id.clone(),
            run_name: i.run_name.clone(),
            user_id: i.user_id.clone(),
            status: parse_or(&i.status, core::RunStatus::Running),
            start_time: i.start_time,
            end_time: i.end_time,
            artifact_uri: i.artifact_uri.clone(),
            lifecycle_stage: parse_or(&i.lifecycle_stage, core::LifecycleStage::Active),
        }
    }
}

impl From<&core::DatasetInput> for DatasetInput {
    fn from(d: &core::DatasetInput) -> Self {
        let ds = &d.dataset;
        DatasetInput {
            tags: tags(&d.tags),
            dataset: Dataset {
                name: ds.name.clone(),
                digest: ds.digest.clone(),
                source_type: ds.source_type.clone(),
                source: ds.source.clone(),
                schema: ds.schema.clone(),
                profile: ds.profile.clone(),
            },
        }
    }
}

impl From<&DatasetInput> for core::DatasetInput {
    fn from(d: &DatasetInput) -> Self {
        let ds = &d.dataset;
        core::DatasetInput {
            tags: core_tags(&d.tags),
            dataset: core::Dataset {
                name: ds.name.clone(),
                digest: ds.digest.clone(),
                source_type: ds.source_type.clone(),
                source: ds.source.clone(),
                schema: ds.schema.clone(),
                profile: ds.profile.clone(),
            },
        }
    }
}

impl From<&core::Run> for Run {
    fn from(r: &core::Run) -> Self {
        Run {
            info: (&r.info).into(),
            data: RunData {
                metrics: r.metrics.iter().map(Metric::from).collect(),
                params: r.params.iter().map(KeyValue::from).collect(),
                tags: tags(&r.tags),
            },
            inputs: RunInputs {
                dataset_inputs: r.inputs.iter().map(DatasetInput::from).collect(),
                model_inputs: vec![],
            },
            outputs: RunOutputs {
                model_outputs: r
                    .outputs
                    .iter()
                    .map(|o| ModelOutput { model_id: o.model_id.clone(), step: o.step })
                    .collect(),
            },
        }
    }
}

impl From<&Run> for core::Run {
    fn from(r: &Run) -> Self {
        core::Run {
            info: (&r.info).into(),
            metrics: r.data.metrics.iter().map(core::Metric::from).collect(),
            params: r.data.params.iter().map(core::Param::from).collect(),
            tags: core_tags(&r.data.tags),
            inputs: r.inputs.dataset_inputs.iter().map(core::DatasetInput::from).collect(),
            outputs: r
                .outputs
                .model_outputs
                .iter()
                .map(|o| core::ModelOutput { model_id: o.model_id.clone(), step: o.step })
                .collect(),
        }
    }
}

impl From<&core::ModelVersion> for ModelVersion {
    fn from(v: &core::ModelVersion) -> Self {
        ModelVersion {
            name: v.name.clone(),
            version: v.version.to_string(),
            creation_timestamp: v.creation_timestamp,
            last_updated_timestamp: v.last_updated_timestamp,
            user_id: v.user_id.clone(),
            current_stage: v.current_stage.clone(),
            description: v.description.clone(),
            source: v.source.clone(),
            run_id: v.run_id.clone(),
            status: v.status.as_str().into(),
            run_link: v.run_link.clone(),
            tags: tags(&v.tags),
            aliases: v.aliases.clone(),
            model_id: v.model_id.clone(),
        }
    }
}

impl From<&ModelVersion> for core::ModelVersion {
    fn from(v: &ModelVersion) -> Self {
        core::ModelVersion {
            name: v.name.clone(),
            version: v.version.parse().unwrap_or(0),
            creation_timestamp: v.creation_timestamp,
            last_updated_timestamp: v.last_updated_timestamp,
            description: v.description.clone(),
            user_id: v.user_id.clone(),
            current_stage: v.current_stage.clone(),
            source: v.source.clone(),
            run_id: v.run_id.clone(),
            status: parse_or(&v.status, core::ModelVersionStatus::Ready),
            run_link: v.run_link.clone(),
            model_id: v.model_id.clone(),
            tags: core_tags(&v.tags),
            aliases: v.aliases.clone(),
        }
    }
}

impl From<&core::RegisteredModel> for RegisteredModel {
    fn from(m: &core::RegisteredModel) -> Self {
        RegisteredModel {
            name: m.name.clone(),
            creation_timestamp: m.creation_timestamp,
            last_updated_timestamp: m.last_updated_timestamp,
            description: m.description.clone(),
            latest_versions: m.latest_versions.iter().map(ModelVersion::from).collect(),
            tags: tags(&m.tags),
            aliases: m
                .aliases
                .iter()
                .map(|(alias, v)| Alias { alias: alias.clone(), version: v.to_string() })
                .collect(),
        }
    }
}

impl From<&RegisteredModel> for core::RegisteredModel {
    fn from(m: &RegisteredModel) -> Self {
        core::RegisteredModel {
            name: m.name.clone(),
            creation_timestamp: m.creation_timestamp,
            last_updated_timestamp: m.last_updated_timestamp,
            description: m.description.clone(),
            tags: core_tags(&m.tags),
            aliases: m
                .aliases
                .iter()
                .map(|a| (a.alias.clone(), a.version.parse().unwrap_or(0)))
                .collect(),
            latest_versions: m.latest_versions.iter().map(core::ModelVersion::from).collect(),
        }
    }
}

impl From<&core::LoggedModel> for LoggedModel {
    fn from(m: &core::LoggedModel) -> Self {
        LoggedModel {
            info: LoggedModelInfo {
                model_id: m.model_id.clone(),
                experiment_id: m.experiment_id.clone(),
                name: m.name.clone(),
                artifact_uri: m.artifact_location.clone(),
                creation_timestamp_ms: m.creation_timestamp,
                last_updated_timestamp_ms: m.last_updated_timestamp,
                status: m.status.as_str().into(),
                status_message: m.status_message.clone(),
                model_type: m.model_type.clone(),
                source_run_id: m.source_run_id.clone(),
                tags: tags(&m.tags),
            },
            data: LoggedModelData {
                params: m.params.iter().map(KeyValue::from).collect(),
                metrics: vec![],
            },
        }
    }
}

impl From<&LoggedModel> for core::LoggedModel {
    fn from(m: &LoggedModel) -> Self {
        let i = &m.info;
        core::LoggedModel {
            model_id: i.model_id.clone(),
            experiment_id: i.experiment_id.clone(),
            name: i.name.clone(),
            artifact_location: i.artifact_uri.clone(),
            creation_timestamp: i.creation_timestamp_ms,
            last_updated_timestamp: i.last_updated_timestamp_ms,
            status: parse_or(&i.status, core::LoggedModelStatus::Pending),
            status_message: i.status_message.clone(),
            model_type: i.model_type.clone(),
            source_run_id: i.source_run_id.clone(),
            params: m.data.params.iter().map(core::Param::from).collect(),
            tags: core_tags(&i.tags),
        }
    }
}

impl From<&lathe_core::ViewType> for ViewTypeValue {
    fn from(v: &lathe_core::ViewType) -> Self {
        ViewTypeValue::Name(
            match v {
                lathe_core::ViewType::ActiveOnly => "ACTIVE_ONLY",
                lathe_core::ViewType::DeletedOnly => "DELETED_ONLY",
                lathe_core::ViewType::All => "ALL",
            }
            .into(),
        )
    }
}

impl ViewTypeValue {
    /// The core view type; `None` when the name or number is not one.
    pub fn to_core(&self) -> Option<lathe_core::ViewType> {
        match self {
            ViewTypeValue::Name(s) => s.parse().ok(),
            ViewTypeValue::Number(n) => n.to_string().parse().ok(),
        }
    }
}
