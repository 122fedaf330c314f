//! The registry: `/models` (registered models), `/models/{name}` (aliases
//! and versions, each traced back to its run, that run's datasets and its
//! parent pipeline run) and `/models/{name}/versions/{v}` (one version).

use std::{collections::HashMap, fmt::Write as _};

use axum::extract::State;
use futures_util::future::join_all;
use lathe_core::{ModelVersion, Run};
use lathe_store::{search::Entity, SearchQuery, Store, StoreError};

use super::{
    alias_badge, and_filter, experiments::clip, is_system_tag, pager, sort_th, status_badge, tag,
    PARENT_TAG,
};
use crate::{
    error::{UiError, UiResult},
    html::{a, esc, filter_string, kv_table, num_cell, time_el, Link},
    layout::{Nav, Page},
    params::{Paging, Params, Segs},
    Db,
};

/// Rows per page unless `max_results` says otherwise.
const PAGE_SIZE: usize = 100;
/// Largest `max_results` (MLflow's ceiling for registered-model searches).
const MAX_PAGE_SIZE: usize = 1000;

/// `GET /models?q=&filter=&order_by=&max_results=&page_token=`.
pub(crate) async fn list(State(store): State<Db>, params: Params) -> UiResult<Page> {
    let q = params.get("q").unwrap_or_default();
    let filter = params.get("filter").unwrap_or_default();
    let size = params.page_size("max_results", PAGE_SIZE, MAX_PAGE_SIZE)?;
    let (token, offset) = params.page_token()?;
    let order_by = params.all("order_by");
    let name_clause =
        (!q.is_empty()).then(|| format!("name ILIKE {}", filter_string(&format!("%{q}%"))));
    let page = store
        .search_registered_models(&SearchQuery {
            filter: and_filter(filter, name_clause),
            max_results: Some(size as i64),
            order_by: order_by.clone(),
            page_token: token,
            ..SearchQuery::default()
        })
        .await?;
    let mut base = Link::to(&["models"]).q("q", q).q("filter", filter);
    if size != PAGE_SIZE {
        base = base.q("max_results", size.to_string());
    }
    for o in &order_by {
        base = base.q("order_by", o.clone());
    }

    let mut out = String::new();
    let _ = write!(
        out,
        "<form class=\"search\" method=\"get\" action=\"/models\" role=\"search\">\
         <label>Name contains <input type=\"search\" name=\"q\" value=\"{}\"></label>\
         <label class=\"grow\">Filter <input type=\"text\" name=\"filter\" value=\"{}\" \
         placeholder=\"tags.task = 'classification'\" spellcheck=\"false\"></label>",
        esc(q),
        esc(filter)
    );
    for o in &order_by {
        let _ = write!(out, "<input type=\"hidden\" name=\"order_by\" value=\"{}\">", esc(o));
    }
    out.push_str("<button type=\"submit\">Search</button></form>");
    if page.items.is_empty() {
        out.push_str("<p class=\"empty\">No registered models match.</p>");
    } else {
        let e = Entity::RegisteredModels;
        out.push_str(
            "<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-label=\"Registered models\">\
             <table class=\"grid-table\"><thead><tr>",
        );
        out.push_str(&sort_th(e, &base, &order_by, "name", "Name", false, ""));
        out.push_str(
            "<th scope=\"col\" class=\"num\">Latest version</th><th scope=\"col\">Aliases</th>",
        );
        out.push_str(&sort_th(
            e,
            &base,
            &order_by,
            "last_updated_timestamp",
            "Last updated",
            true,
            "",
        ));
        out.push_str("<th scope=\"col\">Description</th></tr></thead><tbody>");
        for m in &page.items {
            let latest = m.latest_versions.iter().map(|v| v.version).max();
            let latest = latest
                .map(|v| {
                    a(&Link::to(&["models", &m.name, "versions", &v.to_string()]), &format!("v{v}"))
                })
                .unwrap_or_default();
            let aliases: Vec<String> = m
                .aliases
                .iter()
                .map(|(alias, v)| {
                    let link = Link::to(&["models", &m.name, "versions", &v.to_string()]);
                    format!(
                        "<a class=\"badge alias\" href=\"{}\">@{} → v{v}</a>",
                        esc(&link.to_string()),
                        esc(alias)
                    )
                })
                .collect();
            let _ = write!(
                out,
                "<tr><th scope=\"row\">{}</th><td class=\"num\">{latest}</td><td>{}</td><td>{}</td>\
                 <td class=\"clip\" title=\"{}\">{}</td></tr>",
                a(&Link::to(&["models", &m.name]), &m.name),
                aliases.join(" "),
                time_el(Some(m.last_updated_timestamp)),
                esc(&m.description),
                esc(&clip(&m.description, 120)),
            );
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str(&pager(
        &base,
        Paging { offset, size },
        page.items.len(),
        page.next_page_token.as_deref(),
    ));
    Ok(Page::new(Nav::Models, "Registered models", out))
}

/// `GET /models/{name}?max_results=&page_token=`.
pub(crate) async fn show(
    State(store): State<Db>,
    Segs(segs): Segs,
    params: Params,
) -> UiResult<Page> {
    let name = segs.first().cloned().unwrap_or_default();
    let model = store.get_registered_model(&name).await?;
    let size = params.page_size("max_results", PAGE_SIZE, MAX_PAGE_SIZE)?;
    let (token, offset) = params.page_token()?;
    let versions = store
        .search_model_versions(&SearchQuery {
            filter: format!("name = {}", filter_string(&name)),
            max_results: Some(size as i64),
            order_by: vec!["version_number DESC".into()],
            page_token: token,
            ..SearchQuery::default()
        })
        .await?;
    let lineage = Lineage::load(store.as_ref(), &versions.items).await?;

    let mut out = String::new();
    if !model.description.is_empty() {
        let _ = write!(out, "<p class=\"note\">{}</p>", esc(&model.description));
    }
    out.push_str("<dl class=\"meta\">");
    let _ = write!(
        out,
        "<div><dt>Created</dt><dd>{}</dd></div>",
        time_el(Some(model.creation_timestamp))
    );
    let _ = write!(
        out,
        "<div><dt>Last updated</dt><dd>{}</dd></div>",
        time_el(Some(model.last_updated_timestamp))
    );
    for t in &model.tags {
        let _ = write!(out, "<div><dt>{}</dt><dd>{}</dd></div>", esc(&t.key), esc(&t.value));
    }
    let _ = write!(
        out,
        "<div><dt>In production</dt><dd>{} · {}</dd></div>",
        a(&Link::to(&["models", &name, "monitoring"]), "Monitoring"),
        a(&Link::to(&["deployments"]), "Deployments")
    );
    out.push_str("</dl>");

    out.push_str("<section aria-labelledby=\"aliases\"><h2 id=\"aliases\">Aliases</h2>");
    if model.aliases.is_empty() {
        out.push_str("<p class=\"muted\">No aliases.</p>");
    } else {
        out.push_str("<ul class=\"aliases\">");
        for (alias, v) in &model.aliases {
            let link = Link::to(&["models", &name, "versions", &v.to_string()]);
            let _ = write!(
                out,
                "<li>{} points at {} <code>models:/{}@{}</code></li>",
                alias_badge(alias),
                a(&link, &format!("version {v}")),
                esc(&name),
                esc(alias)
            );
        }
        out.push_str("</ul>");
    }
    out.push_str("</section>");

    out.push_str("<section aria-labelledby=\"versions\"><h2 id=\"versions\">Versions</h2>");
    if versions.items.is_empty() {
        out.push_str("<p class=\"empty\">No versions yet.</p>");
    } else {
        let staged =
            versions.items.iter().any(|v| v.current_stage != "None" && !v.current_stage.is_empty());
        out.push_str(
            "<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-label=\"Versions\">\
             <table class=\"grid-table\"><thead><tr><th scope=\"col\" class=\"num\">Version</th>\
             <th scope=\"col\">Aliases</th><th scope=\"col\">Registered</th><th scope=\"col\">Run</th>\
             <th scope=\"col\">Dataset</th><th scope=\"col\">Pipeline run</th>",
        );
        if staged {
            out.push_str("<th scope=\"col\">Stage</th>");
        }
        out.push_str("<th scope=\"col\">Decision / description</th></tr></thead><tbody>");
        for v in &versions.items {
            let link = Link::to(&["models", &name, "versions", &v.version.to_string()]);
            let aliases: Vec<String> = v.aliases.iter().map(|al| alias_badge(al)).collect();
            let _ = write!(
                out,
                "<tr><th scope=\"row\" class=\"num\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
                a(&link, &format!("v{}", v.version)),
                aliases.join(" "),
                time_el(Some(v.creation_timestamp)),
                lineage.run_cell(v),
                lineage.dataset_cell(v, 12),
                lineage.parent_cell(v),
            );
            if staged {
                let _ = write!(out, "<td>{}</td>", esc(&v.current_stage));
            }
            let _ = write!(
                out,
                "<td class=\"clip\" title=\"{}\">{}</td></tr>",
                esc(&v.description),
                esc(&clip(&v.description, 160))
            );
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str(&pager(
        &Link::to(&["models", &name]),
        Paging { offset, size },
        versions.items.len(),
        versions.next_page_token.as_deref(),
    ));
    out.push_str("</section>");
    Ok(Page::new(Nav::Models, model.name.clone(), out).crumb("Models", Link::to(&["models"])))
}

/// `GET /models/{name}/versions/{version}`.
pub(crate) async fn version(State(store): State<Db>, Segs(segs): Segs) -> UiResult<Page> {
    let name = segs.first().cloned().unwrap_or_default();
    let text = segs.get(1).cloned().unwrap_or_default();
    let number: i64 = text.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
        UiError::BadRequest(format!("Invalid version '{text}': expected a whole number from 1"))
    })?;
    let v = store.get_model_version(&name, number).await?;
    let lineage = Lineage::load(store.as_ref(), std::slice::from_ref(&v)).await?;

    let mut out = String::new();
    if !v.description.is_empty() {
        let _ = write!(out, "<p class=\"note\">{}</p>", esc(&v.description));
    }
    out.push_str("<dl class=\"meta\">");
    if !v.aliases.is_empty() {
        let aliases: Vec<String> = v.aliases.iter().map(|al| alias_badge(al)).collect();
        let _ = write!(out, "<div><dt>Aliases</dt><dd>{}</dd></div>", aliases.join(" "));
    }
    let _ = write!(out, "<div><dt>Status</dt><dd>{}</dd></div>", esc(v.status.as_str()));
    if v.current_stage != "None" && !v.current_stage.is_empty() {
        let _ = write!(out, "<div><dt>Stage</dt><dd>{}</dd></div>", esc(&v.current_stage));
    }
    let _ = write!(
        out,
        "<div><dt>Registered</dt><dd>{}</dd></div>",
        time_el(Some(v.creation_timestamp))
    );
    if !v.user_id.is_empty() {
        let _ = write!(out, "<div><dt>By</dt><dd>{}</dd></div>", esc(&v.user_id));
    }
    let _ = write!(out, "<div><dt>Source</dt><dd><code>{}</code></dd></div>", esc(&v.source));
    out.push_str("</dl>");

    out.push_str("<section aria-labelledby=\"lineage\"><h2 id=\"lineage\">Lineage</h2><dl class=\"lineage\">");
    let _ = write!(out, "<div><dt>Run</dt><dd>{}</dd></div>", lineage.run_cell(&v));
    let _ = write!(out, "<div><dt>Datasets</dt><dd>{}</dd></div>", lineage.dataset_cell(&v, 64));
    let _ = write!(out, "<div><dt>Pipeline run</dt><dd>{}</dd></div>", lineage.parent_cell(&v));
    out.push_str("</dl>");
    if let Some(run) = lineage.runs.get(&v.run_id) {
        let mut metrics: Vec<_> = run.metrics.iter().collect();
        metrics.sort_by(|a, b| a.key.cmp(&b.key));
        if !metrics.is_empty() {
            out.push_str(
                "<h3>The run's metrics</h3><div class=\"scroll\" tabindex=\"0\" role=\"region\" \
                 aria-label=\"Metrics\"><table class=\"kv\"><tbody>",
            );
            for m in metrics {
                let _ = write!(
                    out,
                    "<tr><th scope=\"row\">{}</th>{}</tr>",
                    esc(&m.key),
                    num_cell(m.value)
                );
            }
            out.push_str("</tbody></table></div>");
        }
    }
    out.push_str("</section>");

    out.push_str("<section aria-labelledby=\"tags\"><h2 id=\"tags\">Tags</h2>");
    let mut tags: Vec<(&str, &str)> =
        v.tags.iter().map(|t| (t.key.as_str(), t.value.as_str())).collect();
    tags.sort_by_key(|(k, _)| (is_system_tag(k), *k));
    kv_table(&mut out, "Tags", &tags, "No tags.");
    out.push_str("</section>");

    Ok(Page::new(Nav::Models, format!("{} v{}", v.name, v.version), out)
        .crumb("Models", Link::to(&["models"]))
        .crumb(v.name.clone(), Link::to(&["models", &v.name])))
}

/// The runs behind some versions and their parent runs, by id; a run that is
/// gone (deleted for good, or in another store) is simply absent.
struct Lineage {
    runs: HashMap<String, Run>,
}

impl Lineage {
    async fn load(store: &dyn Store, versions: &[ModelVersion]) -> UiResult<Lineage> {
        let mut ids: Vec<&str> =
            versions.iter().map(|v| v.run_id.as_str()).filter(|id| !id.is_empty()).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut runs = fetch(store, &ids).await?;
        let mut parents: Vec<String> = runs
            .values()
            .filter_map(|r| tag(&r.tags, PARENT_TAG))
            .filter(|p| !runs.contains_key(*p))
            .map(str::to_string)
            .collect();
        parents.sort_unstable();
        parents.dedup();
        let refs: Vec<&str> = parents.iter().map(String::as_str).collect();
        runs.extend(fetch(store, &refs).await?);
        Ok(Lineage { runs })
    }

    fn run_cell(&self, v: &ModelVersion) -> String {
        if v.run_id.is_empty() {
            return format!("<span class=\"muted\">none</span> <code>{}</code>", esc(&v.source));
        }
        match self.runs.get(&v.run_id) {
            Some(r) => format!(
                "{} {}",
                a(&Link::to(&["runs", &r.info.run_id]), &r.info.run_name),
                status_badge(r.info.status)
            ),
            None => {
                format!("<code>{}</code> <span class=\"muted\">(not found)</span>", esc(&v.run_id))
            }
        }
    }

    /// The datasets of a version's run, digests cut to `digest_chars`.
    fn dataset_cell(&self, v: &ModelVersion, digest_chars: usize) -> String {
        let Some(run) = self.runs.get(&v.run_id) else { return String::new() };
        let items: Vec<String> = run
            .inputs
            .iter()
            .map(|i| {
                format!(
                    "{} <code title=\"digest\">{}</code>",
                    esc(&i.dataset.name),
                    esc(&clip(&i.dataset.digest, digest_chars))
                )
            })
            .collect();
        items.join("<br>")
    }

    fn parent_cell(&self, v: &ModelVersion) -> String {
        let Some(parent) = self.runs.get(&v.run_id).and_then(|r| tag(&r.tags, PARENT_TAG)) else {
            return String::new();
        };
        match self.runs.get(parent) {
            Some(p) => a(&Link::to(&["runs", parent]), &p.info.run_name),
            None => format!("<code>{}</code>", esc(parent)),
        }
    }
}

/// Runs by id, concurrently; missing ones are skipped.
async fn fetch(store: &dyn Store, ids: &[&str]) -> UiResult<HashMap<String, Run>> {
    let mut out = HashMap::new();
    for (id, result) in ids.iter().zip(join_all(ids.iter().map(|id| store.get_run(id))).await) {
        match result {
            Ok(run) => {
                out.insert(id.to_string(), run);
            }
            Err(StoreError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}
