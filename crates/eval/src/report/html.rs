//! The HTML page of an [`EvalReport`]: metric tables (with bootstrap
//! intervals when present), per-class and per-slice tables, and the plots.
//! One string with inline CSS; every value from the caller is escaped.

use std::fmt::Write;

use lathe_core::html_escape;

use super::categorical;
use super::svg::{self, trim_sig, Corner, Series};
use super::{EvalReport, Task};
use crate::ClassificationMetrics;

const STYLE: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px auto;max-width:1180px;color:#222;padding:0 16px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.sub{color:#666;margin:0 0 16px}
table{border-collapse:collapse;font-size:14px;margin:4px 0}
th,td{padding:4px 10px;border-bottom:1px solid #eee;text-align:right}
th:first-child,td:first-child{text-align:left}
th{background:#f6f7f9;font-weight:600}
.plots{display:flex;flex-wrap:wrap;gap:16px}
svg.plot{background:#fff;border:1px solid #e3e3e3;border-radius:4px;font-size:13px;max-width:100%;height:auto}
svg .title{font-size:15px;font-weight:600}
svg .label{font-size:13px;fill:#444}
svg .legend{font-size:12px}
svg .small{font-size:11px}
svg .cell{font-size:14px;font-weight:600}
svg .grid{stroke:#eee}
svg .frame{fill:none;stroke:#999}
svg .diagonal{stroke:#aaa;stroke-dasharray:5 4}
svg .zero{stroke:#888;stroke-dasharray:4 3}
.note{color:#666;font-size:13px;max-width:900px}
";

/// Renders the whole page.
pub(super) fn render(r: &EvalReport) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let task = match r.task {
        Task::Binary => "binary classification",
        Task::Multiclass => "multiclass classification",
        Task::Regression => "regression",
    };
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body><h1>{}</h1><p class=\"sub\">{task} · {} rows</p>",
        html_escape(&r.title),
        html_escape(&r.title),
        r.rows
    );
    if let Some(m) = &r.classification {
        metrics_table(&mut out, r, &m.named());
        per_class_table(&mut out, m);
        out.push_str("<h2>Plots</h2><div class=\"plots\">");
        classification_plots(&mut out, r, m);
        importance_plot(&mut out, r);
        out.push_str("</div>");
    }
    if let Some(m) = &r.regression {
        metrics_table(&mut out, r, &m.named());
        out.push_str("<h2>Plots</h2><div class=\"plots\">");
        regression_plots(&mut out, r);
        importance_plot(&mut out, r);
        out.push_str("</div>");
    }
    slices_table(&mut out, r);
    out.push_str(
        "<h2>Definitions</h2><p class=\"note\">Metrics follow scikit-learn. Precision, recall and F1 \
         count a class never predicted as 0. ROC AUC for multiclass is one-vs-rest (macro and \
         prevalence-weighted); PR AUC is average precision. Brier score for multiclass is the mean \
         over classes of the one-vs-rest Brier score. ECE uses ten equal-width bins: the \
         positive-class probability for binary targets, the top-label confidence for multiclass. \
         Intervals are bootstrap percentile intervals over resampled rows.</p></body></html>",
    );
    out
}

fn metrics_table(out: &mut String, r: &EvalReport, named: &[(&'static str, f64)]) {
    let with_ci = !r.intervals.is_empty();
    out.push_str("<h2>Metrics</h2><table><tr><th>metric</th><th>value</th>");
    if let Some(level) = r.intervals.first().map(|i| i.level) {
        let _ = write!(out, "<th>{:.0}% interval</th><th>resamples</th>", level * 100.0);
    }
    out.push_str("</tr>");
    for (name, value) in named {
        let _ = write!(out, "<tr><td>{name}</td><td>{}</td>", trim_sig(*value));
        if with_ci {
            match r.intervals.iter().find(|i| i.metric == *name) {
                Some(i) => {
                    let _ = write!(
                        out,
                        "<td>[{}, {}]</td><td>{}</td>",
                        trim_sig(i.low),
                        trim_sig(i.high),
                        i.resamples
                    );
                }
                None => out.push_str("<td>–</td><td>–</td>"),
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
}

fn per_class_table(out: &mut String, m: &ClassificationMetrics) {
    out.push_str(
        "<h2>Per class</h2><table><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>",
    );
    for c in &m.per_class {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            html_escape(&c.class),
            trim_sig(c.precision),
            trim_sig(c.recall),
            trim_sig(c.f1),
            c.support
        );
    }
    out.push_str("</table>");
}

fn classification_plots(out: &mut String, r: &EvalReport, m: &ClassificationMetrics) {
    let series = |curves: &[super::NamedCurve], area: &str| -> Vec<(String, Vec<f64>, Vec<f64>)> {
        curves
            .iter()
            .map(|c| {
                let name = format!("{} ({area} {})", c.name, trim_sig(c.area));
                (name, c.curve.x.clone(), c.curve.y.clone())
            })
            .collect()
    };
    let roc = series(&r.roc_curves, "AUC");
    let pr = series(&r.pr_curves, "AP");
    fn as_series(v: &[(String, Vec<f64>, Vec<f64>)], step: bool) -> Vec<Series<'_>> {
        v.iter()
            .map(|(name, x, y)| Series {
                name: name.clone(),
                x,
                y,
                markers: false,
                step,
                notes: Vec::new(),
            })
            .collect()
    }
    let one_vs_rest = if r.task == Task::Multiclass { " (one-vs-rest)" } else { "" };
    out.push_str(&svg::line_chart(
        "roc",
        &format!("ROC curve{one_vs_rest}"),
        ("false positive rate", "true positive rate"),
        &as_series(&roc, false),
        true,
        true,
        Corner::BottomRight,
    ));
    out.push_str(&svg::line_chart(
        "pr",
        &format!("Precision–recall curve{one_vs_rest}"),
        ("recall", "precision"),
        &as_series(&pr, true),
        false,
        true,
        Corner::BottomLeft,
    ));
    let filled: Vec<_> = m.calibration.bins.iter().filter(|b| b.count > 0).collect();
    let x: Vec<f64> = filled.iter().filter_map(|b| b.mean_predicted).collect();
    let y: Vec<f64> = filled.iter().filter_map(|b| b.hit_rate).collect();
    let notes: Vec<String> = filled
        .iter()
        .map(|b| format!("{}–{}: {} rows", trim_sig(b.low), trim_sig(b.high), b.count))
        .collect();
    let (title, x_label, y_label) = if r.task == Task::Binary {
        ("Calibration", "mean predicted probability (positive class)", "fraction of positives")
    } else {
        ("Calibration (top label)", "mean confidence", "accuracy")
    };
    let name = format!("model (ECE {})", trim_sig(m.calibration.ece));
    out.push_str(&svg::line_chart(
        "calibration",
        title,
        (x_label, y_label),
        &[Series { name, x: &x, y: &y, markers: true, step: false, notes }],
        true,
        true,
        Corner::TopLeft,
    ));
    out.push_str(&categorical::heatmap("confusion", "Confusion matrix", &m.classes, &m.confusion));
}

fn regression_plots(out: &mut String, r: &EvalReport) {
    if let Some(res) = &r.residuals {
        out.push_str(&svg::scatter(
            "residuals",
            "Residuals vs predicted",
            ("predicted", "residual (true − predicted)"),
            &res.predicted,
            &res.residual,
        ));
        out.push_str(&svg::histogram(
            "residual-histogram",
            "Residual distribution",
            "residual (true − predicted)",
            &res.histogram_edges,
            &res.histogram_counts,
        ));
    }
}

fn importance_plot(out: &mut String, r: &EvalReport) {
    if r.feature_importance.is_empty() {
        return;
    }
    let top = &r.feature_importance[..r.feature_importance.len().min(20)];
    let names: Vec<String> = top.iter().map(|f| f.feature.clone()).collect();
    let values: Vec<f64> = top.iter().map(|f| f.importance).collect();
    let title = if top.len() < r.feature_importance.len() {
        format!("Feature importance (top {} of {})", top.len(), r.feature_importance.len())
    } else {
        "Feature importance".to_string()
    };
    out.push_str(&categorical::bars("importance", &title, &names, &values));
}

fn slices_table(out: &mut String, r: &EvalReport) {
    let Some(column) = &r.slice_column else { return };
    let _ = write!(out, "<h2>Slices by {}</h2><table>", html_escape(column));
    let cell = |v: Option<f64>| v.map_or("–".to_string(), trim_sig);
    if !r.classification_slices.is_empty() {
        out.push_str("<tr><th>value</th><th>rows</th><th>accuracy</th><th>F1 macro</th><th>ROC AUC</th><th>log loss</th></tr>");
        for s in &r.classification_slices {
            let m = &s.metrics;
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                html_escape(&s.value),
                s.count,
                trim_sig(m.accuracy),
                trim_sig(m.f1.macro_avg),
                cell(m.roc_auc),
                trim_sig(m.log_loss)
            );
        }
    }
    if !r.regression_slices.is_empty() {
        out.push_str(
            "<tr><th>value</th><th>rows</th><th>MAE</th><th>RMSE</th><th>R²</th><th>MAPE</th></tr>",
        );
        for s in &r.regression_slices {
            let m = &s.metrics;
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                html_escape(&s.value),
                s.count,
                trim_sig(m.mae),
                trim_sig(m.rmse),
                trim_sig(m.r2),
                trim_sig(m.mape)
            );
        }
    }
    out.push_str("</table>");
}
