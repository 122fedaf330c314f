//! `lathe monitor feedback --file labels.csv --model NAME`: ground-truth
//! labels in bulk, with the same rules as `POST /feedback` on `lathe serve`:
//! every label must be one of the model's classes, or a finite number for a
//! regressor (else nothing is stored and the bad lines are named), unknown
//! prediction ids are reported, and the first label of a prediction stands
//! unless `--overwrite`.

use std::path::PathBuf;

use anyhow::{bail, Context};
use lathe_store::{Feedback, FeedbackOutcome};

use crate::{
    commands::{ArtifactsArgs, TrackingArgs},
    output, tracking_uri,
};

/// Labels written per store call.
const CHUNK: usize = 5_000;

/// Flags of `lathe monitor feedback`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// CSV with a header and the columns prediction_id and label.
    #[arg(long, value_name = "FILE")]
    file: PathBuf,
    /// The model the predictions come from: NAME, NAME@ALIAS or NAME/VERSION (its classes check the labels).
    #[arg(long, value_name = "MODEL")]
    model: String,
    /// Replace labels already stored instead of keeping the first.
    #[arg(long)]
    overwrite: bool,
    #[command(flatten)]
    tracking: TrackingArgs,
    #[command(flatten)]
    artifacts: ArtifactsArgs,
}

pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let store = tracking_uri::open(&args.tracking.tracking_uri).await?;
    let artifacts = args.artifacts.open(&args.tracking)?;
    let uri = if args.model.contains('@') || args.model.contains('/') {
        format!("models:/{}", args.model)
    } else {
        let log = store.prediction_log_summary(Some(&args.model)).await?;
        let Some(latest) = log.iter().map(|s| s.model_version).max() else {
            bail!("model '{}' has no logged predictions to label", args.model);
        };
        format!("models:/{}/{latest}", args.model)
    };
    let model = lathe_serve::load(&uri, &store, &artifacts).await?;
    let classes = model.scorer.classes();
    let records = read(&args.file, &classes)?;
    let mut total = FeedbackOutcome::default();
    for chunk in records.chunks(CHUNK) {
        let o = store.record_feedback(chunk, args.overwrite).await?;
        total.stored.extend(o.stored);
        total.unknown.extend(o.unknown);
        total.kept_first.extend(o.kept_first);
    }
    output::fields(&[
        ("labels read", records.len().to_string()),
        ("stored", total.stored.len().to_string()),
        ("unknown prediction ids", total.unknown.len().to_string()),
        ("kept first label", total.kept_first.len().to_string()),
    ])?;
    for id in total.unknown.iter().take(10) {
        output::line(&format!("unknown: {id}"))?;
    }
    Ok(())
}

/// A label as stored: a class as a JSON string; for a regressor (no
/// classes), a finite number as a JSON number.
fn label_json(label: &str, classes: &[String]) -> Option<String> {
    if classes.is_empty() {
        let value = label.parse::<f64>().ok().and_then(serde_json::Number::from_f64)?;
        return Some(serde_json::Value::Number(value).to_string());
    }
    classes
        .iter()
        .any(|c| c == label)
        .then(|| serde_json::Value::String(label.to_string()).to_string())
}

fn read(path: &std::path::Path, classes: &[String]) -> anyhow::Result<Vec<Feedback>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let header = reader.headers().with_context(|| format!("cannot read {}", path.display()))?;
    let column = |name: &str| header.iter().position(|h| h.trim_start_matches('\u{feff}') == name);
    let (Some(id_col), Some(label_col)) = (column("prediction_id"), column("label")) else {
        bail!("{}: the header must name the columns prediction_id and label", path.display());
    };
    let now = lathe_core::now_millis();
    let mut records = Vec::new();
    let mut problems = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let line = i + 2;
        let row = row.with_context(|| format!("{}: cannot read line {line}", path.display()))?;
        let id = row.get(id_col).unwrap_or("").trim();
        let label = row.get(label_col).unwrap_or("").trim();
        if id.is_empty() {
            problems.push(format!("line {line}: empty prediction_id"));
        } else if let Some(label) = label_json(label, classes) {
            records.push(Feedback { prediction_id: id.to_string(), label, received_at: now });
        } else if classes.is_empty() {
            problems.push(format!(
                "line {line}: label '{label}' is not a finite number (the model is a regressor)"
            ));
        } else {
            let expected: Vec<String> = classes.iter().map(|c| format!("'{c}'")).collect();
            problems.push(format!(
                "line {line}: label '{label}' is not a class of the model (expected {})",
                expected.join(" or ")
            ));
        }
    }
    if !problems.is_empty() {
        let shown: Vec<&str> = problems.iter().take(10).map(String::as_str).collect();
        bail!(
            "{}: {} invalid lines, nothing stored:\n  {}",
            path.display(),
            problems.len(),
            shown.join("\n  ")
        );
    }
    Ok(records)
}
