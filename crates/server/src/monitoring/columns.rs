//! Per-column overrides of the window drift test in `lathe.toml`, parsed on
//! their own so the main config parser only has to hand them over:
//!
//! ```toml
//! [monitoring.columns.income]
//! method = "psi"          # or "jensenshannon", "binned_chisquare"
//! threshold = 0.2         # a distance for psi/jensenshannon, a significance level otherwise
//!
//! [monitoring.columns.age]
//! threshold = 0.001
//! ```
//!
//! The rest of the file is ignored here: [`super::config`] reads it.

use std::collections::BTreeMap;

use lathe_monitor::{ColumnOverride, WindowMethod};
use serde::Deserialize;

use super::{MonitorError, Result};

#[derive(Deserialize)]
struct File {
    #[serde(default)]
    monitoring: Option<Monitoring>,
}

#[derive(Deserialize)]
struct Monitoring {
    #[serde(default)]
    columns: BTreeMap<String, Column>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Column {
    method: Option<String>,
    threshold: Option<f64>,
}

/// The `[monitoring.columns.NAME]` tables of a config file, checked:
/// a known method, and a threshold in (0, 1) for the χ² test or above 0
/// for a distance.
pub fn parse(text: &str, source: &str) -> Result<BTreeMap<String, ColumnOverride>> {
    let file: File = toml::from_str(text)
        .map_err(|e| MonitorError::Config(format!("{source}: {}", e.to_string().trim())))?;
    let mut out = BTreeMap::new();
    for (name, c) in file.monitoring.map(|m| m.columns).unwrap_or_default() {
        let bad = |why: String| MonitorError::Config(format!("{source}: column '{name}': {why}"));
        let method = match c.method.as_deref() {
            None => None,
            Some(m) => Some(WindowMethod::from_name(m).ok_or_else(|| {
                bad(format!("method '{m}': expected binned_chisquare, psi or jensenshannon"))
            })?),
        };
        if let Some(t) = c.threshold {
            let distance = method.is_some_and(WindowMethod::is_distance);
            let fits = if distance { t > 0.0 && t.is_finite() } else { t > 0.0 && t < 1.0 };
            if !fits {
                let range = if distance { "above 0" } else { "in (0, 1)" };
                return Err(bad(format!("threshold must be {range}, got {t}")));
            }
        }
        out.insert(name, ColumnOverride { method, threshold: c.threshold });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_per_column() {
        let text = r#"
            [monitoring]
            window = "500"
            [monitoring.columns.income]
            method = "psi"
            threshold = 0.2
            [monitoring.columns.age]
            threshold = 0.001
            [[alerts]]
            rule = "dataset_drift"
        "#;
        let got = parse(text, "lathe.toml").unwrap();
        assert_eq!(
            got["income"],
            ColumnOverride { method: Some(WindowMethod::Psi), threshold: Some(0.2) }
        );
        assert_eq!(got["age"], ColumnOverride { method: None, threshold: Some(0.001) });
        assert!(parse("", "x").unwrap().is_empty());
    }

    #[test]
    fn bad_overrides_say_which_column_and_why() {
        let e = parse("[monitoring.columns.a]\nmethod = \"ks\"", "x.toml").unwrap_err();
        assert!(e.to_string().contains("column 'a': method 'ks'"), "{e}");
        let e = parse("[monitoring.columns.a]\nthreshold = 2.0", "x.toml").unwrap_err();
        assert!(e.to_string().contains("in (0, 1)"), "{e}");
        let ok = parse("[monitoring.columns.a]\nmethod = \"psi\"\nthreshold = 2.0", "x");
        assert!(ok.is_ok(), "a distance threshold may exceed 1");
        let e = parse("[monitoring.columns.a]\nmethode = \"psi\"", "x.toml").unwrap_err();
        assert!(e.to_string().contains("methode"), "{e}");
    }
}
