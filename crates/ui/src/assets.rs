//! The stylesheet, script and icon, embedded in the binary and served under
//! `/static/` with a content hash in their URLs, so browsers may cache them forever.

use axum::{
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};

use crate::{error::UiError, params::Segs};

/// One embedded file.
pub(crate) struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
    hash: u64,
}

impl Asset {
    const fn new(name: &'static str, content_type: &'static str, body: &'static str) -> Asset {
        Asset { name, content_type, body, hash: fnv1a(body.as_bytes()) }
    }

    /// `/static/NAME?v=HASH`: a new build with a changed file gets a new URL.
    pub(crate) fn url(&self) -> String {
        format!("/static/{}?v={:016x}", self.name, self.hash)
    }
}

/// The stylesheet: light and dark themes, tables, charts, focus rings.
pub(crate) const CSS: Asset =
    Asset::new("lathe.css", "text/css; charset=utf-8", include_str!("../assets/lathe.css"));
/// The script: chart hover values and keyboard cursor, the column chooser, run selection.
pub(crate) const JS: Asset =
    Asset::new("lathe.js", "text/javascript; charset=utf-8", include_str!("../assets/lathe.js"));
/// The tab icon.
pub(crate) const FAVICON: Asset =
    Asset::new("favicon.svg", "image/svg+xml", include_str!("../assets/favicon.svg"));

const ALL: &[Asset] = &[CSS, JS, FAVICON];

/// 64-bit FNV-1a, at compile time.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

/// `GET /static/{name}`.
pub(crate) async fn serve(Segs(segments): Segs) -> Result<Response, UiError> {
    let name = segments.first().map(String::as_str).unwrap_or_default();
    let asset = ALL
        .iter()
        .find(|a| a.name == name)
        .ok_or_else(|| UiError::NotFound(format!("No static file '{name}'")))?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        asset.body,
    )
        .into_response())
}
