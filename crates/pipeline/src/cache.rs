//! The content-addressed step cache under `.lathe/cache` beside `lathe.toml`.
//!
//! A step's key hashes everything its output depends on: lathe's version,
//! the step's configuration, the content of the data it reads, and the keys
//! of the steps it needs (so a change anywhere upstream changes every key
//! below it, as in a Merkle tree). Outputs live in `STEP/KEY/out/` with a
//! `manifest.json`. A step is written into `STEP/.staging-KEY/` and renamed
//! into place only when it succeeded, so an interrupted or failed step
//! leaves nothing that a later run could mistake for a result.

use std::{
    fs,
    io::Read,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// Version of the manifest layout and of the key recipe.
pub const CACHE_FORMAT: u32 = 1;

/// What a step's key was computed from; kept per step (`latest.json`) to
/// explain why a step must run again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyParts {
    /// [`CACHE_FORMAT`].
    pub format: u32,
    /// lathe's version.
    pub lathe_version: String,
    /// SHA-256 of the step's configuration as canonical JSON.
    pub config: String,
    /// The data source read and the SHA-256 of its content.
    pub data: Option<(String, String)>,
    /// Each needed step and its key.
    pub needs: Vec<(String, String)>,
}

impl KeyParts {
    /// The key: SHA-256 of these parts as JSON, hex.
    pub fn key(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        hex(&Sha256::digest(json))
    }
}

/// What a finished step left behind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`CACHE_FORMAT`].
    pub format: u32,
    /// Step name.
    pub step: String,
    /// Step kind, as in `lathe.toml`.
    pub kind: String,
    /// The key it was computed under.
    pub key: String,
    /// The tracking run that recorded it, if any.
    pub run_id: Option<String>,
    /// When it finished (ms since the epoch).
    pub finished_ms: i64,
    /// What the executor reported (metrics, model URI, …), for later steps and the summary.
    pub summary: serde_json::Value,
}

/// The cache of one pipeline.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    /// The cache at `root` (normally `.lathe/cache` beside `lathe.toml`).
    pub fn new(root: impl Into<PathBuf>) -> Cache {
        Cache { root: root.into() }
    }

    /// The cache folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn step_dir(&self, step: &str) -> PathBuf {
        self.root.join(step)
    }

    /// Where the outputs of `step` under `key` are (or would be).
    pub fn out_dir(&self, step: &str, key: &str) -> PathBuf {
        self.step_dir(step).join(key).join("out")
    }

    /// The manifest of `step` under `key`, when that step finished.
    pub fn manifest(&self, step: &str, key: &str) -> Result<Option<Manifest>> {
        let path = self.step_dir(step).join(key).join("manifest.json");
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::cache(path)(e)),
        };
        let manifest: Manifest = serde_json::from_slice(&bytes)
            .map_err(|e| Error::Manifest { path: path.clone(), message: e.to_string() })?;
        if manifest.format != CACHE_FORMAT {
            return Err(Error::Manifest {
                path,
                message: format!("format {} (this lathe reads {CACHE_FORMAT})", manifest.format),
            });
        }
        Ok(Some(manifest))
    }

    /// The parts of the key `step` last finished under.
    pub fn latest(&self, step: &str) -> Result<Option<KeyParts>> {
        let path = self.step_dir(step).join("latest.json");
        match fs::read(&path) {
            // An unreadable `latest.json` only costs the explanation, never a result.
            Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::cache(path)(e)),
        }
    }

    /// A fresh, empty staging folder for `step` under `key`, with its `out/`;
    /// a leftover from an interrupted run is removed first.
    pub(crate) fn stage(&self, step: &str, key: &str) -> Result<PathBuf> {
        let staging = self.step_dir(step).join(format!(".staging-{key}"));
        if staging.exists() {
            fs::remove_dir_all(&staging).map_err(Error::cache(&staging))?;
        }
        fs::create_dir_all(staging.join("out")).map_err(Error::cache(&staging))?;
        Ok(staging)
    }

    /// Moves a finished staging folder into place and records its key parts.
    pub(crate) fn commit(
        &self,
        staging: &Path,
        manifest: &Manifest,
        parts: &KeyParts,
    ) -> Result<()> {
        let json = serde_json::to_vec_pretty(manifest).unwrap_or_default();
        let manifest_path = staging.join("manifest.json");
        fs::write(&manifest_path, json).map_err(Error::cache(&manifest_path))?;
        let entry = self.step_dir(&manifest.step).join(&manifest.key);
        if entry.exists() {
            // Only reached with --force: the new result replaces the old one.
            fs::remove_dir_all(&entry).map_err(Error::cache(&entry))?;
        }
        fs::rename(staging, &entry).map_err(Error::cache(&entry))?;
        let latest = self.step_dir(&manifest.step).join("latest.json");
        let json = serde_json::to_vec_pretty(parts).unwrap_or_default();
        fs::write(&latest, json).map_err(Error::cache(&latest))
    }

    /// Removes a failed step's staging folder.
    pub(crate) fn discard(&self, staging: &Path) {
        // Best effort: a leftover is cleaned by the next `stage` of that key anyway.
        let _ = fs::remove_dir_all(staging);
    }
}

/// SHA-256 of a file's content, hex, read in 1 MiB blocks.
pub fn file_digest(path: &Path) -> std::io::Result<String> {
    let mut file = fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// SHA-256 of a value's JSON, hex.
pub(crate) fn json_digest<T: Serialize>(value: &T) -> String {
    hex(&Sha256::digest(serde_json::to_vec(value).unwrap_or_default()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
