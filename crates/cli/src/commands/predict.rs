//! `lathe predict`: batch scoring of a table with a trained pipeline, to CSV
//! or Parquet (by the output's extension): a `prediction` column and, for
//! classifiers, one `proba_<class>` column per class, row for row.
//!
//! The table is read, scored and written a chunk of rows at a time
//! (`--chunk-rows`), so memory follows the chunk and not the file; each
//! column is read with the type the model was trained on, so every chunk
//! reads alike, and a bad cell is reported with its line in the whole file.

use std::fs::File;
use std::io::IsTerminal;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use lathe_data::{ChunkedReader, ReadOptions, ReadProgress, Table, TransformReport};
use lathe_train::{FittedPipeline, Predictions};
use polars::prelude::{Column, CsvWriter, DataFrame, DataType, ParquetWriter, Schema, SerWriter};

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
    /// Rows read, scored and written at a time; memory grows with it, not with the file.
    #[arg(long, value_name = "N", default_value = "100000")]
    chunk_rows: NonZeroUsize,
    #[command(flatten)]
    source: model_source::SourceArgs,
}

pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let format = OutFormat::of(&args.out)?;
    let loaded = model_source::load(&args.model, &args.source).await?;
    let (rows, out) = tokio::task::spawn_blocking(move || {
        let rows = score_file(&loaded.pipeline, &args.data, &args.out, format, args.chunk_rows);
        if rows.is_err() {
            // Half a file of predictions would pass for a whole one.
            let _ = std::fs::remove_file(&args.out);
        }
        anyhow::Ok((rows?, args.out))
    })
    .await
    .context("scoring stopped unexpectedly")??;
    eprintln!("wrote {rows} predictions to {}", out.display());
    Ok(())
}

/// Reads `data` a chunk at a time, scores each chunk and appends its
/// predictions to `out`; returns the number of rows.
fn score_file(
    pipeline: &FittedPipeline,
    data: &Path,
    out: &Path,
    format: OutFormat,
    chunk_rows: NonZeroUsize,
) -> anyhow::Result<usize> {
    let prep = pipeline.preprocessor();
    let opts = ReadOptions { schema_overrides: prep.input_columns(), ..ReadOptions::default() };
    let mut reader = ChunkedReader::open(data, &opts, chunk_rows.get())?;
    check_columns(pipeline, reader.columns(), data)?;
    let inputs: Vec<&str> = pipeline.inputs().iter().map(|c| c.name.as_str()).collect();
    reader.select(&inputs)?;
    let bar = progress_bar(reader.progress());
    let file = File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut sink = Sink::new(format, file, &output_schema(pipeline))
        .with_context(|| format!("cannot write {}", out.display()))?;
    let mut total = TransformReport::default();
    while let Some(chunk) = reader.next() {
        let table: Table = chunk?;
        evaluate::refuse_infinite(data, &table)?;
        let first = total.rows;
        let (predictions, report) = pipeline.predict_frame(&table.frame).with_context(|| {
            format!(
                "{}: scoring rows {} to {} (a row number below counts from the first of them)",
                data.display(),
                first + 1,
                first + table.frame.height()
            )
        })?;
        add_report(&mut total, &report);
        let frame = prediction_frame(pipeline, &predictions)?;
        sink.write(&frame).with_context(|| format!("cannot write {}", out.display()))?;
        bar.set_position(reader.progress().done);
    }
    sink.finish().with_context(|| format!("cannot write {}", out.display()))?;
    bar.finish_and_clear();
    evaluate::warn_unseen(data, &total);
    Ok(total.rows)
}

/// Adds a chunk's transform report to the running total (columns come in
/// the same order in every chunk).
fn add_report(total: &mut TransformReport, chunk: &TransformReport) {
    total.rows += chunk.rows;
    for (column, count) in &chunk.unseen {
        match total.unseen.iter_mut().find(|(c, _)| c == column) {
            Some((_, sum)) => *sum += count,
            None => total.unseen.push((column.clone(), *count)),
        }
    }
}

/// A bar by bytes (CSV, JSON lines) or rows (Parquet) on a terminal's stderr.
fn progress_bar(progress: ReadProgress) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(progress.total);
    let template = if progress.bytes {
        "scoring [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)"
    } else {
        "scoring [{bar:30}] {pos}/{len} rows ({per_sec}, {eta} left)"
    };
    // The templates are constants; should one not parse, the default style is fine.
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// A missing model input is an error naming the file; a column that is no
/// input, target or dropped column of the model is a warning.
fn check_columns(pipeline: &FittedPipeline, have: &[String], path: &Path) -> anyhow::Result<()> {
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
    let extra: Vec<&str> =
        have.iter().map(String::as_str).filter(|c| !known_column(pipeline, c)).collect();
    if !extra.is_empty() {
        eprintln!(
            "warning: {}: column(s) {} are not inputs of the model; ignored",
            path.display(),
            extra.join(", ")
        );
    }
    Ok(())
}

/// An input of the model, its target, or a column it dropped at fit.
fn known_column(pipeline: &FittedPipeline, column: &str) -> bool {
    let prep = pipeline.preprocessor();
    pipeline.inputs().iter().any(|c| c.name == column)
        || column == prep.target()
        || prep.dropped_columns().iter().any(|d| d == column)
}

/// The frame restricted to the model's inputs (plus its target when
/// present): a missing input is an error naming the file, an extra column a warning.
pub(crate) fn matching_columns(
    pipeline: &FittedPipeline,
    table: &Table,
    path: &Path,
) -> anyhow::Result<DataFrame> {
    let have: Vec<String> = table.frame.get_column_names().iter().map(|c| c.to_string()).collect();
    check_columns(pipeline, &have, path)?;
    let keep: Vec<&str> =
        have.iter().map(String::as_str).filter(|c| known_column(pipeline, c)).collect();
    Ok(table.frame.select(keep)?)
}

/// The columns of [`prediction_frame`], known before any row is scored.
fn output_schema(pipeline: &FittedPipeline) -> Schema {
    let classes = pipeline.model().classes();
    let mut schema = Schema::default();
    if classes.is_empty() {
        schema.insert("prediction".into(), DataType::Float64);
    } else {
        schema.insert("prediction".into(), DataType::String);
        for class in classes {
            schema.insert(format!("proba_{class}").into(), DataType::Float64);
        }
    }
    schema
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
}

/// The output file, appended to a chunk at a time: CSV writes its header
/// once, Parquet one row group per chunk.
enum Sink {
    Csv(polars::io::csv::write::BatchedWriter<File>),
    Parquet(Box<polars::io::parquet::write::BatchedWriter<File>>),
}

impl Sink {
    fn new(format: OutFormat, file: File, schema: &Schema) -> polars::prelude::PolarsResult<Sink> {
        Ok(match format {
            OutFormat::Csv => Sink::Csv(CsvWriter::new(file).batched(schema)?),
            OutFormat::Parquet => {
                Sink::Parquet(Box::new(ParquetWriter::new(file).batched(schema)?))
            }
        })
    }

    fn write(&mut self, frame: &DataFrame) -> polars::prelude::PolarsResult<()> {
        match self {
            Sink::Csv(w) => w.write_batch(frame),
            Sink::Parquet(w) => w.write_batch(frame),
        }
    }

    fn finish(self) -> polars::prelude::PolarsResult<()> {
        match self {
            Sink::Csv(mut w) => w.finish(),
            Sink::Parquet(w) => w.finish().map(|_| ()),
        }
    }
}
