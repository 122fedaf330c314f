//! The default quickstart example: a `lathe.toml` project on the Adult
//! census table (embedded gzip-compressed), with production traffic kept
//! back for the replay.
//!
//! The drift is real, not synthetic: the project's data holds the original
//! training file's people under 35, and production is the original test
//! file, first people under 35 (no drift) and then people aged 35 and over,
//! whose ages, marital status and incomes (34% earn >50K against 11%) the
//! first model never saw. Their labels are the census's own.

use std::{
    io::Read,
    path::{Path, PathBuf},
};

use anyhow::Context;
use serde_json::{Map, Value};

/// UCI Adult, CC BY 4.0 (see `data/LICENSE.md`).
const ADULT_GZ: &[u8] = include_bytes!("../../../data/adult_income.csv.gz");
/// The registered model's name.
pub(crate) const MODEL: &str = "adult-income";
/// The column to predict.
pub(crate) const TARGET: &str = "income";
/// People below this age make up the training data.
const AGE_LIMIT: f64 = 35.0;
/// Production rows like the training data, then drifted ones.
const STEADY_ROWS: usize = 1_000;
const DRIFTED_ROWS: usize = 4_000;

const NUMERIC: [&str; 6] =
    ["age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week"];

/// The project's pipeline: profile, split, a linear baseline and gradient-
/// boosted trees (a hyperparameter search), evaluation, registration, the
/// champion/challenger gate; then monitoring, whose drift alert on `age`
/// retrains.
const LATHE_TOML: &str = r#"# Made by `lathe quickstart`: run it again with `lathe run` in this folder.
[project]
name = "adult-income"
experiment = "quickstart"

[data.adult]
path = "data/adult_income.csv"
target = "income"

[steps.profile]
kind = "profile"
data = "adult"

[steps.split]
kind = "split"
data = "adult"
strategy = "hash"
test_size = 0.2
seed = 42

[steps.baseline]
kind = "train"
needs = ["split"]
learner = "linear"
preprocess = { imputation = "median", scaling = "standard", max_categories = 20 }

# Successive halving over 9 configurations: each trial is a child run,
# the winner is chosen on validation rows (never the test rows).
[steps.gbm]
kind = "train"
needs = ["split"]
learner = "gbm"
params = { num_iterations = 200, learning_rate = 0.05 }
search = { strategy = "halving", trials = 9, eta = 3 }
space = { num_leaves = [15, 31, 63], min_data_in_leaf = { low = 20, high = 100 }, feature_fraction = { low = 0.6, high = 1.0 } }

[steps.evaluate]
kind = "evaluate"
needs = ["baseline", "gbm"]
metric = "roc_auc"
slices = ["sex"]

[steps.register]
kind = "register"
needs = ["evaluate"]
model = "adult-income"

# The gate compares log loss: a model that never saw people over 35
# ranks them fairly well but underestimates how many earn >50K.
[steps.promote]
kind = "promote"
needs = ["register"]
alias = "champion"
metric = "log_loss"
margin = 0.0

[monitoring]
window = "1000"
min_rows = 500
interval_seconds = 10

[[alerts]]
rule = "feature_drift(age)"
model = "adult-income"
trigger = "retrain"
"#;

/// One production row: the model's inputs and the true label.
pub(crate) struct Labelled {
    pub(crate) inputs: Map<String, Value>,
    pub(crate) label: String,
}

/// A project folder ready for `lathe run`, and the traffic to replay.
pub(crate) struct Project {
    /// `lathe.toml`.
    pub(crate) file: PathBuf,
    /// Rows written to the project's data.
    pub(crate) rows: usize,
    /// Production rows like the training data.
    pub(crate) steady: Vec<Labelled>,
    /// Production rows from people the training data left out.
    pub(crate) drifted: Vec<Labelled>,
}

/// Writes `data/adult_income.csv` (identical each time, so the step cache
/// stays valid) and, unless there is one, `lathe.toml` under `dir`.
pub(crate) fn create(dir: &Path) -> anyhow::Result<Project> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(ADULT_GZ)
        .read_to_string(&mut text)
        .context("the embedded Adult data is damaged")?;
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers()?.iter().map(str::to_string).collect();
    let col = |name: &str| header.iter().position(|h| h == name);
    let (Some(split), Some(age), Some(target)) = (col("split"), col("age"), col(TARGET)) else {
        anyhow::bail!("the embedded Adult data lacks the split, age or income column");
    };
    let keep: Vec<usize> = (0..header.len()).filter(|&i| i != split).collect();
    let mut data = csv::Writer::from_writer(Vec::new());
    data.write_record(keep.iter().map(|&i| header[i].as_str()))?;
    let (mut rows, mut steady, mut drifted) = (0, Vec::new(), Vec::new());
    for record in reader.records() {
        let record = record?;
        let young = record[age].parse::<f64>().is_ok_and(|a| a < AGE_LIMIT);
        if &record[split] == "train" {
            if young {
                data.write_record(keep.iter().map(|&i| &record[i]))?;
                rows += 1;
            }
            continue;
        }
        let bucket = if young { &mut steady } else { &mut drifted };
        let wanted = if young { STEADY_ROWS } else { DRIFTED_ROWS };
        if bucket.len() < wanted {
            let mut inputs = Map::new();
            for &i in keep.iter().filter(|&&i| i != target) {
                let (name, raw) = (&header[i], &record[i]);
                let value = if raw.is_empty() {
                    Value::Null
                } else if NUMERIC.contains(&name.as_str()) {
                    raw.parse::<i64>().map_or(Value::Null, Value::from)
                } else {
                    Value::from(raw)
                };
                inputs.insert(name.clone(), value);
            }
            bucket.push(Labelled { inputs, label: record[target].to_string() });
        }
    }
    let data_dir = dir.join("data");
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let bytes = data.into_inner().context("cannot write the project's data")?;
    let data_file = data_dir.join("adult_income.csv");
    write_if_changed(&data_file, &bytes)?;
    // A user's edits to the project's pipeline are theirs to keep.
    let file = dir.join("lathe.toml");
    if !file.exists() {
        std::fs::write(&file, LATHE_TOML)
            .with_context(|| format!("cannot write {}", file.display()))?;
    }
    Ok(Project { file, rows, steady, drifted })
}

/// Writes `bytes` unless the file already holds them.
fn write_if_changed(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}
