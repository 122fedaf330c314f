//! `lathe data …`: `profile` prints what a table holds (types, missing
//! shares, summaries, correlation with a target, warnings); `split` writes
//! train and test files in the input's format.

use std::path::{Path, PathBuf};

use anyhow::Context;
use lathe_data::polars::prelude::DataType;
use lathe_data::{encode_target, profile::profile, read_table, split, ColumnType, ReadOptions};

use crate::output;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Profile a CSV, Parquet or JSON-lines file: types, missing values, summaries, warnings.
    Profile(ProfileArgs),
    /// Split a file into train and test files (random, stratified, group or time-based).
    Split(SplitArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct ProfileArgs {
    /// The table (.csv, .parquet, .jsonl, .ndjson).
    file: PathBuf,
    /// Target column: adds correlations, leakage and class-imbalance checks.
    #[arg(long)]
    target: Option<String>,
    /// Force a column's type, e.g. `--type zip=categorical` (repeatable).
    #[arg(long = "type", value_parser = parse_override)]
    types: Vec<(String, ColumnType)>,
    /// Also write the profile as a self-contained HTML page with plots.
    #[arg(long)]
    html: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Strategy {
    Random,
    Stratified,
    Group,
    Time,
}

#[derive(Debug, clap::Args)]
pub(crate) struct SplitArgs {
    /// The table (.csv, .parquet, .jsonl, .ndjson).
    file: PathBuf,
    /// Where `train.<ext>` and `test.<ext>` are written.
    #[arg(long)]
    out_dir: PathBuf,
    #[arg(long, value_enum, default_value = "random")]
    strategy: Strategy,
    /// The column to stratify on, group by, or order by (time).
    #[arg(long)]
    by: Option<String>,
    /// Share of rows in the test file.
    #[arg(long, default_value_t = 0.2)]
    test_size: f64,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Force a column's type, e.g. `--type zip=categorical` (repeatable).
    #[arg(long = "type", value_parser = parse_override)]
    types: Vec<(String, ColumnType)>,
}

fn parse_override(s: &str) -> Result<(String, ColumnType), String> {
    let (name, kind) = s.split_once('=').ok_or_else(|| format!("{s:?}: expected COLUMN=TYPE"))?;
    Ok((name.to_string(), kind.parse().map_err(|e: lathe_data::Error| e.to_string())?))
}

pub(crate) async fn run(cmd: Command) -> anyhow::Result<()> {
    match cmd {
        Command::Profile(args) => run_profile(args),
        Command::Split(args) => run_split(args),
    }
}

fn run_profile(args: ProfileArgs) -> anyhow::Result<()> {
    let opts = ReadOptions { schema_overrides: args.types, ..ReadOptions::default() };
    let table = read_table(&args.file, &opts)?;
    let target = match &args.target {
        Some(t) => Some(encode_target(&table.frame, t, None)?),
        None => None,
    };
    let p = profile(&table, target.as_ref())?;
    output::line(&format!(
        "{}: {} rows, {} columns",
        args.file.display(),
        p.rows,
        p.columns.len()
    ))?;
    if let Some(t) = &target {
        output::line(&format!("target {:?}: {:?}, classes {:?}", t.name, t.kind, t.classes))?;
    }
    let rows: Vec<Vec<String>> = p
        .columns
        .iter()
        .map(|c| {
            let summary = match c.numeric {
                Some((mean, q)) => format!(
                    "mean {} | min {} q25 {} med {} q75 {} max {}",
                    num(mean),
                    num(q[0]),
                    num(q[1]),
                    num(q[2]),
                    num(q[3]),
                    num(q[4])
                ),
                None if c.kind == ColumnType::Text => format!("free text, {} distinct", c.distinct),
                None => c
                    .top
                    .iter()
                    .map(|(v, n)| format!("{} ({n})", short(v)))
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            vec![
                c.name.clone(),
                c.kind.as_str().to_string(),
                format!("{:.1}%", 100.0 * c.missing_share),
                c.distinct.to_string(),
                c.target_correlation.map_or(String::new(), |r| format!("{r:+.3}")),
                summary,
            ]
        })
        .collect();
    output::table(&["column", "type", "missing", "distinct", "corr", "summary"], &rows)?;
    for w in &p.warnings {
        output::line(&format!("warning: {w}"))?;
    }
    if let Some(html) = &args.html {
        let title =
            args.file.file_name().map_or(String::new(), |n| n.to_string_lossy().into_owned());
        std::fs::write(html, lathe_data::profile_html(&title, &p))
            .with_context(|| format!("writing {}", html.display()))?;
        output::line(&format!("html: {}", html.display()))?;
    }
    Ok(())
}

fn num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e12 {
        format!("{x:.0}")
    } else {
        format!("{x:.4}")
    }
}

fn short(s: &str) -> String {
    if s.chars().count() > 24 {
        format!("{}…", s.chars().take(23).collect::<String>())
    } else {
        s.to_string()
    }
}

fn run_split(args: SplitArgs) -> anyhow::Result<()> {
    let opts = ReadOptions { schema_overrides: args.types, ..ReadOptions::default() };
    let table = read_table(&args.file, &opts)?;
    let n = table.frame.height();
    let by = |what: &str| -> anyhow::Result<Vec<Option<String>>> {
        let name =
            args.by.as_deref().with_context(|| format!("--strategy {what} needs --by COLUMN"))?;
        let col = table.frame.column(name).map_err(|_| lathe_data::Error::MissingColumn {
            column: name.to_string(),
            available: table.frame.get_column_names().iter().map(|c| c.to_string()).collect(),
        })?;
        let s = col.cast(&DataType::String)?;
        Ok(s.str()?.iter().map(|v| v.map(str::to_string)).collect())
    };
    let rows = match args.strategy {
        Strategy::Random => split::random(n, args.test_size, args.seed)?,
        Strategy::Stratified => {
            let labels = by("stratified")?;
            let mut classes: Vec<&Option<String>> = labels.iter().collect();
            classes.sort();
            classes.dedup();
            let index: Vec<f64> = labels
                .iter()
                .map(|l| classes.binary_search(&l).map_or(0.0, |i| i as f64))
                .collect();
            split::stratified(&index, args.test_size, args.seed)?
        }
        Strategy::Group => split::group(&by("group")?, args.test_size, args.seed)?,
        Strategy::Time => {
            let name = args.by.as_deref().context("--strategy time needs --by COLUMN")?;
            let numeric = table.columns.iter().any(|(c, k)| c == name && *k == ColumnType::Numeric);
            if numeric {
                let col = table.frame.column(name)?.cast(&DataType::Float64)?;
                let keys: Vec<Option<f64>> = col.f64()?.iter().collect();
                split::time(&keys, args.test_size)?
            } else {
                split::time(&by("time")?, args.test_size)?
            }
        }
    };
    let ext = args.file.extension().and_then(|e| e.to_str()).unwrap_or("csv").to_ascii_lowercase();
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("creating {}", args.out_dir.display()))?;
    for (name, idx) in [("train", &rows.train), ("test", &rows.test)] {
        let path: PathBuf = Path::new(&args.out_dir).join(format!("{name}.{ext}"));
        lathe_data::write_table(&split::take_rows(&table.frame, idx)?, &path)?;
        output::line(&format!("{name}: {} rows -> {}", idx.len(), path.display()))?;
    }
    Ok(())
}
