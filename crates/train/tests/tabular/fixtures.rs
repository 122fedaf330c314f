//! The fixtures of `test_data/` (written by `make_gbm_reference.py`) as
//! feature matrices and targets, split by their `split` column.

use lathe_core::{FeatureMatrix, Target, TaskKind};

/// One table: train and test rows.
pub struct Case {
    pub name: &'static str,
    pub train: (FeatureMatrix, Target),
    pub test: (FeatureMatrix, Target),
}

const FILES: [(&str, &str, &str, TaskKind); 3] = [
    (
        "breast_cancer",
        include_str!("../../test_data/breast_cancer.csv"),
        "diagnosis",
        TaskKind::Binary,
    ),
    ("penguins", include_str!("../../test_data/penguins.csv"), "species", TaskKind::Multiclass),
    ("diabetes", include_str!("../../test_data/diabetes.csv"), "progression", TaskKind::Regression),
];

pub fn all() -> Vec<Case> {
    FILES.iter().map(|(name, csv, target, kind)| load(name, csv, target, kind.clone())).collect()
}

pub fn case(name: &str) -> Case {
    all().into_iter().find(|c| c.name == name).expect("a fixture of that name")
}

fn load(name: &'static str, csv: &str, target: &str, kind: TaskKind) -> Case {
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    let t = header.iter().position(|h| h == target).unwrap();
    let s = header.iter().position(|h| h == "split").unwrap();
    let features: Vec<String> = header
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != t && *i != s)
        .map(|(_, h)| h.clone())
        .collect();
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let mut classes: Vec<String> = Vec::new();
    if kind != TaskKind::Regression {
        classes = records.iter().map(|r| r[t].to_string()).collect();
        classes.sort();
        classes.dedup();
    }
    let part = |which: &str| {
        let rows: Vec<&csv::StringRecord> = records.iter().filter(|r| &r[s] == which).collect();
        let mut values = Vec::new();
        let mut y = Vec::new();
        for r in rows {
            for (i, cell) in r.iter().enumerate() {
                if i != t && i != s {
                    values.push(if cell.is_empty() { f64::NAN } else { cell.parse().unwrap() });
                }
            }
            y.push(if kind == TaskKind::Regression {
                r[t].parse().unwrap()
            } else {
                classes.iter().position(|c| c == &r[t]).unwrap() as f64
            });
        }
        let x = FeatureMatrix::new(features.clone(), values).unwrap();
        let target =
            Target { name: target.into(), kind: kind.clone(), values: y, classes: classes.clone() };
        (x, target)
    };
    Case { name, train: part("train"), test: part("test") }
}

/// `x` with NaN written into every 3rd row's `(row % cols)`-th value, so
/// missing values reach every feature's default direction.
pub fn with_nans(x: &FeatureMatrix) -> FeatureMatrix {
    let cols = x.cols();
    let mut values = x.values().to_vec();
    for r in (0..x.rows()).step_by(3) {
        values[r * cols + r % cols] = f64::NAN;
    }
    FeatureMatrix::new(x.names().to_vec(), values).unwrap()
}
