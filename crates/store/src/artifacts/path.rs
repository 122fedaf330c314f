//! The one check that keeps artifact paths inside their root.

use std::path::PathBuf;

use crate::{Result, StoreError};

/// Checks a client-given artifact path and returns it as a relative path.
///
/// Refused: absolute paths, Windows drive letters and UNC/backslashes, `..`
/// segments, NUL, `?` and `#`, and all of these hidden behind one or more
/// rounds of percent-encoding (`%2e%2e%2f`, `%252e%252e%252f`), as MLflow's
/// `validate_path_is_safe` refuses them. Symlinks are checked by the store
/// that resolves the path on disk.
pub fn safe_relative_path(path: &str) -> Result<PathBuf> {
    let bad = |why: &str| StoreError::invalid(format!("Invalid artifact path '{path}': {why}"));
    let mut decoded = path.to_string();
    for _ in 0..4 {
        let next = percent_decode(&decoded).ok_or_else(|| bad("bad percent-encoding"))?;
        if next == decoded {
            break;
        }
        decoded = next;
    }
    if decoded.contains('%') && percent_decode(&decoded).is_some_and(|d| d != decoded) {
        return Err(bad("too many rounds of percent-encoding"));
    }
    if decoded.chars().any(|c| c == '\0' || c == '?' || c == '#' || c == '\\') {
        return Err(bad("NUL, '?', '#' and '\\' are not allowed"));
    }
    if decoded.starts_with('/') || decoded.starts_with('~') {
        return Err(bad("absolute paths are not allowed"));
    }
    let bytes = decoded.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Err(bad("drive letters are not allowed"));
    }
    let mut out = PathBuf::new();
    for part in decoded.split('/') {
        match part {
            "" | "." => continue,
            ".." => return Err(bad("'..' is not allowed")),
            p => out.push(p),
        }
    }
    Ok(out)
}

/// Decodes `%XX` escapes; `None` when the result is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_relative_paths() {
        assert_eq!(safe_relative_path("a/b/c.txt").unwrap(), PathBuf::from("a/b/c.txt"));
        assert_eq!(safe_relative_path("").unwrap(), PathBuf::new());
        assert_eq!(safe_relative_path("./a//b").unwrap(), PathBuf::from("a/b"));
        assert_eq!(safe_relative_path("a%20b").unwrap(), PathBuf::from("a b"));
    }

    #[test]
    fn refuses_every_escape() {
        for p in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "C:/Windows",
            "c:x",
            "%2e%2e%2fx",
            "%2E%2E/x",
            "%252e%252e%252fx",
            "%25252e%25252e%25252fx",
            "a?b",
            "a#b",
            "a\0b",
            "a%00b",
            "..\\x",
            "%5c..%5cx",
            "~/x",
        ] {
            assert!(safe_relative_path(p).is_err(), "{p:?} accepted");
        }
    }
}
