//! Printing tables to stdout; a closed pipe (`lathe runs list | head`) is not an error.

use std::io::Write;

/// Prints rows as aligned columns under a header.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> anyhow::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = std::io::stdout().lock();
    let line = |cells: Vec<&str>| -> String {
        let padded: Vec<String> =
            cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}", w = *w)).collect();
        padded.join("  ").trim_end().to_string()
    };
    let result = (|| -> std::io::Result<()> {
        writeln!(out, "{}", line(header.to_vec()))?;
        for row in rows {
            writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
        }
        out.flush()
    })();
    quiet_pipe(result)
}

/// Prints `key: value` lines.
pub(crate) fn fields(pairs: &[(&str, String)]) -> anyhow::Result<()> {
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut out = std::io::stdout().lock();
    let result = (|| -> std::io::Result<()> {
        for (k, v) in pairs {
            writeln!(out, "{k:<width$}  {v}")?;
        }
        out.flush()
    })();
    quiet_pipe(result)
}

/// Prints one line.
pub(crate) fn line(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    quiet_pipe(writeln!(out, "{text}").and_then(|_| out.flush()))
}

fn quiet_pipe(result: std::io::Result<()>) -> anyhow::Result<()> {
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// Milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS` UTC.
pub(crate) fn time(ms: i64) -> String {
    lathe_core::format_utc(ms)
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_utc_times() {
        assert_eq!(super::time(0), "1970-01-01 00:00:00");
        assert_eq!(super::time(1_700_000_000_000), "2023-11-14 22:13:20");
    }
}
