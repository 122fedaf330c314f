//! Supervised fine-tuning data: OpenAI chat JSONL (`{"messages": [...]}`) or
//! prompt/completion JSONL, tokenized with the loss on the answer only.
//!
//! A conversation is rendered with the model's chat template; each assistant
//! turn is the text between the template's generation prompt and the end of
//! that turn (its end-of-turn token included, so the model learns to stop).
//! The text is tokenized piece by piece at those boundaries, so a token never
//! straddles prompt and answer.

use std::path::Path;

use candle_core::{Device, Tensor};
use serde_json::Value;

use crate::chat::{ChatMessage, ChatTemplate};
use crate::error::{Error, Result};
use crate::tokenizer::TextTokenizer;

/// One tokenized example: `ids` are the model's inputs, `labels[t]` the
/// token expected after `ids[..=t]`, or -100 where no loss is taken.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// Input token ids.
    pub ids: Vec<u32>,
    /// Next-token targets, -100 outside the answers.
    pub labels: Vec<i64>,
}

impl Example {
    /// Positions that carry a loss.
    pub fn target_tokens(&self) -> usize {
        self.labels.iter().filter(|&&l| l >= 0).count()
    }
}

/// How to read a data file.
#[derive(Debug, Clone, Copy)]
pub struct DataOptions {
    /// Longest example in tokens; longer ones are cut at the end.
    pub max_seq_len: usize,
    /// Skip and count malformed lines instead of refusing the file.
    pub skip_bad_lines: bool,
}

/// What reading a file did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataStats {
    /// Examples kept.
    pub examples: usize,
    /// Malformed lines skipped (only with `skip_bad_lines`).
    pub skipped_bad_lines: usize,
    /// Examples cut to `max_seq_len`.
    pub truncated: usize,
    /// Examples left with no answer token after truncation (dropped).
    pub dropped_without_answer: usize,
    /// Answer tokens in all kept examples.
    pub target_tokens: usize,
}

/// Reads a JSONL file of chat or prompt/completion examples.
pub fn read_jsonl(
    path: &Path,
    tokenizer: &TextTokenizer,
    template: Option<&ChatTemplate>,
    options: DataOptions,
) -> Result<(Vec<Example>, DataStats)> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    if options.max_seq_len < 2 {
        return Err(Error::InvalidParameter {
            param: "max_seq_len",
            problem: format!("{} is below 2 tokens", options.max_seq_len),
        });
    }
    let mut stats = DataStats::default();
    let mut examples = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let pieces = match parse_line(line, template) {
            Ok(p) => p,
            Err(_) if options.skip_bad_lines => {
                stats.skipped_bad_lines += 1;
                continue;
            }
            Err(problem) => {
                return Err(Error::Data { path: path.to_owned(), line: i + 1, problem })
            }
        };
        let mut tokens: Vec<u32> = Vec::new();
        let mut trained: Vec<bool> = Vec::new();
        for (piece, train) in pieces {
            let ids = match piece {
                Piece::Text(t) => tokenizer.encode(&t, false)?,
                Piece::Eos => tokenizer.eos_ids().first().copied().into_iter().collect(),
            };
            trained.extend(std::iter::repeat_n(train, ids.len()));
            tokens.extend(ids);
        }
        if tokens.len() > options.max_seq_len {
            tokens.truncate(options.max_seq_len);
            trained.truncate(options.max_seq_len);
            stats.truncated += 1;
        }
        let n = tokens.len();
        let example = Example {
            ids: tokens[..n.saturating_sub(1)].to_vec(),
            labels: (1..n).map(|t| if trained[t] { i64::from(tokens[t]) } else { -100 }).collect(),
        };
        if example.target_tokens() == 0 {
            stats.dropped_without_answer += 1;
            continue;
        }
        stats.target_tokens += example.target_tokens();
        examples.push(example);
    }
    stats.examples = examples.len();
    Ok((examples, stats))
}

enum Piece {
    Text(String),
    Eos,
}

/// The pieces of one line and whether each is trained on; the error names the problem.
fn parse_line(
    line: &str,
    template: Option<&ChatTemplate>,
) -> std::result::Result<Vec<(Piece, bool)>, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("not valid JSON: {e}"))?;
    if let Some(messages) = v.get("messages") {
        let template = template.ok_or("a chat example, but the model ships no chat template")?;
        return chat_pieces(&parse_messages(messages)?, template);
    }
    match (v.get("prompt"), v.get("completion")) {
        (Some(Value::String(p)), Some(Value::String(c))) => Ok(vec![
            (Piece::Text(p.clone()), false),
            (Piece::Text(c.clone()), true),
            (Piece::Eos, true),
        ]),
        (Some(_), Some(_)) => Err("'prompt' and 'completion' must be strings".into()),
        _ => Err("expected {\"messages\": [...]} or {\"prompt\": ..., \"completion\": ...}".into()),
    }
}

fn parse_messages(v: &Value) -> std::result::Result<Vec<ChatMessage>, String> {
    let list = v.as_array().ok_or("'messages' must be an array")?;
    let mut out = Vec::with_capacity(list.len());
    for (k, m) in list.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str);
        let content = m.get("content").and_then(Value::as_str);
        match (role, content) {
            (Some(r @ ("system" | "user" | "assistant")), Some(c)) => {
                out.push(ChatMessage::new(r, c))
            }
            (Some(r), Some(_)) => {
                return Err(format!(
                    "messages[{k}].role '{r}' is not one of system, user, assistant"
                ))
            }
            _ => return Err(format!("messages[{k}] needs string fields 'role' and 'content'")),
        }
    }
    if !out.iter().any(|m| m.role == "assistant") {
        return Err("the conversation has no assistant message to learn from".into());
    }
    Ok(out)
}

fn chat_pieces(
    messages: &[ChatMessage],
    template: &ChatTemplate,
) -> std::result::Result<Vec<(Piece, bool)>, String> {
    let render = |m: &[ChatMessage], gen: bool| template.render(m, gen).map_err(|e| e.to_string());
    let full = render(messages, false)?;
    let mut pieces = Vec::new();
    let mut cursor = 0;
    for (i, m) in messages.iter().enumerate() {
        if m.role != "assistant" {
            continue;
        }
        let prompt = render(&messages[..i], true)?;
        let through = render(&messages[..=i], false)?;
        if !through.starts_with(&prompt) || !full.starts_with(&through) || prompt.len() < cursor {
            return Err("the chat template does not render a conversation's turns as prefixes of each other, so answer tokens cannot be located".into());
        }
        pieces.push((Piece::Text(full[cursor..prompt.len()].to_owned()), false));
        pieces.push((Piece::Text(full[prompt.len()..through.len()].to_owned()), true));
        cursor = through.len();
    }
    pieces.push((Piece::Text(full[cursor..].to_owned()), false));
    pieces.retain(|(p, _)| !matches!(p, Piece::Text(t) if t.is_empty()));
    Ok(pieces)
}

/// Stacks examples into `[batch, longest]` ids (right-padded with `pad_id`)
/// and the matching labels (-100 on padding).
pub fn collate(examples: &[&Example], pad_id: u32, device: &Device) -> Result<(Tensor, Vec<i64>)> {
    let t = examples.iter().map(|e| e.ids.len()).max().unwrap_or(0).max(1);
    let mut ids = Vec::with_capacity(examples.len() * t);
    let mut labels = Vec::with_capacity(examples.len() * t);
    for e in examples {
        ids.extend_from_slice(&e.ids);
        ids.extend(std::iter::repeat_n(pad_id, t - e.ids.len()));
        labels.extend_from_slice(&e.labels);
        labels.extend(std::iter::repeat_n(-100, t - e.labels.len()));
    }
    Ok((Tensor::from_vec(ids, (examples.len(), t), device)?, labels))
}
