//! Reading OpenAI requests field by field, so that every bad value is
//! answered with the name of its parameter (`param`) and what was expected.

use lathe_llm::{ChatMessage, GenerationParams, SamplingParams};
use serde_json::{Map, Value};

use super::error::OpenAiError;
use super::LlmLimits;

/// What both endpoints share once read and checked.
#[derive(Debug)]
pub struct Common {
    /// The `model` asked for.
    pub model: String,
    /// Choices per prompt.
    pub n: usize,
    /// Whether to answer with server-sent events.
    pub stream: bool,
    /// Whether the last streamed chunk carries usage.
    pub include_usage: bool,
    /// `max_tokens` if given (else the room left in the context).
    pub max_tokens: Option<usize>,
    /// Sampling and stop sequences; `max_tokens` is settled per prompt.
    pub params: GenerationParams,
}

/// A JSON body as an object.
pub fn object(body: &[u8]) -> Result<Map<String, Value>, OpenAiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(OpenAiError::bad_body("the request body must be a JSON object")),
        Err(e) => Err(OpenAiError::bad_body(format!("the request body is not valid JSON: {e}"))),
    }
}

fn number(map: &Map<String, Value>, key: &str) -> Result<Option<f64>, OpenAiError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_f64()
            .map(Some)
            .ok_or_else(|| OpenAiError::invalid(key, format!("'{key}' must be a number, got {v}"))),
    }
}

fn integer(map: &Map<String, Value>, key: &str) -> Result<Option<i64>, OpenAiError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| {
            OpenAiError::invalid(key, format!("'{key}' must be an integer, got {v}"))
        }),
    }
}

fn boolean(map: &Map<String, Value>, key: &str) -> Result<bool, OpenAiError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => Err(OpenAiError::invalid(key, format!("'{key}' must be a boolean, got {v}"))),
    }
}

/// Reads the fields both endpoints share and checks them against `limits`.
pub fn common(
    map: &Map<String, Value>,
    limits: &LlmLimits,
    seed_source: u64,
) -> Result<Common, OpenAiError> {
    let model = match map.get("model") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(v) => {
            return Err(OpenAiError::invalid(
                "model",
                format!("'model' must be a non-empty string, got {v}"),
            ))
        }
        None => return Err(OpenAiError::invalid("model", "you must provide a model parameter")),
    };
    let n = integer(map, "n")?.unwrap_or(1);
    if n < 1 || n as u64 > limits.max_n as u64 {
        return Err(OpenAiError::invalid(
            "n",
            format!("'n' is {n}; it must be between 1 and {}", limits.max_n),
        ));
    }
    let max_tokens = match integer(map, "max_completion_tokens")? {
        Some(v) => Some(("max_completion_tokens", v)),
        None => integer(map, "max_tokens")?.map(|v| ("max_tokens", v)),
    };
    let max_tokens = match max_tokens {
        Some((key, v)) if v < 1 || v as u64 > limits.max_tokens as u64 => {
            return Err(OpenAiError::invalid(
                key,
                format!("'{key}' is {v}; it must be between 1 and {}", limits.max_tokens),
            ))
        }
        Some((_, v)) => Some(v as usize),
        None => None,
    };
    let temperature = number(map, "temperature")?.unwrap_or(1.0);
    if !(0.0..=2.0).contains(&temperature) {
        return Err(OpenAiError::invalid(
            "temperature",
            format!("'temperature' is {temperature}; it must be between 0 and 2"),
        ));
    }
    let top_p = number(map, "top_p")?.unwrap_or(1.0);
    if !(top_p > 0.0 && top_p <= 1.0) {
        return Err(OpenAiError::invalid(
            "top_p",
            format!("'top_p' is {top_p}; it must be greater than 0 and at most 1"),
        ));
    }
    let top_k = integer(map, "top_k")?.unwrap_or(0);
    if top_k < 0 {
        return Err(OpenAiError::invalid(
            "top_k",
            format!("'top_k' is {top_k}; it must be 0 (off) or more"),
        ));
    }
    let repetition_penalty = number(map, "repetition_penalty")?.unwrap_or(1.0);
    if !(repetition_penalty > 0.0 && repetition_penalty.is_finite()) {
        return Err(OpenAiError::invalid(
            "repetition_penalty",
            "'repetition_penalty' must be greater than 0",
        ));
    }
    for key in ["frequency_penalty", "presence_penalty"] {
        if let Some(v) = number(map, key)? {
            if !(-2.0..=2.0).contains(&v) {
                return Err(OpenAiError::invalid(
                    key,
                    format!("'{key}' is {v}; it must be between -2 and 2"),
                ));
            }
        }
    }
    let seed = match map.get("seed") {
        None | Some(Value::Null) => seed_source,
        Some(v) => v.as_i64().map(|s| s as u64).or_else(|| v.as_u64()).ok_or_else(|| {
            OpenAiError::invalid("seed", format!("'seed' must be an integer, got {v}"))
        })?,
    };
    let stop: Vec<String> = match map.get("stop") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                OpenAiError::invalid("stop", "'stop' must be a string or a list of strings")
            })?,
        Some(v) => {
            return Err(OpenAiError::invalid(
                "stop",
                format!("'stop' must be a string or a list of strings, got {v}"),
            ))
        }
    };
    if stop.len() > 4 {
        return Err(OpenAiError::invalid(
            "stop",
            format!("'stop' has {} sequences; at most 4 are allowed", stop.len()),
        ));
    }
    let stream = boolean(map, "stream")?;
    let include_usage = match map.get("stream_options") {
        None | Some(Value::Null) => false,
        Some(Value::Object(o)) => boolean(o, "include_usage").map_err(|_| {
            OpenAiError::invalid("stream_options.include_usage", "must be a boolean")
        })?,
        Some(_) => {
            return Err(OpenAiError::invalid(
                "stream_options",
                "'stream_options' must be an object",
            ))
        }
    };
    let sampling = SamplingParams {
        temperature: temperature as f32,
        top_p: top_p as f32,
        top_k: top_k as usize,
        repetition_penalty: repetition_penalty as f32,
        seed,
    };
    Ok(Common {
        model,
        n: n as usize,
        stream,
        include_usage,
        max_tokens,
        params: GenerationParams { max_tokens: 0, sampling, stop, ignore_eos: false },
    })
}

/// `messages` of a chat request.
pub fn messages(map: &Map<String, Value>) -> Result<Vec<ChatMessage>, OpenAiError> {
    let items = match map.get("messages") {
        Some(Value::Array(items)) if !items.is_empty() => items,
        Some(Value::Array(_)) => {
            return Err(OpenAiError::invalid(
                "messages",
                "'messages' must hold at least one message",
            ))
        }
        Some(_) => {
            return Err(OpenAiError::invalid("messages", "'messages' must be a list of messages"))
        }
        None => {
            return Err(OpenAiError::invalid("messages", "you must provide a messages parameter"))
        }
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let role = item.get("role").and_then(Value::as_str).unwrap_or_default();
        if !matches!(role, "system" | "developer" | "user" | "assistant" | "tool") {
            return Err(OpenAiError::invalid(
                &format!("messages[{i}].role"),
                format!("messages[{i}].role must be one of system, developer, user, assistant, tool; got {}", item.get("role").map_or("nothing".to_owned(), Value::to_string)),
            ));
        }
        let content = match item.get("content") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None if role == "assistant" => String::new(),
            Some(Value::Array(parts)) => parts
                .iter()
                .map(|p| match (p.get("type").and_then(Value::as_str), p.get("text").and_then(Value::as_str)) {
                    (Some("text"), Some(t)) => Ok(t),
                    _ => Err(OpenAiError::invalid(
                        &format!("messages[{i}].content"),
                        format!("messages[{i}].content: only text parts ({{\"type\": \"text\", \"text\": …}}) are supported"),
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?
                .concat(),
            _ => {
                return Err(OpenAiError::invalid(
                    &format!("messages[{i}].content"),
                    format!("messages[{i}].content must be a string or a list of text parts"),
                ))
            }
        };
        // "developer" is OpenAI's newer name for the system role.
        let role = if role == "developer" { "system" } else { role };
        out.push(ChatMessage::new(role, content));
    }
    Ok(out)
}

/// `prompt` of a completions request: one string or a list of strings.
pub fn prompts(map: &Map<String, Value>) -> Result<Vec<String>, OpenAiError> {
    match map.get("prompt") {
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                OpenAiError::invalid("prompt", "'prompt' must be a string or a list of strings")
            }),
        None => Err(OpenAiError::invalid("prompt", "you must provide a prompt parameter")),
        Some(_) => Err(OpenAiError::invalid(
            "prompt",
            "'prompt' must be a non-empty string or list of strings",
        )),
    }
}
