//! Compiling MLflow search filters and orderings to SQL.
//!
//! Every filter becomes `EXISTS` sub-queries or column comparisons with
//! bound values, and ordering by a metric or param becomes a correlated
//! scalar sub-query, so the database does the selecting and sorting and
//! only one page of rows ever leaves it.

use lathe_core::ViewType;
use lathe_store::{
    search::{Attribute, Clause, Filter, Key, Op, OrderBy, Value},
    PageToken,
};

use crate::sql::Sql;

pub(crate) fn lifecycle(sql: &mut Sql, alias: &str, view: ViewType) {
    match view {
        ViewType::ActiveOnly => sql.push(&format!("{alias}.lifecycle_stage = 'active'")),
        ViewType::DeletedOnly => sql.push(&format!("{alias}.lifecycle_stage = 'deleted'")),
        ViewType::All => sql.push("1 = 1"),
    };
}

/// `LIMIT limit + 1 OFFSET …`: one extra row tells whether a next page exists.
pub(crate) fn limit(sql: &mut Sql, limit: usize, token: PageToken) {
    sql.push(" LIMIT ").arg(limit as i64 + 1).push(" OFFSET ").arg(token.offset as i64);
}

fn op_sql(op: Op) -> &'static str {
    match op {
        Op::Eq => " = ",
        Op::Ne => " != ",
        Op::Lt => " < ",
        Op::Le => " <= ",
        Op::Gt => " > ",
        Op::Ge => " >= ",
        Op::Like => " LIKE ",
        Op::ILike => " LIKE ",
        Op::In => " IN ",
        Op::NotIn => " NOT IN ",
        Op::IsNull => " IS NULL",
        Op::IsNotNull => " IS NOT NULL",
    }
}

/// `expr OP value` for any comparator the parser allowed on this key.
fn compare(sql: &mut Sql, expr: &str, op: Op, value: &Value) {
    let expr = if op == Op::ILike { format!("LOWER({expr})") } else { expr.to_string() };
    sql.push(&expr).push(op_sql(op));
    match (op, value) {
        (Op::ILike, Value::Str(s)) => {
            sql.push("LOWER(").arg(s.as_str()).push(")");
        }
        (_, Value::Str(s)) => {
            sql.arg(s.as_str());
        }
        (_, Value::Num(n)) => {
            sql.arg(*n);
        }
        (_, Value::List(items)) => {
            sql.list(items);
        }
        (_, Value::None) => {}
    }
}

/// A condition on a key-value child table (`params`, `tags`, …) linked by `link`.
/// For runs, `!=` needs the key to exist (MLflow joins); see [`registry_tag`].
fn key_value(sql: &mut Sql, table: &str, link: &str, key: &str, op: Op, value: &Value) {
    let compared = (!matches!(op, Op::IsNull | Op::IsNotNull)).then_some((op, value));
    kv_exists(sql, op == Op::IsNull, table, link, key, compared);
}

/// `[NOT] EXISTS (a row of table for this key [whose value compares])`.
fn kv_exists(
    sql: &mut Sql,
    negate: bool,
    table: &str,
    link: &str,
    key: &str,
    compared: Option<(Op, &Value)>,
) {
    sql.push(if negate { " NOT EXISTS (" } else { " EXISTS (" });
    sql.push(&format!("SELECT 1 FROM {table} kv WHERE {link} AND kv.key = ")).arg(key);
    if let Some((op, value)) = compared {
        sql.push(" AND ");
        compare(sql, "kv.value", op, value);
    }
    sql.push(")");
}

/// A tag condition on a registry entity. MLflow's client appends
/// `tags.mlflow.prompt.is_prompt != 'true'` to every registered-model search,
/// so there `!=` must also match entities that lack the tag.
fn registry_tag(sql: &mut Sql, table: &str, link: &str, key: &str, op: Op, value: &Value) {
    if op == Op::Ne {
        kv_exists(sql, true, table, link, key, Some((Op::Eq, value)));
    } else {
        key_value(sql, table, link, key, op, value);
    }
}

fn metric(sql: &mut Sql, table: &str, link: &str, key: &str, op: Op, value: &Value) {
    sql.push(&format!(" EXISTS (SELECT 1 FROM {table} m WHERE {link} AND m.key = ")).arg(key);
    sql.push(" AND m.is_nan = 0 AND ");
    compare(sql, "m.value", op, value);
    sql.push(")");
}

fn run_column(a: Attribute) -> &'static str {
    match a {
        Attribute::RunId => "r.run_uuid",
        Attribute::RunName | Attribute::Name => "r.name",
        Attribute::Status => "r.status",
        Attribute::UserId => "r.user_id",
        Attribute::ArtifactUri => "r.artifact_uri",
        Attribute::StartTime | Attribute::CreationTime => "r.start_time",
        Attribute::EndTime | Attribute::LastUpdateTime => "r.end_time",
        Attribute::ExperimentId => "r.experiment_id",
        Attribute::VersionNumber | Attribute::SourcePath | Attribute::ModelId => "NULL",
    }
}

pub(crate) fn run_conditions(sql: &mut Sql, filter: &Filter) {
    for Clause { key, op, value } in &filter.clauses {
        sql.push(" AND");
        match key {
            Key::Metric(k) => {
                metric(sql, "latest_metrics", "m.run_uuid = r.run_uuid", k, *op, value)
            }
            Key::Param(k) => key_value(sql, "params", "kv.run_uuid = r.run_uuid", k, *op, value),
            Key::Tag(k) => key_value(sql, "tags", "kv.run_uuid = r.run_uuid", k, *op, value),
            Key::Attribute(a) => {
                sql.push(" ");
                compare(sql, run_column(*a), *op, value);
            }
            Key::Dataset(field) => {
                sql.push(
                    " EXISTS (SELECT 1 FROM run_inputs ri JOIN datasets d ON d.dataset_uuid = ri.dataset_uuid \
                     WHERE ri.run_uuid = r.run_uuid AND ",
                );
                let expr = match field.as_str() {
                    "name" => "d.name",
                    "digest" => "d.digest",
                    _ => {
                        "(SELECT t.value FROM run_input_tags t WHERE t.run_uuid = ri.run_uuid \
                          AND t.dataset_uuid = ri.dataset_uuid AND t.key = 'mlflow.data.context')"
                    }
                };
                compare(sql, expr, *op, value);
                sql.push(")");
            }
        }
    }
}

/// `ORDER BY` with NULLs last in both directions, as MLflow sorts.
fn order_expr(sql: &mut Sql, first: bool, expr: &dyn Fn(&mut Sql), ascending: bool) {
    sql.push(if first { " ORDER BY " } else { ", " });
    sql.push("CASE WHEN ");
    expr(sql);
    sql.push(" IS NULL THEN 1 ELSE 0 END, ");
    expr(sql);
    sql.push(if ascending { " ASC" } else { " DESC" });
}

pub(crate) fn run_order(sql: &mut Sql, order: &[OrderBy]) {
    let mut first = true;
    for o in order {
        let expr = |sql: &mut Sql| match &o.key {
            Key::Metric(k) => {
                sql.push("(SELECT m.value FROM latest_metrics m WHERE m.run_uuid = r.run_uuid AND m.key = ")
                    .arg(k.as_str())
                    .push(")");
            }
            Key::Param(k) => {
                sql.push(
                    "(SELECT p.value FROM params p WHERE p.run_uuid = r.run_uuid AND p.key = ",
                )
                .arg(k.as_str())
                .push(")");
            }
            Key::Tag(k) => {
                sql.push("(SELECT t.value FROM tags t WHERE t.run_uuid = r.run_uuid AND t.key = ")
                    .arg(k.as_str())
                    .push(")");
            }
            Key::Attribute(a) => {
                sql.push(run_column(*a));
            }
            Key::Dataset(_) => {
                sql.push("NULL");
            }
        };
        order_expr(sql, first, &expr, o.ascending);
        first = false;
    }
    sql.push(if first { " ORDER BY " } else { ", " });
    sql.push("r.start_time DESC, r.run_uuid ASC");
}

fn experiment_column(a: Attribute) -> &'static str {
    match a {
        Attribute::Name => "e.name",
        Attribute::CreationTime => "e.creation_time",
        Attribute::LastUpdateTime => "e.last_update_time",
        Attribute::ExperimentId => "e.experiment_id",
        _ => "NULL",
    }
}

pub(crate) fn experiment_conditions(sql: &mut Sql, filter: &Filter) {
    for Clause { key, op, value } in &filter.clauses {
        sql.push(" AND");
        match key {
            Key::Tag(k) => key_value(
                sql,
                "experiment_tags",
                "kv.experiment_id = e.experiment_id",
                k,
                *op,
                value,
            ),
            Key::Attribute(a) => {
                sql.push(" ");
                compare(sql, experiment_column(*a), *op, value);
            }
            _ => {
                sql.push(" 1 = 0");
            }
        }
    }
}

pub(crate) fn experiment_order(sql: &mut Sql, order: &[OrderBy]) {
    let mut first = true;
    for o in order {
        if let Key::Attribute(a) = o.key {
            let expr = |sql: &mut Sql| {
                sql.push(experiment_column(a));
            };
            order_expr(sql, first, &expr, o.ascending);
            first = false;
        }
    }
    sql.push(if first { " ORDER BY " } else { ", " });
    sql.push("e.creation_time DESC, e.experiment_id ASC");
}

fn registered_model_column(a: Attribute) -> &'static str {
    match a {
        Attribute::Name => "rm.name",
        Attribute::CreationTime => "rm.creation_time",
        Attribute::LastUpdateTime => "rm.last_update_time",
        _ => "NULL",
    }
}

pub(crate) fn registered_model_conditions(sql: &mut Sql, filter: &Filter) {
    for Clause { key, op, value } in &filter.clauses {
        sql.push(" AND");
        match key {
            Key::Tag(k) => {
                registry_tag(sql, "registered_model_tags", "kv.name = rm.name", k, *op, value)
            }
            Key::Attribute(a) => {
                sql.push(" ");
                compare(sql, registered_model_column(*a), *op, value);
            }
            _ => {
                sql.push(" 1 = 0");
            }
        }
    }
}

pub(crate) fn registered_model_order(sql: &mut Sql, order: &[OrderBy]) {
    let mut first = true;
    for o in order {
        if let Key::Attribute(a) = o.key {
            let expr = |sql: &mut Sql| {
                sql.push(registered_model_column(a));
            };
            order_expr(sql, first, &expr, o.ascending);
            first = false;
        }
    }
    sql.push(if first { " ORDER BY " } else { ", " });
    sql.push("rm.name ASC");
}

fn model_version_column(a: Attribute) -> &'static str {
    match a {
        Attribute::Name => "mv.name",
        Attribute::VersionNumber => "mv.version",
        Attribute::RunId => "mv.run_id",
        Attribute::SourcePath => "mv.source",
        Attribute::CreationTime => "mv.creation_time",
        Attribute::LastUpdateTime => "mv.last_update_time",
        _ => "NULL",
    }
}

pub(crate) fn model_version_conditions(sql: &mut Sql, filter: &Filter) {
    for Clause { key, op, value } in &filter.clauses {
        sql.push(" AND");
        match key {
            Key::Tag(k) => registry_tag(
                sql,
                "model_version_tags",
                "kv.name = mv.name AND kv.version = mv.version",
                k,
                *op,
                value,
            ),
            Key::Attribute(a) => {
                sql.push(" ");
                compare(sql, model_version_column(*a), *op, value);
            }
            _ => {
                sql.push(" 1 = 0");
            }
        }
    }
}

pub(crate) fn model_version_order(sql: &mut Sql, order: &[OrderBy]) {
    let mut first = true;
    for o in order {
        if let Key::Attribute(a) = o.key {
            let expr = |sql: &mut Sql| {
                sql.push(model_version_column(a));
            };
            order_expr(sql, first, &expr, o.ascending);
            first = false;
        }
    }
    sql.push(if first { " ORDER BY " } else { ", " });
    sql.push("mv.name ASC, mv.version DESC");
}

fn logged_model_column(a: Attribute) -> &'static str {
    match a {
        Attribute::Name => "lm.name",
        Attribute::ModelId => "lm.model_id",
        Attribute::CreationTime => "lm.creation_time",
        Attribute::LastUpdateTime => "lm.last_update_time",
        _ => "NULL",
    }
}

pub(crate) fn logged_model_conditions(sql: &mut Sql, filter: &Filter) {
    for Clause { key, op, value } in &filter.clauses {
        sql.push(" AND");
        match key {
            Key::Tag(k) => {
                key_value(sql, "logged_model_tags", "kv.model_id = lm.model_id", k, *op, value)
            }
            Key::Param(k) => {
                key_value(sql, "logged_model_params", "kv.model_id = lm.model_id", k, *op, value)
            }
            Key::Metric(k) => {
                metric(sql, "latest_metrics", "m.run_uuid = lm.source_run_id", k, *op, value)
            }
            Key::Attribute(a) => {
                sql.push(" ");
                compare(sql, logged_model_column(*a), *op, value);
            }
            Key::Dataset(_) => {
                sql.push(" 1 = 0");
            }
        }
    }
}

pub(crate) fn logged_model_order(sql: &mut Sql, order: &[OrderBy]) {
    let mut first = true;
    for o in order {
        if let Key::Attribute(a) = o.key {
            let expr = |sql: &mut Sql| {
                sql.push(logged_model_column(a));
            };
            order_expr(sql, first, &expr, o.ascending);
            first = false;
        }
    }
    sql.push(if first { " ORDER BY " } else { ", " });
    sql.push("lm.creation_time DESC, lm.model_id ASC");
}
