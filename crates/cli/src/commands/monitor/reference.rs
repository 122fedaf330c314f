//! `lathe monitor reference`: the reference profile of a dataset (see
//! `lathe_monitor::profile`), written to a file or stored with a model version
//! as the artifact `reference/profile.json` of its run, tagged
//! `lathe.reference_profile` on the version.

use std::{collections::HashSet, path::PathBuf};

use anyhow::{bail, Context};
use lathe_core::Tag;
use lathe_monitor::{ProfileOptions, ProfileValues, ReferenceProfile};
use lathe_serve::Output;
use lathe_store::{ArtifactStore, Store};

use super::csv_columns::{is_integer_literal, is_missing};
use crate::{
    commands::{ArtifactsArgs, TrackingArgs},
    tracking_uri,
};

/// The artifact path of the profile inside a run's artifacts.
pub(crate) const ARTIFACT: &str = "reference/profile.json";
/// The model version tag naming the stored profile.
pub(crate) const TAG: &str = "lathe.reference_profile";

/// Flags of `lathe monitor reference`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The reference data (CSV with a header row), e.g. the training data.
    #[arg(long, value_name = "FILE")]
    data: PathBuf,
    /// Store the profile with this model version (models:/NAME@ALIAS or models:/NAME/VERSION).
    #[arg(long, value_name = "MODEL_URI")]
    model: Option<String>,
    #[command(flatten)]
    tracking: TrackingArgs,
    #[command(flatten)]
    artifacts: ArtifactsArgs,
    /// Write the profile here (without --model and --out: to stdout).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Columns to profile as categories even if every value is a number.
    #[arg(long, value_delimiter = ',', value_name = "NAME")]
    categorical: Vec<String>,
    /// Above this many rows, profile a seeded sample of this many.
    #[arg(long, default_value_t = 100_000)]
    sample_cap: usize,
    /// Seed of the sample.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let declared: HashSet<String> = args.categorical.iter().cloned().collect();
    let path = args.data.clone();
    let features = tokio::task::spawn_blocking(move || read_columns(&path, &declared))
        .await
        .context("reading the data stopped unexpectedly")??;
    let options = ProfileOptions {
        sample_cap: args.sample_cap,
        seed: args.seed,
        ..ProfileOptions::default()
    };
    let Some(uri) = &args.model else {
        let profile = ReferenceProfile::compute(&features, &[], &options)?;
        return write(&profile, args.out.as_ref());
    };
    let store = tracking_uri::open(&args.tracking.tracking_uri).await?;
    let artifacts = args.artifacts.open(&args.tracking)?;
    let loaded = lathe_serve::load(uri, &store, &artifacts).await?;
    let predictions = predictions(&loaded, &features);
    if predictions.is_empty() {
        tracing::warn!(
            "the data lacks some of the model's numerical inputs: no prediction profile"
        );
    }
    let profile = ReferenceProfile::compute(&features, &predictions, &options)?;
    let at =
        store_profile(store.as_ref(), artifacts.as_ref(), &loaded.name, loaded.version, &profile)
            .await?;
    eprintln!("stored the reference profile of {} v{} at {at}", loaded.name, loaded.version);
    if args.out.is_some() {
        write(&profile, args.out.as_ref())?;
    }
    Ok(())
}

fn write(profile: &ReferenceProfile, out: Option<&PathBuf>) -> anyhow::Result<()> {
    let json = serde_json::to_string_pretty(profile)?;
    match out {
        Some(path) => std::fs::write(path, json + "\n")
            .with_context(|| format!("cannot write {}", path.display())),
        None => crate::output::line(&json),
    }
}

/// The model's prediction per row (`prediction`: the positive class's
/// probability, the value, or a multiclass model's label), or nothing when
/// an input of the model is not a numerical column of the data.
fn predictions(
    model: &lathe_serve::LoadedModel,
    features: &[(String, ProfileValues)],
) -> Vec<(String, ProfileValues)> {
    let mut columns = Vec::with_capacity(model.signature.columns.len());
    for spec in &model.signature.columns {
        match features.iter().find(|(n, _)| *n == spec.name) {
            Some((_, ProfileValues::Numerical { values, .. })) => columns.push(values),
            _ => return Vec::new(),
        }
    }
    let rows = columns.first().map_or(0, |c| c.len());
    let classes = model.scorer.classes();
    let mut row = vec![0.0; columns.len()];
    let mut numbers = Vec::new();
    let mut labels = Vec::new();
    for i in 0..rows {
        for (cell, column) in row.iter_mut().zip(&columns) {
            *cell = column[i];
        }
        match model.scorer.score(&row) {
            Ok(Output::Probability(v) | Output::Value(v)) => numbers.push(v),
            Ok(out @ Output::Probabilities(_)) => {
                labels.push(out.label(&classes).map(str::to_string))
            }
            Err(_) => numbers.push(f64::NAN),
        }
    }
    let values = if labels.is_empty() {
        ProfileValues::Numerical { values: numbers, integer: false }
    } else {
        ProfileValues::Categorical(labels)
    };
    vec![("prediction".to_string(), values)]
}

/// Stores `profile` as [`ARTIFACT`] among the artifacts of the version's run
/// and tags the version with its URI, which it returns.
pub(crate) async fn store_profile(
    store: &dyn Store,
    artifacts: &dyn ArtifactStore,
    name: &str,
    version: i64,
    profile: &ReferenceProfile,
) -> anyhow::Result<String> {
    let mv = store.get_model_version(name, version).await?;
    let run_id = mv.run_id;
    if run_id.is_empty() {
        bail!("{name} v{version} has no run to store its reference profile with");
    }
    let run = store.get_run(&run_id).await?;
    let root = &run.info.artifact_uri;
    let Some(dir) = proxied_path(root) else {
        bail!("run {run_id} keeps artifacts at {root}; only mlflow-artifacts:/ is supported");
    };
    let path = if dir.is_empty() { ARTIFACT.to_string() } else { format!("{dir}/{ARTIFACT}") };
    let bytes = serde_json::to_vec_pretty(profile)?;
    artifacts
        .put(&path, Box::pin(std::io::Cursor::new(bytes)))
        .await
        .with_context(|| format!("cannot store {path}"))?;
    let uri = format!("{}/{ARTIFACT}", root.trim_end_matches('/'));
    store.set_model_version_tag(name, version, &Tag::new(TAG, uri.clone())).await?;
    Ok(uri)
}

/// `mlflow-artifacts:/a/b` or `mlflow-artifacts://host/a/b` → `a/b`.
fn proxied_path(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix("mlflow-artifacts:")?;
    let rest = match rest.strip_prefix("//") {
        Some(with_host) => with_host.split_once('/').map_or("", |(_, p)| p),
        None => rest,
    };
    Some(rest.trim_matches('/').to_string())
}

/// The CSV's columns in row order: numerical when every present cell is a
/// number (and the column is not in `categorical`), categorical otherwise.
fn read_columns(
    path: &std::path::Path,
    categorical: &HashSet<String>,
) -> anyhow::Result<Vec<(String, ProfileValues)>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let names: Vec<String> = reader
        .headers()
        .with_context(|| format!("cannot read the header of {}", path.display()))?
        .iter()
        .map(|n| n.trim_start_matches('\u{feff}').to_string())
        .collect();
    for name in categorical {
        if !names.contains(name) {
            bail!("--categorical names column '{name}', which {} does not have", path.display());
        }
    }
    let mut cells: Vec<Vec<Option<String>>> = vec![Vec::new(); names.len()];
    for record in reader.records() {
        let record = record.with_context(|| format!("cannot read {}", path.display()))?;
        for (column, cell) in cells.iter_mut().zip(record.iter()) {
            column.push((!is_missing(cell)).then(|| cell.to_string()));
        }
    }
    Ok(names
        .into_iter()
        .zip(cells)
        .map(|(name, cells)| {
            let values = if categorical.contains(&name) { None } else { numbers(&cells) };
            (name, values.unwrap_or(ProfileValues::Categorical(cells)))
        })
        .collect())
}

fn numbers(cells: &[Option<String>]) -> Option<ProfileValues> {
    let mut integer = true;
    let values = cells
        .iter()
        .map(|c| match c {
            None => {
                integer = false;
                Some(f64::NAN)
            }
            Some(c) => {
                integer &= is_integer_literal(c);
                c.trim().parse::<f64>().ok()
            }
        })
        .collect::<Option<Vec<f64>>>()?;
    Some(ProfileValues::Numerical { values, integer })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_numerical_unless_a_cell_is_a_word_or_declared() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.csv");
        std::fs::write(&path, "a,b,c\n1,x,3\n,y,4\n2.5,x,5\n").unwrap();
        let declared: HashSet<String> = ["c".to_string()].into();
        let columns = read_columns(&path, &declared).unwrap();
        let profile = ReferenceProfile::compute(&columns, &[], &ProfileOptions::default()).unwrap();
        let kinds: Vec<String> = profile.features.iter().map(|f| f.kind.to_string()).collect();
        assert_eq!(kinds, ["numerical", "categorical", "categorical"]);
        assert_eq!(profile.features[0].missing, 1);
        assert_eq!(
            proxied_path("mlflow-artifacts:/1/r/artifacts").as_deref(),
            Some("1/r/artifacts")
        );
        let unknown: HashSet<String> = ["zz".to_string()].into();
        assert!(read_columns(&path, &unknown).is_err());
    }
}
