//! `POST /v1/embeddings`: sentence embeddings in OpenAI's shape, as floats
//! or as base64 of little-endian f32 (what the `openai` client asks for by
//! default).

use std::sync::Arc;

use axum::{
    body::Bytes,
    response::{IntoResponse, Response},
    Json,
};
use base64::Engine as _;
use serde_json::{json, Value};

use super::error::OpenAiError;
use super::{request, Shared};

/// Most inputs one request may embed.
const MAX_INPUTS: usize = 256;

pub(super) async fn embeddings(state: Shared, body: Bytes) -> Result<Response, OpenAiError> {
    let map = request::object(&body)?;
    let model = match map.get("model") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err(OpenAiError::invalid("model", "you must provide a model parameter")),
    };
    let inputs: Vec<String> = match map.get("input") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                OpenAiError::invalid("input", "'input' must be a string or a list of strings")
            })?,
        None => return Err(OpenAiError::invalid("input", "you must provide an input parameter")),
        Some(_) => {
            return Err(OpenAiError::invalid(
                "input",
                "'input' must be a non-empty string or list of strings",
            ))
        }
    };
    if inputs.len() > MAX_INPUTS {
        return Err(OpenAiError::invalid(
            "input",
            format!("'input' has {} items; at most {MAX_INPUTS} are allowed", inputs.len()),
        ));
    }
    if let Some(i) = inputs.iter().position(String::is_empty) {
        return Err(OpenAiError::invalid("input", format!("input[{i}] is empty")));
    }
    let base64 = match map.get("encoding_format") {
        None | Some(Value::Null) => false,
        Some(Value::String(f)) if f == "float" => false,
        Some(Value::String(f)) if f == "base64" => true,
        Some(v) => {
            return Err(OpenAiError::invalid(
                "encoding_format",
                format!("'encoding_format' must be 'float' or 'base64', got {v}"),
            ))
        }
    };
    let served = state.embedder(&model)?;
    let encoder = Arc::clone(&served.encoder);
    if let Some(d) = map.get("dimensions").filter(|d| !d.is_null()) {
        if d.as_u64() != Some(encoder.dim() as u64) {
            return Err(OpenAiError::invalid(
                "dimensions",
                format!("this model's embeddings have {} dimensions; got {d}", encoder.dim()),
            ));
        }
    }
    let _permit = super::generate::slot(&state).await?;
    let results = tokio::task::spawn_blocking(move || encoder.embed(&inputs))
        .await
        .map_err(|e| OpenAiError::internal(format!("embedding failed: {e}")))??;
    let mut tokens = 0;
    let data: Vec<Value> = results
        .into_iter()
        .enumerate()
        .map(|(i, (emb, n))| {
            tokens += n;
            let embedding = if base64 {
                let bytes: Vec<u8> = emb.iter().flat_map(|x| x.to_le_bytes()).collect();
                json!(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(emb)
            };
            json!({"object": "embedding", "index": i, "embedding": embedding})
        })
        .collect();
    Ok(Json(json!({
        "object": "list", "data": data, "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }))
    .into_response())
}
