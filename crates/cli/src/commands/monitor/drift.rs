//! `lathe monitor drift --reference REF.csv --current CUR.csv`: one drift test
//! per column, a terminal table and the dataset verdict, optionally the JSON
//! report and a self-contained HTML report.

use std::{collections::HashMap, path::PathBuf, time::Instant};

use anyhow::{bail, Context};
use std::sync::atomic::{AtomicUsize, Ordering};

use lathe_monitor::{
    html::{self, Distribution, HtmlContext},
    test_column, ColumnDrift, ColumnKind, ColumnTest, DriftOptions, DriftReport, Method, Mode,
};

use super::drift_input::Inputs;
use crate::output;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The data the model was trained or validated on: CSV with a header row, or Parquet.
    #[arg(long, value_name = "REF.csv|.parquet")]
    reference: PathBuf,
    /// The data to check against it, with the same columns: CSV or Parquet.
    #[arg(long, value_name = "CUR.csv|.parquet")]
    current: PathBuf,
    /// Also write the report as JSON to this file ("-" for stdout instead of the table).
    #[arg(long, value_name = "OUT.json")]
    json: Option<PathBuf>,
    /// Also write a self-contained HTML report (inline CSS and SVG, no network) to this file.
    #[arg(long, value_name = "OUT.html")]
    html: Option<PathBuf>,
    /// `evidently`: Evidently 0.7's default tests, thresholds and rules.
    /// `corrected`: two-sample chi-squared and Benjamini–Hochberg over the p-value tests.
    #[arg(long, value_enum, default_value_t = ModeArg::Evidently)]
    mode: ModeArg,
    /// Treat these columns as categorical (default: numerical if every value parses as a number).
    #[arg(long, value_name = "COL", num_args = 1.., action = clap::ArgAction::Append)]
    categorical: Vec<String>,
    /// Treat these columns as numerical; a value that is not a number is then an error.
    #[arg(long, value_name = "COL", num_args = 1.., action = clap::ArgAction::Append)]
    numerical: Vec<String>,
    /// Use this test for a column instead of the default, e.g. `num_03=psi:0.2` or `cat_4=chisquare`
    /// (tests: ks, chisquare, z, wasserstein, jensenshannon, psi, chisquare_homogeneity).
    #[arg(long = "test", value_name = "COL=TEST[:THRESHOLD]")]
    tests: Vec<String>,
    /// The dataset drifts when at least this share of columns drift.
    #[arg(long, default_value_t = 0.5)]
    drift_share: f64,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ModeArg {
    Evidently,
    Corrected,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let declared = declared_kinds(&args)?;
    let options = DriftOptions {
        mode: match args.mode {
            ModeArg::Evidently => Mode::Evidently,
            ModeArg::Corrected => Mode::Corrected,
        },
        drift_share: args.drift_share,
        tests: args.tests.iter().map(|t| parse_test(t)).collect::<anyhow::Result<_>>()?,
    };
    let started = Instant::now();
    let inputs = Inputs::open(&args.reference, &args.current, declared)?;
    let read = started.elapsed();
    options.check(inputs.names())?;
    let (columns, plots) = test_columns(&inputs, &options, args.html.is_some())?;
    let report = DriftReport::assemble(columns, &options);
    let (reference_rows, current_rows) = inputs.rows();
    tracing::info!(
        read_s = read.as_secs_f64(),
        test_s = (started.elapsed() - read).as_secs_f64(),
        reference_rows,
        current_rows,
        "drift report computed"
    );
    if let (Some(path), Some(plots)) = (&args.html, &plots) {
        let name = |p: &PathBuf| {
            p.file_name()
                .map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned())
        };
        let context = HtmlContext {
            reference_name: name(&args.reference),
            current_name: name(&args.current),
            reference_rows,
            current_rows,
        };
        std::fs::write(path, html::render(&report, plots, &context))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let json = serde_json::to_string_pretty(&report)?;
    match &args.json {
        Some(p) if p.as_os_str() == "-" => return output::line(&json),
        Some(p) => std::fs::write(p, json + "\n")
            .with_context(|| format!("cannot write {}", p.display()))?,
        None => {}
    }
    print_report(&report, reference_rows, current_rows)
}

/// Each column's result in order, and its plot when asked for.
type Tested = (Vec<(String, ColumnDrift)>, Option<Vec<Distribution>>);

/// Column pairs tested in parallel, one thread per core taking the next
/// untested column; each pair is dropped once tested (and plotted, with
/// `--html`), so a Parquet input holds only the columns in flight.
fn test_columns(inputs: &Inputs, options: &DriftOptions, plot: bool) -> anyhow::Result<Tested> {
    let names = inputs.names();
    let next = AtomicUsize::new(0);
    let one = |name: &str| -> anyhow::Result<(ColumnDrift, Option<Distribution>)> {
        let pair = inputs.pair(name)?;
        let plotted = plot.then(|| Distribution::of(&pair));
        Ok((test_column(&pair, options)?, plotted))
    };
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(name) = names.get(i) else { return Ok(done) };
            done.push((i, one(name)?));
        }
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(names.len());
    let results: Vec<anyhow::Result<Vec<_>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
        let mut results = vec![work()];
        for h in handles {
            results.push(h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
        }
        results
    });
    let mut tested = Vec::with_capacity(names.len());
    for r in results {
        tested.extend(r?);
    }
    tested.sort_by_key(|(i, _)| *i);
    let mut columns = Vec::with_capacity(tested.len());
    let mut plots = Vec::with_capacity(tested.len());
    for (i, (drift, plotted)) in tested {
        columns.push((names[i].clone(), drift));
        plots.extend(plotted);
    }
    Ok((columns, plot.then_some(plots)))
}

fn declared_kinds(args: &Args) -> anyhow::Result<HashMap<String, ColumnKind>> {
    let mut kinds = HashMap::new();
    for name in &args.numerical {
        kinds.insert(name.clone(), ColumnKind::Numerical);
    }
    for name in &args.categorical {
        if kinds.insert(name.clone(), ColumnKind::Categorical).is_some() {
            bail!("column '{name}' is given as both --numerical and --categorical");
        }
    }
    Ok(kinds)
}

/// `COL=TEST[:THRESHOLD]`.
fn parse_test(spec: &str) -> anyhow::Result<(String, ColumnTest)> {
    let Some((column, rest)) = spec.split_once('=') else {
        bail!("--test {spec}: expected COL=TEST or COL=TEST:THRESHOLD");
    };
    let (method, threshold) = match rest.split_once(':') {
        Some((m, t)) => {
            let t: f64 = t
                .parse()
                .with_context(|| format!("--test {spec}: threshold '{t}' is not a number"))?;
            (m, Some(t))
        }
        None => (rest, None),
    };
    let method: Method = method.parse().with_context(|| format!("--test {spec}"))?;
    Ok((column.to_string(), ColumnTest { method, threshold }))
}

fn score(v: f64) -> String {
    if v == 0.0 || (1e-3..1e6).contains(&v.abs()) {
        format!("{v:.6}").trim_end_matches('0').trim_end_matches('.').to_string()
    } else if v.is_finite() {
        format!("{v:.3e}")
    } else {
        v.to_string()
    }
}

fn print_report(
    report: &DriftReport,
    reference_rows: usize,
    current_rows: usize,
) -> anyhow::Result<()> {
    let corrected = report.mode == Mode::Corrected;
    let mut header = vec!["column", "type", "method", "score", "threshold", "drift"];
    if corrected {
        header.insert(4, "adjusted");
    }
    let rows: Vec<Vec<String>> = report
        .columns
        .iter()
        .map(|(name, c)| {
            let mut row = vec![
                name.clone(),
                match c.kind {
                    ColumnKind::Numerical => "num",
                    ColumnKind::Categorical => "cat",
                }
                .to_string(),
                c.method.to_string(),
                score(c.score),
                c.threshold.to_string(),
                if c.drift { "DRIFT" } else { "-" }.to_string(),
            ];
            if corrected {
                row.insert(4, c.adjusted_score.map(score).unwrap_or_else(|| "-".to_string()));
            }
            row
        })
        .collect();
    output::table(&header, &rows)?;
    for (name, c) in &report.columns {
        for note in &c.notes {
            output::line(&format!("note: {name}: {note}"))?;
        }
    }
    let drifted = report.drifted_columns();
    output::line(&format!(
        "\ndataset drift: {} ({} of {} columns drifted, share {:.3} {} {}; {} mode; {reference_rows} reference rows, {current_rows} current rows){}",
        if report.dataset_drift { "YES" } else { "NO" },
        report.number_of_drifted_columns,
        report.number_of_columns,
        report.drift_share,
        if report.dataset_drift { ">=" } else { "<" },
        report.drift_share_threshold,
        report.mode,
        if drifted.is_empty() { String::new() } else { format!("\ndrifted: {}", drifted.join(", ")) }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_overrides_parse() {
        let (col, t) = parse_test("num_03=psi:0.2").unwrap();
        assert_eq!((col.as_str(), t.method, t.threshold), ("num_03", Method::Psi, Some(0.2)));
        let (_, t) = parse_test("c=chisquare").unwrap();
        assert_eq!((t.method, t.threshold), (Method::ChiSquare, None));
        assert!(parse_test("c").is_err());
        assert!(parse_test("c=t-test").is_err());
        assert!(parse_test("c=ks:x").is_err());
    }

    #[test]
    fn scores_print_readably() {
        assert_eq!(score(0.05), "0.05");
        assert_eq!(score(3.8157e-38), "3.816e-38");
        assert_eq!(score(0.0), "0");
        assert_eq!(score(f64::INFINITY), "inf");
    }
}
