//! The profile as one self-contained HTML page: inline CSS and SVG, no
//! script, no external URL, every text HTML-escaped. A header, the
//! warnings, then one card per column with its summary and a small plot:
//! a histogram for numbers, bars of the most frequent labels otherwise.

use std::fmt::Write as _;

use lathe_core::html_escape as esc;

use crate::profile::{ColumnProfile, Profile};

const W: f64 = 320.0;
const H: f64 = 110.0;

/// Renders `profile` of the file called `title`.
pub fn profile_html(title: &str, profile: &Profile) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Profile of {t}</title>\
         <style>body{{font:14px system-ui,sans-serif;margin:24px;color:#1f2328;background:#fff}}\
         h1{{font-size:20px}}.cards{{display:flex;flex-wrap:wrap;gap:12px}}\
         .card{{border:1px solid #d0d7de;border-radius:6px;padding:10px;width:{cw}px}}\
         .card h2{{font-size:15px;margin:0 0 4px}}.meta{{color:#59636e;font-size:12px;margin-bottom:6px}}\
         .warn{{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:8px 12px;margin:12px 0}}\
         svg text{{font-size:10px;fill:#59636e}}rect.bar{{fill:#0969da}}\
         @media (prefers-color-scheme:dark){{body{{background:#0d1117;color:#e6edf3}}.card{{border-color:#30363d}}\
         .warn{{background:#3b2e00;border-color:#9e6a03}}rect.bar{{fill:#4493f8}}svg text{{fill:#9198a1}}}}\
         </style></head><body><h1>Profile of {t}</h1><p>{r} rows, {c} columns</p>",
        t = esc(title),
        r = profile.rows,
        c = profile.columns.len(),
        cw = W + 20.0
    );
    if !profile.warnings.is_empty() {
        h.push_str("<div class=\"warn\"><strong>Warnings</strong><ul>");
        for w in &profile.warnings {
            let _ = write!(h, "<li>{}</li>", esc(w));
        }
        h.push_str("</ul></div>");
    }
    h.push_str("<div class=\"cards\">");
    for c in &profile.columns {
        card(&mut h, c);
    }
    h.push_str("</div></body></html>\n");
    h
}

fn card(h: &mut String, c: &ColumnProfile) {
    let _ = write!(
        h,
        "<div class=\"card\"><h2>{}</h2><div class=\"meta\">{} · {:.1}% missing · {} distinct",
        esc(&c.name),
        c.kind.as_str(),
        100.0 * c.missing_share,
        c.distinct
    );
    if let Some((mean, q)) = c.numeric {
        let _ = write!(
            h,
            " · mean {} · min {} · median {} · max {}",
            short(mean),
            short(q[0]),
            short(q[2]),
            short(q[4])
        );
    }
    if let Some(r) = c.target_correlation {
        let _ = write!(h, " · corr. with target {r:+.3}");
    }
    h.push_str("</div>");
    if !c.histogram.is_empty() {
        let max = c.histogram.iter().map(|b| b.2).max().unwrap_or(1).max(1) as f64;
        let bw = W / c.histogram.len() as f64;
        let _ = write!(
            h,
            "<svg width=\"{W}\" height=\"{}\" role=\"img\" aria-label=\"histogram of {}\">",
            H + 14.0,
            esc(&c.name)
        );
        for (i, (lo, hi, n)) in c.histogram.iter().enumerate() {
            let bh = H * *n as f64 / max;
            let _ = write!(
                h,
                "<rect class=\"bar\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\"><title>[{}, {}): {n}</title></rect>",
                i as f64 * bw + 0.5,
                H - bh,
                (bw - 1.0).max(0.5),
                short(*lo),
                short(*hi)
            );
        }
        let (lo, hi) = (c.histogram[0].0, c.histogram[c.histogram.len() - 1].1);
        let _ = write!(
            h,
            "<text x=\"0\" y=\"{y}\">{}</text><text x=\"{W}\" y=\"{y}\" text-anchor=\"end\">{}</text></svg>",
            short(lo),
            short(hi),
            y = H + 12.0
        );
    } else if !c.top.is_empty() {
        let max = c.top.iter().map(|t| t.1).max().unwrap_or(1).max(1) as f64;
        let row = 18.0;
        let _ = write!(
            h,
            "<svg width=\"{W}\" height=\"{}\" role=\"img\" aria-label=\"top values of {}\">",
            row * c.top.len() as f64,
            esc(&c.name)
        );
        for (i, (label, n)) in c.top.iter().enumerate() {
            let y = i as f64 * row;
            let bw = (W - 170.0) * *n as f64 / max; // room for the count after the longest bar
            let shown: String = label.chars().take(18).collect();
            let _ = write!(
                h,
                "<text x=\"0\" y=\"{:.1}\">{}</text><rect class=\"bar\" x=\"120\" y=\"{:.1}\" width=\"{bw:.1}\" height=\"{:.1}\"><title>{}: {n}</title></rect><text x=\"{:.1}\" y=\"{:.1}\">{n}</text>",
                y + 12.0,
                esc(&shown),
                y + 3.0,
                row - 6.0,
                esc(label),
                124.0 + bw,
                y + 12.0
            );
        }
        h.push_str("</svg>");
    }
    h.push_str("</div>");
}

fn short(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e12 {
        format!("{x:.0}")
    } else if x.abs() >= 1000.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ColumnType;

    #[test]
    fn escapes_text_and_draws_one_bar_per_bin_or_label() {
        let p = Profile {
            rows: 3,
            columns: vec![
                ColumnProfile {
                    name: "<x>".into(),
                    kind: ColumnType::Numeric,
                    missing_share: 0.0,
                    distinct: 3,
                    numeric: Some((2.0, [1.0, 1.5, 2.0, 2.5, 3.0])),
                    top: vec![],
                    target_correlation: Some(0.5),
                    histogram: vec![(1.0, 2.0, 1), (2.0, 3.0, 2)],
                },
                ColumnProfile {
                    name: "c".into(),
                    kind: ColumnType::Categorical,
                    missing_share: 0.0,
                    distinct: 2,
                    numeric: None,
                    top: vec![("a&b".into(), 2), ("z".into(), 1)],
                    target_correlation: None,
                    histogram: vec![],
                },
            ],
            warnings: vec!["column \"<x>\" is odd".into()],
        };
        let h = profile_html("t.csv", &p);
        assert!(h.contains("<h2>&lt;x&gt;</h2>") && h.contains("a&amp;b") && !h.contains("<x>"));
        assert_eq!(h.matches("<rect class=\"bar\"").count(), 4);
        assert!(h.contains("column &quot;&lt;x&gt;&quot; is odd"));
        assert!(!h.contains("http://") && !h.contains("https://") && !h.contains("<script"));
    }
}
