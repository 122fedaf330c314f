//! A model's input schema (MLflow's column-spec signature) and the check
//! every request passes before the model runs: all problems, in one answer.

use serde_json::Value;

use crate::protocol::{Frame, Numbers};

/// At most this many problems are listed; the rest are counted.
const MAX_PROBLEMS: usize = 100;

/// One input column of a signature. A required column must be present
/// with a value in every row; an optional one may be absent or null, which
/// the model receives as a missing value (NaN), as MLflow does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnSpec {
    /// Column name.
    pub name: String,
    /// MLflow type name (`double`, `float`, `long`, `integer`, `boolean`, `string`, …).
    pub ty: String,
    /// Whether a value must be present (not null) in every row.
    pub required: bool,
}

/// The input schema of a model, in the model's feature order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// Columns, in order.
    pub columns: Vec<ColumnSpec>,
}

impl Signature {
    /// Parses MLflow's column-spec JSON (`[{"type": "double", "name": "x", "required": true}]`).
    pub fn from_colspec_json(text: &str) -> Result<Signature, String> {
        let specs: Vec<Value> = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let mut columns = Vec::with_capacity(specs.len());
        for spec in specs {
            let name = spec.get("name").and_then(Value::as_str);
            let ty = spec.get("type").and_then(Value::as_str);
            let (Some(name), Some(ty)) = (name, ty) else {
                return Err("every input column needs a name and a type".into());
            };
            let required = spec.get("required").and_then(Value::as_bool).unwrap_or(true);
            columns.push(ColumnSpec { name: name.into(), ty: ty.into(), required });
        }
        Ok(Signature { columns })
    }

    /// Required `double` columns named `names`, for a model logged without a signature.
    pub fn doubles(names: &[String]) -> Signature {
        let columns = names
            .iter()
            .map(|name| ColumnSpec { name: name.clone(), ty: "double".into(), required: true })
            .collect();
        Signature { columns }
    }

    /// Checks a request against the schema; on success, the numeric rows in
    /// schema order. Every problem is listed (up to a cap), naming column and row.
    pub(crate) fn check(&self, frame: &Frame) -> Result<Vec<Vec<f64>>, Vec<String>> {
        let mut problems = Problems::default();
        if frame.rows.is_empty() {
            problems.push("the request has no rows".into());
            return Err(problems.finish());
        }
        // Where each schema column sits in the request's rows.
        let mut positions = Vec::with_capacity(self.columns.len());
        match &frame.columns {
            // Most clients send the schema's own columns in its order: one
            // pass instead of a search per column.
            Some(names) if self.in_order(names) => {
                positions.extend((0..self.columns.len()).map(Some));
            }
            Some(names) => {
                for spec in &self.columns {
                    let at = names.iter().position(|n| *n == spec.name);
                    if at.is_none() && spec.required {
                        problems.push(format!("missing column '{}'", shorten(&spec.name)));
                    }
                    positions.push(at);
                }
                for name in names {
                    if !self.columns.iter().any(|c| c.name == *name) {
                        problems.push(format!("unknown column '{}'", shorten(name)));
                    }
                }
            }
            None => positions.extend((0..self.columns.len()).map(Some)),
        }
        let width = frame.columns.as_ref().map_or(self.columns.len(), Vec::len);
        let mut rows = Vec::with_capacity(frame.rows.len());
        for (r, values) in frame.rows.iter().enumerate() {
            if values.len() != width {
                problems.push(format!("row {r}: {} values, expected {width}", values.len()));
                continue;
            }
            let mut row = Vec::with_capacity(self.columns.len());
            for (spec, at) in self.columns.iter().zip(&positions) {
                // An optional column may be absent or null: the model sees a missing value.
                let value = match at {
                    Some(at) => &values[*at],
                    None if spec.required => continue,
                    None => &Value::Null,
                };
                if value.is_null() && !spec.required {
                    row.push(f64::NAN);
                    continue;
                }
                match number(value, &spec.ty) {
                    Ok(v) => row.push(v),
                    Err(found) => problems.push(format!(
                        "row {r}: column '{}' expected {} got {found}",
                        shorten(&spec.name),
                        spec.ty
                    )),
                }
            }
            rows.push(row);
        }
        if problems.is_empty() {
            Ok(rows)
        } else {
            Err(problems.finish())
        }
    }
}

impl Signature {
    /// Whether `names` are exactly the schema's columns, in the schema's order.
    fn in_order<N: AsRef<[u8]>>(&self, names: &[N]) -> bool {
        names.len() == self.columns.len()
            && names
                .iter()
                .zip(&self.columns)
                .all(|(name, spec)| name.as_ref() == spec.name.as_bytes())
    }

    /// Rows that were read as numbers ([`crate::protocol::numbers`]), when
    /// they are exactly what [`Signature::check`] would accept as they are:
    /// the schema's columns in its order (or positional), every row as
    /// wide as the schema, a whole number in every integer column. `None`
    /// for anything else, which then goes through `check` to be named.
    pub(crate) fn check_numbers(&self, numbers: Numbers<'_>) -> Option<Vec<Vec<f64>>> {
        let width = self.columns.len();
        let named_in_order = numbers.columns.as_ref().is_none_or(|names| self.in_order(names));
        if numbers.rows.is_empty() || !named_in_order {
            return None;
        }
        let mut integral = Vec::new();
        for (i, spec) in self.columns.iter().enumerate() {
            match spec.ty.as_str() {
                "double" | "float" => {}
                "long" | "integer" => integral.push(i),
                _ => return None,
            }
        }
        let fits =
            |row: &Vec<f64>| row.len() == width && integral.iter().all(|&i| row[i].fract() == 0.0);
        numbers.rows.iter().all(fits).then_some(numbers.rows)
    }

    /// The request's rows as JSON records keyed by the schema's column names,
    /// for models that type-check their own inputs (categorical and text
    /// columns included). Missing required columns, unknown columns and
    /// ragged rows are listed here; a cell of the wrong type is the model's
    /// to name.
    pub(crate) fn records(
        &self,
        frame: &Frame,
    ) -> Result<Vec<serde_json::Map<String, Value>>, Vec<String>> {
        let mut problems = Problems::default();
        if frame.rows.is_empty() {
            problems.push("the request has no rows".into());
            return Err(problems.finish());
        }
        let names: Vec<String> = match &frame.columns {
            Some(names) => {
                for spec in &self.columns {
                    if spec.required && !names.contains(&spec.name) {
                        problems.push(format!("missing column '{}'", shorten(&spec.name)));
                    }
                }
                for name in names {
                    if !self.columns.iter().any(|c| c.name == *name) {
                        problems.push(format!("unknown column '{}'", shorten(name)));
                    }
                }
                names.clone()
            }
            None => self.columns.iter().map(|c| c.name.clone()).collect(),
        };
        let mut records = Vec::with_capacity(frame.rows.len());
        for (r, values) in frame.rows.iter().enumerate() {
            if values.len() != names.len() {
                problems.push(format!(
                    "row {r}: {} values, expected {}",
                    values.len(),
                    names.len()
                ));
                continue;
            }
            records.push(names.iter().cloned().zip(values.iter().cloned()).collect());
        }
        if problems.is_empty() {
            Ok(records)
        } else {
            Err(problems.finish())
        }
    }
}

/// A value as the model's input, or the name of what was found instead.
fn number(value: &Value, ty: &str) -> Result<f64, &'static str> {
    let numeric = matches!(ty, "double" | "float" | "long" | "integer");
    match value {
        Value::Number(n) if numeric => {
            let v = n.as_f64().ok_or("a number out of range")?;
            if matches!(ty, "long" | "integer") && v.fract() != 0.0 {
                return Err("a fractional number");
            }
            Ok(v)
        }
        Value::Bool(b) if ty == "boolean" => Ok(f64::from(u8::from(*b))),
        Value::Null => Err("null"),
        Value::Bool(_) => Err("boolean"),
        Value::Number(_) => Err("number"),
        Value::String(_) => Err("string"),
        Value::Array(_) => Err("array"),
        Value::Object(_) => Err("object"),
    }
}

/// A client-chosen name, cut so that an error never carries a large part of the request.
pub(crate) fn shorten(name: &str) -> String {
    const MAX: usize = 64;
    match name.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &name[..cut]),
        None => name.to_string(),
    }
}

#[derive(Default)]
struct Problems {
    listed: Vec<String>,
    more: usize,
}

impl Problems {
    fn push(&mut self, problem: String) {
        if self.listed.len() < MAX_PROBLEMS {
            self.listed.push(problem);
        } else {
            self.more += 1;
        }
    }

    fn is_empty(&self) -> bool {
        self.listed.is_empty()
    }

    fn finish(mut self) -> Vec<String> {
        if self.more > 0 {
            self.listed.push(format!("… and {} more problems", self.more));
        }
        self.listed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Signature {
        Signature::from_colspec_json(
            r#"[{"type": "double", "name": "a", "required": true}, {"type": "long", "name": "b", "required": true}]"#,
        )
        .unwrap()
    }

    fn frame(columns: Option<&[&str]>, rows: Vec<Vec<Value>>) -> Frame {
        Frame { columns: columns.map(|c| c.iter().map(|s| s.to_string()).collect()), rows }
    }

    /// What the numeric reader and `check_numbers` make of `body`.
    fn fast(body: &str) -> Option<Vec<Vec<f64>>> {
        crate::protocol::numbers(body.as_bytes(), 2).and_then(|n| schema().check_numbers(n))
    }

    /// What the general reader and `check` make of `body`.
    fn general(body: &str) -> Result<Vec<Vec<f64>>, Vec<String>> {
        let frame = crate::protocol::parse(Some("application/json"), body.as_bytes())
            .unwrap_or_else(|e| panic!("{e:?}"));
        schema().check(&frame)
    }

    #[test]
    fn numeric_requests_read_fast_give_what_the_general_check_gives() {
        for body in [
            r#"{"dataframe_split": {"columns": ["a", "b"], "data": [[1.5, 2], [-3e2, 4.0]]}}"#,
            r#"{"dataframe_split": {"columns": ["a", "b"], "data": [[1.5, 2]], "index": [7]}}"#,
            r#"{"dataframe_split": {"data": [[1.5, 2]]}}"#,
            r#"{"instances": [[1.5, 2], [0, 0]]}"#,
            r#"{"inputs": [[1.5, 2]]}"#,
            r#"{"dataframe_records": [[1.5, 2]]}"#,
        ] {
            let fast = fast(body).unwrap_or_else(|| panic!("not read fast: {body}"));
            assert_eq!(Ok(fast), general(body), "{body}");
        }
        // Anything the fast reader would have to judge goes to the general
        // check, which names the problem.
        for body in [
            r#"{"dataframe_split": {"columns": ["b", "a"], "data": [[2, 1.5]]}}"#,
            r#"{"dataframe_split": {"columns": ["a", "b"], "data": [[1.5, 2.5]]}}"#,
            r#"{"dataframe_split": {"columns": ["a", "b"], "data": [[1.5, null]]}}"#,
            r#"{"dataframe_split": {"columns": ["a", "b"], "data": [[1.5, "2"]]}}"#,
            r#"{"dataframe_split": {"columns": ["a", "b"], "data": [[1.5]]}}"#,
            r#"{"dataframe_split": {"columns": ["a", "b", "c"], "data": [[1, 2, 3]]}}"#,
            r#"{"dataframe_split": {"columns": ["\u0061", "b"], "data": [[1.5, 2]]}}"#,
            r#"{"dataframe_split": {"columns": ["a", "b"], "data": []}}"#,
            r#"{"instances": [[1.5, 2]], "inputs": [[1.5, 2]]}"#,
            r#"{"instances": [[1.5, 2]], "params": {}}"#,
            r#"{"instances": [[1.5, 2]], "inputs": null}"#,
            r#"{"dataframe_split": {"columns": null, "data": [[1.5, 2]]}}"#,
            r#"{"instances": [{"a": 1.5, "b": 2}]}"#,
            r#"[[1.5, 2]]"#,
        ] {
            assert_eq!(fast(body), None, "{body}");
        }
        assert_eq!(
            general(r#"{"dataframe_split": {"columns": ["a", "b"], "data": [[1.5, 2.5]]}}"#),
            Err(vec!["row 0: column 'b' expected long got a fractional number".to_string()])
        );
    }

    #[test]
    fn good_rows_come_back_in_schema_order() {
        let f = frame(Some(&["b", "a"]), vec![vec![json!(2), json!(1.5)]]);
        assert_eq!(schema().check(&f).unwrap(), vec![vec![1.5, 2.0]]);
        let in_order = frame(Some(&["a", "b"]), vec![vec![json!(1.5), json!(2)]]);
        assert_eq!(schema().check(&in_order).unwrap(), vec![vec![1.5, 2.0]]);
        let in_order_but_wrong = frame(Some(&["a", "b"]), vec![vec![json!(1.5), json!("x")]]);
        assert_eq!(
            schema().check(&in_order_but_wrong).unwrap_err(),
            ["row 0: column 'b' expected long got string"]
        );
        let positional = frame(None, vec![vec![json!(1.5), json!(2)]]);
        assert_eq!(schema().check(&positional).unwrap(), vec![vec![1.5, 2.0]]);
    }

    #[test]
    fn optional_columns_may_be_absent_or_null() {
        let mut optional = schema();
        optional.columns[1].required = false;
        let f = frame(Some(&["a"]), vec![vec![json!(1.5)]]);
        let rows = optional.check(&f).unwrap();
        assert_eq!(rows[0][0], 1.5);
        assert!(rows[0][1].is_nan());
        let f = frame(Some(&["b", "a"]), vec![vec![Value::Null, json!(2)]]);
        assert!(optional.check(&f).unwrap()[0][1].is_nan());
        let f = frame(Some(&["b", "a"]), vec![vec![json!("x"), json!(2)]]);
        assert_eq!(optional.check(&f).unwrap_err(), ["row 0: column 'b' expected long got string"]);
    }

    #[test]
    fn every_problem_is_listed_with_column_and_row() {
        let f = frame(
            Some(&["a", "zz"]),
            vec![vec![json!("x"), json!(1)], vec![Value::Null, json!(1)], vec![json!(1)]],
        );
        assert_eq!(
            schema().check(&f).unwrap_err(),
            vec![
                "missing column 'b'",
                "unknown column 'zz'",
                "row 0: column 'a' expected double got string",
                "row 1: column 'a' expected double got null",
                "row 2: 1 values, expected 2",
            ]
        );
        let fractional = frame(Some(&["a", "b"]), vec![vec![json!(1), json!(1.5)]]);
        assert_eq!(
            schema().check(&fractional).unwrap_err(),
            vec!["row 0: column 'b' expected long got a fractional number"]
        );
    }

    #[test]
    fn problems_are_capped_and_names_shortened() {
        let rows = (0..500).map(|_| vec![json!("x"), json!(1)]).collect();
        let problems = schema().check(&frame(Some(&["a", "b"]), rows)).unwrap_err();
        assert_eq!(problems.len(), MAX_PROBLEMS + 1);
        assert_eq!(problems[MAX_PROBLEMS], "… and 400 more problems");
        assert_eq!(shorten(&"n".repeat(1000)).chars().count(), 65);
    }
}
