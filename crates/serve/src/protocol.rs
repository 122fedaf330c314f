//! MLflow's scoring protocol: request bodies (`dataframe_split`,
//! `dataframe_records`, `instances`, `inputs`, and `text/csv`) read into one
//! [`Frame`]; nothing of the body is ever quoted back in an error.

use std::{cell::Cell, fmt, marker::PhantomData};

use serde::{
    de::{SeqAccess, Visitor},
    Deserialize, Deserializer,
};
use serde_json::{Map, Value};

/// Rows as the client sent them, before the signature check.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Frame {
    /// Column names, or `None` when rows are positional (schema order).
    pub(crate) columns: Option<Vec<String>>,
    /// Values, one `Vec` per row (a record's absent key reads as `null`).
    pub(crate) rows: Vec<Vec<Value>>,
}

/// Why a body could not be read; the message never contains the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InputError {
    /// Malformed or not one of the accepted shapes (400).
    BadRequest(String),
    /// Neither `application/json` nor `text/csv` (415).
    UnsupportedMediaType(String),
}

const FORMATS: &str = "expected a JSON object with one of dataframe_split, dataframe_records, \
                       instances or inputs";

/// Reads a request body by its content type.
pub(crate) fn parse(content_type: Option<&str>, body: &[u8]) -> Result<Frame, InputError> {
    let media = content_type.map(|c| media_type(c).to_ascii_lowercase()).unwrap_or_default();
    match media.as_str() {
        "application/json" => parse_json(body),
        "text/csv" => parse_csv(body),
        "" => Err(InputError::UnsupportedMediaType(
            "missing content type: send application/json or text/csv".into(),
        )),
        _ => Err(InputError::UnsupportedMediaType(format!(
            "unsupported content type '{}': send application/json or text/csv",
            crate::signature::shorten(&media)
        ))),
    }
}

/// A content type without its parameters (`application/json; charset=utf-8`).
fn media_type(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or("").trim()
}

fn bad(message: impl Into<String>) -> InputError {
    InputError::BadRequest(message.into())
}

/// JSON in any of MLflow's four shapes; for lathe's `/v1` route a bare array of records too.
pub(crate) fn parse_json(body: &[u8]) -> Result<Frame, InputError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(bad("empty request body"));
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        bad(format!("malformed JSON at line {} column {}: {}", e.line(), e.column(), kind(&e)))
    })?;
    let mut object = match value {
        Value::Object(object) => object,
        Value::Array(items) => return rows(items),
        _ => return Err(bad(FORMATS)),
    };
    object.remove("params");
    let keys: Vec<&String> = object.keys().collect();
    if keys.len() != 1 {
        return Err(bad(FORMATS));
    }
    let key = keys[0].clone();
    let payload = object.remove(&key).unwrap_or(Value::Null);
    match key.as_str() {
        "dataframe_split" => split(payload),
        "dataframe_records" | "instances" => match payload {
            Value::Array(items) => rows(items),
            _ => Err(bad(format!("{key} must be an array of rows"))),
        },
        "inputs" => match payload {
            Value::Array(items) => rows(items),
            Value::Object(columns) => columnar(columns),
            _ => Err(bad("inputs must be an array of rows or an object of columns")),
        },
        _ => Err(bad(FORMATS)),
    }
}

/// Rows of numbers as a request sent them, read without JSON values.
#[derive(Debug, PartialEq)]
pub(crate) struct Numbers<'a> {
    /// Column names as sent (unescaped, not checked for UTF-8: they are
    /// only compared with the schema's), or `None` when rows are positional.
    pub(crate) columns: Option<Vec<&'a [u8]>>,
    pub(crate) rows: Vec<Vec<f64>>,
}

/// The body of a numeric request in one of MLflow's shapes; every field
/// is optional so that one derive reads them all, and exactly one is set.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NumericBody<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    dataframe_split: Option<NumericSplit<'a>>,
    #[serde(default, deserialize_with = "present")]
    dataframe_records: Option<Vec<Wide<f64>>>,
    #[serde(default, deserialize_with = "present")]
    instances: Option<Vec<Wide<f64>>>,
    #[serde(default, deserialize_with = "present")]
    inputs: Option<Vec<Wide<f64>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NumericSplit<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    columns: Option<Wide<&'a [u8]>>,
    data: Vec<Wide<f64>>,
    #[serde(default, rename = "index")]
    _index: Option<serde::de::IgnoredAny>,
}

thread_local! {
    /// The served signature's width while [`numbers`] reads a body.
    static WIDTH: Cell<usize> = const { Cell::new(0) };
}

/// A row (or the column list), allocated at the signature's width when its
/// first item arrives. serde grows a `Vec` from 4 by doubling: four
/// reallocations and copies for 30 columns. serde's derive cannot hand a
/// size down to a field, hence [`WIDTH`].
struct Wide<T>(Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Wide<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Wide<T>, D::Error> {
        struct Items<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Items<T> {
            type Value = Wide<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Wide<T>, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    if items.is_empty() {
                        items.reserve_exact(WIDTH.get());
                    }
                    items.push(item);
                }
                // A short row keeps no more than it holds, so that a body
                // of tiny rows cannot claim the width for each of them.
                if items.len() != items.capacity() {
                    items.shrink_to_fit();
                }
                Ok(Wide(items))
            }
        }
        deserializer.deserialize_seq(Items(PhantomData))
    }
}

fn unwide<T>(rows: Vec<Wide<T>>) -> Vec<Vec<T>> {
    rows.into_iter().map(|row| row.0).collect()
}

/// A field that may be absent but not null: serde reads a null `Option`
/// as absent, and the general reader refuses a null where these go.
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// The common request of a numeric model read straight into numbers:
/// `dataframe_split` (columns and rows) or positional rows under
/// `instances`, `inputs` or `dataframe_records`, every cell a number.
/// Building a JSON value per cell and a string per column name was a
/// sixth of a one-row request's time. Anything else (a null, a string, a
/// record, an escaped column name, `params`) is `None`, and the general
/// reader ([`parse`]) reads it and names what is wrong.
pub(crate) fn numbers(body: &[u8], width: usize) -> Option<Numbers<'_>> {
    // A hint, not a limit: past it a row grows as any Vec does.
    WIDTH.set(width);
    let body: NumericBody<'_> = serde_json::from_slice(body).ok()?;
    match body {
        NumericBody {
            dataframe_split: Some(split),
            dataframe_records: None,
            instances: None,
            inputs: None,
        } => Some(Numbers { columns: split.columns.map(|c| c.0), rows: unwide(split.data) }),
        NumericBody { dataframe_split: None, dataframe_records, instances, inputs } => {
            match (dataframe_records, instances, inputs) {
                (Some(rows), None, None) | (None, Some(rows), None) | (None, None, Some(rows)) => {
                    Some(Numbers { columns: None, rows: unwide(rows) })
                }
                _ => None,
            }
        }
        NumericBody { .. } => None,
    }
}

/// Whether a body with this content type is read as JSON: `application/json`
/// (any parameters), or no type at all on lathe's `/v1` route.
pub(crate) fn is_json(content_type: Option<&str>, v1: bool) -> bool {
    match content_type {
        Some(c) => media_type(c).eq_ignore_ascii_case("application/json"),
        None => v1,
    }
}

/// serde_json's error category, without the offending text.
fn kind(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Eof => "unexpected end of input",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "unexpected value",
        serde_json::error::Category::Io => "read error",
    }
}

/// `{"columns": [...], "data": [[...]], "index": [...]}` (pandas' `split` orient).
fn split(payload: Value) -> Result<Frame, InputError> {
    let Value::Object(mut split) = payload else {
        return Err(bad("dataframe_split must be an object with columns and data"));
    };
    let columns = match split.remove("columns") {
        Some(Value::Array(names)) => {
            Some(names.into_iter().map(column_name).collect::<Result<_, _>>()?)
        }
        None => None,
        Some(_) => return Err(bad("dataframe_split.columns must be an array of strings")),
    };
    let Some(Value::Array(data)) = split.remove("data") else {
        return Err(bad("dataframe_split.data must be an array of rows"));
    };
    let rows = data
        .into_iter()
        .enumerate()
        .map(|(i, row)| match row {
            Value::Array(values) => Ok(values),
            _ => Err(bad(format!("dataframe_split.data row {i} is not an array"))),
        })
        .collect::<Result<_, _>>()?;
    Ok(Frame { columns, rows })
}

fn column_name(name: Value) -> Result<String, InputError> {
    match name {
        Value::String(s) => Ok(s),
        _ => Err(bad("column names must be strings")),
    }
}

/// An array of records (objects) or of positional rows (arrays); not a mix.
fn rows(items: Vec<Value>) -> Result<Frame, InputError> {
    if items.iter().all(Value::is_array) {
        let rows = items
            .into_iter()
            .map(|v| match v {
                Value::Array(values) => values,
                _ => Vec::new(),
            })
            .collect();
        return Ok(Frame { columns: None, rows });
    }
    let mut columns: Vec<String> = Vec::new();
    let mut records = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let Value::Object(record) = item else {
            return Err(bad(format!(
                "row {i} is not an object: send records or arrays, not a mix"
            )));
        };
        for key in record.keys() {
            if !columns.contains(key) {
                columns.push(key.clone());
            }
        }
        records.push(record);
    }
    let rows = records
        .into_iter()
        .map(|mut r| columns.iter().map(|c| r.remove(c).unwrap_or(Value::Null)).collect())
        .collect();
    Ok(Frame { columns: Some(columns), rows })
}

/// `{"a": [1, 2], "b": [3, 4]}` (a scalar is one row).
fn columnar(columns: Map<String, Value>) -> Result<Frame, InputError> {
    let names: Vec<String> = columns.keys().cloned().collect();
    let cols: Vec<Vec<Value>> = columns
        .into_iter()
        .map(|(_, v)| match v {
            Value::Array(values) => values,
            scalar => vec![scalar],
        })
        .collect();
    let n = cols.first().map_or(0, Vec::len);
    if cols.iter().any(|c| c.len() != n) {
        return Err(bad("every column of inputs must have the same length"));
    }
    let mut iters: Vec<_> = cols.into_iter().map(Vec::into_iter).collect();
    let rows = (0..n)
        .map(|_| iters.iter_mut().map(|it| it.next().unwrap_or(Value::Null)).collect())
        .collect();
    Ok(Frame { columns: Some(names), rows })
}

/// CSV with a header row; empty cells are null, numbers are numbers, the rest strings.
fn parse_csv(body: &[u8]) -> Result<Frame, InputError> {
    let text = std::str::from_utf8(body).map_err(|_| bad("the CSV body is not UTF-8"))?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let Some(header) = lines.next() else {
        return Err(bad("empty request body"));
    };
    let columns: Vec<String> =
        header.split(',').map(|c| c.trim().trim_matches('"').to_string()).collect();
    let rows = lines
        .map(|line| {
            line.split(',')
                .map(|cell| {
                    let cell = cell.trim();
                    if cell.is_empty() {
                        Value::Null
                    } else if let Some(n) =
                        cell.parse::<f64>().ok().and_then(serde_json::Number::from_f64)
                    {
                        Value::Number(n)
                    } else {
                        Value::String(String::new())
                    }
                })
                .collect()
        })
        .collect();
    Ok(Frame { columns: Some(columns), rows })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(body: &str, expect: Result<Frame, InputError>) {
        assert_eq!(parse(Some("application/json"), body.as_bytes()), expect, "{body}");
    }

    #[test]
    fn rows_are_sized_by_the_signature_and_short_ones_keep_only_what_they_hold() {
        let wide = numbers(br#"{"instances": [[1, 2, 3], [4], [], [5, 6, 7, 8]]}"#, 3)
            .unwrap_or_else(|| panic!("numeric rows"));
        let lens: Vec<(usize, usize)> = wide.rows.iter().map(|r| (r.len(), r.capacity())).collect();
        assert_eq!(lens, [(3, 3), (1, 1), (0, 0), (4, 4)]);
        let split = numbers(br#"{"dataframe_split": {"columns": ["a"], "data": [[1]]}}"#, 500)
            .unwrap_or_else(|| panic!("numeric rows"));
        assert_eq!(split.columns.map(|c| c.capacity()), Some(1));
        assert_eq!(split.rows[0].capacity(), 1);
    }

    fn named(columns: &[&str], rows: Vec<Vec<Value>>) -> Result<Frame, InputError> {
        Ok(Frame { columns: Some(columns.iter().map(|s| s.to_string()).collect()), rows })
    }

    #[test]
    fn all_four_json_shapes_read_the_same_rows() {
        let want = named(&["a", "b"], vec![vec![json!(1), json!(2)], vec![json!(3), json!(4)]]);
        check(
            r#"{"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2], [3, 4]]}}"#,
            want.clone(),
        );
        check(r#"{"dataframe_records": [{"a": 1, "b": 2}, {"a": 3, "b": 4}]}"#, want.clone());
        check(r#"{"instances": [{"a": 1, "b": 2}, {"b": 4, "a": 3}]}"#, want.clone());
        check(r#"{"inputs": {"a": [1, 3], "b": [2, 4]}, "params": {}}"#, want.clone());
        check(
            r#"{"inputs": [[1, 2], [3, 4]]}"#,
            Ok(Frame {
                columns: None,
                rows: vec![vec![json!(1), json!(2)], vec![json!(3), json!(4)]],
            }),
        );
        check(
            r#"{"dataframe_records": [{"a": 1}, {"b": 2}]}"#,
            named(&["a", "b"], vec![vec![json!(1), Value::Null], vec![Value::Null, json!(2)]]),
        );
    }

    #[test]
    fn csv_reads_numbers_and_nulls_and_never_keeps_strings() {
        let got = parse(Some("text/csv; charset=utf-8"), b"a,b\n1,\n2.5,x\n").unwrap();
        assert_eq!(
            got,
            named(&["a", "b"], vec![vec![json!(1.0), Value::Null], vec![json!(2.5), json!("")]])
                .unwrap()
        );
    }

    #[test]
    fn bad_bodies_are_refused_without_echoing_them() {
        let secret = "SECRET-VALUE";
        for body in [
            format!("{{\"dataframe_records\": [{{\"a\": \"{secret}\""),
            format!("{{\"{secret}\": []}}"),
            format!("[{{\"a\": 1}}, \"{secret}\"]"),
            "   ".to_string(),
            "42".to_string(),
        ] {
            let Err(InputError::BadRequest(message)) =
                parse(Some("application/json"), body.as_bytes())
            else {
                panic!("accepted {body}");
            };
            assert!(!message.contains(secret), "{message}");
        }
        assert!(matches!(
            parse(Some("text/plain"), b"{}"),
            Err(InputError::UnsupportedMediaType(_))
        ));
        assert!(matches!(parse(None, b"{}"), Err(InputError::UnsupportedMediaType(_))));
    }
}
