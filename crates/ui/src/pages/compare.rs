//! `/compare?runs=a,b,c`: runs side by side: their attributes, a param and
//! a metric table with differing rows marked (`diff=1` keeps only those),
//! and one overlaid chart per metric that has a history.

use std::{
    collections::{BTreeSet, HashMap},
    fmt::Write as _,
};

use axum::extract::State;
use futures_util::future::try_join_all;
use lathe_core::Run;

use super::{chart_points, experiments::clip, history, status_badge};
use crate::{
    chart::{line_chart, parallel, Axis, Series},
    error::{UiError, UiResult},
    html::{a, duration, esc, num_cell, time_el, Link},
    layout::{Nav, Page},
    params::Params,
    Db,
};

/// Most runs one comparison shows.
pub(crate) const MAX_RUNS: usize = 25;

/// `GET /compare?runs=ID,ID…&diff=1`.
pub(crate) async fn show(State(store): State<Db>, params: Params) -> UiResult<Page> {
    let ids = params.list("runs");
    if ids.is_empty() {
        return Err(UiError::BadRequest(
            "Nothing to compare: give run ids as 'runs=ID,ID' (pick runs in an experiment's table)"
                .into(),
        ));
    }
    if ids.len() > MAX_RUNS {
        return Err(UiError::BadRequest(format!(
            "Too many runs to compare: {} given, at most {MAX_RUNS}",
            ids.len()
        )));
    }
    let only_diff = params.get("diff") == Some("1");
    let runs = try_join_all(ids.iter().map(|id| store.get_run(id))).await?;
    let labels = labels(&runs);
    let mut exp_ids: Vec<&str> = runs.iter().map(|r| r.info.experiment_id.as_str()).collect();
    exp_ids.sort_unstable();
    exp_ids.dedup();
    let experiments = try_join_all(exp_ids.iter().map(|id| store.get_experiment(id))).await?;
    let exp_names: HashMap<String, String> =
        experiments.into_iter().map(|e| (e.experiment_id, e.name)).collect();
    let base = Link::to(&["compare"]).q("runs", ids.join(","));

    let mut out = String::new();
    let toggle = if only_diff {
        a(&base, "Show every row")
    } else {
        a(&base.clone().q("diff", "1"), "Show only rows that differ")
    };
    let _ = write!(out, "<p class=\"toolbar\">{} runs · {toggle}</p>", runs.len());

    attributes(&mut out, &runs, &labels, &exp_names);

    // Params.
    let keys: BTreeSet<&str> =
        runs.iter().flat_map(|r| r.params.iter().map(|p| p.key.as_str())).collect();
    out.push_str("<section aria-labelledby=\"params\"><h2 id=\"params\">Params</h2>");
    let mut shown = 0;
    table_head(&mut out, "Params", &runs, &labels);
    for key in &keys {
        let values: Vec<Option<&str>> = runs
            .iter()
            .map(|r| r.params.iter().find(|p| p.key == *key).map(|p| p.value.as_str()))
            .collect();
        let differs = values.iter().any(|v| *v != values[0]);
        if only_diff && !differs {
            continue;
        }
        shown += 1;
        let _ = write!(out, "<tr{}><th scope=\"row\">{}</th>", diff_class(differs), esc(key));
        for v in values {
            let v = v.unwrap_or_default();
            let _ = write!(out, "<td title=\"{}\">{}</td>", esc(v), esc(&clip(v, 60)));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    if shown == 0 {
        out.push_str("<p class=\"muted\">No params to show.</p>");
    }
    out.push_str("</section>");

    // Metrics: latest values.
    let keys: BTreeSet<&str> =
        runs.iter().flat_map(|r| r.metrics.iter().map(|m| m.key.as_str())).collect();
    out.push_str("<section aria-labelledby=\"metrics\"><h2 id=\"metrics\">Metrics</h2>");
    let mut shown = 0;
    table_head(&mut out, "Metrics", &runs, &labels);
    for key in &keys {
        let values: Vec<Option<f64>> = runs
            .iter()
            .map(|r| r.metrics.iter().find(|m| m.key == *key).map(|m| m.value))
            .collect();
        let differs = values.iter().any(|v| v.map(f64::to_bits) != values[0].map(f64::to_bits));
        if only_diff && !differs {
            continue;
        }
        shown += 1;
        let _ = write!(out, "<tr{}><th scope=\"row\">{}</th>", diff_class(differs), esc(key));
        for v in values {
            match v {
                Some(v) => out.push_str(&num_cell(v)),
                None => out.push_str("<td></td>"),
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    if shown == 0 {
        out.push_str("<p class=\"muted\">No metrics to show.</p>");
    }

    // Metrics: overlaid histories.
    let keys: Vec<&str> = keys.into_iter().collect();
    let store = store.as_ref();
    let fetches = keys.iter().flat_map(|k| {
        runs.iter().map(move |r| async move {
            if r.metrics.iter().any(|m| m.key == *k) {
                history(store, &r.info.run_id, k).await
            } else {
                Ok((Vec::new(), false))
            }
        })
    });
    let histories = try_join_all(fetches).await?;
    let mut charts = String::new();
    for (i, key) in keys.iter().enumerate() {
        let per_run = &histories[i * runs.len()..(i + 1) * runs.len()];
        if per_run.iter().all(|(h, _)| h.len() <= 1) {
            continue;
        }
        let mut notes = Vec::new();
        let series: Vec<Series> = per_run
            .iter()
            .zip(&labels)
            .map(|((h, cut), label)| {
                let (points, note) = chart_points(h, *cut);
                if !note.is_empty() {
                    notes.push(format!("{label}: {note}"));
                }
                Series { label: label.clone(), points }
            })
            .collect();
        charts.push_str("<div class=\"chart-cell\">");
        line_chart(&mut charts, key, &notes.join("; "), "step", &series);
        charts.push_str("</div>");
    }
    if !charts.is_empty() {
        let _ = write!(out, "<div class=\"charts\">{charts}</div>");
    }
    out.push_str("</section>");
    trials(&mut out, &runs, &labels);

    Ok(Page::new(Nav::Experiments, "Compare runs", out).crumb("Experiments", Link::to(&[])))
}

/// The runs' own fields, one row each.
fn attributes(
    out: &mut String,
    runs: &[Run],
    labels: &[String],
    exp_names: &HashMap<String, String>,
) {
    out.push_str("<section aria-labelledby=\"runs\"><h2 id=\"runs\">Runs</h2>");
    table_head(out, "Runs", runs, labels);
    for label in ["Experiment", "Status", "Started", "Duration", "User"] {
        let _ = write!(out, "<tr><th scope=\"row\">{label}</th>");
        for r in runs {
            let info = &r.info;
            let cell = match label {
                "Experiment" => {
                    let id = &info.experiment_id;
                    a(&Link::to(&["experiments", id]), exp_names.get(id).unwrap_or(id))
                }
                "Status" => status_badge(info.status),
                "Started" => time_el(Some(info.start_time)),
                "Duration" => {
                    esc(&info.end_time.map(|e| duration(e - info.start_time)).unwrap_or_default())
                        .to_string()
                }
                _ => esc(&info.user_id).to_string(),
            };
            let _ = write!(out, "<td>{cell}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div></section>");
}

/// Most axes of the parallel-coordinates chart.
const MAX_AXES: usize = 14;

/// Parallel coordinates over the numeric params and the metrics that differ
/// between the runs (params first: inputs on the left, outcomes on the right),
/// as for the trials of a hyperparameter search.
fn trials(out: &mut String, runs: &[Run], labels: &[String]) {
    if runs.len() < 2 {
        return;
    }
    let mut axes = Vec::new();
    let param_keys: BTreeSet<&str> =
        runs.iter().flat_map(|r| r.params.iter().map(|p| p.key.as_str())).collect();
    for key in param_keys {
        let raw: Vec<Option<&str>> = runs
            .iter()
            .map(|r| r.params.iter().find(|p| p.key == key).map(|p| p.value.as_str()))
            .collect();
        let values: Vec<Option<f64>> =
            raw.iter().map(|v| v.and_then(|v| v.trim().parse::<f64>().ok())).collect();
        let numeric = raw.iter().zip(&values).all(|(r, v)| r.is_none() || v.is_some());
        if numeric && varies(&values) {
            axes.push(Axis { label: key.to_string(), values });
        }
    }
    let metric_keys: BTreeSet<&str> =
        runs.iter().flat_map(|r| r.metrics.iter().map(|m| m.key.as_str())).collect();
    for key in metric_keys {
        let values: Vec<Option<f64>> =
            runs.iter().map(|r| r.metrics.iter().find(|m| m.key == key).map(|m| m.value)).collect();
        if varies(&values) {
            axes.push(Axis { label: key.to_string(), values });
        }
    }
    if axes.len() < 2 {
        return;
    }
    let cut = axes.len() > MAX_AXES;
    axes.truncate(MAX_AXES);
    out.push_str("<section aria-labelledby=\"trials\"><h2 id=\"trials\">Parallel coordinates</h2>");
    if cut {
        let _ =
            write!(out, "<p class=\"muted\">The first {MAX_AXES} varying params and metrics.</p>");
    }
    out.push_str("<div class=\"scroll wide\">");
    parallel(out, "Params and metrics that differ", &axes, labels);
    out.push_str("</div></section>");
}

/// Whether at least two runs have finite values and they are not all equal.
fn varies(values: &[Option<f64>]) -> bool {
    let finite: Vec<f64> = values.iter().flatten().copied().filter(|v| v.is_finite()).collect();
    finite.len() >= 2 && finite.iter().any(|v| *v != finite[0])
}

/// Run names as legend labels; a name used twice gets its run id's start.
fn labels(runs: &[Run]) -> Vec<String> {
    runs.iter()
        .map(|r| {
            let twice = runs.iter().filter(|o| o.info.run_name == r.info.run_name).count() > 1;
            if twice {
                format!("{} ({})", r.info.run_name, &r.info.run_id[..r.info.run_id.len().min(7)])
            } else {
                r.info.run_name.clone()
            }
        })
        .collect()
}

/// A comparison table's head: one column per run, linked to it.
fn table_head(out: &mut String, caption: &str, runs: &[Run], labels: &[String]) {
    let _ = write!(
        out,
        "<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-label=\"{0}\">\
         <table class=\"grid-table compare{1}\"><caption class=\"sr\">{0}</caption><thead><tr><td></td>",
        esc(caption),
        // Equal columns line the three tables up; many runs need their natural widths.
        if runs.len() <= 6 { " fixed" } else { "" }
    );
    for (i, (r, label)) in runs.iter().zip(labels).enumerate() {
        let _ = write!(
            out,
            "<th scope=\"col\"><span class=\"swatch s{}\" aria-hidden=\"true\"></span>{}</th>",
            i % 10,
            a(&Link::to(&["runs", &r.info.run_id]), label)
        );
    }
    out.push_str("</tr></thead><tbody>");
}

fn diff_class(differs: bool) -> &'static str {
    if differs {
        " class=\"differs\""
    } else {
        ""
    }
}
