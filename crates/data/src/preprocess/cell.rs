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

impl<'a> Cell<'a> {
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
            Cell::Text(s) => Cow::Borrowed(s.as_ref()),
            other => other.clone().into_text(),
        }
    }

    /// [`Cell::text`], keeping the borrow of the value it came from.
    pub fn into_text(self) -> Cow<'a, str> {
        match self {
            Cell::Missing => Cow::Borrowed(""),
            Cell::Num(x) => Cow::Owned(format_number(x)),
            Cell::Text(s) => s,
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

/// A frame column, read as cells: numbers as `f64`, booleans as they are,
/// every other type as text (cast once here, so cells can borrow it).
pub(crate) enum Values {
    Num(Float64Chunked),
    Bool(BooleanChunked),
    Text(StringChunked),
}

impl Values {
    pub fn of(col: &Column) -> std::result::Result<Values, PolarsError> {
        let dtype = col.dtype();
        Ok(if dtype.is_primitive_numeric() {
            Values::Num(col.cast(&DataType::Float64)?.f64()?.clone())
        } else if dtype == &DataType::Boolean {
            Values::Bool(col.bool()?.clone())
        } else if dtype == &DataType::String {
            Values::Text(col.str()?.clone())
        } else {
            Values::Text(col.cast(&DataType::String)?.str()?.clone())
        })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Values::Num(ca) => ca.len(),
            Values::Bool(ca) => ca.len(),
            Values::Text(ca) => ca.len(),
        }
    }

    /// Every row's cell, in order.
    pub fn cells(&self) -> Box<dyn Iterator<Item = Cell<'_>> + '_> {
        match self {
            Values::Num(ca) => Box::new(ca.iter().map(|v| v.map_or(Cell::Missing, Cell::Num))),
            Values::Bool(ca) => Box::new(ca.iter().map(|v| v.map_or(Cell::Missing, Cell::Bool))),
            Values::Text(ca) => Box::new(
                ca.iter().map(|v| v.map_or(Cell::Missing, |s| Cell::Text(Cow::Borrowed(s)))),
            ),
        }
    }

    /// The distinct cells with how many rows hold each (in no set order),
    /// and each row's index into that list. Equal raw values are one entry:
    /// texts compare as written, numbers by their bits.
    pub fn distinct(&self) -> (Vec<(Cell<'_>, usize)>, Vec<u32>) {
        match self {
            Values::Num(ca) => {
                let (keys, codes) = codes(ca.iter().map(|v| v.map(f64::to_bits)));
                let cells = keys
                    .into_iter()
                    .map(|(k, n)| (k.map_or(Cell::Missing, |b| Cell::Num(f64::from_bits(b))), n));
                (cells.collect(), codes)
            }
            Values::Bool(ca) => {
                let (keys, codes) = codes(ca.iter());
                let cells = keys.into_iter().map(|(k, n)| (k.map_or(Cell::Missing, Cell::Bool), n));
                (cells.collect(), codes)
            }
            Values::Text(ca) => {
                let (keys, codes) = codes(ca.iter());
                let cells = keys
                    .into_iter()
                    .map(|(k, n)| (k.map_or(Cell::Missing, |s| Cell::Text(Cow::Borrowed(s))), n));
                (cells.collect(), codes)
            }
        }
    }
}

/// Numbers the distinct keys in order of first appearance; returns them
/// with their counts, and each item's number.
fn codes<K: std::hash::Hash + Eq + Copy>(
    items: impl Iterator<Item = K>,
) -> (Vec<(K, usize)>, Vec<u32>) {
    let mut index: PlHashMap<K, u32> = PlHashMap::default();
    let mut keys: Vec<(K, usize)> = Vec::new();
    let codes = items
        .map(|k| {
            let code = *index.entry(k).or_insert_with(|| {
                keys.push((k, 0));
                // A column has far fewer than 2^32 distinct values in memory.
                (keys.len() - 1) as u32
            });
            keys[code as usize].1 += 1;
            code
        })
        .collect();
    (keys, codes)
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
