//! One module per concern; shared helpers here.

mod bad_input;
mod chunks;
mod equivalence;
mod readers;
mod reference;

use std::path::PathBuf;

/// A committed fixture.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test_data").join(name)
}

/// Writes `content` to `name` in a fresh temporary directory.
pub fn temp_file(name: &str, content: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, content).unwrap();
    (dir, path)
}
