//! What the benchmark examples share: the process's memory figures.

/// A memory field of `/proc/self/status` (`VmRSS:`, `VmHWM:`) in MiB; 0
/// where it cannot be read.
pub fn rss_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}
