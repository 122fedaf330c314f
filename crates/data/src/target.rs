//! Encoding the target column: class indices for classifiers, the values
//! for regression.
//!
//! Without an explicit task: strings and booleans are classes; integers
//! with at most [`MAX_INTEGER_CLASSES`] distinct values are classes (sorted
//! numerically, so `10` follows `9`); other numbers are a regression target.

use lathe_core::{Target, TaskKind};
use polars::prelude::*;

use crate::{Error, Result};

/// Most distinct integer values an inferred classification target may have.
pub const MAX_INTEGER_CLASSES: usize = 10;

/// Encodes `column` of `frame` for `task` (inferred when `None`).
pub fn encode_target(frame: &DataFrame, column: &str, task: Option<TaskKind>) -> Result<Target> {
    let col = frame.column(column).map_err(|_| Error::MissingColumn {
        column: column.to_string(),
        available: frame.get_column_names().iter().map(|c| c.to_string()).collect(),
    })?;
    let bad = |message: String| Error::BadTarget { column: column.to_string(), message };
    let polars = |e: PolarsError| bad(e.to_string());
    let dtype = col.dtype().clone();
    let float_nan = if dtype.is_float() {
        col.cast(&DataType::Float64)
            .map_err(polars)?
            .f64()
            .map_err(polars)?
            .iter()
            .map(|v| v.is_some_and(f64::is_nan))
            .collect()
    } else {
        vec![false; col.len()]
    };
    let missing: Vec<usize> = (0..col.len())
        .filter(|&i| float_nan[i] || col.get(i).map(|v| v.is_null()).unwrap_or(true))
        .collect();
    if !missing.is_empty() {
        let shown: Vec<String> = missing.iter().take(10).map(|r| (r + 1).to_string()).collect();
        return Err(bad(format!(
            "{} missing value(s) at row(s) {}{}; expected a value on every row (drop or fill them)",
            missing.len(),
            shown.join(", "),
            if missing.len() > 10 { ", …" } else { "" }
        )));
    }
    let integer = dtype.is_integer();
    let classify = match &task {
        Some(TaskKind::Regression) => false,
        Some(_) => true,
        None if dtype == DataType::String || dtype == DataType::Boolean => true,
        None if integer => {
            let ints = col.cast(&DataType::Int64).map_err(polars)?;
            let mut distinct: Vec<i64> = ints.i64().map_err(polars)?.iter().flatten().collect();
            distinct.sort_unstable();
            distinct.dedup();
            distinct.len() <= MAX_INTEGER_CLASSES
        }
        None if dtype.is_primitive_numeric() => false,
        None => return Err(bad(format!("type {dtype}; expected labels or numbers"))),
    };
    if !classify {
        if !dtype.is_primitive_numeric() {
            return Err(bad(format!("type {dtype}; a regression target must be numeric")));
        }
        let values: Vec<f64> = col
            .cast(&DataType::Float64)
            .map_err(polars)?
            .f64()
            .map_err(polars)?
            .iter()
            .map(|v| v.unwrap_or(f64::NAN))
            .collect();
        if let Some(i) = values.iter().position(|v| v.is_infinite()) {
            return Err(bad(format!("row {} is infinite; expected finite numbers", i + 1)));
        }
        if values.iter().all(|v| *v == values[0]) {
            return Err(bad(format!("every row is {}; expected at least two values", values[0])));
        }
        return Ok(Target {
            name: column.to_string(),
            kind: TaskKind::Regression,
            values,
            classes: Vec::new(),
        });
    }
    let labels: Vec<String> = if integer {
        let ints = col.cast(&DataType::Int64).map_err(polars)?;
        ints.i64().map_err(polars)?.iter().map(|v| v.unwrap_or(0).to_string()).collect()
    } else {
        let s = col.cast(&DataType::String).map_err(polars)?;
        s.str().map_err(polars)?.iter().map(|v| v.unwrap_or("").to_string()).collect()
    };
    let mut classes: Vec<String> = labels.clone();
    if integer {
        classes.sort_by_key(|c| c.parse::<i64>().unwrap_or(i64::MAX));
    } else {
        classes.sort();
    }
    classes.dedup();
    if classes.len() < 2 {
        return Err(bad(format!(
            "a single class {:?}; expected at least two classes",
            classes.first().map_or("", String::as_str)
        )));
    }
    let kind = if classes.len() == 2 { TaskKind::Binary } else { TaskKind::Multiclass };
    if task == Some(TaskKind::Binary) && kind != TaskKind::Binary {
        return Err(bad(format!("{} classes; a binary task needs exactly two", classes.len())));
    }
    let index: std::collections::HashMap<&str, f64> =
        classes.iter().enumerate().map(|(i, c)| (c.as_str(), i as f64)).collect();
    let values =
        labels.iter().map(|l| index.get(l.as_str()).copied().unwrap_or(f64::NAN)).collect();
    Ok(Target { name: column.to_string(), kind, values, classes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> DataFrame {
        let cols = vec![
            Column::new("s".into(), ["b", "a", "c", "a"]),
            Column::new("i".into(), [10i64, 9, 10, 2]),
            Column::new("f".into(), [0.5f64, 1.5, 2.5, 3.5]),
            Column::new("one".into(), ["x", "x", "x", "x"]),
            Column::new("n".into(), [Some("a"), None, Some("b"), None]),
        ];
        DataFrame::new(4, cols).unwrap_or_default()
    }

    #[test]
    fn strings_and_small_integers_are_classes_sorted() -> Result<()> {
        let t = encode_target(&frame(), "s", None)?;
        assert_eq!(
            (t.kind, t.classes.clone()),
            (TaskKind::Multiclass, vec!["a".into(), "b".into(), "c".into()])
        );
        assert_eq!(t.values, vec![1., 0., 2., 0.]);
        let t = encode_target(&frame(), "i", None)?;
        assert_eq!(t.classes, vec!["2", "9", "10"]);
        assert_eq!(t.values, vec![2., 1., 2., 0.]);
        let t = encode_target(&frame(), "f", None)?;
        assert_eq!((t.kind, t.values), (TaskKind::Regression, vec![0.5, 1.5, 2.5, 3.5]));
        let t = encode_target(&frame(), "i", Some(TaskKind::Regression))?;
        assert_eq!(t.kind, TaskKind::Regression);
        Ok(())
    }

    #[test]
    fn bad_targets_are_named() {
        let e = encode_target(&frame(), "nope", None).map(|_| ()).unwrap_err().to_string();
        assert!(e.contains("\"nope\" not found") && e.contains("s, i, f, one, n"), "{e}");
        let e = encode_target(&frame(), "one", None).map(|_| ()).unwrap_err().to_string();
        assert!(e.contains("single class \"x\""), "{e}");
        let e = encode_target(&frame(), "n", None).map(|_| ()).unwrap_err().to_string();
        assert!(e.contains("2 missing value(s) at row(s) 2, 4"), "{e}");
        let e = encode_target(&frame(), "s", Some(TaskKind::Binary))
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(e.contains("3 classes"), "{e}");
    }
}
