//! Many small rows returned as one packed value.
//!
//! sqlx hands each result row over a channel from SQLite's worker thread;
//! for a page of runs (thousands of metric, param and tag rows) that
//! hand-off cost more than the queries. These helpers make the database
//! aggregate rows into one JSON array instead, which serde reads back.
//! Doubles travel as text with 17 significant digits, so they round-trip
//! exactly (JSON number formatting in SQLite keeps only 15).

use lathe_store::{Result, StoreError};

use crate::Dialect;

/// `json array of [cols…] per row, ordered by order_by`, as an aggregate expression.
pub(crate) fn json_rows(dialect: Dialect, cols: &[&str], order_by: &str) -> String {
    let cols = cols.join(", ");
    match dialect {
        Dialect::Sqlite => format!("json_group_array(json_array({cols}) ORDER BY {order_by})"),
        Dialect::Postgres => {
            format!("json_agg(json_build_array({cols}) ORDER BY {order_by})::text")
        }
    }
}

/// A double column as exact text.
pub(crate) fn exact_real(dialect: Dialect, col: &'static str) -> &'static str {
    match (dialect, col) {
        (Dialect::Sqlite, "value") => "printf('%!.17g', value)",
        // float8::text is the shortest exact representation (PostgreSQL ≥ 12).
        (Dialect::Postgres, "value") => "value::text",
        (_, other) => other,
    }
}

/// Reads a double written by [`exact_real`] (`Inf`, `Infinity` included).
pub(crate) fn parse_real(text: &str) -> Result<f64> {
    text.parse().map_err(|_| StoreError::Backend(format!("unreadable packed number '{text}'")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reals_round_trip_from_both_engines() {
        assert_eq!(parse_real("0.10000000000000001").unwrap(), 0.1);
        assert_eq!(parse_real("-Inf").unwrap(), f64::NEG_INFINITY);
        assert_eq!(parse_real("Infinity").unwrap(), f64::INFINITY);
        assert!(parse_real("x").is_err());
        assert!(json_rows(Dialect::Sqlite, &["a", "b"], "a").starts_with("json_group_array"));
    }
}
