//! A run's artifacts: the tree on the run page (directories expanded by
//! `?path=` in the URL), `/runs/{id}/artifacts?path=P` previewing one file,
//! and `/runs/{id}/artifact-raw?path=P` sending its bytes.
//!
//! Only runs whose `artifact_uri` is `mlflow-artifacts:` (proxied by this
//! server) are browsable; for others the page says where the files live.
//! Every path goes through the [`ArtifactStore`], which refuses `..`,
//! absolute and percent-encoded escapes (400) and reports missing files (404).
//!
//! Nothing from an artifact runs in the UI's origin: previews are escaped
//! text, images are `<img>` of the raw endpoint, HTML reports are shown in
//! an `<iframe sandbox>`; the raw endpoint itself answers with
//! `Content-Security-Policy: sandbox` and `X-Content-Type-Options: nosniff`,
//! and anything it cannot name a safe type for is sent as a download.

use std::fmt::Write as _;

use axum::{
    body::Body,
    extract::State,
    http::header,
    response::{IntoResponse, Redirect, Response},
};
use lathe_core::Run;
use lathe_store::{artifacts::safe_relative_path, ArtifactStore, FileInfo};
use tokio::io::AsyncReadExt as _;

use crate::{
    error::{UiError, UiResult},
    html::{a, esc, Link},
    layout::{Nav, Page},
    params::{Params, Segs},
    Arts, Db,
};

/// Most bytes of a file previewed on its page.
pub(crate) const PREVIEW_LIMIT: u64 = 1 << 20;
/// Most CSV rows shown as a table (after the header).
const CSV_ROWS: usize = 100;
/// Most entries listed in one directory.
const MAX_ENTRIES: usize = 1000;
/// The scheme of artifacts proxied by this server.
const PROXY_SCHEME: &str = "mlflow-artifacts:";

/// The run's artifact directory relative to the artifact store's root, when
/// its URI is `mlflow-artifacts:/…` or `mlflow-artifacts://host/…`.
pub(crate) fn run_root(run: &Run) -> Option<String> {
    let rest = run.info.artifact_uri.strip_prefix(PROXY_SCHEME)?;
    let rest = match rest.strip_prefix("//") {
        Some(with_host) => with_host.split_once('/').map(|(_, p)| p).unwrap_or(""),
        None => rest,
    };
    Some(rest.trim_matches('/').to_string())
}

/// A visitor's path, checked by the store's rule and normalised (`a/b`, no
/// leading, trailing or doubled `/`); `""` for the run's root.
fn clean(path: &str) -> UiResult<String> {
    let rel = safe_relative_path(path)?;
    let parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    Ok(parts.join("/"))
}

/// `root/path` (either may be empty).
fn join(root: &str, path: &str) -> String {
    match (root.is_empty(), path.is_empty()) {
        (_, true) => root.to_string(),
        (true, false) => path.to_string(),
        (false, false) => format!("{root}/{path}"),
    }
}

/// The last segment of a path.
fn name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// What a file is shown as, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Json,
    Csv(u8),
    Image(&'static str),
    Html,
    Other,
}

fn kind(path: &str) -> Kind {
    let file = name(path);
    if file == "MLmodel" || file.starts_with("requirements") || file == "Dockerfile" {
        return Kind::Text;
    }
    let ext = file.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "json" => Kind::Json,
        "csv" => Kind::Csv(b','),
        "tsv" => Kind::Csv(b'\t'),
        "png" => Kind::Image("image/png"),
        "jpg" | "jpeg" => Kind::Image("image/jpeg"),
        "gif" => Kind::Image("image/gif"),
        "svg" => Kind::Image("image/svg+xml"),
        "webp" => Kind::Image("image/webp"),
        "html" | "htm" => Kind::Html,
        "txt" | "log" | "md" | "rst" | "yaml" | "yml" | "toml" | "ini" | "cfg" | "conf" | "py"
        | "r" | "sh" | "sql" | "jsonl" | "ndjson" | "xml" | "out" | "err" => Kind::Text,
        _ => Kind::Other,
    }
}

/// The `Content-Type` the raw endpoint sends for a kind.
fn content_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Text => "text/plain; charset=utf-8",
        Kind::Json => "application/json",
        Kind::Csv(b'\t') => "text/tab-separated-values; charset=utf-8",
        Kind::Csv(_) => "text/csv; charset=utf-8",
        Kind::Image(ct) => ct,
        Kind::Html => "text/html; charset=utf-8",
        Kind::Other => "application/octet-stream",
    }
}

/// A human size: `812 B`, `12.3 KB`, `4.5 MB`.
fn size(bytes: u64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1 << 20 => format!("{:.1} KB", b as f64 / 1024.0),
        b if b < 1 << 30 => format!("{:.1} MB", b as f64 / f64::from(1u32 << 20)),
        b => format!("{:.1} GB", b as f64 / f64::from(1u32 << 30)),
    }
}

/// Writes the run page's "Artifacts" section: the tree from the run's
/// root, with the directories on the way to `open` (`?path=`) expanded.
pub(crate) async fn section(
    out: &mut String,
    artifacts: &dyn ArtifactStore,
    run: &Run,
    open: Option<&str>,
) -> UiResult<()> {
    out.push_str("<section aria-labelledby=\"artifacts\"><h2 id=\"artifacts\">Artifacts</h2>");
    let Some(root) = run_root(run) else {
        let _ = write!(
            out,
            "<p class=\"muted\">This run's artifacts live at <code>{}</code>, outside this \
             server; only artifacts under <code>mlflow-artifacts:</code> can be browsed here.</p>\
             </section>",
            esc(&run.info.artifact_uri)
        );
        return Ok(());
    };
    let open = clean(open.unwrap_or(""))?;
    let id = &run.info.run_id;
    let mut entries = artifacts.list(&root).await?;
    if entries.is_empty() {
        out.push_str("<p class=\"muted\">No artifacts.</p></section>");
        return Ok(());
    }
    out.push_str("<nav aria-label=\"Artifact tree\"><ul class=\"tree\">");
    // Depth-first, expanding each directory that `open` lies in.
    let mut stack: Vec<(Vec<FileInfo>, usize)> = Vec::new();
    entries.truncate(MAX_ENTRIES);
    stack.push((entries, 0));
    while let Some((list, i)) = stack.last_mut() {
        let Some(entry) = list.get(*i).cloned() else {
            stack.pop();
            if !stack.is_empty() {
                out.push_str("</ul></li>");
            }
            continue;
        };
        *i += 1;
        let rel = entry.path.strip_prefix(&root).unwrap_or(&entry.path).trim_start_matches('/');
        let label = name(rel);
        if entry.is_dir {
            let expanded = open == rel || open.starts_with(&format!("{rel}/"));
            let target = if expanded { parent(rel) } else { rel };
            let link = Link::to(&["runs", id]).q("path", target);
            let _ = write!(
                out,
                "<li class=\"dir\"><a href=\"{}#artifacts\" aria-expanded=\"{expanded}\">{}{}/</a>",
                esc(&link.to_string()),
                if expanded { "▾ " } else { "▸ " },
                esc(label)
            );
            if expanded {
                let mut children = artifacts.list(&entry.path).await?;
                children.truncate(MAX_ENTRIES);
                out.push_str("<ul>");
                stack.push((children, 0));
            } else {
                out.push_str("</li>");
            }
        } else {
            let link = Link::to(&["runs", id, "artifacts"]).q("path", rel);
            let _ = write!(
                out,
                "<li class=\"file\">{} <span class=\"muted\">{}</span></li>",
                a(&link, label),
                esc(&entry.file_size.map(size).unwrap_or_default())
            );
        }
    }
    out.push_str("</ul></nav></section>");
    Ok(())
}

/// The directory holding `path` (`""` at the top).
fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(p, _)| p)
}

/// The run and its artifact path, or the page that says why there is none.
async fn locate(store: &Db, segs: &[String], params: &Params) -> UiResult<(Run, String, String)> {
    let id = segs.first().cloned().unwrap_or_default();
    let run = store.get_run(&id).await?;
    let Some(root) = run_root(&run) else {
        return Err(UiError::NotFound(format!(
            "The artifacts of run '{id}' live at '{}', which this server does not serve",
            run.info.artifact_uri
        )));
    };
    let path = clean(params.text("path"))?;
    if path.is_empty() {
        return Err(UiError::BadRequest("A file path is required: ?path=…".into()));
    }
    Ok((run, root, path))
}

/// `GET /runs/{id}/artifacts?path=P`: one file, previewed when it can be.
pub(crate) async fn show(
    State(store): State<Db>,
    State(artifacts): State<Arts>,
    Segs(segs): Segs,
    params: Params,
) -> UiResult<Response> {
    let (run, root, path) = locate(&store, &segs, &params).await?;
    let id = run.info.run_id.clone();
    let full = join(&root, &path);
    if !artifacts.list(&full).await?.is_empty() {
        let link = Link::to(&["runs", &id]).q("path", path);
        return Ok(Redirect::to(&format!("{link}#artifacts")).into_response());
    }
    let (reader, len) = artifacts.get(&full).await?;
    let kind = kind(&path);
    let raw = Link::to(&["runs", &id, "artifact-raw"]).q("path", path.clone());
    let download = raw.clone().q("download", "1");
    let mut out = String::new();
    let _ = write!(
        out,
        "<p><code>{}</code> <span class=\"muted\">{}</span> · {}</p>",
        esc(&path),
        esc(&size(len)),
        a(&download, "Download")
    );
    match kind {
        Kind::Image(_) => {
            let _ = write!(
                out,
                "<p><img class=\"artifact-img\" src=\"{}\" alt=\"{}\"></p>",
                esc(&raw.to_string()),
                esc(name(&path))
            );
        }
        Kind::Html => {
            let _ = write!(
                out,
                "<p class=\"muted\">An HTML report, shown sandboxed (its scripts do not run).</p>\
                 <iframe class=\"artifact-frame\" sandbox src=\"{}\" title=\"{}\"></iframe>",
                esc(&raw.to_string()),
                esc(name(&path))
            );
        }
        Kind::Other => {
            out.push_str(
                "<p class=\"muted\">No preview for this kind of file; download it instead.</p>",
            );
        }
        Kind::Text | Kind::Json | Kind::Csv(_) => {
            let mut bytes = Vec::new();
            reader
                .take(PREVIEW_LIMIT)
                .read_to_end(&mut bytes)
                .await
                .map_err(|e| UiError::Backend(format!("reading artifact '{full}': {e}")))?;
            let truncated = len > PREVIEW_LIMIT;
            if truncated {
                let _ = write!(
                    out,
                    "<p class=\"muted\">Preview truncated to the first {} of {}.</p>",
                    size(PREVIEW_LIMIT),
                    size(len)
                );
            }
            let text = String::from_utf8_lossy(&bytes);
            match kind {
                Kind::Json if !truncated => {
                    let pretty = serde_json::from_str::<serde_json::Value>(&text)
                        .ok()
                        .and_then(|v| serde_json::to_string_pretty(&v).ok());
                    let _ = write!(
                        out,
                        "<pre class=\"artifact-text\">{}</pre>",
                        esc(pretty.as_deref().unwrap_or(&text))
                    );
                }
                Kind::Csv(sep) => csv_table(&mut out, &text, sep),
                _ => {
                    let _ = write!(out, "<pre class=\"artifact-text\">{}</pre>", esc(&text));
                }
            }
        }
    }
    let page = Page::new(Nav::Experiments, name(&path).to_string(), out)
        .crumb("Experiments", Link::to(&[]))
        .crumb(run.info.run_name.clone(), Link::to(&["runs", &id]))
        .crumb("Artifacts", Link::to(&["runs", &id]).q("path", parent(&path)));
    Ok(page.into_response())
}

/// `GET /runs/{id}/artifact-raw?path=P[&download=1]`: the file's bytes,
/// sandboxed so that nothing in them runs with the UI's origin.
pub(crate) async fn raw(
    State(store): State<Db>,
    State(artifacts): State<Arts>,
    Segs(segs): Segs,
    params: Params,
) -> UiResult<Response> {
    let (_, root, path) = locate(&store, &segs, &params).await?;
    let (reader, len) = artifacts.get(&join(&root, &path)).await?;
    let kind = kind(&path);
    let attach = params.has("download") || kind == Kind::Other;
    let file = name(&path).replace(|c: char| c == '"' || c == '\\' || c.is_control(), "_");
    let disposition = if attach {
        format!("attachment; filename=\"{file}\"")
    } else {
        format!("inline; filename=\"{file}\"")
    };
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(reader));
    let response = (
        [
            (header::CONTENT_TYPE, content_type(kind).to_string()),
            (header::CONTENT_LENGTH, len.to_string()),
            (header::CONTENT_SECURITY_POLICY, "sandbox".to_string()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    );
    Ok(response.into_response())
}

/// The first [`CSV_ROWS`] rows of a CSV as a table, the first row as its header.
fn csv_table(out: &mut String, text: &str, sep: u8) {
    let rows = parse_csv(text, sep as char, CSV_ROWS + 1);
    let Some((head, body)) = rows.split_first() else {
        out.push_str("<p class=\"muted\">Empty file.</p>");
        return;
    };
    out.push_str(
        "<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-label=\"CSV preview\">\
         <table class=\"grid-table\"><thead><tr>",
    );
    for h in head {
        let _ = write!(out, "<th scope=\"col\">{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for row in body {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{}</td>", esc(cell));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    let more = text.lines().nth(CSV_ROWS + 1).is_some();
    if more {
        let _ = write!(out, "<p class=\"muted\">Only the first {CSV_ROWS} rows are shown.</p>");
    }
}

/// Up to `max` records of RFC 4180 CSV (quoted fields, `""` escapes, newlines in quotes).
fn parse_csv(text: &str, sep: char, max: usize) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                '"' => quoted = false,
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => quoted = true,
            c if c == sep => row.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
                if rows.len() >= max {
                    return rows;
                }
            }
            c => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_limits() {
        let rows = parse_csv("a,b\n\"x,1\",\"say \"\"hi\"\"\"\n3,4\n", ',', 2);
        assert_eq!(rows, vec![vec!["a", "b"], vec!["x,1", "say \"hi\""]]);
        assert_eq!(parse_csv("", ',', 5), Vec::<Vec<String>>::new());
    }

    #[test]
    fn kinds_and_paths() {
        assert_eq!(kind("model/MLmodel"), Kind::Text);
        assert_eq!(kind("a/plot.SVG"), Kind::Image("image/svg+xml"));
        assert_eq!(kind("report.html"), Kind::Html);
        assert_eq!(kind("model.pkl"), Kind::Other);
        assert_eq!(clean("a//b/./c/").unwrap(), "a/b/c");
        assert!(clean("../x").is_err());
        assert!(clean("%2e%2e%2fx").is_err());
        assert_eq!(join("1/r/artifacts", ""), "1/r/artifacts");
        assert_eq!(parent("a/b/c"), "a/b");
    }
}
