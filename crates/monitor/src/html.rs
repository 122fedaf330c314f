//! The drift report as one self-contained HTML page: inline CSS, inline SVG,
//! no script and no external URL. A header with the dataset verdict, a table
//! of the columns, and per column a small plot of the reference against the
//! current distribution: overlaid histograms on the shared Sturges edges
//! (those the Jensen–Shannon and PSI tests bin on) for numbers, side-by-side
//! bars of the most frequent categories for categories. Light and dark follow
//! `prefers-color-scheme`. Every text is HTML-escaped.
//!
//! The columns are consumed by [`DriftReport::compute`], so the plot data is
//! taken first with [`Distribution::of`] (a few dozen numbers per column).

use std::fmt::Write as _;

use crate::{stats::binning, Column, ColumnKind, ColumnPair, DriftReport, Mode};

/// Categories drawn per column; the rest are summed into one "other" bar.
pub const TOP_CATEGORIES: usize = 10;

/// What a column's plot shows: shares of each sample, reference and current.
#[derive(Debug, Clone, PartialEq)]
pub enum Distribution {
    /// Shares per bin on shared Sturges edges (`edges.len() == shares.len() + 1`).
    Histogram {
        /// Bin edges, ascending.
        edges: Vec<f64>,
        /// (reference, current) share per bin.
        shares: Vec<(f64, f64)>,
    },
    /// Shares per category (or per value of a numerical column with at most
    /// 20 distinct reference values): all of them in order when they fit,
    /// else the most frequent (by reference + current share).
    Categories {
        /// (category, reference share, current share), most frequent first.
        top: Vec<(String, f64, f64)>,
        /// The categories left out and their summed (reference, current) shares.
        other: Option<(usize, f64, f64)>,
    },
}

impl Distribution {
    /// The plot data of one column pair (empty when a side has no values,
    /// or the kinds differ).
    pub fn of(pair: &ColumnPair) -> Distribution {
        match (&pair.reference, &pair.current) {
            // Few distinct values: Evidently bins per value, and so does the plot.
            (Column::Numerical(r), Column::Numerical(c)) if r.unique() <= 20 => {
                let (rv, cv) = (r.value_counts(), c.value_counts());
                let mut values: Vec<f64> = rv.iter().chain(&cv).map(|v| v.0).collect();
                values.sort_unstable_by(f64::total_cmp);
                values.dedup_by(|a, b| a == b);
                let count = |vc: &[(f64, u64)], v: f64| {
                    // Finite values: `partial_cmp` is total here, and -0.0 finds 0.0.
                    vc.binary_search_by(|x| x.0.partial_cmp(&v).unwrap_or(std::cmp::Ordering::Less))
                        .map_or(0, |i| vc[i].1)
                };
                let (rn, cn) = (r.sorted().len().max(1) as f64, c.sorted().len().max(1) as f64);
                let all = values
                    .into_iter()
                    .map(|v| (num(v), count(&rv, v) as f64 / rn, count(&cv, v) as f64 / cn))
                    .collect();
                categories(all)
            }
            (Column::Numerical(r), Column::Numerical(c)) => {
                let counts = binning::sturges_counts(r, c);
                let (rs, cs) = (r.sorted(), c.sorted());
                let edges = match (rs.first(), cs.first(), rs.last(), cs.last()) {
                    (Some(&r0), Some(&c0), Some(&r1), Some(&c1)) => binning::sturges_edges(
                        r0.min(c0),
                        r1.max(c1),
                        rs.len() + cs.len(),
                        r.is_integer() && c.is_integer(),
                    ),
                    _ => Vec::new(),
                };
                let (rn, cn) = (rs.len().max(1) as f64, cs.len().max(1) as f64);
                let shares = counts.iter().map(|&(a, b)| (a as f64 / rn, b as f64 / cn)).collect();
                Distribution::Histogram { edges, shares }
            }
            (Column::Categorical(r), Column::Categorical(c)) => {
                let (rn, cn) = (r.len().max(1) as f64, c.len().max(1) as f64);
                let mut all: Vec<(String, f64, f64)> = r
                    .counts()
                    .keys()
                    .chain(c.counts().keys().filter(|k| !r.counts().contains_key(*k)))
                    .map(|k| {
                        let a = r.counts().get(k).copied().unwrap_or(0) as f64 / rn;
                        let b = c.counts().get(k).copied().unwrap_or(0) as f64 / cn;
                        (k.clone(), a, b)
                    })
                    .collect();
                all.sort_by(|x, y| x.0.cmp(&y.0));
                categories(all)
            }
            _ => Distribution::Histogram { edges: Vec::new(), shares: Vec::new() },
        }
    }
}

/// All levels in their natural order when they fit, else the most frequent
/// (by reference + current share) and the rest summed into "other".
fn categories(mut all: Vec<(String, f64, f64)>) -> Distribution {
    if all.len() <= TOP_CATEGORIES {
        return Distribution::Categories { top: all, other: None };
    }
    all.sort_by(|x, y| (y.1 + y.2).total_cmp(&(x.1 + x.2)).then_with(|| x.0.cmp(&y.0)));
    let rest = all.split_off(TOP_CATEGORIES);
    let (a, b) = rest.iter().fold((0.0, 0.0), |(a, b), x| (a + x.1, b + x.2));
    Distribution::Categories { top: all, other: Some((rest.len(), a, b)) }
}

/// What the page says about where the data came from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HtmlContext {
    /// The reference data's name (e.g. its file name).
    pub reference_name: String,
    /// The current data's name.
    pub current_name: String,
    /// Rows read from the reference data.
    pub reference_rows: usize,
    /// Rows read from the current data.
    pub current_rows: usize,
}

pub use lathe_core::{html_escape as esc, HtmlEscaped as Esc};

/// A score or edge as a short readable number.
fn num(v: f64) -> String {
    if v == 0.0 || (1e-3..1e6).contains(&v.abs()) {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else if v.is_finite() {
        format!("{v:.3e}")
    } else {
        v.to_string()
    }
}

fn pct(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

/// The report's style sheet (light and dark), for other pages that reuse its plots.
pub const STYLE: &str = "
:root{color-scheme:light dark;--bg:#fff;--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--card:#f6f8fa;
--ref:#3b6fd6;--cur:#e8772e;--bad:#c62828;--badbg:#fde7e7;--ok:#2e7d32;--okbg:#e3f4e4}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#8d96a0;--line:#30363d;
--card:#161b22;--ref:#6d9bff;--cur:#ff9b55;--bad:#ff8a80;--badbg:#4a1717;--ok:#7ee787;--okbg:#12351a}}
*{box-sizing:border-box}
body{margin:0;padding:24px 32px;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 10px}
.muted{color:var(--muted)}a{color:var(--ref)}
.verdict{display:flex;gap:24px;flex-wrap:wrap;align-items:center;padding:14px 18px;margin:14px 0;border:1px solid var(--line);border-radius:8px;background:var(--card)}
.verdict .big{font-size:20px;font-weight:600}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600}
.badge.drift{color:var(--bad);background:var(--badbg)}.badge.ok{color:var(--ok);background:var(--okbg)}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{padding:4px 12px;border-bottom:1px solid var(--line);text-align:left}
td.n{text-align:right}th{font-weight:600;color:var(--muted)}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(360px,1fr));gap:14px}
figure{margin:0;padding:10px 12px;border:1px solid var(--line);border-radius:8px;background:var(--card)}
figcaption{display:flex;justify-content:space-between;gap:8px;margin-bottom:4px}
figcaption .name{font-weight:600;overflow-wrap:anywhere}
svg{display:block;width:100%;height:auto}
svg text{fill:var(--muted);font-size:10px}
svg .axis{stroke:var(--line)}
svg .ref{fill:var(--ref)}svg .cur{fill:var(--cur)}
svg.hist .ref,svg.hist .cur{fill-opacity:.45}
svg.hist .ref-l{stroke:var(--ref);fill:none;stroke-width:1.2}svg.hist .cur-l{stroke:var(--cur);fill:none;stroke-width:1.2}
.key{display:inline-block;width:10px;height:10px;border-radius:2px;margin:0 4px 0 10px;vertical-align:-1px}
.key.ref{background:var(--ref)}.key.cur{background:var(--cur)}
.notes{margin:4px 0 0;padding-left:18px;font-size:12px}
";

/// The whole page. `plots[i]` belongs to `report.columns[i]`; a column
/// without one gets no plot.
pub fn render(report: &DriftReport, plots: &[Distribution], context: &HtmlContext) -> String {
    let mut out = String::with_capacity(16 * 1024 + report.columns.len() * 6 * 1024);
    let verdict = if report.dataset_drift { "Dataset drift detected" } else { "No dataset drift" };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>Drift report: {}</title><style>{STYLE}</style></head><body>\
         <h1>Drift report</h1><div class=\"muted\">reference <b>{}</b> ({} rows) &middot; current <b>{}</b> ({} rows)</div>",
        esc(verdict),
        esc(&context.reference_name),
        context.reference_rows,
        esc(&context.current_name),
        context.current_rows,
    );
    let _ = write!(
        out,
        "<div class=\"verdict\"><span class=\"big\">{}</span> <span class=\"badge {}\">{}</span>\
         <span>{} of {} columns drifted: share <b>{}</b> {} threshold {}</span>\
         <span class=\"muted\">{} mode</span></div>",
        esc(verdict),
        if report.dataset_drift { "drift" } else { "ok" },
        if report.dataset_drift { "DRIFT" } else { "OK" },
        report.number_of_drifted_columns,
        report.number_of_columns,
        num(report.drift_share),
        if report.dataset_drift { "&ge;" } else { "&lt;" },
        num(report.drift_share_threshold),
        esc(&report.mode.to_string()),
    );
    table(&mut out, report);
    out.push_str(
        "<h2>Distributions</h2><p class=\"muted\">Share of each sample\
         <span class=\"key ref\"></span>reference<span class=\"key cur\"></span>current</p><div class=\"grid\">",
    );
    for (i, (name, c)) in report.columns.iter().enumerate() {
        let _ = write!(
            out,
            "<figure id=\"col-{i}\"><figcaption><span class=\"name\">{}</span>\
             <span><span class=\"muted\">{} {}</span> <span class=\"badge {}\">{}</span></span></figcaption>",
            esc(name),
            esc(c.method.name()),
            num(c.adjusted_score.unwrap_or(c.score)),
            if c.drift { "drift" } else { "ok" },
            if c.drift { "DRIFT" } else { "OK" },
        );
        match plots.get(i) {
            Some(Distribution::Histogram { edges, shares }) => {
                histogram_svg(&mut out, name, edges, shares)
            }
            Some(Distribution::Categories { top, other }) => {
                categories_svg(&mut out, name, top, *other)
            }
            None => out.push_str("<p class=\"muted\">No plot.</p>"),
        }
        if !c.notes.is_empty() {
            out.push_str("<ul class=\"notes muted\">");
            for note in &c.notes {
                let _ = write!(out, "<li>{}</li>", esc(note));
            }
            out.push_str("</ul>");
        }
        out.push_str("</figure>");
    }
    out.push_str("</div></body></html>\n");
    out
}

fn table(out: &mut String, report: &DriftReport) {
    let corrected = report.mode == Mode::Corrected;
    out.push_str("<h2>Columns</h2><table><thead><tr><th>column</th><th>type</th><th>method</th><th>score</th>");
    if corrected {
        out.push_str("<th>adjusted</th>");
    }
    out.push_str("<th>threshold</th><th>drift</th></tr></thead><tbody>");
    for (i, (name, c)) in report.columns.iter().enumerate() {
        let _ = write!(
            out,
            "<tr><td><a href=\"#col-{i}\">{}</a></td><td>{}</td><td>{}</td><td class=\"n\">{}</td>",
            esc(name),
            match c.kind {
                ColumnKind::Numerical => "num",
                ColumnKind::Categorical => "cat",
            },
            esc(c.method.name()),
            num(c.score),
        );
        if corrected {
            let _ = write!(
                out,
                "<td class=\"n\">{}</td>",
                c.adjusted_score.map_or("-".to_string(), num)
            );
        }
        let _ = write!(
            out,
            "<td class=\"n\">{}</td><td><span class=\"badge {}\">{}</span></td></tr>",
            num(c.threshold),
            if c.drift { "drift" } else { "ok" },
            if c.drift { "DRIFT" } else { "OK" },
        );
    }
    out.push_str("</tbody></table>");
}

const W: f64 = 360.0;
const H: f64 = 150.0;
const LEFT: f64 = 40.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 8.0;
const BOTTOM: f64 = 22.0;

fn svg_open(out: &mut String, name: &str, class: &str) {
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"{class}\" viewBox=\"0 0 {W} {H}\" role=\"img\">\
         <title>{}: reference vs current</title>",
        esc(name)
    );
}

/// The y axis: a baseline, the top share as a label.
fn y_axis(out: &mut String, top: f64) {
    let (x0, x1, y0) = (LEFT, W - RIGHT, H - BOTTOM);
    let _ = write!(
        out,
        "<line class=\"axis\" x1=\"{x0}\" y1=\"{y0}\" x2=\"{x1}\" y2=\"{y0}\"/>\
         <line class=\"axis\" x1=\"{x0}\" y1=\"{TOP}\" x2=\"{x1}\" y2=\"{TOP}\" stroke-dasharray=\"2 3\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">0</text>",
        x0 - 4.0,
        TOP + 4.0,
        pct(top),
        x0 - 4.0,
        y0 + 3.0,
    );
}

fn histogram_svg(out: &mut String, name: &str, edges: &[f64], shares: &[(f64, f64)]) {
    if shares.is_empty() || edges.len() != shares.len() + 1 {
        out.push_str("<p class=\"muted\">No values to draw.</p>");
        return;
    }
    let top = shares.iter().fold(0.0_f64, |m, &(a, b)| m.max(a).max(b)).max(1e-12);
    svg_open(out, name, "hist");
    y_axis(out, top);
    let (lo, hi) = (edges[0], edges[edges.len() - 1]);
    let span = if hi > lo { hi - lo } else { 1.0 };
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let x = |e: f64| LEFT + (e - lo) / span * plot_w;
    let y = |s: f64| H - BOTTOM - s / top * plot_h;
    for (class, pick) in [("ref", 0), ("cur", 1)] {
        let mut outline = format!("M{:.1},{:.1}", x(lo), y(0.0));
        for (i, &(a, b)) in shares.iter().enumerate() {
            let s = if pick == 0 { a } else { b };
            let (xa, xb) = (x(edges[i]), x(edges[i + 1]));
            let _ = write!(
                out,
                "<rect class=\"{class}\" x=\"{xa:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\"><title>{}: [{}, {}) {}</title></rect>",
                y(s),
                (xb - xa).max(0.5),
                (y(0.0) - y(s)).max(0.0),
                if pick == 0 { "reference" } else { "current" },
                num(edges[i]),
                num(edges[i + 1]),
                pct(s)
            );
            let _ = write!(outline, "L{xa:.1},{:.1}L{xb:.1},{:.1}", y(s), y(s));
        }
        let _ = write!(outline, "L{:.1},{:.1}", x(hi), y(0.0));
        let _ = write!(out, "<path class=\"{class}-l\" d=\"{outline}\"/>");
    }
    let _ = write!(
        out,
        "<text x=\"{LEFT}\" y=\"{:.1}\">{}</text><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text></svg>",
        H - 6.0,
        num(lo),
        W - RIGHT,
        H - 6.0,
        num(hi)
    );
}

/// At most `n` characters, with an ellipsis when cut.
fn clip(text: &str, n: usize) -> String {
    if text.chars().count() <= n {
        text.to_string()
    } else {
        text.chars().take(n.saturating_sub(1)).chain(['…']).collect()
    }
}

/// Side-by-side bars of reference and current shares per labeled bin
/// (`top`), plus one bar for the rest (`other`: how many, shares).
pub fn categories_svg(
    out: &mut String,
    name: &str,
    top: &[(String, f64, f64)],
    other: Option<(usize, f64, f64)>,
) {
    let mut bars: Vec<(String, String, f64, f64)> =
        top.iter().map(|(k, a, b)| (clip(k, 8), k.clone(), *a, *b)).collect();
    if let Some((n, a, b)) = other {
        bars.push(("other".to_string(), format!("{n} other categories"), a, b));
    }
    if bars.is_empty() {
        out.push_str("<p class=\"muted\">No values to draw.</p>");
        return;
    }
    let peak = bars.iter().fold(0.0_f64, |m, b| m.max(b.2).max(b.3)).max(1e-12);
    svg_open(out, name, "cats");
    y_axis(out, peak);
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let slot = plot_w / bars.len() as f64;
    let bar = (slot * 0.38).min(18.0);
    let y = |s: f64| H - BOTTOM - s / peak * plot_h;
    for (i, (label, full, a, b)) in bars.iter().enumerate() {
        let mid = LEFT + slot * (i as f64 + 0.5);
        for (class, s, x0, side) in
            [("ref", *a, mid - bar - 0.5, "reference"), ("cur", *b, mid + 0.5, "current")]
        {
            let _ = write!(
                out,
                "<rect class=\"{class}\" x=\"{x0:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{:.1}\"><title>{}: {} {}</title></rect>",
                y(s),
                (y(0.0) - y(s)).max(0.0),
                esc(full),
                side,
                pct(s)
            );
        }
        let _ = write!(
            out,
            "<text x=\"{mid:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            H - 8.0,
            esc(label)
        );
    }
    out.push_str("</svg>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CategoricalColumn, DriftOptions, NumericColumn};

    fn pairs() -> Vec<ColumnPair> {
        let base: Vec<f64> = (0..600).map(|i| ((i * 37) % 101) as f64).collect();
        let cats = |shift: usize| {
            let v: Vec<String> = (0..600).map(|i| format!("c{}", (i + shift) % 14)).collect();
            Column::Categorical(CategoricalColumn::from_values(v.iter().map(|s| Some(s.as_str()))))
        };
        vec![
            ColumnPair {
                name: "<b>x</b>".into(),
                reference: Column::Numerical(NumericColumn::new(base.clone(), false)),
                current: Column::Numerical(NumericColumn::new(
                    base.iter().map(|v| v + 20.0).collect(),
                    false,
                )),
            },
            ColumnPair { name: "a&b \"q\"".into(), reference: cats(0), current: cats(3) },
        ]
    }

    #[test]
    fn page_is_self_contained_and_escaped() {
        let pairs = pairs();
        let plots: Vec<Distribution> = pairs.iter().map(Distribution::of).collect();
        let report = DriftReport::compute(pairs, &DriftOptions::default()).unwrap();
        let html = render(&report, &plots, &HtmlContext::default());
        assert_eq!(html.matches("<svg").count(), 2);
        assert!(html.contains("&lt;b&gt;x&lt;/b&gt;") && !html.contains("<b>x</b>"));
        assert!(html.contains("a&amp;b &quot;q&quot;"));
        let rest = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        assert!(
            !rest.contains("http://") && !rest.contains("https://") && !rest.contains("<script")
        );
        assert!(html.contains("prefers-color-scheme"));
    }

    #[test]
    fn distributions_are_shares() {
        let pairs = pairs();
        let Distribution::Histogram { edges, shares } = Distribution::of(&pairs[0]) else {
            panic!("numeric column gives a histogram");
        };
        assert_eq!(edges.len(), shares.len() + 1);
        let (a, b) = shares.iter().fold((0.0, 0.0), |(a, b), s| (a + s.0, b + s.1));
        assert!((a - 1.0_f64).abs() < 1e-9 && (b - 1.0_f64).abs() < 1e-9);
        let Distribution::Categories { top, other } = Distribution::of(&pairs[1]) else {
            panic!("categorical column gives categories");
        };
        assert_eq!(top.len(), TOP_CATEGORIES);
        let (n, a, b) = other.unwrap();
        assert_eq!(n, 4);
        let total = top.iter().map(|t| t.1).sum::<f64>() + a;
        assert!((total - 1.0).abs() < 1e-9 && b > 0.0);
    }
}
