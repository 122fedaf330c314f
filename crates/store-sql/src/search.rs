//! Compiling MLflow search filters and orderings to SQL.
//!
//! Every filter becomes `EXISTS` sub-queries or column comparisons with
//! bound values, and ordering by a metric or param becomes a correlated
//! scalar sub-query, so the database does the selecting and sorting and
//! only one page of rows ever leaves it. One [`Target`] per searchable
//! entity says which tables and columns its keys mean.

use lathe_core::ViewType;
use lathe_store::{
    limits,
    search::{
        parse_filter, parse_order_by, Attribute, Clause, Entity, Filter, Key, Op, OrderBy, Value,
    },
    PageToken, Result, SearchQuery,
};

use crate::sql::Sql;

/// A search request, parsed and checked, ready to compile.
pub(crate) struct Parsed {
    pub(crate) filter: Filter,
    pub(crate) order: Vec<OrderBy>,
    pub(crate) limit: usize,
    pub(crate) token: PageToken,
}

/// Parses filter, orderings, `max_results` (with the entity's default and ceiling) and page token.
pub(crate) fn parse(
    entity: Entity,
    q: &SearchQuery,
    default: usize,
    ceiling: usize,
) -> Result<Parsed> {
    let filter = parse_filter(entity, &q.filter)?;
    let order = q
        .order_by
        .iter()
        .map(|o| parse_order_by(entity, o))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let limit = limits::max_results(q.max_results, default, ceiling)?;
    let token = PageToken::decode(q.page_token.as_deref())?;
    Ok(Parsed { filter, order, limit, token })
}

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

/// A child table of key-value rows (`params`, `tags`, `latest_metrics`…) and
/// the condition that links its rows (alias `kv`) to the searched entity.
#[derive(Clone, Copy)]
struct Child {
    table: &'static str,
    link: &'static str,
}

/// How one entity's filter keys map onto SQL.
pub(crate) struct Target {
    /// Column for each attribute this entity has (`NULL` for the others).
    column: fn(Attribute) -> &'static str,
    tags: Child,
    params: Option<Child>,
    metrics: Option<Child>,
    /// MLflow's client appends `tags.mlflow.prompt.is_prompt != 'true'` to
    /// every registered-model search, so on registry entities `!=` also
    /// matches entities that lack the tag; on runs it needs the tag.
    ne_matches_absent_tag: bool,
    /// Whether `datasets.*` keys exist (runs only).
    datasets: bool,
    /// The tie-breaking order after any requested one.
    default_order: &'static str,
}

pub(crate) const RUNS: Target = Target {
    column: |a| match a {
        Attribute::RunId => "r.run_uuid",
        Attribute::RunName | Attribute::Name => "r.name",
        Attribute::Status => "r.status",
        Attribute::UserId => "r.user_id",
        Attribute::ArtifactUri => "r.artifact_uri",
        Attribute::StartTime | Attribute::CreationTime => "r.start_time",
        Attribute::EndTime | Attribute::LastUpdateTime => "r.end_time",
        Attribute::ExperimentId => "r.experiment_id",
        Attribute::VersionNumber | Attribute::SourcePath | Attribute::ModelId => "NULL",
    },
    tags: Child { table: "tags", link: "kv.run_uuid = r.run_uuid" },
    params: Some(Child { table: "params", link: "kv.run_uuid = r.run_uuid" }),
    metrics: Some(Child { table: "latest_metrics", link: "kv.run_uuid = r.run_uuid" }),
    ne_matches_absent_tag: false,
    datasets: true,
    default_order: "r.start_time DESC, r.run_uuid ASC",
};

pub(crate) const EXPERIMENTS: Target = Target {
    column: |a| match a {
        Attribute::Name => "e.name",
        Attribute::CreationTime => "e.creation_time",
        Attribute::LastUpdateTime => "e.last_update_time",
        Attribute::ExperimentId => "e.experiment_id",
        _ => "NULL",
    },
    tags: Child { table: "experiment_tags", link: "kv.experiment_id = e.experiment_id" },
    params: None,
    metrics: None,
    ne_matches_absent_tag: false,
    datasets: false,
    default_order: "e.creation_time DESC, e.experiment_id ASC",
};

pub(crate) const REGISTERED_MODELS: Target = Target {
    column: |a| match a {
        Attribute::Name => "rm.name",
        Attribute::CreationTime => "rm.creation_time",
        Attribute::LastUpdateTime => "rm.last_update_time",
        _ => "NULL",
    },
    tags: Child { table: "registered_model_tags", link: "kv.name = rm.name" },
    params: None,
    metrics: None,
    ne_matches_absent_tag: true,
    datasets: false,
    default_order: "rm.name ASC",
};

pub(crate) const MODEL_VERSIONS: Target = Target {
    column: |a| match a {
        Attribute::Name => "mv.name",
        Attribute::VersionNumber => "mv.version",
        Attribute::RunId => "mv.run_id",
        Attribute::SourcePath => "mv.source",
        Attribute::CreationTime => "mv.creation_time",
        Attribute::LastUpdateTime => "mv.last_update_time",
        _ => "NULL",
    },
    tags: Child {
        table: "model_version_tags",
        link: "kv.name = mv.name AND kv.version = mv.version",
    },
    params: None,
    metrics: None,
    ne_matches_absent_tag: true,
    datasets: false,
    default_order: "mv.name ASC, mv.version DESC",
};

pub(crate) const LOGGED_MODELS: Target = Target {
    column: |a| match a {
        Attribute::Name => "lm.name",
        Attribute::ModelId => "lm.model_id",
        Attribute::CreationTime => "lm.creation_time",
        Attribute::LastUpdateTime => "lm.last_update_time",
        _ => "NULL",
    },
    tags: Child { table: "logged_model_tags", link: "kv.model_id = lm.model_id" },
    params: Some(Child { table: "logged_model_params", link: "kv.model_id = lm.model_id" }),
    // A logged model's metrics are those of the run that logged it.
    metrics: Some(Child { table: "latest_metrics", link: "kv.run_uuid = lm.source_run_id" }),
    ne_matches_absent_tag: false,
    datasets: false,
    default_order: "lm.creation_time DESC, lm.model_id ASC",
};

/// `[NOT] EXISTS (a row of the child for this key [whose value compares])`.
fn kv_exists(sql: &mut Sql, negate: bool, child: Child, key: &str, compared: Option<(Op, &Value)>) {
    sql.push(if negate { " NOT EXISTS (" } else { " EXISTS (" });
    sql.push(&format!("SELECT 1 FROM {} kv WHERE {} AND kv.key = ", child.table, child.link))
        .arg(key);
    if let Some((op, value)) = compared {
        sql.push(" AND ");
        compare(sql, "kv.value", op, value);
    }
    sql.push(")");
}

/// A condition on a key-value child: `IS NULL` is "no row for the key".
fn key_value(sql: &mut Sql, child: Child, key: &str, op: Op, value: &Value) {
    let compared = (!matches!(op, Op::IsNull | Op::IsNotNull)).then_some((op, value));
    kv_exists(sql, op == Op::IsNull, child, key, compared);
}

fn dataset_condition(sql: &mut Sql, field: &str, op: Op, value: &Value) {
    sql.push(
        " EXISTS (SELECT 1 FROM run_inputs ri JOIN datasets d ON d.dataset_uuid = ri.dataset_uuid \
         WHERE ri.run_uuid = r.run_uuid AND ",
    );
    let expr = match field {
        "name" => "d.name",
        "digest" => "d.digest",
        _ => {
            "(SELECT t.value FROM run_input_tags t WHERE t.run_uuid = ri.run_uuid \
              AND t.dataset_uuid = ri.dataset_uuid AND t.key = 'mlflow.data.context')"
        }
    };
    compare(sql, expr, op, value);
    sql.push(")");
}

/// Appends ` AND <clause>` for every clause of the filter.
pub(crate) fn conditions(sql: &mut Sql, target: &Target, filter: &Filter) {
    for Clause { key, op, value } in &filter.clauses {
        sql.push(" AND");
        match key {
            Key::Tag(k) if *op == Op::Ne && target.ne_matches_absent_tag => {
                kv_exists(sql, true, target.tags, k, Some((Op::Eq, value)));
            }
            Key::Tag(k) => key_value(sql, target.tags, k, *op, value),
            Key::Param(k) => match target.params {
                Some(child) => key_value(sql, child, k, *op, value),
                None => {
                    sql.push(" 1 = 0");
                }
            },
            // NaN never compares: it is stored as a flag, not a value.
            Key::Metric(k) => match target.metrics {
                Some(child) => {
                    sql.push(&format!(
                        " EXISTS (SELECT 1 FROM {} kv WHERE {} AND kv.key = ",
                        child.table, child.link
                    ))
                    .arg(k.as_str())
                    .push(" AND kv.is_nan = 0 AND ");
                    compare(sql, "kv.value", *op, value);
                    sql.push(")");
                }
                None => {
                    sql.push(" 1 = 0");
                }
            },
            Key::Attribute(a) => {
                sql.push(" ");
                compare(sql, (target.column)(*a), *op, value);
            }
            Key::Dataset(field) if target.datasets => dataset_condition(sql, field, *op, value),
            Key::Dataset(_) => {
                sql.push(" 1 = 0");
            }
        }
    }
}

/// The value an ordering key sorts by: a column or a scalar sub-query.
fn order_value(sql: &mut Sql, target: &Target, key: &Key) {
    let child = match key {
        Key::Attribute(a) => {
            sql.push((target.column)(*a));
            return;
        }
        Key::Metric(k) => target.metrics.map(|c| (c, k)),
        Key::Param(k) => target.params.map(|c| (c, k)),
        Key::Tag(k) => Some((target.tags, k)),
        Key::Dataset(_) => None,
    };
    match child {
        Some((c, k)) => {
            sql.push(&format!(
                "(SELECT kv.value FROM {} kv WHERE {} AND kv.key = ",
                c.table, c.link
            ))
            .arg(k.as_str())
            .push(")");
        }
        None => {
            sql.push("NULL");
        }
    }
}

/// `ORDER BY` the requested keys with NULLs last in both directions (as
/// MLflow sorts), then the entity's default order as the tie-breaker.
/// (`NULLS LAST` needs SQLite 3.30, which the bundled library is newer than.)
pub(crate) fn order(sql: &mut Sql, target: &Target, order: &[OrderBy]) {
    sql.push(" ORDER BY ");
    for o in order {
        order_value(sql, target, &o.key);
        sql.push(if o.ascending { " ASC NULLS LAST, " } else { " DESC NULLS LAST, " });
    }
    sql.push(target.default_order);
}
