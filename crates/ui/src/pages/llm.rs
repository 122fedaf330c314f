//! The run page's section for a LoRA fine-tuning run (`lathe llm finetune`):
//! the training and evaluation loss overlaid on one chart (the generic
//! metric charts draw them apart, on different scales), and what was tuned.
//!
//! It reads what `lathe_llm::train` logs through `RunRecorder`: the params
//! `base_model`, `lora_*`, `trainable_params`, `total_steps`…, the metrics
//! `train_loss`, `eval_loss`, `eval_perplexity` and `tokens_per_s` per
//! optimizer step, and the `lathe.llm.base_model` tag set by the command.
//! The trainer logs no sample generations, so none are shown.

use std::fmt::Write as _;

use lathe_core::{Metric, Run};

use super::{chart_points, tag};
use crate::{
    chart::{line_chart, Series},
    html::{esc, num},
};

/// The tag `lathe llm finetune` sets on its runs.
const BASE_MODEL_TAG: &str = "lathe.llm.base_model";
/// Params shown in the summary, in order, with their labels.
const FACTS: [(&str, &str); 8] = [
    ("base_model", "Base model"),
    ("lora_rank", "LoRA rank"),
    ("lora_alpha", "LoRA alpha"),
    ("lora_targets", "Adapted layers"),
    ("trainable_params", "Trainable params"),
    ("train_examples", "Training examples"),
    ("eval_examples", "Eval examples"),
    ("total_steps", "Optimizer steps"),
];

/// Whether `run` is a fine-tuning run: the command's tag, or the trainer's params.
pub(crate) fn is_finetune(run: &Run) -> bool {
    tag(&run.tags, BASE_MODEL_TAG).is_some()
        || (run.params.iter().any(|p| p.key == "lora_rank")
            && run.params.iter().any(|p| p.key == "base_model"))
}

/// Writes the section; `histories` are the run's metric histories by key
/// (with whether each was cut), as the metrics section read them.
pub(crate) fn section(out: &mut String, run: &Run, histories: &[(&str, &[Metric], bool)]) {
    let find = |key: &str| histories.iter().find(|(k, _, _)| *k == key);
    out.push_str(
        "<section aria-labelledby=\"finetune\"><h2 id=\"finetune\">Fine-tuning</h2><dl class=\"meta\">",
    );
    for (key, label) in FACTS {
        if let Some(p) = run.params.iter().find(|p| p.key == key) {
            let _ = write!(out, "<div><dt>{label}</dt><dd>{}</dd></div>", esc(&p.value));
        }
    }
    if let Some((_, h, _)) = find("eval_loss") {
        let best =
            h.iter().filter(|m| m.value.is_finite()).min_by(|a, b| a.value.total_cmp(&b.value));
        if let Some(best) = best {
            let _ = write!(
                out,
                "<div><dt>Best eval loss</dt><dd>{} at step {}</dd></div>",
                num(best.value),
                best.step
            );
        }
    }
    if let Some((_, h, _)) = find("tokens_per_s") {
        let mut tps: Vec<f64> = h.iter().map(|m| m.value).filter(|v| v.is_finite()).collect();
        tps.sort_by(f64::total_cmp);
        if let Some(median) = tps.get(tps.len() / 2) {
            let _ = write!(out, "<div><dt>Tokens/s (median)</dt><dd>{}</dd></div>", num(*median));
        }
    }
    out.push_str("</dl>");
    let mut series = Vec::new();
    let mut notes = Vec::new();
    for key in ["train_loss", "eval_loss"] {
        if let Some((_, h, cut)) = find(key) {
            let (points, note) = chart_points(h, *cut);
            if !note.is_empty() {
                notes.push(format!("{key}: {note}"));
            }
            series.push(Series { label: key.to_string(), points });
        }
    }
    if series.is_empty() {
        out.push_str("<p class=\"muted\">No loss logged yet.</p>");
    } else {
        out.push_str("<div class=\"charts\">");
        line_chart(out, "Loss", &notes.join("; "), "step", &series);
        out.push_str("</div>");
    }
    out.push_str("</section>");
}
