//! Building statements with a growing list of bound values.

use std::fmt::Write as _;

use sqlx::{any::AnyArguments, query::Query, Any};

use crate::Dialect;

/// A value bound to a `$N` placeholder.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Text(String),
    Int(i64),
    Real(f64),
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Text(s.to_string())
    }
}
impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg::Text(s)
    }
}
impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}
impl From<f64> for Arg {
    fn from(v: f64) -> Self {
        Arg::Real(v)
    }
}

/// SQL text plus the values for its placeholders, numbered as they are added.
///
/// Placeholders are written as the dialect wants them: PostgreSQL needs
/// `$N`; SQLite gets plain `?`, because binding a numbered parameter makes
/// SQLite look its name up in a list, which is quadratic in the parameter
/// count and dominated multi-row inserts.
#[derive(Debug)]
pub(crate) struct Sql {
    dialect: Dialect,
    text: String,
    args: Vec<Arg>,
}

impl Sql {
    pub(crate) fn new(dialect: Dialect, text: &str) -> Self {
        Sql { dialect, text: text.to_string(), args: Vec::new() }
    }

    pub(crate) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub(crate) fn arg(&mut self, value: impl Into<Arg>) -> &mut Self {
        self.args.push(value.into());
        match self.dialect {
            Dialect::Sqlite => self.text.push('?'),
            Dialect::Postgres => {
                let _ = write!(self.text, "${}", self.args.len());
            }
        }
        self
    }

    /// Appends `(`$a, $b, …`)`.
    pub(crate) fn list<T: Into<Arg> + Clone>(&mut self, values: &[T]) -> &mut Self {
        self.push("(");
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.arg(v.clone());
        }
        self.push(")")
    }

    pub(crate) fn query(&self) -> Query<'_, Any, AnyArguments<'_>> {
        let mut q = sqlx::query(&self.text);
        for a in &self.args {
            q = match a {
                Arg::Text(s) => q.bind(s.as_str()),
                Arg::Int(v) => q.bind(*v),
                Arg::Real(v) => q.bind(*v),
            };
        }
        q
    }
}
