//! Writing HTML safely by hand: escaping, links with their state in the
//! query string, and the formats every page shares (numbers, times, durations).
//!
//! The rule: every value that came from the store or the request goes through
//! [`esc`] (text and attribute values alike, since it escapes quotes too), and
//! every link is built with [`Link`], whose text is escaped again when written
//! into an `href`. Markup itself only ever comes from string literals here.

use std::fmt::{self, Display, Write as _};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Text that is escaped when displayed: `& < > " '` become entities.
/// Escapes `text` for HTML text or a quoted attribute value.
pub(crate) use lathe_core::html_escape as esc;

/// Characters left as they are in a path segment (RFC 3986 unreserved).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// A link: a path of encoded segments and query pairs, written as a URL by
/// `Display` (escape it with [`esc`] when it goes into an attribute).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Link {
    path: String,
    query: Vec<(String, String)>,
}

impl Link {
    /// `/` followed by each segment, percent-encoded (`/` inside a segment too).
    pub(crate) fn to(segments: &[&str]) -> Link {
        let mut path = String::new();
        for s in segments {
            path.push('/');
            path.extend(utf8_percent_encode(s, SEGMENT));
        }
        if path.is_empty() {
            path.push('/');
        }
        Link { path, query: Vec::new() }
    }

    /// Adds `key=value` (skipped when `value` is empty, so links stay short).
    pub(crate) fn q(mut self, key: &str, value: impl Into<String>) -> Link {
        let value = value.into();
        if !value.is_empty() {
            self.query.push((key.to_string(), value));
        }
        self
    }

    /// Removes every `key=…`.
    pub(crate) fn without(mut self, key: &str) -> Link {
        self.query.retain(|(k, _)| k != key);
        self
    }

    /// Replaces every `key=…` with one `key=value` (none when `value` is empty).
    pub(crate) fn set(self, key: &str, value: impl Into<String>) -> Link {
        self.without(key).q(key, value)
    }
}

impl Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path)?;
        if !self.query.is_empty() {
            let mut s = form_urlencoded::Serializer::new(String::new());
            s.extend_pairs(&self.query);
            write!(f, "?{}", s.finish())?;
        }
        Ok(())
    }
}

/// `<a href="link">text</a>`, both escaped.
pub(crate) fn a(link: &Link, text: &str) -> String {
    format!("<a href=\"{}\">{}</a>", esc(&link.to_string()), esc(text))
}

/// A metric or param value for display: integers as integers, other values
/// with four decimals (as `lathe` prints them), tiny and huge ones in
/// scientific notation.
pub(crate) fn num(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else if v == v.trunc() && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else if (1e-3..1e9).contains(&v.abs()) {
        format!("{v:.4}")
    } else {
        format!("{v:.3e}")
    }
}

/// A number with every digit, for `title` attributes and hover text.
pub(crate) fn full_num(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else {
        num(v)
    }
}

/// `<td class="num" title="full">short</td>` for a metric value.
pub(crate) fn num_cell(v: f64) -> String {
    format!("<td class=\"num\" title=\"{}\">{}</td>", esc(&full_num(v)), esc(&num(v)))
}

/// Milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS` (UTC).
pub(crate) fn time(ms: i64) -> String {
    lathe_core::format_utc(ms)
}

/// `<time>` with the UTC time, or an empty string for a zero/absent timestamp.
pub(crate) fn time_el(ms: Option<i64>) -> String {
    match ms {
        Some(ms) if ms > 0 => {
            let t = time(ms);
            format!("<time datetime=\"{}Z\" title=\"UTC\">{}</time>", t.replace(' ', "T"), t)
        }
        _ => String::new(),
    }
}

/// A duration in milliseconds as `850 ms`, `12.3 s`, `4 min 5 s`, `2 h 3 min`.
pub(crate) fn duration(ms: i64) -> String {
    let ms = ms.max(0);
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else if ms < 3_600_000 {
        format!("{} min {} s", ms / 60_000, ms % 60_000 / 1000)
    } else {
        format!("{} h {} min", ms / 3_600_000, ms % 3_600_000 / 60_000)
    }
}

/// Writes `<table>` rows of `key | value` pairs, escaped; `empty` when there are none.
pub(crate) fn kv_table(out: &mut String, caption: &str, rows: &[(&str, &str)], empty: &str) {
    if rows.is_empty() {
        let _ = write!(out, "<p class=\"muted\">{}</p>", esc(empty));
        return;
    }
    let _ = write!(
        out,
        "<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-label=\"{0}\">\
         <table class=\"kv\"><caption class=\"sr\">{0}</caption><tbody>",
        esc(caption)
    );
    for (k, v) in rows {
        let _ = write!(out, "<tr><th scope=\"row\">{}</th><td>{}</td></tr>", esc(k), esc(v));
    }
    out.push_str("</tbody></table></div>");
}

/// A value in MLflow filter syntax: single-quoted, with `\` and `'` escaped.
pub(crate) fn filter_string(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<script>alert('x') & \"y\"</script>").to_string(),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
        assert_eq!(esc("plain").to_string(), "plain");
    }

    #[test]
    fn links_encode_segments_and_queries() {
        let l = Link::to(&["models", "a/b c"]).q("filter", "x = 'y'").q("empty", "");
        assert_eq!(l.to_string(), "/models/a%2Fb%20c?filter=x+%3D+%27y%27");
        assert_eq!(Link::to(&[]).to_string(), "/");
        assert_eq!(l.set("filter", "").to_string(), "/models/a%2Fb%20c");
    }

    #[test]
    fn numbers_times_durations() {
        assert_eq!(num(3.0), "3");
        assert_eq!(num(0.98765), "0.9877");
        assert_eq!(num(1.5e-7), "1.500e-7");
        assert_eq!(num(f64::NAN), "NaN");
        assert_eq!(time(0), "1970-01-01 00:00:00");
        assert_eq!(time(1_700_000_000_123), "2023-11-14 22:13:20");
        assert_eq!(duration(61_500), "1 min 1 s");
        assert_eq!(filter_string("it's \\"), "'it\\'s \\\\'");
    }
}
