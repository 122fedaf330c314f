//! Inline SVG charts over categories rather than numeric axes: the
//! confusion-matrix heatmap and the feature-importance bars. Same page
//! conventions as [`svg`](super::svg): escaped text, finite coordinates.

use std::fmt::Write;

use lathe_core::html_escape;

use super::svg::{open_svg, trim_sig, BOTTOM, HEIGHT, LEFT, PALETTE, RIGHT, TOP, WIDTH};

/// Heatmap of a square count matrix: rows are true classes, columns predicted.
pub(crate) fn heatmap(plot: &str, title: &str, labels: &[String], matrix: &[Vec<u64>]) -> String {
    let k = labels.len().max(1) as f64;
    let size = (HEIGHT - TOP - BOTTOM).min(WIDTH - LEFT - RIGHT - 60.0);
    let cell = size / k;
    let (x0, y0) = (LEFT + 60.0, TOP);
    let max = matrix.iter().flatten().copied().max().unwrap_or(0).max(1) as f64;
    let mut out = String::new();
    open_svg(&mut out, plot, title);
    for (t, row) in matrix.iter().enumerate() {
        // Shade by the share of the true class, so small classes stay readable.
        let row_total = row.iter().sum::<u64>().max(1) as f64;
        for (p, &count) in row.iter().enumerate() {
            let share = count as f64 / row_total;
            let (x, y) = (x0 + p as f64 * cell, y0 + t as f64 * cell);
            let light = 97.0 - 60.0 * share;
            let text = if share > 0.55 { "#fff" } else { "#222" };
            let _ = write!(
                out,
                r##"<rect x="{x:.2}" y="{y:.2}" width="{cell:.2}" height="{cell:.2}" fill="hsl(212 55% {light:.1}%)" stroke="#fff"/><text x="{:.2}" y="{:.2}" text-anchor="middle" fill="{text}" class="cell">{count}</text>"##,
                x + cell / 2.0,
                y + cell / 2.0 + 2.0
            );
            if cell >= 48.0 {
                let _ = write!(
                    out,
                    r##"<text x="{:.2}" y="{:.2}" text-anchor="middle" fill="{text}" class="small">{:.0}%</text>"##,
                    x + cell / 2.0,
                    y + cell / 2.0 + 18.0,
                    100.0 * share
                );
            }
        }
    }
    let font = if cell < 40.0 { "small" } else { "" };
    for (i, label) in labels.iter().enumerate() {
        let c = i as f64 * cell + cell / 2.0;
        let _ = write!(
            out,
            r##"<text x="{:.2}" y="{:.2}" text-anchor="end" class="{font}">{}</text><text x="{:.2}" y="{:.2}" text-anchor="middle" class="{font}">{}</text>"##,
            x0 - 6.0,
            y0 + c + 4.0,
            html_escape(&short(label)),
            x0 + c,
            y0 + size + 16.0,
            html_escape(&short(label))
        );
    }
    let _ = write!(
        out,
        r##"<text x="{:.2}" y="{}" text-anchor="middle" class="label">predicted</text><text transform="translate(16 {:.2}) rotate(-90)" text-anchor="middle" class="label">true</text><desc>max cell {max}</desc></svg>"##,
        x0 + size / 2.0,
        HEIGHT - 12.0,
        y0 + size / 2.0
    );
    out
}

/// Horizontal bars, one per label, longest first as given.
pub(crate) fn bars(plot: &str, title: &str, labels: &[String], values: &[f64]) -> String {
    let height = TOP + 24.0 * labels.len() as f64 + 20.0;
    let label_w = 160.0;
    let max = values.iter().map(|v| v.abs()).fold(0.0, f64::max);
    let scale = if max > 0.0 { (WIDTH - label_w - 80.0) / max } else { 0.0 };
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg class="plot" data-plot="{}" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" aria-label="{}"><text x="{}" y="24" text-anchor="middle" class="title">{}</text>"##,
        html_escape(plot),
        html_escape(title),
        WIDTH / 2.0,
        html_escape(title)
    );
    for (i, (label, &v)) in labels.iter().zip(values).enumerate() {
        let y = TOP + 24.0 * i as f64;
        let w = v.abs() * scale;
        let _ = write!(
            out,
            r##"<text x="{}" y="{:.2}" text-anchor="end">{}</text><rect x="{}" y="{y:.2}" width="{w:.2}" height="18" fill="{}"/><text x="{:.2}" y="{:.2}">{}</text>"##,
            label_w - 6.0,
            y + 13.0,
            html_escape(&short(label)),
            label_w,
            PALETTE[if v < 0.0 { 2 } else { 0 }],
            label_w + w + 6.0,
            y + 13.0,
            trim_sig(v).trim_end_matches('0').trim_end_matches('.')
        );
    }
    out.push_str("</svg>");
    out
}

/// Long names cut to 22 characters so they fit beside the plot.
fn short(s: &str) -> String {
    if s.chars().count() > 22 {
        format!("{}…", s.chars().take(21).collect::<String>())
    } else {
        s.to_string()
    }
}
