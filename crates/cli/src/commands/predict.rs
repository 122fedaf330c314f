//! `lathe predict`: batch scoring of a table with a trained pipeline, to CSV
//! or Parquet (by the output's extension): a `prediction` column and, for
//! classifiers, one `proba_<class>` column per class, row for row.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use lathe_data::{read_table, ReadOptions, Table};
use lathe_train::{FittedPipeline, Predictions};
use polars::prelude::{Column, CsvWriter, DataFrame, ParquetWriter, SerWriter};

use super::{evaluate, model_source};

/// Flags of `lathe predict`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The model: runs:/RUN_ID/model, models:/NAME/VERSION, models:/NAME@ALIAS or a local model folder.
    #[arg(long, value_name = "URI")]
    model: String,
    /// The rows to score: .csv, .parquet, .jsonl or .ndjson.
    #[arg(long, value_name = "FILE")]
    data: PathBuf,
    /// Where to write the predictions: .csv or .parquet.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    #[command(flatten)]
    source: model_source::SourceArgs,
}

pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let format = OutFormat::of(&args.out)?;
    let loaded = model_source::load(&args.model, &args.source).await?;
    let (rows, out) = tokio::task::spawn_blocking(move || {
        let table = read_table(&args.data, &ReadOptions::default())?;
        evaluate::refuse_infinite(&args.data, &table)?;
        let frame = matching_columns(&loaded.pipeline, &table, &args.data)?;
        let (predictions, report) = loaded.pipeline.predict_frame(&frame)?;
        evaluate::warn_unseen(&args.data, &report);
        let mut result = prediction_frame(&loaded.pipeline, &predictions)?;
        format.write(&mut result, &args.out)?;
        anyhow::Ok((predictions.rows(), args.out))
    })
    .await
    .context("scoring stopped unexpectedly")??;
    eprintln!("wrote {rows} predictions to {}", out.display());
    Ok(())
}

/// The frame restricted to the model's inputs (plus its target when
/// present): a missing input is an error naming the file, an extra column a warning.
pub(crate) fn matching_columns(
    pipeline: &FittedPipeline,
    table: &Table,
    path: &Path,
) -> anyhow::Result<DataFrame> {
    let have: Vec<String> = table.frame.get_column_names().iter().map(|c| c.to_string()).collect();
    let inputs: Vec<&str> = pipeline.inputs().iter().map(|c| c.name.as_str()).collect();
    let missing: Vec<&str> =
        inputs.iter().copied().filter(|c| !have.iter().any(|h| h == c)).collect();
    if !missing.is_empty() {
        bail!(
            "{}: the model needs column(s) {} that the data lacks; expected the columns {}",
            path.display(),
            missing.join(", "),
            inputs.join(", ")
        );
    }
    let prep = pipeline.preprocessor();
    let target = prep.target();
    let known = |c: &str| {
        inputs.contains(&c) || c == target || prep.dropped_columns().iter().any(|d| d == c)
    };
    let extra: Vec<&str> = have.iter().map(String::as_str).filter(|c| !known(c)).collect();
    if !extra.is_empty() {
        eprintln!(
            "warning: {}: column(s) {} are not inputs of the model; ignored",
            path.display(),
            extra.join(", ")
        );
    }
    let keep: Vec<&str> = have.iter().map(String::as_str).filter(|c| known(c)).collect();
    Ok(table.frame.select(keep)?)
}

/// `prediction` (class label or value) and `proba_<class>` per class.
pub(crate) fn prediction_frame(
    pipeline: &FittedPipeline,
    predictions: &Predictions,
) -> anyhow::Result<DataFrame> {
    let classes = pipeline.model().classes();
    let n = predictions.rows();
    let mut columns = Vec::with_capacity(classes.len() + 1);
    if classes.is_empty() {
        columns.push(Column::new("prediction".into(), predictions.values.clone()));
    } else {
        let labels: Vec<&str> =
            predictions.labels().into_iter().map(|l| classes[l].as_str()).collect();
        columns.push(Column::new("prediction".into(), labels));
        for (k, class) in classes.iter().enumerate() {
            let p: Vec<f64> = (0..n).map(|i| predictions.row(i)[k]).collect();
            columns.push(Column::new(format!("proba_{class}").into(), p));
        }
    }
    Ok(DataFrame::new(n, columns)?)
}

/// The output file's format.
#[derive(Debug, Clone, Copy)]
enum OutFormat {
    Csv,
    Parquet,
}

impl OutFormat {
    fn of(path: &Path) -> anyhow::Result<OutFormat> {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("csv") => Ok(OutFormat::Csv),
            Some("parquet") => Ok(OutFormat::Parquet),
            _ => {
                bail!("--out {}: unsupported extension; expected .csv or .parquet", path.display())
            }
        }
    }

    fn write(self, frame: &mut DataFrame, path: &Path) -> anyhow::Result<()> {
        let file = std::fs::File::create(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        match self {
            OutFormat::Csv => CsvWriter::new(file).finish(frame),
            OutFormat::Parquet => ParquetWriter::new(file).finish(frame).map(|_| ()),
        }
        .with_context(|| format!("cannot write {}", path.display()))
    }
}
