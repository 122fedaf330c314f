//! MLflow's limits on what may be logged, copied exactly, with its messages.
//!
//! Every backend calls these before writing, so the REST server, the CLI and
//! a direct SQLite user all see the same refusals.

use lathe_core::{Metric, Param, Tag};

use crate::{Result, StoreError};

/// Most metrics in one `log_batch`.
pub const MAX_METRICS_PER_BATCH: usize = 1000;
/// Most params in one `log_batch`.
pub const MAX_PARAMS_PER_BATCH: usize = 100;
/// Most tags in one `log_batch`.
pub const MAX_TAGS_PER_BATCH: usize = 100;
/// Most items (metrics + params + tags) in one `log_batch`.
pub const MAX_ENTITIES_PER_BATCH: usize = 1000;
/// Largest `log_batch` request body, in bytes.
pub const MAX_BATCH_REQUEST_BYTES: usize = 1024 * 1024;
/// Longest param value, in characters.
pub const MAX_PARAM_VALUE_LENGTH: usize = 6000;
/// Longest tag value, in characters.
pub const MAX_TAG_VALUE_LENGTH: usize = 5000;
/// Longest key of a param, metric or tag, in characters.
pub const MAX_ENTITY_KEY_LENGTH: usize = 250;
/// Longest experiment tag value.
pub const MAX_EXPERIMENT_TAG_VALUE_LENGTH: usize = 5000;
/// `max_results` when a search gives none.
pub const SEARCH_MAX_RESULTS_DEFAULT: usize = 1000;
/// Largest `max_results` a run search accepts.
pub const SEARCH_MAX_RESULTS_THRESHOLD: usize = 50_000;
/// `max_results` default of a registered-model search.
pub const SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT: usize = 100;
/// Largest `max_results` a registered-model search accepts.
pub const SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD: usize = 1000;
/// `max_results` default of a model-version search.
pub const SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT: usize = 10_000;
/// Largest `max_results` a model-version search accepts.
pub const SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD: usize = 200_000;
/// Most points one metric-history page returns.
pub const GET_METRIC_HISTORY_MAX_RESULTS: usize = 25_000;
/// Longest run name.
pub const MAX_RUN_NAME_LENGTH: usize = 250;

/// Checks the counts of a batch, as MLflow's `_validate_batch_limit`.
pub fn check_batch_counts(metrics: usize, params: usize, tags: usize) -> Result<()> {
    let limit = |what: &str, n: usize, max: usize| {
        StoreError::invalid(format!(
            "A batch logging request can contain at most {max} {what}. Got {n} {what}. \
             Please split up {what} across multiple requests and try again."
        ))
    };
    if metrics > MAX_METRICS_PER_BATCH {
        return Err(limit("metrics", metrics, MAX_METRICS_PER_BATCH));
    }
    if params > MAX_PARAMS_PER_BATCH {
        return Err(limit("params", params, MAX_PARAMS_PER_BATCH));
    }
    if tags > MAX_TAGS_PER_BATCH {
        return Err(limit("tags", tags, MAX_TAGS_PER_BATCH));
    }
    let total = metrics + params + tags;
    if total > MAX_ENTITIES_PER_BATCH {
        return Err(StoreError::invalid(format!(
            "A batch logging request can contain at most {MAX_ENTITIES_PER_BATCH} metrics, params, \
             and tags in total. Got {total} in total."
        )));
    }
    Ok(())
}

/// Checks a key of a param, metric or tag: non-empty, at most 250 characters,
/// and no path tricks (MLflow allows alphanumerics, `_ - . / space`, and `:`).
pub fn check_key(kind: &str, key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(StoreError::invalid(format!(
            "Missing value for required parameter '{kind} key'"
        )));
    }
    if key.chars().count() > MAX_ENTITY_KEY_LENGTH {
        return Err(StoreError::invalid(format!(
            "{kind} key '{}...' had length {}, which exceeded length limit of {MAX_ENTITY_KEY_LENGTH}",
            key.chars().take(20).collect::<String>(),
            key.chars().count()
        )));
    }
    let allowed = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ' ' | '/' | ':');
    if !key.chars().all(allowed) || key.split('/').any(|part| part == "..") || key.starts_with('/')
    {
        return Err(StoreError::invalid(format!(
            "Invalid {kind} name: '{key}'. Names may only contain alphanumerics, underscores (_), \
             dashes (-), periods (.), spaces ( ), colon(:) and slashes (/)."
        )));
    }
    Ok(())
}

fn check_value(kind: &str, key: &str, value: &str, max: usize) -> Result<()> {
    let len = value.chars().count();
    if len > max {
        return Err(StoreError::invalid(format!(
            "{kind} '{key}' had length {len}, which exceeded length limit of {max}"
        )));
    }
    Ok(())
}

/// Checks one param.
pub fn check_param(p: &Param) -> Result<()> {
    check_key("Param", &p.key)?;
    check_value("Param value", &p.key, &p.value, MAX_PARAM_VALUE_LENGTH)
}

/// Checks one tag.
pub fn check_tag(t: &Tag) -> Result<()> {
    check_key("Tag", &t.key)?;
    check_value("Tag value", &t.key, &t.value, MAX_TAG_VALUE_LENGTH)
}

/// Checks one metric point.
pub fn check_metric(m: &Metric) -> Result<()> {
    check_key("Metric", &m.key)
}

/// Checks a whole batch before anything is written.
pub fn check_batch(metrics: &[Metric], params: &[Param], tags: &[Tag]) -> Result<()> {
    check_batch_counts(metrics.len(), params.len(), tags.len())?;
    metrics.iter().try_for_each(check_metric)?;
    params.iter().try_for_each(check_param)?;
    tags.iter().try_for_each(check_tag)?;
    // MLflow refuses a key given twice in one batch, even with the same value.
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = params.iter().find(|p| !seen.insert(p.key.as_str())) {
        return Err(StoreError::invalid(format!(
            "Duplicate parameter keys have been submitted: [{}]. Please ensure the request \
             contains only one param value per param key.",
            dup.key
        )));
    }
    Ok(())
}

/// Resolves a search's `max_results` against MLflow's default and ceiling.
pub fn max_results(requested: Option<i64>, default: usize, ceiling: usize) -> Result<usize> {
    match requested {
        None => Ok(default),
        Some(n) if n >= 1 && n as usize <= ceiling => Ok(n as usize),
        Some(n) => Err(StoreError::invalid(format!(
            "Invalid value {n} for parameter 'max_results' supplied. It must be a positive \
             integer of at most {ceiling}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_limits_are_mlflows() {
        assert!(check_batch_counts(1000, 0, 0).is_ok());
        assert!(check_batch_counts(1001, 0, 0).is_err());
        assert!(check_batch_counts(0, 101, 0).is_err());
        assert!(check_batch_counts(0, 0, 101).is_err());
        assert!(check_batch_counts(900, 100, 100).is_err());
    }

    #[test]
    fn keys_and_values() {
        assert!(check_key("Param", "a.b/c d:e-f_g").is_ok());
        assert!(check_key("Param", "../x").is_err());
        assert!(check_key("Param", "/abs").is_err());
        assert!(check_key("Param", &"k".repeat(251)).is_err());
        let long = Param { key: "p".into(), value: "v".repeat(6001) };
        let err = check_param(&long).unwrap_err().to_string();
        assert!(err.contains("6000"), "{err}");
        assert!(check_tag(&Tag::new("t", "v".repeat(5001))).is_err());
        assert_eq!(max_results(None, 1000, 50_000).unwrap(), 1000);
        assert!(max_results(Some(50_001), 1000, 50_000).is_err());
        assert!(max_results(Some(0), 1000, 50_000).is_err());
    }
}
