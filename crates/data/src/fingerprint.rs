//! A dataset's identity for lineage: the SHA-256 of the file's bytes
//! (streamed, so any size works), its schema and its row count, turned into
//! the dataset input MLflow records on a run.

use std::io::Read;
use std::path::{Path, PathBuf};

use polars::prelude::DataType;
use sha2::{Digest, Sha256};

use crate::read::Table;
use crate::types::ColumnType;
use crate::{Error, Result};

/// Hex characters of the SHA-256 used as MLflow's `digest` (its column
/// holds 36; MLflow itself uses 8).
pub const DIGEST_CHARS: usize = 16;

/// One column of a fingerprint's schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaColumn {
    /// Column name.
    pub name: String,
    /// lathe's type.
    pub kind: ColumnType,
    /// MLflow's colspec type: `double`, `long`, `string`, `boolean` or `datetime`.
    pub mlflow_type: &'static str,
    /// No missing value in this file.
    pub required: bool,
}

/// What identifies a dataset file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// The file.
    pub path: PathBuf,
    /// SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
    /// Columns in file order.
    pub schema: Vec<SchemaColumn>,
    /// Number of data rows.
    pub num_rows: usize,
}

/// Hashes `path` in 1 MiB chunks and takes schema and row count from the
/// table read from it.
pub fn fingerprint(path: &Path, table: &Table) -> Result<Fingerprint> {
    let io = |source| Error::Io { path: path.into(), error: source };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let sha256: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    let schema = table
        .columns
        .iter()
        .map(|(name, kind)| {
            let col = table.frame.column(name).ok();
            let dtype = col.map(|c| c.dtype().clone());
            let mlflow_type = match kind {
                ColumnType::Numeric if dtype.as_ref().is_some_and(DataType::is_integer) => "long",
                ColumnType::Numeric => "double",
                ColumnType::Boolean => "boolean",
                ColumnType::Datetime => "datetime",
                ColumnType::Categorical | ColumnType::Text => "string",
            };
            let required = col.is_some_and(|c| c.null_count() == 0);
            SchemaColumn { name: name.clone(), kind: *kind, mlflow_type, required }
        })
        .collect();
    Ok(Fingerprint { path: path.into(), sha256, schema, num_rows: table.frame.height() })
}

impl Fingerprint {
    /// MLflow's `{"mlflow_colspec": [...]}` schema JSON.
    pub fn schema_json(&self) -> String {
        let specs: Vec<serde_json::Value> = self
            .schema
            .iter()
            .map(|c| {
                serde_json::json!({"type": c.mlflow_type, "name": c.name, "required": c.required})
            })
            .collect();
        serde_json::json!({ "mlflow_colspec": specs }).to_string()
    }

    /// The profile JSON: rows, elements (as MLflow's pandas datasets) and the full hash.
    pub fn profile_json(&self) -> String {
        serde_json::json!({
            "num_rows": self.num_rows,
            "num_elements": self.num_rows * self.schema.len(),
            "sha256": self.sha256,
        })
        .to_string()
    }

    /// The dataset MLflow records as a run input, named `name`.
    pub fn to_dataset(&self, name: &str) -> lathe_core::Dataset {
        let uri = std::fs::canonicalize(&self.path).unwrap_or_else(|_| self.path.clone());
        lathe_core::Dataset {
            name: name.to_string(),
            digest: self.sha256.chars().take(DIGEST_CHARS).collect(),
            source_type: "local".into(),
            source: serde_json::json!({ "uri": uri.display().to_string() }).to_string(),
            schema: Some(self.schema_json()),
            profile: Some(self.profile_json()),
        }
    }
}
