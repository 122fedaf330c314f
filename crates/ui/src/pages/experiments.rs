//! `/`: every experiment, searched by name or with MLflow's filter syntax,
//! sortable, paginated on the server.

use std::fmt::Write as _;

use axum::extract::State;
use lathe_core::{LifecycleStage, ViewType};
use lathe_store::{search::Entity, SearchQuery};

use super::{and_filter, pager, sort_th, tag, NOTE_TAG};
use crate::{
    error::UiResult,
    html::{a, esc, filter_string, time_el, Link},
    layout::{Nav, Page},
    params::{Paging, Params},
    Db,
};

/// Rows per page unless `max_results` says otherwise.
const PAGE_SIZE: usize = 100;
/// Largest `max_results` the page accepts.
const MAX_PAGE_SIZE: usize = 1000;

/// `GET /?q=&filter=&view=&order_by=&max_results=&page_token=`.
pub(crate) async fn list(State(store): State<Db>, params: Params) -> UiResult<Page> {
    let q = params.get("q").unwrap_or_default();
    let filter = params.get("filter").unwrap_or_default();
    let view_name = params.get("view").unwrap_or("active");
    let view = match view_name {
        "active" => ViewType::ActiveOnly,
        "deleted" => ViewType::DeletedOnly,
        "all" => ViewType::All,
        other => {
            return Err(crate::error::UiError::BadRequest(format!(
                "Invalid value '{other}' for 'view': expected active, deleted or all"
            )))
        }
    };
    let size = params.page_size("max_results", PAGE_SIZE, MAX_PAGE_SIZE)?;
    let (token, offset) = params.page_token()?;
    let order_by = params.all("order_by");
    let name_clause =
        (!q.is_empty()).then(|| format!("name ILIKE {}", filter_string(&format!("%{q}%"))));
    let query = SearchQuery {
        filter: and_filter(filter, name_clause),
        view,
        max_results: Some(size as i64),
        order_by: order_by.clone(),
        page_token: token,
    };
    let page = store.search_experiments(&query).await?;

    let mut base = Link::to(&[]).q("q", q).q("filter", filter);
    if view_name != "active" {
        base = base.q("view", view_name);
    }
    if size != PAGE_SIZE {
        base = base.q("max_results", size.to_string());
    }
    for o in &order_by {
        base = base.q("order_by", o.clone());
    }

    let mut out = String::new();
    let _ = write!(
        out,
        "<form class=\"search\" method=\"get\" action=\"/\" role=\"search\">\
         <label>Name contains <input type=\"search\" name=\"q\" value=\"{}\" placeholder=\"churn\"></label>\
         <label class=\"grow\">Filter <input type=\"text\" name=\"filter\" value=\"{}\" \
         placeholder=\"tags.team = 'fraud' AND creation_time > 1700000000000\" spellcheck=\"false\"></label>\
         <label>Show <select name=\"view\">",
        esc(q),
        esc(filter)
    );
    for (value, label) in [("active", "active"), ("deleted", "deleted"), ("all", "all")] {
        let selected = if value == view_name { " selected" } else { "" };
        let _ = write!(out, "<option value=\"{value}\"{selected}>{label}</option>");
    }
    out.push_str("</select></label>");
    for o in &order_by {
        let _ = write!(out, "<input type=\"hidden\" name=\"order_by\" value=\"{}\">", esc(o));
    }
    out.push_str("<button type=\"submit\">Search</button></form>");

    if page.items.is_empty() {
        out.push_str("<p class=\"empty\">No experiments match.</p>");
    } else {
        out.push_str(
            "<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-label=\"Experiments\">\
             <table class=\"grid-table\"><thead><tr>",
        );
        let e = Entity::Experiments;
        out.push_str(&sort_th(e, &base, &order_by, "name", "Name", false, ""));
        out.push_str(&sort_th(e, &base, &order_by, "experiment_id", "ID", false, "num"));
        out.push_str(&sort_th(e, &base, &order_by, "creation_time", "Created", true, ""));
        out.push_str(&sort_th(e, &base, &order_by, "last_update_time", "Last updated", true, ""));
        out.push_str(
            "<th scope=\"col\">Description</th><th scope=\"col\">Tags</th></tr></thead><tbody>",
        );
        for exp in &page.items {
            let link = Link::to(&["experiments", &exp.experiment_id]);
            let deleted = if exp.lifecycle_stage == LifecycleStage::Deleted {
                " <span class=\"badge deleted\">deleted</span>"
            } else {
                ""
            };
            let note = tag(&exp.tags, NOTE_TAG).unwrap_or_default();
            let user_tags: Vec<String> = exp
                .tags
                .iter()
                .filter(|t| !super::is_system_tag(&t.key))
                .map(|t| format!("<span class=\"chip\">{}={}</span>", esc(&t.key), esc(&t.value)))
                .collect();
            let _ = write!(
                out,
                "<tr><td>{}{deleted}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td>\
                 <td class=\"clip\" title=\"{}\">{}</td><td>{}</td></tr>",
                a(&link, &exp.name),
                esc(&exp.experiment_id),
                time_el(Some(exp.creation_time)),
                time_el(Some(exp.last_update_time)),
                esc(note),
                esc(&clip(note, 120)),
                user_tags.join(" ")
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
    Ok(Page::new(Nav::Experiments, "Experiments", out))
}

/// At most `max` characters of `text`, with an ellipsis when cut.
pub(crate) fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max).collect();
        s.push('…');
        s
    }
}
