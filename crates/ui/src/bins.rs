//! Distribution overlays: one feature's reference against one window's
//! values, as the share of rows in each bin its drift test used, drawn as
//! paired SVG bars. Each pair's `<title>` gives both shares on hover.

use std::fmt::Write as _;

use crate::{chart::short, html::esc, pages::windows::Bin};

const W: f64 = 360.0;
const H: f64 = 150.0;
const LEFT: f64 = 8.0;
const TOP: f64 = 8.0;
const BOTTOM: f64 = 30.0;
/// Most bins drawn; the rest are summed into the last bar so shares still add up.
const MAX_BINS: usize = 24;

/// Writes a `<figure>` comparing `bins` (`(label, reference count, window count)`).
pub(crate) fn overlay(out: &mut String, title: &str, note: &str, bins: &[Bin]) {
    let mut bins: Vec<Bin> = bins.to_vec();
    if bins.len() > MAX_BINS {
        let rest = bins.split_off(MAX_BINS - 1);
        let (r, c) = rest.iter().fold((0.0, 0.0), |(r, c), b| (r + b.1, c + b.2));
        bins.push((format!("{} more", rest.len()), r, c));
    }
    let (ref_total, cur_total) = bins.iter().fold((0.0, 0.0), |(r, c), b| (r + b.1, c + b.2));
    let share = |v: f64, total: f64| if total > 0.0 { v / total } else { 0.0 };
    let top = bins
        .iter()
        .map(|b| share(b.1, ref_total).max(share(b.2, cur_total)))
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    let _ = write!(
        out,
        "<figure class=\"chart bins\"><figcaption><span class=\"chart-title\">{}</span> \
         <span class=\"muted\">{}</span></figcaption><div class=\"plot\">\
         <svg viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{}: share of rows per bin, reference against window\">",
        esc(title),
        esc(note),
        esc(title)
    );
    let n = bins.len().max(1) as f64;
    let slot = (W - 2.0 * LEFT) / n;
    let ph = H - TOP - BOTTOM;
    let _ = write!(
        out,
        "<line class=\"axis\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>",
        W - LEFT,
        TOP + ph,
        TOP + ph
    );
    let every = ((40.0 / slot).ceil() as usize).max(1);
    for (i, (label, r, c)) in bins.iter().enumerate() {
        let (rs, cs) = (share(*r, ref_total), share(*c, cur_total));
        let x = LEFT + slot * i as f64;
        let bw = (slot * 0.4).max(1.0);
        let _ = write!(
            out,
            "<g><title>{}: reference {:.1}%, window {:.1}%</title>\
             <rect class=\"ref\" x=\"{:.1}\" y=\"{:.1}\" width=\"{bw:.1}\" height=\"{:.1}\"/>\
             <rect class=\"cur\" x=\"{:.1}\" y=\"{:.1}\" width=\"{bw:.1}\" height=\"{:.1}\"/></g>",
            esc(label),
            rs * 100.0,
            cs * 100.0,
            x + slot * 0.1,
            TOP + ph * (1.0 - rs / top),
            ph * rs / top,
            x + slot * 0.5,
            TOP + ph * (1.0 - cs / top),
            ph * cs / top,
        );
        if i % every == 0 {
            let _ = write!(
                out,
                "<text class=\"tick\" x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                x + slot * 0.5,
                H - BOTTOM + 14.0,
                esc(&short(label, 10))
            );
        }
    }
    out.push_str(
        "</svg></div><ul class=\"legend\"><li><span class=\"swatch ref\" aria-hidden=\"true\"></span>reference</li>\
         <li><span class=\"swatch cur\" aria-hidden=\"true\"></span>window</li></ul></figure>",
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_shares_and_long_bin_lists_are_folded() {
        let mut out = String::new();
        overlay(&mut out, "<age>", "", &[("a".into(), 30.0, 10.0), ("b".into(), 10.0, 30.0)]);
        assert!(out.contains("<title>a: reference 75.0%, window 25.0%</title>"), "{out}");
        assert!(out.contains("&lt;age&gt;") && !out.contains("<age>"), "{out}");
        let many: Vec<Bin> = (0..30).map(|i| (i.to_string(), 1.0, 1.0)).collect();
        let mut out = String::new();
        overlay(&mut out, "x", "", &many);
        assert_eq!(out.matches("<rect class=\"ref\"").count(), MAX_BINS);
        assert!(out.contains("7 more: reference 23.3%"), "{out}");
    }
}
