//! HTML escaping, shared by everything that writes HTML (the web UI, reports).

use std::fmt;

/// Escapes `text` for HTML text or a quoted attribute value.
pub fn html_escape(text: &str) -> HtmlEscaped<'_> {
    HtmlEscaped(text)
}

/// Text that `Display`s HTML-escaped (see [`html_escape`]).
#[derive(Debug, Clone, Copy)]
pub struct HtmlEscaped<'a>(&'a str);

impl fmt::Display for HtmlEscaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(i) = rest.find(['&', '<', '>', '"', '\'']) {
            f.write_str(&rest[..i])?;
            f.write_str(match rest.as_bytes()[i] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            })?;
            rest = &rest[i + 1..];
        }
        f.write_str(rest)
    }
}
