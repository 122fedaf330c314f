//! `/registered-models/*` and `/model-versions/*`.

use axum::{extract::State, Json};
use lathe_api::{self as api, convert};
use lathe_core::{ModelUri, Tag};
use lathe_store::{CreateModelVersion, SearchQuery};
use serde_json::Value;

use super::{empty, required};
use crate::{error::ApiResult, extract::Input, sources, ApiError, AppState};

fn version_number(v: Option<&str>) -> Result<i64, ApiError> {
    let v = v.filter(|v| !v.is_empty()).ok_or_else(|| ApiError::missing("version"))?;
    v.parse().map_err(|_| {
        ApiError::invalid(format!(
            "Invalid value '{v}' for parameter 'version': expected an integer"
        ))
    })
}

fn model(m: &lathe_core::RegisteredModel) -> Json<api::RegisteredModelResponse> {
    Json(api::RegisteredModelResponse { registered_model: m.into() })
}

fn version(v: &lathe_core::ModelVersion) -> Json<api::ModelVersionResponse> {
    Json(api::ModelVersionResponse { model_version: v.into() })
}

pub(crate) async fn create_model(
    State(s): State<AppState>,
    Input(req): Input<api::CreateRegisteredModel>,
) -> ApiResult<Json<api::RegisteredModelResponse>> {
    let name = required("name", &req.name)?;
    let m = s
        .store
        .create_registered_model(name, &convert::core_tags(&req.tags), req.description.as_deref())
        .await?;
    Ok(model(&m))
}

pub(crate) async fn get_model(
    State(s): State<AppState>,
    Input(req): Input<api::ModelName>,
) -> ApiResult<Json<api::RegisteredModelResponse>> {
    Ok(model(&s.store.get_registered_model(required("name", &req.name)?).await?))
}

pub(crate) async fn rename_model(
    State(s): State<AppState>,
    Input(req): Input<api::RenameRegisteredModel>,
) -> ApiResult<Json<api::RegisteredModelResponse>> {
    let name = required("name", &req.name)?;
    let m = s.store.rename_registered_model(name, required("new_name", &req.new_name)?).await?;
    Ok(model(&m))
}

pub(crate) async fn update_model(
    State(s): State<AppState>,
    Input(req): Input<api::UpdateRegisteredModel>,
) -> ApiResult<Json<api::RegisteredModelResponse>> {
    let name = required("name", &req.name)?;
    let m = match req.description {
        Some(d) => s.store.update_registered_model(name, &d).await?,
        None => s.store.get_registered_model(name).await?,
    };
    Ok(model(&m))
}

pub(crate) async fn delete_model(
    State(s): State<AppState>,
    Input(req): Input<api::ModelName>,
) -> ApiResult<Json<Value>> {
    s.store.delete_registered_model(required("name", &req.name)?).await?;
    empty()
}

fn query(req: api::SearchRegistry) -> SearchQuery {
    SearchQuery {
        filter: req.filter.unwrap_or_default(),
        max_results: req.max_results,
        order_by: req.order_by,
        page_token: req.page_token,
        ..SearchQuery::default()
    }
}

pub(crate) async fn search_models(
    State(s): State<AppState>,
    Input(req): Input<api::SearchRegistry>,
) -> ApiResult<Json<api::SearchRegisteredModelsResponse>> {
    let page = s.store.search_registered_models(&query(req)).await?;
    Ok(Json(api::SearchRegisteredModelsResponse {
        registered_models: page.items.iter().map(api::RegisteredModel::from).collect(),
        next_page_token: page.next_page_token,
    }))
}

pub(crate) async fn set_model_tag(
    State(s): State<AppState>,
    Input(req): Input<api::ModelTag>,
) -> ApiResult<Json<Value>> {
    let tag = Tag::new(required("key", &req.key)?, req.value.unwrap_or_default());
    s.store.set_registered_model_tag(required("name", &req.name)?, &tag).await?;
    empty()
}

pub(crate) async fn delete_model_tag(
    State(s): State<AppState>,
    Input(req): Input<api::ModelTag>,
) -> ApiResult<Json<Value>> {
    s.store
        .delete_registered_model_tag(required("name", &req.name)?, required("key", &req.key)?)
        .await?;
    empty()
}

pub(crate) async fn set_alias(
    State(s): State<AppState>,
    Input(req): Input<api::ModelAlias>,
) -> ApiResult<Json<Value>> {
    let v = version_number(req.version.as_deref())?;
    s.store
        .set_registered_model_alias(required("name", &req.name)?, required("alias", &req.alias)?, v)
        .await?;
    empty()
}

pub(crate) async fn delete_alias(
    State(s): State<AppState>,
    Input(req): Input<api::ModelAlias>,
) -> ApiResult<Json<Value>> {
    s.store
        .delete_registered_model_alias(required("name", &req.name)?, required("alias", &req.alias)?)
        .await?;
    empty()
}

pub(crate) async fn get_by_alias(
    State(s): State<AppState>,
    Input(req): Input<api::ModelAlias>,
) -> ApiResult<Json<api::ModelVersionResponse>> {
    let v = s
        .store
        .get_model_version_by_alias(required("name", &req.name)?, required("alias", &req.alias)?)
        .await?;
    Ok(version(&v))
}

pub(crate) async fn latest_versions(
    State(s): State<AppState>,
    Input(req): Input<api::ModelName>,
) -> ApiResult<Json<Value>> {
    let m = s.store.get_registered_model(required("name", &req.name)?).await?;
    let versions: Vec<api::ModelVersion> =
        m.latest_versions.iter().map(api::ModelVersion::from).collect();
    Ok(Json(serde_json::json!({ "model_versions": versions })))
}

pub(crate) async fn create_version(
    State(s): State<AppState>,
    Input(req): Input<api::CreateModelVersion>,
) -> ApiResult<Json<api::ModelVersionResponse>> {
    let name = required("name", &req.name)?;
    let source = required("source", &req.source)?;
    let run_id = req.run_id.filter(|r| !r.is_empty());
    let model_id = req.model_id.filter(|m| !m.is_empty());
    let run = match &run_id {
        Some(id) => Some(s.store.get_run(id).await?.info),
        None => None,
    };
    let logged = match &model_id {
        Some(id) => Some(s.store.get_logged_model(id).await?),
        None => None,
    };
    sources::check_model_version_source(source, run.as_ref(), logged.as_ref())?;
    let v = s
        .store
        .create_model_version(CreateModelVersion {
            name: name.to_string(),
            source: source.to_string(),
            run_id,
            tags: convert::core_tags(&req.tags),
            run_link: req.run_link,
            description: req.description,
            model_id,
        })
        .await?;
    Ok(version(&v))
}

pub(crate) async fn get_version(
    State(s): State<AppState>,
    Input(req): Input<api::VersionRef>,
) -> ApiResult<Json<api::ModelVersionResponse>> {
    let v = version_number(req.version.as_deref())?;
    Ok(version(&s.store.get_model_version(required("name", &req.name)?, v).await?))
}

pub(crate) async fn update_version(
    State(s): State<AppState>,
    Input(req): Input<api::VersionRef>,
) -> ApiResult<Json<api::ModelVersionResponse>> {
    let name = required("name", &req.name)?;
    let v = version_number(req.version.as_deref())?;
    let mv = match req.description {
        Some(d) => s.store.update_model_version(name, v, &d).await?,
        None => s.store.get_model_version(name, v).await?,
    };
    Ok(version(&mv))
}

pub(crate) async fn delete_version(
    State(s): State<AppState>,
    Input(req): Input<api::VersionRef>,
) -> ApiResult<Json<Value>> {
    let v = version_number(req.version.as_deref())?;
    s.store.delete_model_version(required("name", &req.name)?, v).await?;
    empty()
}

pub(crate) async fn search_versions(
    State(s): State<AppState>,
    Input(req): Input<api::SearchRegistry>,
) -> ApiResult<Json<api::SearchModelVersionsResponse>> {
    let page = s.store.search_model_versions(&query(req)).await?;
    Ok(Json(api::SearchModelVersionsResponse {
        model_versions: page.items.iter().map(api::ModelVersion::from).collect(),
        next_page_token: page.next_page_token,
    }))
}

/// Where a version's files are: `runs:/` and `models:/` sources resolved to artifact URIs.
pub(crate) async fn download_uri(
    State(s): State<AppState>,
    Input(req): Input<api::VersionRef>,
) -> ApiResult<Json<api::DownloadUriResponse>> {
    let v = version_number(req.version.as_deref())?;
    let mv = s.store.get_model_version(required("name", &req.name)?, v).await?;
    let artifact_uri = match mv.source.parse::<ModelUri>() {
        Ok(ModelUri::Run { run_id, path }) => {
            let run = s.store.get_run(&run_id).await?;
            let root = run.info.artifact_uri.trim_end_matches('/').to_string();
            if path.is_empty() {
                root
            } else {
                format!("{root}/{}", path.trim_start_matches('/'))
            }
        }
        Ok(ModelUri::LoggedModel { model_id }) => {
            s.store.get_logged_model(&model_id).await?.artifact_location
        }
        _ => mv.source,
    };
    Ok(Json(api::DownloadUriResponse { artifact_uri }))
}

pub(crate) async fn set_version_tag(
    State(s): State<AppState>,
    Input(req): Input<api::ModelTag>,
) -> ApiResult<Json<Value>> {
    let v = version_number(req.version.as_deref())?;
    let tag = Tag::new(required("key", &req.key)?, req.value.unwrap_or_default());
    s.store.set_model_version_tag(required("name", &req.name)?, v, &tag).await?;
    empty()
}

pub(crate) async fn delete_version_tag(
    State(s): State<AppState>,
    Input(req): Input<api::ModelTag>,
) -> ApiResult<Json<Value>> {
    let v = version_number(req.version.as_deref())?;
    s.store
        .delete_model_version_tag(required("name", &req.name)?, v, required("key", &req.key)?)
        .await?;
    empty()
}

pub(crate) async fn transition_stage(
    State(s): State<AppState>,
    Input(req): Input<api::VersionRef>,
) -> ApiResult<Json<api::ModelVersionResponse>> {
    let v = version_number(req.version.as_deref())?;
    let stage = req.stage.filter(|st| !st.is_empty()).ok_or_else(|| ApiError::missing("stage"))?;
    let mv = s
        .store
        .transition_model_version_stage(
            required("name", &req.name)?,
            v,
            &stage,
            req.archive_existing_versions.unwrap_or(false),
        )
        .await?;
    Ok(version(&mv))
}
