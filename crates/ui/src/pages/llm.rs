//! The run page's section for a LoRA fine-tuning run (`lathe llm finetune`):
//! the training and evaluation loss overlaid on one chart (the generic
//! metric charts draw them apart, on different scales), and what was tuned.
//!
//! It reads what `lathe_llm::train` logs through `RunRecorder`: the params
//! `base_model`, `lora_*`, `trainable_params`, `total_steps`…, the metrics
//! `train_loss`, `eval_loss`, `eval_perplexity` and `tokens_per_s` per
//! optimizer step, and the `lathe.llm.base_model` tag set by the command.
//!
//! Sample generations (`samples/step-NNNNNN.json`, one per evaluation) are
//! shown one step at a time, as a table of prompt, reference and generation:
//! the page lists the `samples/` folder once and reads only the file of the
//! step in the URL (`?samples=N`, the last by default), so a long run with
//! many evaluations costs one listing and one small read.

use std::fmt::Write as _;

use lathe_core::{Metric, Run};
use lathe_store::ArtifactStore;
use tokio::io::AsyncReadExt as _;

use super::{artifacts::run_root, chart_points, tag};
use crate::{
    chart::{line_chart, Series},
    error::{UiError, UiResult},
    html::{a, esc, num, Link},
};

/// The run's artifact folder of sample generations, one file per evaluation.
const SAMPLES_DIR: &str = "samples";
/// Largest samples file read (a few prompts and answers are kilobytes).
const SAMPLES_LIMIT: u64 = 1 << 20;
/// Most characters of one prompt, reference or generation shown.
const CELL_CHARS: usize = 2000;

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

/// Writes the sample generations of one evaluation step: `selected` (the
/// URL's `samples`), else the last; links to the other steps.
pub(crate) async fn samples(
    out: &mut String,
    artifacts: &dyn ArtifactStore,
    run: &Run,
    selected: Option<&str>,
) -> UiResult<()> {
    let Some(root) = run_root(run) else { return Ok(()) };
    let dir = format!("{root}/{SAMPLES_DIR}");
    let mut steps: Vec<(u64, String)> = artifacts
        .list(&dir)
        .await?
        .into_iter()
        .filter(|f| !f.is_dir && f.file_size.is_some_and(|n| n <= SAMPLES_LIMIT))
        .filter_map(|f| {
            let name = f.path.rsplit('/').next()?;
            let step = name.strip_prefix("step-")?.strip_suffix(".json")?.parse().ok()?;
            Some((step, f.path))
        })
        .collect();
    if steps.is_empty() {
        return match selected {
            Some(_) => Err(UiError::NotFound("this run logged no sample generations".into())),
            None => Ok(()),
        };
    }
    steps.sort_unstable();
    let chosen = match selected {
        None => steps.len() - 1,
        Some(v) => {
            let step: u64 = v.parse().map_err(|_| {
                UiError::BadRequest(format!("samples={v:?} is not an optimizer step"))
            })?;
            steps
                .iter()
                .position(|(s, _)| *s == step)
                .ok_or_else(|| UiError::NotFound(format!("no sample generations at step {step}")))?
        }
    };
    let (step, path) = &steps[chosen];
    let (mut stream, _) = artifacts.get(path).await?;
    let mut bytes = Vec::new();
    stream
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| UiError::Backend(format!("cannot read {path}: {e}")))?;
    out.push_str("<section aria-labelledby=\"samples\"><h2 id=\"samples\">Sample generations</h2>");
    if steps.len() > 1 {
        out.push_str("<p>Step: ");
        let here = Link::to(&["runs", &run.info.run_id]);
        for (i, (s, _)) in steps.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            if i == chosen {
                let _ = write!(out, "<strong>{s}</strong>");
            } else {
                out.push_str(&a(&here.clone().set("samples", s.to_string()), &s.to_string()));
            }
        }
        out.push_str("</p>");
    }
    let rows = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.get("samples").and_then(serde_json::Value::as_array).cloned());
    let Some(rows) = rows else {
        let _ = write!(
            out,
            "<p class=\"muted\">{} is not a samples file.</p></section>",
            esc(path.rsplit('/').next().unwrap_or(path))
        );
        return Ok(());
    };
    let _ = write!(
        out,
        "<table><caption>Greedy answers to held-out prompts after step {step}</caption>\
         <thead><tr><th scope=\"col\">Prompt</th><th scope=\"col\">Reference</th>\
         <th scope=\"col\">Generation</th></tr></thead><tbody>"
    );
    for row in &rows {
        out.push_str("<tr>");
        for key in ["prompt", "reference", "generation"] {
            let text = row.get(key).and_then(serde_json::Value::as_str).unwrap_or("");
            let cut: String = text.chars().take(CELL_CHARS).collect();
            let more = if cut.len() < text.len() { "…" } else { "" };
            let _ = write!(out, "<td class=\"sample\"><pre>{}{more}</pre></td>", esc(&cut));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></section>");
    Ok(())
}
