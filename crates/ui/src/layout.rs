//! The page shell every view shares: head, main navigation, breadcrumbs and
//! the security headers, so a page only writes its own content.
//!
//! The main navigation is [`NAV`]: a new section adds a [`Nav`] variant, one
//! entry there and its routes in `lib.rs`; nothing else changes.

use std::fmt::Write as _;

use axum::{
    http::header,
    response::{IntoResponse, Response},
};

use crate::{
    assets,
    html::{esc, Link},
};

/// Which main section a page belongs to (highlighted in the navigation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    /// Experiments, runs and comparisons.
    Experiments,
    /// The model registry.
    Models,
    /// Served versions and their traffic.
    Deployments,
    /// Production monitoring: drift, performance, alerts.
    Monitoring,
    /// No section (error pages).
    None,
}

/// The main navigation: label, target, section.
const NAV: &[(&str, &str, Nav)] = &[
    ("Experiments", "/", Nav::Experiments),
    ("Models", "/models", Nav::Models),
    ("Deployments", "/deployments", Nav::Deployments),
    ("Monitoring", "/monitoring", Nav::Monitoring),
];

/// A whole HTML page, sent with the UI's headers.
pub(crate) struct Page {
    nav: Nav,
    title: String,
    crumbs: Vec<(String, Link)>,
    body: String,
}

impl Page {
    /// A page whose `<h1>` is `title`; `body` is trusted markup (already escaped).
    pub(crate) fn new(nav: Nav, title: impl Into<String>, body: String) -> Page {
        Page { nav, title: title.into(), crumbs: Vec::new(), body }
    }

    /// Adds a breadcrumb before the title (escaped when written).
    pub(crate) fn crumb(mut self, text: impl Into<String>, link: Link) -> Page {
        self.crumbs.push((text.into(), link));
        self
    }

    /// The full document.
    pub(crate) fn render(&self) -> String {
        let mut out = String::with_capacity(self.body.len() + 2048);
        let _ = write!(
            out,
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
             <meta name=\"color-scheme\" content=\"light dark\">\
             <title>{} · lathe</title>\
             <link rel=\"icon\" type=\"image/svg+xml\" href=\"{}\">\
             <link rel=\"stylesheet\" href=\"{}\"><script src=\"{}\" defer></script></head>\
             <body><a class=\"skip\" href=\"#main\">Skip to content</a>\
             <header class=\"top\"><nav aria-label=\"Main\"><a class=\"brand\" href=\"/\">lathe</a>",
            esc(&self.title),
            assets::FAVICON.url(),
            assets::CSS.url(),
            assets::JS.url(),
        );
        for (label, href, section) in NAV {
            let current = if *section == self.nav { " aria-current=\"page\"" } else { "" };
            let _ = write!(out, "<a href=\"{href}\"{current}>{label}</a>");
        }
        out.push_str("</nav></header><main id=\"main\" tabindex=\"-1\">");
        if !self.crumbs.is_empty() {
            out.push_str("<nav class=\"crumbs\" aria-label=\"Breadcrumb\"><ol>");
            for (text, link) in &self.crumbs {
                let _ = write!(
                    out,
                    "<li><a href=\"{}\">{}</a></li>",
                    esc(&link.to_string()),
                    esc(text)
                );
            }
            out.push_str("</ol></nav>");
        }
        let _ = write!(out, "<h1>{}</h1>", esc(&self.title));
        out.push_str(&self.body);
        out.push_str(
            "</main><footer class=\"foot\">lathe · read-only view · times in UTC</footer></body></html>",
        );
        out
    }
}

/// Scripts and styles only from this origin: an injected `<script>` would not
/// run even if a value escaped escaping. Frames only from this origin: the
/// artifact page's `<iframe sandbox>` of an HTML report.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CONTENT_SECURITY_POLICY, CSP),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                (header::REFERRER_POLICY, "same-origin"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            self.render(),
        )
            .into_response()
    }
}
