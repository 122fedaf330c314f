//! Times reading, fitting and applying the default preprocessing on a file:
//! `cargo run --release -p lathe-data --example prep_timing -- FILE TARGET [--no-rows]`.
//! Prints one line of stage times to stderr; `--no-rows` skips the
//! one-JSON-row-at-a-time timing (its cost per row does not depend on the
//! table's size, and a million JSON rows would take gigabytes).

use std::time::Instant;

use lathe_data::{encode_target, read_table, PreprocessSpec, Preprocessor, ReadOptions};
use serde_json::{Map, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(file), Some(target)) = (args.get(1), args.get(2)) else {
        return Err("usage: prep_timing FILE TARGET [--no-rows]".into());
    };
    let time_rows = !args[3..].iter().any(|a| a == "--no-rows");
    let t = Instant::now();
    let table = read_table(file.as_ref(), &ReadOptions::default())?;
    let read = t.elapsed();
    let t = Instant::now();
    encode_target(&table.frame, target, None)?;
    let prep = Preprocessor::fit(&table.frame, target, &PreprocessSpec::default())?;
    let fit = t.elapsed();
    let t = Instant::now();
    let (m, _) = prep.transform(&table.frame)?;
    let transform = t.elapsed();
    let line = format!(
        "{file}: {} rows -> {} features | read {:.1} ms | target+fit {:.1} ms | transform {:.1} ms",
        m.rows(),
        m.cols(),
        read.as_secs_f64() * 1e3,
        fit.as_secs_f64() * 1e3,
        transform.as_secs_f64() * 1e3,
    );
    if !time_rows {
        eprintln!("{line}");
        return Ok(());
    }
    // JSON rows as serving would receive them, built outside the timing.
    let names: Vec<String> = prep.input_columns().into_iter().map(|c| c.0).collect();
    let frame = table.frame.select(names.iter().map(String::as_str))?;
    let mut rows = Vec::with_capacity(frame.height());
    for i in 0..frame.height() {
        let mut row = Map::new();
        for col in frame.columns() {
            let v = col.get(i)?;
            let json = match v {
                lathe_data::polars::prelude::AnyValue::Null => Value::Null,
                lathe_data::polars::prelude::AnyValue::String(s) => Value::from(s),
                lathe_data::polars::prelude::AnyValue::Boolean(b) => Value::from(b),
                other => other.extract::<f64>().map_or(Value::Null, Value::from),
            };
            row.insert(col.name().to_string(), json);
        }
        rows.push(row);
    }
    let t = Instant::now();
    for row in &rows {
        prep.transform_row(row)?;
    }
    let per_row = t.elapsed();
    eprintln!(
        "{line} | transform_row {:.2} µs/row",
        per_row.as_secs_f64() * 1e6 / rows.len().max(1) as f64
    );
    Ok(())
}
