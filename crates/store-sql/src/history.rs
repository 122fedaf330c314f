//! Metric histories read as one packed row per page.
//!
//! sqlx hands every result row from SQLite's worker thread to the caller
//! through a channel; at 100,000 points that hand-off, not SQLite, was most
//! of the time. So the database concatenates a page of points into one
//! text value (`step timestamp value is_nan`, comma-separated, values with
//! 17 significant digits so they round-trip exactly) and it is split here.

use lathe_core::Metric;
use lathe_store::{Result, StoreError};

use crate::Dialect;

/// The aggregate that packs the sub-query `page`'s points, in history order.
pub(crate) fn packed_points(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => {
            "group_concat(printf('%d %d %!.17g %d', step, timestamp, value, is_nan), ',' \
             ORDER BY step, timestamp, value)"
        }
        // float8::text is the shortest exact representation (PostgreSQL ≥ 12).
        Dialect::Postgres => {
            "string_agg(step || ' ' || timestamp || ' ' || value::text || ' ' || is_nan, ',' \
             ORDER BY step, timestamp, value)"
        }
    }
}

/// Splits a packed page into at most `take` points of metric `key`.
pub(crate) fn unpack(key: &str, packed: &str, take: usize) -> Result<Vec<Metric>> {
    let bad = || StoreError::Backend(format!("unreadable packed metric history: {packed:.80}"));
    let mut out = Vec::with_capacity(take);
    for point in packed.split(',').filter(|p| !p.is_empty()).take(take) {
        let mut fields = point.split(' ');
        let mut next = || fields.next().ok_or_else(bad);
        let step: i64 = next()?.parse().map_err(|_| bad())?;
        let timestamp: i64 = next()?.parse().map_err(|_| bad())?;
        let value: f64 = next()?.parse().map_err(|_| bad())?;
        let is_nan = next()? != "0";
        let value = if is_nan { f64::NAN } else { value };
        out.push(Metric { key: key.to_string(), value, timestamp, step });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpacks_what_each_engine_writes() {
        let sqlite =
            "0 10 0.10000000000000001 0,1 11 -Inf 0,2 12 0.0 1,3 13 1.0000000000000000e+20 0";
        let m = unpack("loss", sqlite, 10).unwrap();
        assert_eq!(m.len(), 4);
        assert_eq!(m[0].value, 0.1);
        assert_eq!(m[1].value, f64::NEG_INFINITY);
        assert!(m[2].value.is_nan());
        assert_eq!((m[3].value, m[3].step, m[3].timestamp), (1e20, 3, 13));
        assert_eq!(unpack("k", "5 6 Infinity 0", 1).unwrap()[0].value, f64::INFINITY);
        assert!(unpack("k", "", 5).unwrap().is_empty());
        assert!(unpack("k", "1 2", 5).is_err());
    }
}
