//! One input value, whichever door it came through.
//!
//! A frame column and a JSON field are both turned into [`Cell`]s, and
//! every fitted step reads only cells: that single funnel is why
//! `transform` and `transform_row` give bit-identical features.

use std::borrow::Cow;

use polars::prelude::*;

use crate::types::{is_na_token, parse_bool};
use crate::{Error, Result};

/// One value as the fitted steps see it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell<'a> {
    Missing,
    Num(f64),
    Text(Cow<'a, str>),
    Bool(bool),
}

/// Where a value came from, for messages.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Loc {
    /// 0-based row of a frame.
    Row(usize),
    /// The single JSON row of a request.
    Request,
}

impl Loc {
    pub fn describe(self) -> String {
        match self {
            Loc::Row(i) => format!("row {}", i + 1),
            Loc::Request => "request".into(),
        }
    }

    pub fn type_error(self, field: &str, expected: &str, got: &Cell<'_>) -> Error {
        Error::FieldType {
            location: self.describe(),
            field: field.to_string(),
            expected: expected.to_string(),
            got: got.describe(),
        }
    }
}

impl Cell<'_> {
    fn describe(&self) -> String {
        match self {
            Cell::Missing => "a missing value".into(),
            Cell::Num(x) => format!("the number {x}"),
            Cell::Text(s) => format!("the text {s:?}"),
            Cell::Bool(b) => format!("the boolean {b}"),
        }
    }

    /// A number, `None` when missing (NaN and NA tokens included).
    pub fn number(&self, field: &str, loc: Loc) -> Result<Option<f64>> {
        let x = match self {
            Cell::Missing => return Ok(None),
            Cell::Num(x) => *x,
            Cell::Text(s) if is_na_token(s) => return Ok(None),
            Cell::Text(s) => {
                s.trim().parse::<f64>().map_err(|_| loc.type_error(field, "a number", self))?
            }
            Cell::Bool(_) => return Err(loc.type_error(field, "a number", self)),
        };
        if x.is_nan() {
            return Ok(None);
        }
        if x.is_infinite() {
            return Err(match loc {
                Loc::Row(row) => Error::Infinite { row: row + 1, column: field.into(), value: x },
                Loc::Request => loc.type_error(field, "a finite number", self),
            });
        }
        Ok(Some(x))
    }

    /// A label, `None` when missing. Numbers print without a trailing
    /// `.0`, booleans as `true`/`false`, text is trimmed.
    pub fn label(&self) -> Option<String> {
        match self {
            Cell::Missing => None,
            Cell::Num(x) if x.is_nan() => None,
            Cell::Num(x) => Some(format_number(*x)),
            Cell::Text(s) if is_na_token(s) => None,
            Cell::Text(s) => {
                Some(parse_bool(s).map_or_else(|| s.trim().to_string(), |b| b.to_string()))
            }
            Cell::Bool(b) => Some(b.to_string()),
        }
    }

    /// Free text; missing is the empty document.
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Cell::Missing => Cow::Borrowed(""),
            Cell::Num(x) => Cow::Owned(format_number(*x)),
            Cell::Text(s) => Cow::Borrowed(s.as_ref()),
            Cell::Bool(b) => Cow::Owned(b.to_string()),
        }
    }
}

/// Integral values print as integers so `3` and `3.0` are one category.
pub(crate) fn format_number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// A frame column as cells.
pub(crate) fn column_cells(col: &Column) -> std::result::Result<Vec<Cell<'_>>, PolarsError> {
    let dtype = col.dtype();
    Ok(if dtype.is_primitive_numeric() {
        let ca = col.cast(&DataType::Float64)?;
        ca.f64()?.iter().map(|v| v.map_or(Cell::Missing, Cell::Num)).collect()
    } else if dtype == &DataType::Boolean {
        col.bool()?.iter().map(|v| v.map_or(Cell::Missing, Cell::Bool)).collect()
    } else if dtype == &DataType::String {
        col.str()?
            .iter()
            .map(|v| v.map_or(Cell::Missing, |s| Cell::Text(Cow::Borrowed(s))))
            .collect()
    } else {
        let ca = col.cast(&DataType::String)?;
        ca.str()?
            .iter()
            .map(|v| v.map_or(Cell::Missing, |s| Cell::Text(Cow::Owned(s.to_string()))))
            .collect()
    })
}

/// A JSON field as a cell.
pub(crate) fn json_cell<'a>(field: &str, v: &'a serde_json::Value) -> Result<Cell<'a>> {
    Ok(match v {
        serde_json::Value::Null => Cell::Missing,
        serde_json::Value::Bool(b) => Cell::Bool(*b),
        serde_json::Value::Number(n) => Cell::Num(n.as_f64().unwrap_or(f64::NAN)),
        serde_json::Value::String(s) => Cell::Text(Cow::Borrowed(s)),
        other => {
            return Err(Error::FieldType {
                location: Loc::Request.describe(),
                field: field.to_string(),
                expected: "a number, string, boolean or null".into(),
                got: if other.is_array() { "an array".into() } else { "an object".into() },
            })
        }
    })
}
