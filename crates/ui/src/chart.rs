//! SVG line charts drawn on the server: axes with round ticks, one path per
//! series, and the (downsampled) points in a `data-xy` attribute from which
//! `lathe.js` shows values under the pointer or the keyboard cursor.
//!
//! Callers downsample first ([`crate::lttb::lttb`]); a chart never holds more
//! points than it is given. Non-finite values are left out of the drawing.

use std::fmt::Write as _;

use crate::html::esc;

/// One line of a chart.
pub(crate) struct Series {
    /// Legend text (escaped when written).
    pub(crate) label: String,
    /// `(step, value)` sorted by step, finite, already downsampled.
    pub(crate) points: Vec<(f64, f64)>,
}

const W: f64 = 640.0;
const H: f64 = 240.0;
const LEFT: f64 = 62.0;
const RIGHT: f64 = 14.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 30.0;
/// Distinct series colours (classes `s0`…`s9` in the stylesheet).
const PALETTE: usize = 10;

/// Writes a `<figure>` with the chart of `series` over `x_label`, titled
/// `title`, with `note` (e.g. how many points were kept) beside the title.
pub(crate) fn line_chart(
    out: &mut String,
    title: &str,
    note: &str,
    x_label: &str,
    series: &[Series],
) {
    let finite =
        series.iter().flat_map(|s| s.points.iter()).filter(|(x, y)| x.is_finite() && y.is_finite());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    let mut count = 0usize;
    for &(x, y) in finite {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
        count += 1;
    }
    let _ = write!(
        out,
        "<figure class=\"chart\"><figcaption><span class=\"chart-title\">{}</span> <span class=\"muted\">{}</span></figcaption>",
        esc(title),
        esc(note)
    );
    if count == 0 {
        out.push_str("<p class=\"muted\">No finite values to draw.</p></figure>");
        return;
    }
    if x1 - x0 < f64::EPSILON * x0.abs().max(1.0) {
        x0 -= 1.0;
        x1 += 1.0;
    }
    if y1 - y0 < f64::EPSILON * y0.abs().max(1.0) * 8.0 {
        let pad = if y0 == 0.0 { 1.0 } else { y0.abs() * 0.05 };
        y0 -= pad;
        y1 += pad;
    }
    let y_ticks = ticks(y0, y1, 5);
    let (y0, y1) = (y0.min(y_ticks[0]), y1.max(*y_ticks.last().unwrap_or(&y1)));
    let x_ticks: Vec<f64> = ticks(x0, x1, 6).into_iter().filter(|t| *t >= x0 && *t <= x1).collect();
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let px = |x: f64| LEFT + (x - x0) / (x1 - x0) * pw;
    let py = |y: f64| TOP + (1.0 - (y - y0) / (y1 - y0)) * ph;
    let labels: Vec<&str> = series.iter().map(|s| s.label.as_str()).collect();
    let _ = write!(
        out,
        "<div class=\"plot\"><svg viewBox=\"0 0 {W} {H}\" role=\"img\" tabindex=\"0\" \
         aria-label=\"{}: {} over {}; arrow keys move the cursor\" \
         data-box=\"{LEFT} {TOP} {pw} {ph}\" data-dom=\"{} {} {} {}\" data-xname=\"{}\" data-xy=\"",
        esc(title),
        esc(&labels.join(", ")),
        esc(x_label),
        js_num(x0),
        js_num(x1),
        js_num(y0),
        js_num(y1),
        esc(x_label),
    );
    out.push('[');
    for (i, s) in series.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('[');
        let mut first = true;
        for &(x, y) in s.points.iter().filter(|(x, y)| x.is_finite() && y.is_finite()) {
            if !first {
                out.push(',');
            }
            first = false;
            let _ = write!(out, "{},{}", js_num(x), js_num(y));
        }
        out.push(']');
    }
    out.push_str("]\">");
    // Grid and tick labels.
    out.push_str("<g class=\"grid\">");
    for &t in &y_ticks {
        let y = py(t);
        let _ =
            write!(out, "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>", W - RIGHT);
    }
    for &t in &x_ticks {
        let x = px(t);
        let _ = write!(out, "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{TOP}\" y2=\"{}\"/>", TOP + ph);
    }
    out.push_str("</g><g class=\"ticks\">");
    let y_step = y_ticks.get(1).map_or(1.0, |t| t - y_ticks[0]);
    for &t in &y_ticks {
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LEFT - 6.0,
            py(t) + 4.0,
            esc(&tick_label(t, y_step))
        );
    }
    let x_step = x_ticks.get(1).map_or(1.0, |t| t - x_ticks[0]);
    for &t in &x_ticks {
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            px(t),
            TOP + ph + 16.0,
            esc(&tick_label(t, x_step))
        );
    }
    let _ = write!(
        out,
        "<text class=\"axis-label\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text></g>",
        W - RIGHT,
        H - 2.0,
        esc(x_label)
    );
    // The lines (a dot where a series has a single point).
    for (i, s) in series.iter().enumerate() {
        let pts: Vec<(f64, f64)> =
            s.points.iter().copied().filter(|(x, y)| x.is_finite() && y.is_finite()).collect();
        let class = i % PALETTE;
        if pts.len() == 1 {
            let _ = write!(
                out,
                "<circle class=\"dot s{class}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\"/>",
                px(pts[0].0),
                py(pts[0].1)
            );
            continue;
        }
        let _ = write!(out, "<path class=\"line s{class}\" d=\"");
        for (j, &(x, y)) in pts.iter().enumerate() {
            let _ = write!(out, "{}{:.1} {:.1}", if j == 0 { 'M' } else { 'L' }, px(x), py(y));
        }
        out.push_str("\"/>");
    }
    out.push_str("</svg><output class=\"tip\" hidden></output></div>");
    let labels: Vec<String> = series.iter().map(|s| s.label.clone()).collect();
    legend(out, &labels);
    out.push_str("</figure>");
}

/// Round tick values covering `[lo, hi]`, about `count` of them (steps of 1, 2 or 5 × 10ⁿ).
fn ticks(lo: f64, hi: f64, count: usize) -> Vec<f64> {
    let raw = (hi - lo) / count.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step =
        [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
    if !step.is_finite() || step <= 0.0 {
        return vec![lo, hi];
    }
    let first = (lo / step).floor() * step;
    let mut out = Vec::new();
    let mut t = first;
    while t <= hi + step * 0.5 && out.len() < 50 {
        out.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        t += step;
    }
    if out.last().is_some_and(|&l| l < hi) {
        out.push(t);
    }
    out
}

/// A tick label with as many decimals as the step needs.
fn tick_label(v: f64, step: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if v.abs() >= 1e6 || v.abs() < 1e-4 {
        return format!("{v:.1e}");
    }
    let decimals = (-step.abs().log10().floor()).clamp(0.0, 6.0) as usize;
    format!("{v:.decimals$}")
}

/// A number for `data-*` attributes: short, and valid JSON.
fn js_num(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else if (1e-4..1e15).contains(&v.abs()) {
        format!("{}", v as f32)
    } else {
        format!("{v:e}")
    }
}

/// One vertical axis of a parallel-coordinates chart: a param or metric and
/// each line's value on it (`None` where a line has none).
pub(crate) struct Axis {
    /// Axis title (escaped when written).
    pub(crate) label: String,
    /// One value per line, in line order.
    pub(crate) values: Vec<Option<f64>>,
}

/// Writes a parallel-coordinates `<figure>`: one vertical axis per entry of
/// `axes` (scaled to its own min and max), one polyline per entry of
/// `lines`, coloured as in the line charts; hovering a line names it.
pub(crate) fn parallel(out: &mut String, title: &str, axes: &[Axis], lines: &[String]) {
    let width = (110.0 * axes.len() as f64).max(W);
    let (top, bottom, side) = (46.0, 26.0, 55.0);
    let ph = H - top - bottom;
    let gap = if axes.len() > 1 { (width - 2.0 * side) / (axes.len() - 1) as f64 } else { 0.0 };
    let _ = write!(
        out,
        "<figure class=\"chart parallel\"><figcaption><span class=\"chart-title\">{}</span> \
         <span class=\"muted\">each axis from its lowest to its highest value</span></figcaption>\
         <div class=\"plot\"><svg viewBox=\"0 0 {width} {H}\" width=\"{width}\" height=\"{H}\" \
         role=\"img\" aria-label=\"{}: {} runs over {}\">",
        esc(title),
        esc(title),
        lines.len(),
        esc(&axes.iter().map(|a| a.label.as_str()).collect::<Vec<_>>().join(", "))
    );
    let ranges: Vec<(f64, f64)> = axes
        .iter()
        .map(|a| {
            let finite = a.values.iter().flatten().copied().filter(|v| v.is_finite());
            finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)))
        })
        .collect();
    let y = |axis: usize, v: f64| {
        let (lo, hi) = ranges[axis];
        if hi > lo {
            top + (1.0 - (v - lo) / (hi - lo)) * ph
        } else {
            top + ph / 2.0
        }
    };
    out.push_str("<g class=\"ticks\">");
    for (i, (axis, (lo, hi))) in axes.iter().zip(&ranges).enumerate() {
        let x = side + gap * i as f64;
        let _ = write!(
            out,
            "<line class=\"axis\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{top}\" y2=\"{}\"/>\
             <text class=\"axis-title\" x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\"><title>{}</title>{}</text>",
            top + ph,
            top - 22.0,
            esc(&axis.label),
            esc(&short(&axis.label, 16)),
        );
        if lo.is_finite() {
            let _ = write!(
                out,
                "<text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>\
                 <text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                top - 7.0,
                esc(&crate::html::num(*hi)),
                top + ph + 15.0,
                esc(&crate::html::num(*lo)),
            );
        }
    }
    out.push_str("</g>");
    for (j, label) in lines.iter().enumerate() {
        let _ = write!(out, "<path class=\"line s{}\" d=\"", j % PALETTE);
        let mut pen_down = false;
        for (i, axis) in axes.iter().enumerate() {
            match axis.values.get(j).copied().flatten().filter(|v| v.is_finite()) {
                Some(v) => {
                    let cmd = if pen_down { 'L' } else { 'M' };
                    let _ = write!(out, "{cmd}{:.1} {:.1}", side + gap * i as f64, y(i, v));
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        let _ = write!(out, "\"><title>{}</title></path>", esc(label));
    }
    out.push_str("</svg></div>");
    legend(out, lines);
    out.push_str("</figure>");
}

/// The series' names beside their colours.
fn legend(out: &mut String, labels: &[String]) {
    out.push_str("<ul class=\"legend\">");
    for (i, label) in labels.iter().enumerate() {
        let _ = write!(
            out,
            "<li data-s=\"{i}\"><span class=\"swatch s{}\" aria-hidden=\"true\"></span>{}</li>",
            i % PALETTE,
            esc(label)
        );
    }
    out.push_str("</ul>");
}

/// At most `max` characters, with an ellipsis when cut.
pub(crate) fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        text.chars().take(max - 1).chain(['…']).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 10.0, 5), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        let t = ticks(0.113, 0.692, 5);
        assert!(t[0] <= 0.113 && *t.last().unwrap() >= 0.692, "{t:?}");
        assert_eq!(tick_label(0.25, 0.05), "0.25");
        assert_eq!(js_num(3.0), "3");
        assert_eq!(js_num(0.1), "0.1");
        assert_eq!(js_num(1e-30), "1e-30");
    }

    #[test]
    fn a_chart_escapes_labels_and_draws_every_series() {
        let mut out = String::new();
        let series = vec![
            Series {
                label: "<b>a</b>".into(),
                points: vec![(0.0, 1.0), (1.0, 0.5), (2.0, f64::NAN)],
            },
            Series { label: "b".into(), points: vec![(1.0, 0.7)] },
        ];
        line_chart(&mut out, "loss", "", "step", &series);
        assert!(out.contains("&lt;b&gt;a&lt;/b&gt;") && !out.contains("<b>a"), "{out}");
        assert!(out.contains("data-xy=\"[[0,1,1,0.5],[1,0.7]]\""), "{out}");
        assert_eq!(out.matches("<path class=\"line").count(), 1);
        assert_eq!(out.matches("<circle").count(), 1);
    }

    #[test]
    fn parallel_coordinates_draw_a_line_per_run_and_skip_gaps() {
        let mut out = String::new();
        let axes = vec![
            Axis { label: "lr".into(), values: vec![Some(0.1), Some(0.01), None] },
            Axis { label: "<auc>".into(), values: vec![Some(0.9), Some(0.95), Some(0.5)] },
        ];
        parallel(&mut out, "trials", &axes, &["a".into(), "b".into(), "c".into()]);
        assert_eq!(out.matches("<path class=\"line").count(), 3);
        assert!(out.contains("&lt;auc&gt;") && !out.contains("<auc>"), "{out}");
        // Run c has no lr: its path starts at the second axis.
        assert!(out.contains("d=\"M585.0 "), "{out}");
    }
}
