//! Artifacts in a directory on the local disk.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use tokio::io::AsyncWriteExt;

use super::{safe_relative_path, ByteStream, FileInfo};
use crate::{ArtifactStore, Result, StoreError};

/// Artifacts under one root directory.
#[derive(Debug, Clone)]
pub struct LocalArtifactStore {
    root: PathBuf,
}

impl LocalArtifactStore {
    /// A store rooted at `root`, created if missing.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root).map_err(|e| io("create artifact root", &root, e))?;
        let root = root.canonicalize().map_err(|e| io("resolve artifact root", &root, e))?;
        Ok(LocalArtifactStore { root })
    }

    /// The absolute root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The on-disk path for a client path, after checking that neither the
    /// path nor any symlink on the way leads outside the root.
    fn resolve(&self, path: &str) -> Result<PathBuf> {
        let full = self.root.join(safe_relative_path(path)?);
        // Resolve the longest prefix that exists: a symlink anywhere on it
        // must still land inside the root.
        let mut existing = full.as_path();
        while !existing.exists() {
            match existing.parent() {
                Some(p) => existing = p,
                None => break,
            }
        }
        let real = existing.canonicalize().map_err(|e| io("resolve", existing, e))?;
        if !real.starts_with(&self.root) {
            return Err(StoreError::invalid(format!(
                "Invalid artifact path '{path}': it resolves outside the artifact root"
            )));
        }
        Ok(full)
    }
}

fn io(what: &str, path: &Path, e: std::io::Error) -> StoreError {
    if e.kind() == std::io::ErrorKind::NotFound {
        StoreError::NotFound(format!("artifact '{}' does not exist", path.display()))
    } else {
        StoreError::Backend(format!("{what} {}: {e}", path.display()))
    }
}

#[async_trait]
impl ArtifactStore for LocalArtifactStore {
    async fn put(&self, path: &str, mut body: ByteStream) -> Result<u64> {
        let full = self.resolve(path)?;
        if full == self.root {
            return Err(StoreError::invalid("Invalid artifact path '': a file name is required"));
        }
        let dir = full.parent().unwrap_or(&self.root).to_path_buf();
        tokio::fs::create_dir_all(&dir).await.map_err(|e| io("create directory", &dir, e))?;
        // Re-check after creating directories: a racing symlink must not redirect us.
        self.resolve(path)?;
        if full.is_dir() {
            return Err(StoreError::invalid(format!(
                "Invalid artifact path '{path}': it is a directory"
            )));
        }
        // Write to a sibling temp file and rename, so readers never see half a file.
        let tmp = dir.join(format!(".{}.upload", lathe_core::new_id()));
        let result = async {
            let mut file =
                tokio::fs::File::create(&tmp).await.map_err(|e| io("create", &tmp, e))?;
            let n = tokio::io::copy(&mut body, &mut file)
                .await
                .map_err(|e| StoreError::invalid(format!("upload of '{path}' failed: {e}")))?;
            file.flush().await.map_err(|e| io("write", &tmp, e))?;
            tokio::fs::rename(&tmp, &full).await.map_err(|e| io("rename", &full, e))?;
            Ok(n)
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        result
    }

    async fn get(&self, path: &str) -> Result<(ByteStream, u64)> {
        let full = self.resolve(path)?;
        let meta = tokio::fs::metadata(&full).await.map_err(|e| io("read", &full, e))?;
        if meta.is_dir() {
            return Err(StoreError::invalid(format!(
                "Invalid artifact path '{path}': it is a directory, not a file"
            )));
        }
        let file = tokio::fs::File::open(&full).await.map_err(|e| io("open", &full, e))?;
        Ok((Box::pin(file), meta.len()))
    }

    async fn list(&self, path: &str) -> Result<Vec<FileInfo>> {
        let rel = safe_relative_path(path)?;
        let full = self.resolve(path)?;
        let mut out = Vec::new();
        let mut entries = match tokio::fs::read_dir(&full).await {
            Ok(e) => e,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                return Ok(out)
            }
            Err(e) => return Err(io("list", &full, e)),
        };
        while let Some(entry) = entries.next_entry().await.map_err(|e| io("list", &full, e))? {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.ends_with(".upload") {
                continue;
            }
            let meta = entry.metadata().await.map_err(|e| io("stat", &entry.path(), e))?;
            let child = rel.join(&name).to_string_lossy().replace('\\', "/");
            out.push(FileInfo {
                path: child,
                is_dir: meta.is_dir(),
                file_size: (!meta.is_dir()).then_some(meta.len()),
            });
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    async fn delete(&self, path: &str) -> Result<()> {
        let full = self.resolve(path)?;
        if full == self.root {
            return Err(StoreError::invalid("refusing to delete the artifact root"));
        }
        let meta = tokio::fs::symlink_metadata(&full).await.map_err(|e| io("delete", &full, e))?;
        if meta.is_dir() {
            tokio::fs::remove_dir_all(&full).await.map_err(|e| io("delete", &full, e))
        } else {
            tokio::fs::remove_file(&full).await.map_err(|e| io("delete", &full, e))
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    #[tokio::test]
    async fn put_get_list_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalArtifactStore::open(dir.path()).unwrap();
        let n = store.put("run/a/b.txt", Box::pin(&b"hello"[..])).await.unwrap();
        assert_eq!(n, 5);
        let (mut r, size) = store.get("run/a/b.txt").await.unwrap();
        let mut s = String::new();
        r.read_to_string(&mut s).await.unwrap();
        assert_eq!((s.as_str(), size), ("hello", 5));
        let top = store.list("run").await.unwrap();
        assert_eq!(top, vec![FileInfo { path: "run/a".into(), is_dir: true, file_size: None }]);
        assert!(store.list("missing").await.unwrap().is_empty());
        store.delete("run/a").await.unwrap();
        assert!(store.list("run").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn symlinks_out_of_the_root_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "x").unwrap();
        let store = LocalArtifactStore::open(dir.path().join("root")).unwrap();
        std::os::unix::fs::symlink(outside.path(), store.root().join("link")).unwrap();
        assert!(store.get("link/secret").await.is_err());
        assert!(store.list("link").await.is_err());
        assert!(store.put("link/new", Box::pin(&b"x"[..])).await.is_err());
        assert!(!outside.path().join("new").exists());
        assert!(store.delete("link/secret").await.is_err());
        assert!(outside.path().join("secret").exists());
    }
}
