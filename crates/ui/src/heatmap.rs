//! The drift heatmap: one row per feature (and the prediction), one column
//! per monitoring window, each cell coloured by how strongly its test
//! rejects "same distribution as the reference" and marked when the window
//! called it drifted. Drawn as SVG on the server like the line charts; each
//! cell's `<title>` gives its value on hover, with no script.

use std::fmt::Write as _;

use crate::{
    chart::short,
    html::{esc, full_num},
};

/// One row of the heatmap.
pub(crate) struct Row {
    /// The feature's name (escaped when written).
    pub(crate) label: String,
    /// One cell per column: `(p-value, drifted)`, `None` where the window has no verdict.
    pub(crate) cells: Vec<Option<(f64, bool)>>,
}

const LABEL_W: f64 = 150.0;
const HEAD_H: f64 = 22.0;
const ROW_H: f64 = 20.0;
/// Space above the prediction row, which is set apart from the features.
const GAP: f64 = 8.0;

/// The colour class of a p-value: `h0` (no evidence of drift) to `h4` (p < 0.001).
fn level(p: f64) -> u8 {
    match p {
        p if p < 0.001 => 4,
        p if p < 0.01 => 3,
        p if p < 0.05 => 2,
        p if p < 0.2 => 1,
        _ => 0,
    }
}

/// Writes a `<figure>` with the heatmap of `features` (and `prediction`, set
/// apart below them) over windows labelled `columns`.
pub(crate) fn heatmap(
    out: &mut String,
    title: &str,
    columns: &[String],
    features: &[Row],
    prediction: Option<&Row>,
) {
    let n = columns.len().max(1) as f64;
    let cell_w = (760.0 / n).clamp(9.0, 36.0);
    let rows = features.len() + usize::from(prediction.is_some());
    let width = LABEL_W + cell_w * n + 4.0;
    let height = HEAD_H + ROW_H * rows as f64 + if prediction.is_some() { GAP } else { 0.0 } + 4.0;
    let drifted = features
        .iter()
        .chain(prediction)
        .flat_map(|r| r.cells.iter())
        .filter(|c| c.is_some_and(|(_, d)| d))
        .count();
    let _ = write!(
        out,
        "<figure class=\"chart heat\"><figcaption><span class=\"chart-title\">{}</span> \
         <span class=\"muted\">p-value of each window's test; outlined cells drifted</span></figcaption>\
         <div class=\"plot\"><svg viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" \
         role=\"img\" aria-label=\"{}: {} features over {} windows, {drifted} drifted cells\">",
        esc(title),
        esc(title),
        features.len(),
        columns.len(),
    );
    // Column labels: every k-th window so they never overlap.
    let every = ((28.0 / cell_w).ceil() as usize).max(1);
    out.push_str("<g class=\"ticks\">");
    for (i, label) in columns.iter().enumerate().filter(|(i, _)| i % every == 0) {
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            LABEL_W + cell_w * (i as f64 + 0.5),
            HEAD_H - 7.0,
            esc(label)
        );
    }
    out.push_str("</g>");
    let mut y = HEAD_H;
    for (r, row) in features.iter().chain(prediction).enumerate() {
        if r == features.len() {
            y += GAP;
        }
        let _ = write!(
            out,
            "<text class=\"row-label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\"><title>{}</title>{}</text>",
            LABEL_W - 6.0,
            y + ROW_H * 0.68,
            esc(&row.label),
            esc(&short(&row.label, 20)),
        );
        for (i, cell) in row.cells.iter().enumerate() {
            let x = LABEL_W + cell_w * i as f64;
            let column = columns.get(i).map_or("", String::as_str);
            let (class, text) = match cell {
                Some((p, drift)) => (
                    format!("h{}{}", level(*p), if *drift { " drifted" } else { "" }),
                    format!(
                        "{} · window {column}: p = {}{}",
                        row.label,
                        full_num(*p),
                        if *drift { " (drifted)" } else { "" }
                    ),
                ),
                None => ("na".to_string(), format!("{} · window {column}: no verdict", row.label)),
            };
            let _ = write!(
                out,
                "<rect class=\"{class}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\"><title>{}</title></rect>",
                x + 0.5,
                y + 0.5,
                cell_w - 1.0,
                ROW_H - 1.0,
                esc(&text)
            );
        }
        y += ROW_H;
    }
    out.push_str("</svg></div><ul class=\"legend heat-legend\">");
    for (lvl, text) in
        [(0, "p ≥ 0.2"), (1, "p < 0.2"), (2, "p < 0.05"), (3, "p < 0.01"), (4, "p < 0.001")]
    {
        let _ = write!(
            out,
            "<li><span class=\"swatch cell h{lvl}\" aria-hidden=\"true\"></span>{text}</li>"
        );
    }
    out.push_str(
        "<li><span class=\"swatch cell h4 drifted\" aria-hidden=\"true\"></span>drifted</li>\
         <li><span class=\"swatch cell na\" aria-hidden=\"true\"></span>no verdict</li></ul></figure>",
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_coloured_by_p_value_marked_when_drifted_and_titled() {
        let mut out = String::new();
        let rows = vec![
            Row { label: "<age>".into(), cells: vec![Some((0.5, false)), Some((0.0004, true))] },
            Row { label: "bmi".into(), cells: vec![None, Some((0.03, false))] },
        ];
        let pred = Row { label: "prediction".into(), cells: vec![Some((0.009, false)), None] };
        heatmap(&mut out, "drift", &["0".into(), "1".into()], &rows, Some(&pred));
        assert_eq!(out.matches("<rect").count(), 6);
        assert!(out.contains("class=\"h4 drifted\""), "{out}");
        assert!(out.contains("class=\"h2\""), "{out}");
        assert!(out.contains("class=\"h3\""), "{out}");
        assert!(out.contains("&lt;age&gt; · window 1: p = 0.0004 (drifted)"), "{out}");
        assert!(!out.contains("<age>"), "{out}");
        assert!(out.contains("bmi · window 0: no verdict"), "{out}");
        assert!(out.contains("1 drifted cells"), "{out}");
    }
}
