//! Inline SVG charts on numeric axes for the report: line charts (ROC, PR,
//! reliability), a scatter plot (residuals) and a histogram, plus the page
//! conventions the categorical charts share. Plain strings, no JavaScript;
//! every text goes through `html_escape`, every coordinate is finite
//! (callers pass finite data; ranges are widened when degenerate).

use std::fmt::Write;

use lathe_core::html_escape;

/// Tableau's ten colours: distinct, and readable for most colour-blind viewers.
pub(crate) const PALETTE: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac",
];

pub(super) const WIDTH: f64 = 560.0;
pub(super) const HEIGHT: f64 = 420.0;
pub(super) const LEFT: f64 = 70.0;
pub(super) const RIGHT: f64 = 20.0;
pub(super) const TOP: f64 = 40.0;
pub(super) const BOTTOM: f64 = 56.0;

/// A named line of a line chart.
pub(crate) struct Series<'a> {
    pub name: String,
    pub x: &'a [f64],
    pub y: &'a [f64],
    /// Draw markers at the points (few points, e.g. reliability bins).
    pub markers: bool,
    /// Draw as steps: point `i` holds `y[i]` from `x[i-1]` to `x[i]`, the
    /// area that average precision sums (a PR curve).
    pub step: bool,
    /// Per-point hover text (e.g. the rows in a bin); empty for none.
    pub notes: Vec<String>,
}

/// Where the legend goes: the corner the curves usually leave empty.
#[derive(Clone, Copy)]
pub(crate) enum Corner {
    TopLeft,
    BottomLeft,
    BottomRight,
}

/// Maps data coordinates to the plot area and draws the axes.
struct Frame {
    x: (f64, f64),
    y: (f64, f64),
    /// Only whole-number ticks on the y axis (counts).
    integer_y: bool,
}

/// Widens a range by 3% on each side so marks on its ends stay visible.
fn pad((lo, hi): (f64, f64)) -> (f64, f64) {
    let (lo, hi) = widen((lo, hi));
    let m = (hi - lo) * 0.03;
    (lo - m, hi + m)
}

impl Frame {
    fn new(x: (f64, f64), y: (f64, f64)) -> Frame {
        Frame { x: pad(x), y: pad(y), integer_y: false }
    }

    fn px(&self, x: f64) -> f64 {
        LEFT + (x - self.x.0) / (self.x.1 - self.x.0) * (WIDTH - LEFT - RIGHT)
    }

    fn py(&self, y: f64) -> f64 {
        HEIGHT - BOTTOM - (y - self.y.0) / (self.y.1 - self.y.0) * (HEIGHT - TOP - BOTTOM)
    }

    /// Opens the `<svg>` and draws title, grid, ticks and axis labels.
    fn open(&self, out: &mut String, plot: &str, title: &str, x_label: &str, y_label: &str) {
        open_svg(out, plot, title);
        let (l, r, t, b) = (LEFT, WIDTH - RIGHT, TOP, HEIGHT - BOTTOM);
        for v in ticks(self.x.0, self.x.1, false) {
            let x = self.px(v);
            let _ = write!(
                out,
                r##"<line x1="{x:.2}" y1="{t}" x2="{x:.2}" y2="{b}" class="grid"/><text x="{x:.2}" y="{}" text-anchor="middle">{}</text>"##,
                b + 18.0,
                tick_label(v)
            );
        }
        for v in ticks(self.y.0, self.y.1, self.integer_y) {
            let y = self.py(v);
            let _ = write!(
                out,
                r##"<line x1="{l}" y1="{y:.2}" x2="{r}" y2="{y:.2}" class="grid"/><text x="{}" y="{:.2}" text-anchor="end">{}</text>"##,
                l - 6.0,
                y + 4.0,
                tick_label(v)
            );
        }
        let _ = write!(
            out,
            r##"<rect x="{l}" y="{t}" width="{}" height="{}" class="frame"/><text x="{}" y="{}" text-anchor="middle" class="label">{}</text><text transform="translate(18 {}) rotate(-90)" text-anchor="middle" class="label">{}</text>"##,
            r - l,
            b - t,
            (l + r) / 2.0,
            HEIGHT - 12.0,
            html_escape(x_label),
            (t + b) / 2.0,
            html_escape(y_label)
        );
    }
}

pub(super) fn open_svg(out: &mut String, plot: &str, title: &str) {
    let _ = write!(
        out,
        r##"<svg class="plot" data-plot="{}" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{}"><text x="{}" y="24" text-anchor="middle" class="title">{}</text>"##,
        html_escape(plot),
        html_escape(title),
        WIDTH / 2.0,
        html_escape(title)
    );
}

/// A range with some width: a single value gets ±0.5 (or ±10%).
fn widen((lo, hi): (f64, f64)) -> (f64, f64) {
    if hi > lo {
        (lo, hi)
    } else {
        let pad = if lo == 0.0 { 0.5 } else { lo.abs() * 0.1 };
        (lo - pad, hi + pad)
    }
}

/// Min and max of finite values, `(0, 1)` when there are none.
pub(crate) fn extent<'a>(values: impl IntoIterator<Item = &'a f64>) -> (f64, f64) {
    let (lo, hi) = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    if lo <= hi {
        (lo, hi)
    } else {
        (0.0, 1.0)
    }
}

/// About five round tick values inside `[lo, hi]`; whole numbers only when
/// `integer` (counts have no 2.5).
fn ticks(lo: f64, hi: f64, integer: bool) -> Vec<f64> {
    let raw = (hi - lo) / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .filter(|s| !integer || (s.fract() == 0.0 && *s >= 1.0))
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
        .max(if integer { 1.0 } else { 0.0 });
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// A tick value short enough to read: 0.25, 1.5k, 2M.
fn tick_label(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{}M", trim(v / 1e6))
    } else if a >= 1e4 {
        format!("{}k", trim(v / 1e3))
    } else {
        trim(v)
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// Line chart in the unit square (ROC, PR, reliability) or any range.
pub(crate) fn line_chart(
    plot: &str,
    title: &str,
    (x_label, y_label): (&str, &str),
    series: &[Series<'_>],
    diagonal: bool,
    unit: bool,
    legend: Corner,
) -> String {
    let frame = if unit {
        Frame::new((0.0, 1.0), (0.0, 1.0))
    } else {
        Frame::new(extent(series.iter().flat_map(|s| s.x)), extent(series.iter().flat_map(|s| s.y)))
    };
    let mut out = String::new();
    frame.open(&mut out, plot, title, x_label, y_label);
    if diagonal {
        let _ = write!(
            out,
            r##"<line x1="{:.2}" y1="{:.2}" x2="{:.2}" y2="{:.2}" class="diagonal"/>"##,
            frame.px(0.0),
            frame.py(0.0),
            frame.px(1.0),
            frame.py(1.0)
        );
    }
    for (i, s) in series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let points: Vec<(f64, f64)> =
            s.x.iter()
                .zip(s.y)
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .map(|(&x, &y)| (frame.px(x), frame.py(y)))
                .collect();
        let mut path: Vec<(f64, f64)> = Vec::with_capacity(points.len() * 2);
        for (i, &(x, y)) in points.iter().enumerate() {
            if s.step && i > 0 {
                path.push((points[i - 1].0, y));
            }
            path.push((x, y));
        }
        let d: Vec<String> = path.iter().map(|(x, y)| format!("{x:.2},{y:.2}")).collect();
        let _ = write!(
            out,
            r##"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"><title>{}</title></polyline>"##,
            d.join(" "),
            html_escape(&s.name)
        );
        if s.markers {
            for (j, (x, y)) in points.iter().enumerate() {
                let note = s.notes.get(j).map(|n| html_escape(n).to_string()).unwrap_or_default();
                let _ = write!(
                    out,
                    r##"<circle cx="{x:.2}" cy="{y:.2}" r="4" fill="{color}"><title>{note}</title></circle>"##
                );
            }
        }
    }
    legend_box(&mut out, series, legend);
    out.push_str("</svg>");
    out
}

/// The legend: one line per series on a white box in the given corner.
fn legend_box(out: &mut String, series: &[Series<'_>], corner: Corner) {
    let longest = series.iter().map(|s| s.name.chars().count()).max().unwrap_or(0) as f64;
    let (w, h) = (36.0 + 6.6 * longest, 8.0 + 18.0 * series.len() as f64);
    let x = match corner {
        Corner::TopLeft | Corner::BottomLeft => LEFT + 8.0,
        Corner::BottomRight => WIDTH - RIGHT - 8.0 - w,
    };
    let y = match corner {
        Corner::TopLeft => TOP + 8.0,
        Corner::BottomLeft | Corner::BottomRight => HEIGHT - BOTTOM - 8.0 - h,
    };
    let _ = write!(
        out,
        r##"<rect x="{x:.2}" y="{y:.2}" width="{w:.2}" height="{h:.2}" fill="#fff" fill-opacity="0.9" stroke="#ddd"/>"##
    );
    for (i, s) in series.iter().enumerate() {
        let ly = y + 17.0 + 18.0 * i as f64;
        let _ = write!(
            out,
            r##"<rect x="{:.2}" y="{:.2}" width="16" height="4" fill="{}"/><text x="{:.2}" y="{ly:.2}" class="legend">{}</text>"##,
            x + 8.0,
            ly - 5.0,
            PALETTE[i % PALETTE.len()],
            x + 30.0,
            html_escape(&s.name)
        );
    }
}

/// Scatter of `(x, y)` with a horizontal reference line at `y = 0`.
pub(crate) fn scatter(
    plot: &str,
    title: &str,
    (x_label, y_label): (&str, &str),
    x: &[f64],
    y: &[f64],
) -> String {
    let (ylo, yhi) = extent(y);
    let frame = Frame::new(extent(x), (ylo.min(0.0), yhi.max(0.0)));
    let mut out = String::new();
    frame.open(&mut out, plot, title, x_label, y_label);
    let _ = write!(
        out,
        r##"<line x1="{LEFT}" y1="{y0:.2}" x2="{}" y2="{y0:.2}" class="zero"/>"##,
        WIDTH - RIGHT,
        y0 = frame.py(0.0)
    );
    for (&a, &b) in x.iter().zip(y).filter(|(a, b)| a.is_finite() && b.is_finite()) {
        let _ = write!(
            out,
            r##"<circle cx="{:.2}" cy="{:.2}" r="2.5" fill="{}" fill-opacity="0.6"/>"##,
            frame.px(a),
            frame.py(b),
            PALETTE[0]
        );
    }
    out.push_str("</svg>");
    out
}

/// Histogram of counts over `edges` (`counts.len() + 1` edges).
pub(crate) fn histogram(
    plot: &str,
    title: &str,
    x_label: &str,
    edges: &[f64],
    counts: &[u64],
) -> String {
    let top = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let mut frame = Frame::new(extent(edges), (0.0, top * 1.05));
    frame.y.0 = 0.0;
    frame.integer_y = true;
    let mut out = String::new();
    frame.open(&mut out, plot, title, x_label, "rows");
    for (i, &c) in counts.iter().enumerate() {
        let (x0, x1) = (frame.px(edges[i]), frame.px(edges[i + 1]));
        let y = frame.py(c as f64);
        let _ = write!(
            out,
            r##"<rect x="{:.2}" y="{y:.2}" width="{:.2}" height="{:.2}" fill="{}"><title>{c}</title></rect>"##,
            x0 + 0.5,
            (x1 - x0 - 1.0).max(0.5),
            frame.py(0.0) - y,
            PALETTE[0]
        );
    }
    out.push_str("</svg>");
    out
}

/// Four significant digits.
pub(crate) fn trim_sig(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let digits = (3 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
    format!("{v:.digits$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_inside_the_range() {
        assert_eq!(ticks(0.0, 1.0, false), [0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]);
        assert_eq!(ticks(-37.0, 112.0, false), [0.0, 50.0, 100.0]);
        assert_eq!(ticks(0.0, 12.0, false), [0.0, 2.5, 5.0, 7.5, 10.0]);
        assert_eq!(ticks(0.0, 12.0, true), [0.0, 5.0, 10.0]);
        assert_eq!(ticks(0.0, 3.0, true), [0.0, 1.0, 2.0, 3.0]);
        assert_eq!(tick_label(0.6000000000000001), "0.6");
        assert_eq!(tick_label(25000.0), "25k");
        assert_eq!(widen((3.0, 3.0)), (2.7, 3.3));
    }
}
