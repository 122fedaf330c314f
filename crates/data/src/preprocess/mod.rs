//! The fitted preprocessing pipeline: columns in, a dense feature matrix out.
//!
//! [`Preprocessor::fit`] learns each column's step from the training rows
//! (numeric imputation + indicator + scaling, one-hot or ordinal labels,
//! datetime parts, TF-IDF); [`Preprocessor::transform`] applies it to a
//! frame and [`Preprocessor::transform_row`] to one JSON object, through the
//! same per-cell code, so both give bit-identical features. It is plain
//! data and saves as versioned JSON.
//!
//! Numbers: NaN and NA texts are missing; ±inf is refused with its row and
//! column (at fit and at transform) rather than silently clipped.

mod categorical;
mod cell;
mod columnar;
mod numeric;
mod spec;
mod text;

#[cfg(test)]
mod tests;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use lathe_core::FeatureMatrix;

use self::categorical::{OneHotStep, OrdinalStep};
use self::cell::{json_cell, Cell, Loc, Values};
pub(crate) use self::numeric::quantile;
use self::numeric::NumericStep;
pub use self::spec::{CategoricalEncoding, Imputation, PreprocessSpec, Scaling};
use self::text::TfidfStep;
use crate::types::{
    infer_string_type_counted, is_na_token, parse_bool, parse_datetime, ColumnType,
};
use crate::{Error, Result};

/// Format tag and version of the saved JSON.
const FORMAT: &str = "lathe.preprocessor";
const VERSION: u32 = 1;

/// Names of the datetime parts, in feature order.
const DATE_PARTS: [&str; 5] = ["year", "month", "day", "weekday", "hour"];

/// A fitted per-column step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
enum Step {
    Numeric(NumericStep),
    OneHot(OneHotStep),
    Ordinal(OrdinalStep),
    Tfidf(TfidfStep),
    Datetime { parts: Vec<NumericStep> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct FittedColumn {
    name: String,
    kind: ColumnType,
    #[serde(flatten)]
    step: Step,
}

/// What a transform noticed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransformReport {
    /// Rows transformed.
    pub rows: usize,
    /// Per categorical column, how many values were never seen in training
    /// (they went to the `unknown` bucket, or code -1 when ordinal).
    pub unseen: Vec<(String, usize)>,
}

/// A preprocessing fitted on training rows; see the module docs.
#[derive(Debug, Clone, PartialEq)]
pub struct Preprocessor {
    spec: PreprocessSpec,
    target: String,
    columns: Vec<FittedColumn>,
    dropped: Vec<String>,
    names: Vec<String>,
    offsets: Vec<usize>,
}

#[derive(Serialize, Deserialize)]
struct Saved {
    format: String,
    version: u32,
    spec: PreprocessSpec,
    target: String,
    columns: Vec<FittedColumn>,
    dropped: Vec<String>,
}

impl Preprocessor {
    /// Fits on `frame` (the training rows only), every column but `target`.
    /// All-null columns are dropped (and tolerated at transform).
    pub fn fit(frame: &DataFrame, target: &str, spec: &PreprocessSpec) -> Result<Preprocessor> {
        let polars = |e: PolarsError| Error::InvalidArgument(e.to_string());
        if frame.column(target).is_err() {
            return Err(Error::MissingColumn {
                column: target.to_string(),
                available: frame.get_column_names().iter().map(|c| c.to_string()).collect(),
            });
        }
        for (name, _) in &spec.column_types {
            if frame.column(name).is_err() {
                return Err(Error::MissingColumn {
                    column: name.clone(),
                    available: frame.get_column_names().iter().map(|c| c.to_string()).collect(),
                });
            }
        }
        let mut columns = Vec::new();
        let mut dropped = Vec::new();
        for col in frame.columns() {
            let name = col.name().to_string();
            if name == target {
                continue;
            }
            let values = Values::of(col).map_err(polars)?;
            if values.cells().all(|c| c.label().is_none()) {
                dropped.push(name);
                continue;
            }
            // Texts and booleans are counted once: inferring their type and
            // fitting a categorical step need only the distinct values.
            let distinct = (!matches!(values, Values::Num(_))).then(|| values.distinct().0);
            let forced = spec.column_types.iter().find(|(n, _)| *n == name).map(|(_, t)| *t);
            let kind = forced.unwrap_or_else(|| infer_kind(col.dtype(), distinct.as_deref()));
            let step = fit_step(&name, kind, &values, distinct, spec)?;
            columns.push(FittedColumn { name, kind, step });
        }
        Ok(Preprocessor::assemble(spec.clone(), target.to_string(), columns, dropped))
    }

    fn assemble(
        spec: PreprocessSpec,
        target: String,
        columns: Vec<FittedColumn>,
        dropped: Vec<String>,
    ) -> Preprocessor {
        let mut names = Vec::new();
        let mut offsets = Vec::with_capacity(columns.len());
        for c in &columns {
            offsets.push(names.len());
            names.extend(c.step.feature_names(&c.name));
        }
        Preprocessor { spec, target, columns, dropped, names, offsets }
    }

    /// Output feature names, in order.
    pub fn feature_names(&self) -> &[String] {
        &self.names
    }

    /// The input columns the preprocessing reads, with their types (for the
    /// model signature). Dropped all-null columns are not among them.
    pub fn input_columns(&self) -> Vec<(String, ColumnType)> {
        self.columns.iter().map(|c| (c.name.clone(), c.kind)).collect()
    }

    /// The target column it was fitted beside (ignored when present at transform).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The spec it was fitted with.
    pub fn spec(&self) -> &PreprocessSpec {
        &self.spec
    }

    /// Columns dropped at fit because every value was missing.
    pub fn dropped_columns(&self) -> &[String] {
        &self.dropped
    }

    fn check_schema<'a>(&self, present: impl Iterator<Item = &'a str> + Clone) -> Result<()> {
        let missing: Vec<String> = self
            .columns
            .iter()
            .filter(|c| !present.clone().any(|p| p == c.name))
            .map(|c| c.name.clone())
            .collect();
        let extra: Vec<String> = present
            .filter(|p| {
                *p != self.target
                    && !self.dropped.iter().any(|d| d == p)
                    && !self.columns.iter().any(|c| c.name == *p)
            })
            .map(str::to_string)
            .collect();
        if missing.is_empty() && extra.is_empty() {
            Ok(())
        } else {
            Err(Error::SchemaMismatch { missing, extra })
        }
    }

    /// Applies the fitted steps to every row of `frame`.
    pub fn transform(&self, frame: &DataFrame) -> Result<(FeatureMatrix, TransformReport)> {
        let names: Vec<&str> = frame.get_column_names().into_iter().map(|s| s.as_str()).collect();
        self.check_schema(names.iter().copied())?;
        let rows = frame.height();
        let width = self.names.len();
        let mut report = TransformReport { rows, unseen: Vec::new() };
        let mut prepared = Vec::with_capacity(self.columns.len());
        for (c, &offset) in self.columns.iter().zip(&self.offsets) {
            let col = frame.column(&c.name).map_err(|e| Error::InvalidArgument(e.to_string()))?;
            let values = Values::of(col).map_err(|e| Error::InvalidArgument(e.to_string()))?;
            let (p, unseen) = columnar::prepare(c, &values)?;
            if matches!(c.step, Step::OneHot(_) | Step::Ordinal(_)) {
                report.unseen.push((c.name.clone(), unseen));
            }
            prepared.push((p, offset));
        }
        let values = columnar::lay_out(&prepared, rows, width);
        let matrix = FeatureMatrix::new(self.names.clone(), values)
            .map_err(|e| Error::InvalidArgument(e.to_string()))?;
        Ok((matrix, report))
    }

    /// Applies the fitted steps to one JSON object (what serving receives);
    /// builds no DataFrame. Errors name the field and the expected type.
    pub fn transform_row(
        &self,
        row: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Vec<f64>> {
        self.check_schema(row.keys().map(String::as_str))?;
        let mut out = vec![0.0; self.names.len()];
        for (c, &offset) in self.columns.iter().zip(&self.offsets) {
            let value = row.get(&c.name).unwrap_or(&serde_json::Value::Null);
            let cell = json_cell(&c.name, value)?;
            c.step.apply(
                &c.name,
                &cell,
                Loc::Request,
                &mut out[offset..offset + c.step.width()],
            )?;
        }
        Ok(out)
    }

    /// The fitted preprocessing as versioned JSON.
    pub fn to_json(&self) -> Result<String> {
        let saved = Saved {
            format: FORMAT.into(),
            version: VERSION,
            spec: self.spec.clone(),
            target: self.target.clone(),
            columns: self.columns.clone(),
            dropped: self.dropped.clone(),
        };
        serde_json::to_string(&saved).map_err(|e| Error::Json(e.to_string()))
    }

    /// Reads what [`Preprocessor::to_json`] wrote; refuses other formats and versions.
    pub fn from_json(json: &str) -> Result<Preprocessor> {
        let saved: Saved = serde_json::from_str(json).map_err(|e| Error::Json(e.to_string()))?;
        if saved.format != FORMAT || saved.version != VERSION {
            return Err(Error::Json(format!(
                "format {:?} version {}; expected {FORMAT:?} version {VERSION}",
                saved.format, saved.version
            )));
        }
        Ok(Preprocessor::assemble(saved.spec, saved.target, saved.columns, saved.dropped))
    }
}

/// A frame column's type from its dtype and, for texts, its distinct
/// values with their counts (see [`crate::types`]).
fn infer_kind(dtype: &DataType, distinct: Option<&[(Cell<'_>, usize)]>) -> ColumnType {
    if dtype.is_primitive_numeric() {
        return ColumnType::Numeric;
    }
    match dtype {
        DataType::Boolean => ColumnType::Boolean,
        DataType::Date | DataType::Datetime(..) => ColumnType::Datetime,
        _ => {
            let texts: Vec<(&str, usize)> = distinct
                .unwrap_or_default()
                .iter()
                .filter_map(|(c, n)| match c {
                    Cell::Text(s) if !is_na_token(s) => Some((s.trim(), *n)),
                    _ => None,
                })
                .collect();
            if texts.iter().all(|(s, _)| s.parse::<f64>().is_ok()) {
                ColumnType::Numeric
            } else if texts.iter().all(|(s, _)| parse_bool(s).is_some()) {
                ColumnType::Boolean
            } else {
                infer_string_type_counted(texts.into_iter())
            }
        }
    }
}

/// `distinct`: the column's distinct cells with their counts, when the
/// caller already has them.
fn fit_step(
    name: &str,
    kind: ColumnType,
    values: &Values,
    distinct: Option<Vec<(Cell<'_>, usize)>>,
    spec: &PreprocessSpec,
) -> Result<Step> {
    Ok(match kind {
        ColumnType::Numeric => {
            let values = values
                .cells()
                .enumerate()
                .map(|(i, c)| c.number(name, Loc::Row(i)))
                .collect::<Result<Vec<_>>>()?;
            Step::Numeric(NumericStep::fit(
                &values,
                &spec.imputation,
                spec.scaling,
                spec.missing_indicators,
            ))
        }
        ColumnType::Categorical | ColumnType::Boolean => {
            // Distinct cells can share a label (" a" and "a", 3 and 3.0).
            let distinct = distinct.unwrap_or_else(|| values.distinct().0);
            let labels: Vec<(Option<String>, usize)> =
                distinct.iter().map(|(c, n)| (c.label(), *n)).collect();
            let labels = labels.iter().map(|(l, n)| (l.as_deref(), *n));
            match spec.categorical {
                CategoricalEncoding::OneHot => {
                    Step::OneHot(OneHotStep::fit(labels, spec.max_categories))
                }
                CategoricalEncoding::Ordinal => {
                    Step::Ordinal(OrdinalStep::fit(labels.map(|(l, _)| l)))
                }
            }
        }
        ColumnType::Text => {
            Step::Tfidf(TfidfStep::fit(values.cells().map(Cell::into_text), spec.max_features))
        }
        ColumnType::Datetime => {
            let mut parts = vec![Vec::with_capacity(values.len()); DATE_PARTS.len()];
            for (i, c) in values.cells().enumerate() {
                let p = date_parts(name, &c, Loc::Row(i))?;
                for (k, v) in parts.iter_mut().enumerate() {
                    v.push(p.map(|p| p[k]));
                }
            }
            let parts = parts
                .iter()
                .map(|v| {
                    NumericStep::fit(v, &spec.imputation, spec.scaling, spec.missing_indicators)
                })
                .collect();
            Step::Datetime { parts }
        }
    })
}

/// Year, month, day, weekday, hour of a datetime cell; `None` when missing.
fn date_parts(field: &str, cell: &Cell<'_>, loc: Loc) -> Result<Option<[f64; 5]>> {
    match cell {
        Cell::Missing => Ok(None),
        Cell::Text(s) if is_na_token(s) => Ok(None),
        Cell::Text(s) => match parse_datetime(s) {
            Some(p) => Ok(Some([
                f64::from(p.year),
                f64::from(p.month),
                f64::from(p.day),
                f64::from(p.weekday),
                f64::from(p.hour),
            ])),
            None => Err(loc.type_error(field, "an ISO 8601 date (YYYY-MM-DD[THH:MM[:SS]])", cell)),
        },
        _ => Err(loc.type_error(field, "an ISO 8601 date (YYYY-MM-DD[THH:MM[:SS]])", cell)),
    }
}

impl Step {
    fn width(&self) -> usize {
        match self {
            Step::Numeric(s) => s.width(),
            Step::OneHot(s) => s.width(),
            Step::Ordinal(_) => 1,
            Step::Tfidf(s) => s.width(),
            Step::Datetime { parts } => parts.iter().map(NumericStep::width).sum(),
        }
    }

    fn feature_names(&self, column: &str) -> Vec<String> {
        let numeric = |s: &NumericStep, base: String| {
            let mut v = vec![base.clone()];
            if s.indicator {
                v.push(format!("{base}__missing"));
            }
            v
        };
        match self {
            Step::Numeric(s) => numeric(s, column.to_string()),
            Step::OneHot(s) => s.feature_names(column),
            Step::Ordinal(_) => vec![column.to_string()],
            Step::Tfidf(s) => s.feature_names(column),
            Step::Datetime { parts } => parts
                .iter()
                .zip(DATE_PARTS)
                .flat_map(|(s, p)| numeric(s, format!("{column}__{p}")))
                .collect(),
        }
    }

    /// Writes the cell's features into `out`; returns whether the value was
    /// a label unseen in training.
    fn apply(&self, field: &str, cell: &Cell<'_>, loc: Loc, out: &mut [f64]) -> Result<bool> {
        match self {
            Step::Numeric(s) => s.apply(cell.number(field, loc)?, out),
            Step::OneHot(s) => return Ok(s.apply(cell.label().as_deref(), out)),
            Step::Ordinal(s) => return Ok(s.apply(cell.label().as_deref(), out)),
            Step::Tfidf(s) => s.apply(&cell.text(), out),
            Step::Datetime { parts } => {
                let p = date_parts(field, cell, loc)?;
                let mut at = 0;
                for (k, s) in parts.iter().enumerate() {
                    s.apply(p.map(|p| p[k]), &mut out[at..at + s.width()]);
                    at += s.width();
                }
            }
        }
        Ok(false)
    }
}
