//! Writing a frame back in the format its extension names (for `lathe data split`).

use std::path::Path;

use polars::prelude::*;

use crate::{Error, Result};

/// Writes `frame` to `path` as `.csv`, `.parquet` or `.jsonl`/`.ndjson`.
pub fn write_table(frame: &DataFrame, path: &Path) -> Result<()> {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    let file = || {
        std::fs::File::create(path).map_err(|source| Error::Io { path: path.into(), error: source })
    };
    let polars = |e: PolarsError| Error::Polars { path: path.into(), message: e.to_string() };
    let mut frame = frame.clone();
    match ext.as_deref() {
        Some("csv") => {
            CsvWriter::new(file()?).include_header(true).finish(&mut frame).map_err(polars)
        }
        Some("parquet") => {
            ParquetWriter::new(file()?).finish(&mut frame).map(|_| ()).map_err(polars)
        }
        Some("jsonl" | "ndjson") => JsonWriter::new(file()?)
            .with_json_format(JsonFormat::JsonLines)
            .finish(&mut frame)
            .map_err(polars),
        _ => Err(Error::UnsupportedFormat { path: path.into() }),
    }
}
