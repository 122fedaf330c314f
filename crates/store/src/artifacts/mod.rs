//! Artifact storage: files of runs and models, addressed by relative paths.
//!
//! The trait streams bytes both ways so large models never sit in memory,
//! and so an object store (S3) can implement it with multipart uploads.

mod local;
mod path;

use std::pin::Pin;

use async_trait::async_trait;
use tokio::io::AsyncRead;

pub use local::LocalArtifactStore;
pub use path::safe_relative_path;

use crate::Result;

/// A byte stream read from or written to an artifact store.
pub type ByteStream = Pin<Box<dyn AsyncRead + Send + Unpin>>;

/// One entry of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    /// Path relative to the store root, `/`-separated.
    pub path: String,
    /// Whether it is a directory.
    pub is_dir: bool,
    /// Size in bytes (files only).
    pub file_size: Option<u64>,
}

/// Where artifact files live. Paths are relative and checked by
/// [`safe_relative_path`]; nothing outside the root is ever read or written.
#[async_trait]
pub trait ArtifactStore: Send + Sync + 'static {
    /// Writes a file at `path` from `body`, replacing any old one; the new
    /// content appears whole or not at all.
    async fn put(&self, path: &str, body: ByteStream) -> Result<u64>;
    /// Opens a file for reading, with its size.
    async fn get(&self, path: &str) -> Result<(ByteStream, u64)>;
    /// The direct children of a directory (`""` for the root); empty when it does not exist.
    async fn list(&self, path: &str) -> Result<Vec<FileInfo>>;
    /// Removes a file or a directory tree.
    async fn delete(&self, path: &str) -> Result<()>;
}
