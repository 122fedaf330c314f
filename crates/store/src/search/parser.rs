//! The parser for MLflow filter strings and `order_by` clauses: text in,
//! [`Filter`] / [`OrderBy`] out, with every key, comparator and value checked
//! against the entity being searched, so backends only ever see valid ASTs.
//!
//! It is a small hand-written scanner over the input's characters because no
//! crate parses MLflow's grammar (MLflow itself leans on Python's `sqlparse`
//! plus ad-hoc checks), and because errors must name the character position
//! where the input went wrong. Unquoted key names may hold letters, digits,
//! `_` and `.`; anything else is quoted with backticks or double quotes.

use super::{Attribute, Clause, Entity, Filter, Key, Op, OrderBy, SearchError, Value};

/// Parses a `search` filter such as `metrics.acc > 0.9 and tags.t = 'x'` for
/// `entity`. An empty or whitespace-only filter matches everything.
pub fn parse_filter(entity: Entity, input: &str) -> Result<Filter, SearchError> {
    let mut p = Parser::new(entity, Mode::Filter, input);
    let mut clauses = Vec::new();
    p.skip_ws();
    while !p.at_end() {
        if !clauses.is_empty() {
            let at = p.pos;
            let word = p.word();
            if word.eq_ignore_ascii_case("or") {
                return Err(
                    p.err_at(at, "'OR' is not supported, clauses can only be joined with 'AND'")
                );
            }
            if !word.eq_ignore_ascii_case("and") {
                return Err(p.err_at(at, "expected 'AND' or the end of the filter"));
            }
            p.skip_ws();
        }
        clauses.push(p.clause()?);
        p.skip_ws();
    }
    Ok(Filter { clauses })
}

/// Parses one `order_by` clause, `KEY [ASC|DESC]` (ascending by default).
pub fn parse_order_by(entity: Entity, input: &str) -> Result<OrderBy, SearchError> {
    let mut p = Parser::new(entity, Mode::OrderBy, input);
    p.skip_ws();
    let (key, _) = p.key()?;
    p.skip_ws();
    let at = p.pos;
    let ascending = match p.word().to_ascii_uppercase().as_str() {
        "" if p.at_end() => true,
        "ASC" => true,
        "DESC" => false,
        _ => return Err(p.err_at(at, "expected ASC, DESC or the end of the clause")),
    };
    p.skip_ws();
    if !p.at_end() {
        return Err(p.err_at(p.pos, "expected the end of the clause"));
    }
    Ok(OrderBy { key, ascending })
}

/// Which grammar is parsed: decides the error prefix and the allowed keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Filter,
    OrderBy,
}

const NUMERIC_OPS: &[Op] = &[Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge];
const STRING_OPS: &[Op] = &[Op::Eq, Op::Ne, Op::Like, Op::ILike, Op::In, Op::NotIn];
const NULLABLE_OPS: &[Op] =
    &[Op::Eq, Op::Ne, Op::Like, Op::ILike, Op::In, Op::NotIn, Op::IsNull, Op::IsNotNull];
const DATASET_FIELDS: &[&str] = &["name", "digest", "context"];

fn op_text(op: Op) -> &'static str {
    match op {
        Op::Eq => "=",
        Op::Ne => "!=",
        Op::Lt => "<",
        Op::Le => "<=",
        Op::Gt => ">",
        Op::Ge => ">=",
        Op::Like => "LIKE",
        Op::ILike => "ILIKE",
        Op::In => "IN",
        Op::NotIn => "NOT IN",
        Op::IsNull => "IS NULL",
        Op::IsNotNull => "IS NOT NULL",
    }
}

fn entity_text(entity: Entity) -> &'static str {
    match entity {
        Entity::Runs => "runs",
        Entity::Experiments => "experiments",
        Entity::RegisteredModels => "registered models",
        Entity::ModelVersions => "model versions",
        Entity::LoggedModels => "logged models",
    }
}

/// Canonical key prefixes allowed for `entity`.
fn prefixes(entity: Entity, mode: Mode) -> &'static [&'static str] {
    match (entity, mode) {
        (Entity::Runs, Mode::Filter) => &["metrics", "params", "tags", "attributes", "datasets"],
        (Entity::Runs, Mode::OrderBy) | (Entity::LoggedModels, _) => {
            &["metrics", "params", "tags", "attributes"]
        }
        _ => &["tags", "attributes"],
    }
}

/// Attribute spellings allowed for `entity`, comma-separated (one has a space).
fn attribute_names(entity: Entity, mode: Mode) -> &'static str {
    match (entity, mode) {
        (Entity::Runs, _) => {
            "run_id,run_name,Run name,run name,status,user_id,artifact_uri,\
             start_time,end_time,created"
        }
        (Entity::Experiments, _) => "name,creation_time,last_update_time,experiment_id",
        (Entity::RegisteredModels, Mode::Filter) => "name",
        (Entity::RegisteredModels, Mode::OrderBy) => {
            "name,timestamp,last_updated_timestamp,creation_timestamp"
        }
        (Entity::ModelVersions, Mode::Filter) => "name,version_number,run_id,source_path",
        (Entity::ModelVersions, Mode::OrderBy) => {
            "name,version_number,creation_timestamp,last_updated_timestamp"
        }
        (Entity::LoggedModels, _) => {
            "name,model_id,creation_time,creation_timestamp,\
             last_update_time,last_updated_timestamp"
        }
    }
}

/// What an attribute spelling means (whether the entity allows it is checked above).
fn attribute(name: &str) -> Option<Attribute> {
    use Attribute as A;
    Some(match name {
        "run_id" => A::RunId,
        "run_name" | "Run name" | "run name" => A::RunName,
        "status" => A::Status,
        "user_id" => A::UserId,
        "artifact_uri" => A::ArtifactUri,
        "start_time" | "created" => A::StartTime,
        "end_time" => A::EndTime,
        "name" => A::Name,
        "creation_time" | "creation_timestamp" => A::CreationTime,
        "last_update_time" | "last_updated_timestamp" | "timestamp" => A::LastUpdateTime,
        "experiment_id" => A::ExperimentId,
        "version_number" => A::VersionNumber,
        "source_path" => A::SourcePath,
        "model_id" => A::ModelId,
        _ => return None,
    })
}

/// Turns a parsed `prefix.name` (or bare `name`) into a [`Key`], or explains why not.
fn resolve_key(
    entity: Entity,
    mode: Mode,
    prefix: Option<&str>,
    name: &str,
) -> Result<Key, String> {
    let allowed = prefixes(entity, mode);
    let Some(prefix) = prefix else {
        if entity == Entity::Runs && mode == Mode::Filter {
            return Err(format!(
                "invalid key '{name}': run filter keys need a prefix, one of {}",
                allowed.join(", ")
            ));
        }
        return resolve_attribute(entity, mode, name);
    };
    let canonical = match prefix.to_ascii_lowercase().as_str() {
        "metrics" | "metric" => "metrics",
        "params" | "param" | "parameters" | "parameter" => "params",
        "tags" | "tag" => "tags",
        "attributes" | "attribute" | "attr" | "run" => "attributes",
        "datasets" | "dataset" => "datasets",
        _ => {
            return Err(format!(
                "invalid key prefix '{prefix}', expected one of {}",
                allowed.join(", ")
            ))
        }
    };
    if !allowed.contains(&canonical) {
        return Err(format!(
            "'{prefix}' keys are not supported for {}, expected one of {}",
            entity_text(entity),
            allowed.join(", ")
        ));
    }
    match canonical {
        "metrics" => Ok(Key::Metric(name.to_owned())),
        "params" => Ok(Key::Param(name.to_owned())),
        "tags" => Ok(Key::Tag(name.to_owned())),
        "datasets" if DATASET_FIELDS.contains(&name) => Ok(Key::Dataset(name.to_owned())),
        "datasets" => Err(format!(
            "invalid dataset key '{prefix}.{name}', expected one of {}",
            DATASET_FIELDS.join(", ")
        )),
        _ => resolve_attribute(entity, mode, name),
    }
}

fn resolve_attribute(entity: Entity, mode: Mode, name: &str) -> Result<Key, String> {
    let names = attribute_names(entity, mode);
    match attribute(name).filter(|_| names.split(',').any(|known| known == name)) {
        Some(attribute) => Ok(Key::Attribute(attribute)),
        None => Err(format!(
            "invalid attribute '{name}' for {}, expected one of {}",
            entity_text(entity),
            names.replace(',', ", ")
        )),
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// A cursor over the input's characters; positions are char indexes.
struct Parser<'a> {
    entity: Entity,
    mode: Mode,
    input: &'a str,
    chars: Vec<char>,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn new(entity: Entity, mode: Mode, input: &'a str) -> Self {
        Parser { entity, mode, input, chars: input.chars().collect(), pos: 0 }
    }

    fn label(&self) -> String {
        let what = if self.mode == Mode::Filter { "filter" } else { "order_by clause" };
        format!("Invalid {what} '{}'", self.input)
    }

    /// A semantic error: the input parsed but is not allowed.
    fn err(&self, explanation: &str) -> SearchError {
        SearchError { message: format!("{}: {explanation}", self.label()) }
    }

    /// A syntax error at char index `at`.
    fn err_at(&self, at: usize, expected: &str) -> SearchError {
        let near: String = self.chars.iter().skip(at).take(10).collect();
        SearchError {
            message: format!("{}: {expected} at position {at} (near '{near}')", self.label()),
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> String {
        let start = self.pos;
        while self.peek().is_some_and(&keep) {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    fn word(&mut self) -> String {
        self.take_while(is_word_char)
    }

    fn eat(&mut self, symbol: &str) -> bool {
        let n = symbol.chars().count();
        let matches = self
            .chars
            .get(self.pos..self.pos + n)
            .is_some_and(|s| s.iter().copied().eq(symbol.chars()));
        if matches {
            self.pos += n;
        }
        matches
    }

    /// A string in single or double quotes (or a backtick-quoted name): `None`
    /// when no quote starts here. A backslash escapes the quote or itself;
    /// other backslashes are kept (so `LIKE` escapes such as `\%` survive).
    fn quoted(&mut self, quotes: &[char]) -> Result<Option<String>, SearchError> {
        let Some(quote) = self.peek().filter(|c| quotes.contains(c)) else { return Ok(None) };
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(
                    self.err_at(start, &format!("expected a closing {quote} for the string"))
                );
            };
            let next = self.chars.get(self.pos + 1).copied();
            if c == quote {
                break;
            } else if c == '\\' && (next == Some(quote) || next == Some('\\')) {
                self.pos += 1;
            }
            out.push(self.chars[self.pos]);
            self.pos += 1;
        }
        self.pos += 1;
        Ok(Some(out))
    }

    /// A number such as `3`, `-2.5`, `1e-3`; `None` (consuming nothing) if there is none.
    fn number(&mut self) -> Option<f64> {
        let start = self.pos;
        let digits = |p: &mut Self| p.take_while(|c| c.is_ascii_digit()).len();
        if matches!(self.peek(), Some('-' | '+')) {
            self.pos += 1;
        }
        let mut count = digits(self);
        if self.peek() == Some('.') {
            self.pos += 1;
            count += digits(self);
        }
        if count > 0 && matches!(self.peek(), Some('e' | 'E')) {
            let mark = self.pos;
            self.pos += 1;
            if matches!(self.peek(), Some('-' | '+')) {
                self.pos += 1;
            }
            if digits(self) == 0 {
                self.pos = mark;
            }
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        let boundary = !self.peek().is_some_and(|c| is_word_char(c) || c == '.');
        match text.parse::<f64>() {
            Ok(n) if count > 0 && boundary => Some(n),
            _ => {
                self.pos = start;
                None
            }
        }
    }

    /// `prefix.name`, `prefix.`quoted name``, or a bare (possibly quoted) name.
    /// Returns the key and its text as written, for messages.
    fn key(&mut self) -> Result<(Key, String), SearchError> {
        let start = self.pos;
        let (prefix, name) = if let Some(name) = self.quoted(&['`', '"'])? {
            (None, name)
        } else {
            let word = self.word();
            if word.is_empty() {
                let expected = "expected a key such as metrics.<name>, tags.<name> or an attribute";
                return Err(self.err_at(start, expected));
            }
            if self.eat(".") {
                let name_at = self.pos;
                let name = match self.quoted(&['`', '"'])? {
                    Some(name) => name,
                    None => self.take_while(|c| is_word_char(c) || c == '.'),
                };
                if name.is_empty() {
                    return Err(self.err_at(name_at, &format!("expected a name after '{word}.'")));
                }
                (Some(word), name)
            } else {
                (None, word)
            }
        };
        let text: String = self.chars[start..self.pos].iter().collect();
        let key = resolve_key(self.entity, self.mode, prefix.as_deref(), &name)
            .map_err(|m| self.err(&m))?;
        Ok((key, text))
    }

    fn op(&mut self) -> Result<Op, SearchError> {
        let at = self.pos;
        for op in [Op::Ne, Op::Le, Op::Ge, Op::Eq, Op::Lt, Op::Gt] {
            if self.eat(op_text(op)) {
                return Ok(op);
            }
        }
        let op = match self.word().to_ascii_uppercase().as_str() {
            "LIKE" => Some(Op::Like),
            "ILIKE" => Some(Op::ILike),
            "IN" => Some(Op::In),
            "NOT" => (self.next_keyword() == "IN").then_some(Op::NotIn),
            "IS" => match self.next_keyword().as_str() {
                "NULL" => Some(Op::IsNull),
                "NOT" => (self.next_keyword() == "NULL").then_some(Op::IsNotNull),
                _ => None,
            },
            _ => None,
        };
        let expected = "expected a comparator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN, \
                        IS NULL, IS NOT NULL)";
        op.ok_or_else(|| self.err_at(at, expected))
    }

    /// The next word after whitespace, upper-cased (keywords are case-insensitive).
    fn next_keyword(&mut self) -> String {
        self.skip_ws();
        self.word().to_ascii_uppercase()
    }

    fn clause(&mut self) -> Result<Clause, SearchError> {
        let (key, text) = self.key()?;
        self.skip_ws();
        let op = self.op()?;
        let allowed = match &key {
            Key::Metric(_) => NUMERIC_OPS,
            Key::Attribute(a) if a.is_numeric() => NUMERIC_OPS,
            Key::Attribute(_) => STRING_OPS,
            Key::Param(_) | Key::Tag(_) | Key::Dataset(_) => NULLABLE_OPS,
        };
        if !allowed.contains(&op) {
            let names: Vec<&str> = allowed.iter().map(|op| op_text(*op)).collect();
            let why = format!(
                "comparator '{}' is not supported for {text}, expected one of {}",
                op_text(op),
                names.join(", ")
            );
            return Err(self.err(&why));
        }
        self.skip_ws();
        let value = self.value(&key, &text, op)?;
        Ok(Clause { key, op, value })
    }

    fn value(&mut self, key: &Key, text: &str, op: Op) -> Result<Value, SearchError> {
        let at = self.pos;
        match op {
            Op::IsNull | Op::IsNotNull => return Ok(Value::None),
            Op::In | Op::NotIn => return self.list(text).map(Value::List),
            _ => {}
        }
        let numeric =
            matches!(key, Key::Metric(_)) || matches!(key, Key::Attribute(a) if a.is_numeric());
        if !numeric {
            return self.quoted(&['\'', '"'])?.map(Value::Str).ok_or_else(|| {
                self.err_at(at, &format!("expected a quoted string value for {text}"))
            });
        }
        if let Some(n) = self.number() {
            return Ok(Value::Num(n));
        }
        if *key == Key::Attribute(Attribute::VersionNumber) {
            if let Some(Ok(n)) = self.quoted(&['\'', '"'])?.map(|s| s.trim().parse::<i64>()) {
                return Ok(Value::Num(n as f64));
            }
        }
        Err(self.err_at(at, &format!("expected a numeric value for {text}")))
    }

    /// `('a', "b", …)`: at least one quoted string.
    fn list(&mut self, text: &str) -> Result<Vec<String>, SearchError> {
        if !self.eat("(") {
            let expected = format!("expected '(' starting a list of quoted strings for {text}");
            return Err(self.err_at(self.pos, &expected));
        }
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            let Some(item) = self.quoted(&['\'', '"'])? else {
                let expected = format!("expected a quoted string in the list for {text}");
                return Err(self.err_at(self.pos, &expected));
            };
            items.push(item);
            self.skip_ws();
            if self.eat(")") {
                return Ok(items);
            }
            if !self.eat(",") {
                return Err(self.err_at(self.pos, "expected ',' or ')' in the list"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Attribute as A;
    use Entity::*;

    fn clauses(entity: Entity, input: &str) -> Vec<Clause> {
        parse_filter(entity, input).unwrap().clauses
    }

    fn one(entity: Entity, input: &str) -> Clause {
        let mut all = clauses(entity, input);
        assert_eq!(all.len(), 1, "{input}");
        all.remove(0)
    }

    fn error(entity: Entity, input: &str) -> String {
        parse_filter(entity, input).unwrap_err().message
    }

    fn order(entity: Entity, input: &str) -> OrderBy {
        parse_order_by(entity, input).unwrap()
    }

    fn order_error(entity: Entity, input: &str) -> String {
        parse_order_by(entity, input).unwrap_err().message
    }

    fn clause(key: Key, op: Op, value: Value) -> Clause {
        Clause { key, op, value }
    }

    fn s(text: &str) -> Value {
        Value::Str(text.to_owned())
    }

    fn tag(name: &str) -> Key {
        Key::Tag(name.to_owned())
    }

    #[test]
    fn empty_filter_matches_everything() {
        assert_eq!(parse_filter(Runs, "").unwrap(), Filter::default());
        assert_eq!(parse_filter(Experiments, "  \t\n ").unwrap(), Filter::default());
    }

    #[test]
    fn clauses_joined_by_and_in_any_case() {
        let got = clauses(Runs, "metrics.acc > 0.9 and params.model = 'gbm' AND tags.t LIKE '%a%'");
        assert_eq!(
            got,
            vec![
                clause(Key::Metric("acc".into()), Op::Gt, Value::Num(0.9)),
                clause(Key::Param("model".into()), Op::Eq, s("gbm")),
                clause(tag("t"), Op::Like, s("%a%")),
            ]
        );
        assert_eq!(clauses(Runs, "metrics.a=1 And metrics.b<=2").len(), 2);
        assert_eq!(clauses(Runs, "params.a='x'AND params.b='y'").len(), 2);
    }

    #[test]
    fn every_comparator() {
        for op in NUMERIC_OPS {
            let text = op_text(*op);
            let expected = clause(Key::Metric("m".into()), *op, Value::Num(1.0));
            assert_eq!(one(Runs, &format!("metrics.m {text} 1")), expected);
            assert_eq!(one(Runs, &format!("metrics.m{text}1")), expected);
        }
        assert_eq!(one(Runs, "tags.t like 'a%'"), clause(tag("t"), Op::Like, s("a%")));
        assert_eq!(one(Runs, "tags.t ILike 'A%'"), clause(tag("t"), Op::ILike, s("A%")));
        let list = Value::List(vec!["a".into(), "b".into()]);
        assert_eq!(one(Runs, "tags.t in ('a', \"b\")"), clause(tag("t"), Op::In, list.clone()));
        assert_eq!(one(Runs, "tags.t NOT  in('a','b')"), clause(tag("t"), Op::NotIn, list));
        assert_eq!(one(Runs, "tags.t IS NULL"), clause(tag("t"), Op::IsNull, Value::None));
        assert_eq!(one(Runs, "tags.t is not null"), clause(tag("t"), Op::IsNotNull, Value::None));
        assert_eq!(one(Runs, "params.p IS NULL").op, Op::IsNull);
        assert_eq!(one(Runs, "datasets.digest IS NOT NULL").op, Op::IsNotNull);
    }

    #[test]
    fn prefix_aliases_are_case_insensitive() {
        for (input, key) in [
            ("metric.m = 1", Key::Metric("m".into())),
            ("METRICS.m = 1", Key::Metric("m".into())),
            ("param.p = 'x'", Key::Param("p".into())),
            ("parameters.p = 'x'", Key::Param("p".into())),
            ("Parameter.p = 'x'", Key::Param("p".into())),
            ("tag.t = 'x'", tag("t")),
            ("attribute.status = 'x'", Key::Attribute(A::Status)),
            ("attr.run_id = 'x'", Key::Attribute(A::RunId)),
            ("run.user_id = 'x'", Key::Attribute(A::UserId)),
            ("dataset.name = 'x'", Key::Dataset("name".into())),
            ("datasets.context = 'x'", Key::Dataset("context".into())),
        ] {
            assert_eq!(one(Runs, input).key, key, "{input}");
        }
    }

    #[test]
    fn dotted_and_quoted_names() {
        assert_eq!(one(Runs, "tags.mlflow.runName = 'r'").key, tag("mlflow.runName"));
        assert_eq!(one(Runs, "metrics.`my metric` > 1").key, Key::Metric("my metric".into()));
        assert_eq!(one(Runs, "params.\"a b\" = 'x'").key, Key::Param("a b".into()));
        assert_eq!(one(Runs, "tags.`a.b=c` = 'x'").key, tag("a.b=c"));
        for name in ["run_name", "`Run name`", "\"run name\""] {
            let got = one(Runs, &format!("attributes.{name} = 'x'"));
            assert_eq!(got.key, Key::Attribute(A::RunName), "{name}");
        }
        assert_eq!(one(Runs, "attributes.created > 5").key, Key::Attribute(A::StartTime));
    }

    #[test]
    fn numbers() {
        for (text, n) in [("3", 3.0), ("-2.5", -2.5), ("1e-3", 1e-3), ("+4", 4.0), (".5", 0.5)] {
            assert_eq!(one(Runs, &format!("metrics.m >= {text}")).value, Value::Num(n), "{text}");
        }
        assert_eq!(one(Runs, "metrics.m < 2E2").value, Value::Num(200.0));
        assert_eq!(one(Runs, "attributes.start_time > 1700000000000").value, Value::Num(1.7e12));
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(one(Runs, r"params.p = 'it\'s'").value, s("it's"));
        assert_eq!(one(Runs, r#"params.p = "say \"hi\"""#).value, s("say \"hi\""));
        assert_eq!(one(Runs, r"tags.t LIKE '50\%'").value, s(r"50\%"));
        assert_eq!(one(Runs, r"tags.t = 'a\\'").value, s(r"a\"));
        assert_eq!(one(Runs, "tags.t = 'ünï çødé'").value, s("ünï çødé"));
        let both = clauses(Runs, "tags.t = 'and or' and tags.u = ''");
        assert_eq!((&both[0].value, &both[1].value), (&s("and or"), &s("")));
    }

    #[test]
    fn or_is_rejected() {
        let e = error(Runs, "metrics.a > 1 OR metrics.b > 2");
        assert!(e.contains("'OR' is not supported"), "{e}");
        assert!(e.contains("at position 14 (near 'OR metrics')"), "{e}");
        assert!(error(Runs, "metrics.a > 1 or metrics.b > 2").contains("'OR' is not supported"));
    }

    #[test]
    fn syntax_errors_name_the_position() {
        assert_eq!(
            error(Runs, "params.p = 'abc"),
            "Invalid filter 'params.p = 'abc': \
             expected a closing ' for the string at position 11 (near ''abc')"
        );
        assert!(error(Runs, "tags.t = 'ü' x").contains("at position 13 (near 'x')"));
        for (input, expected, at) in [
            ("metrics.m >", "expected a numeric value for metrics.m", 11),
            ("metrics.m ~ 1", "expected a comparator", 10),
            ("metrics.m == 1", "expected a numeric value for metrics.m", 11),
            ("metrics.m > 1 extra", "expected 'AND' or the end of the filter", 14),
            ("metrics.m > 1abc", "expected a numeric value for metrics.m", 12),
            ("metrics.m > 1 and", "expected a key", 17),
            ("metrics. > 1", "expected a name after 'metrics.'", 8),
            ("metrics.`m > 1", "expected a closing `", 8),
            ("= 1", "expected a key", 0),
            ("tags.t IS 'x'", "expected a comparator", 7),
            ("tags.t NOT LIKE 'x'", "expected a comparator", 7),
            ("tags.t IN 'a'", "expected '(' starting a list", 10),
            ("tags.t IN ()", "expected a quoted string in the list for tags.t", 11),
            ("tags.t IN ('a' 'b')", "expected ',' or ')'", 15),
            ("tags.t IN ('a',", "expected a quoted string in the list", 15),
            ("params.p = x", "expected a quoted string value for params.p", 11),
            ("metrics.m = '1'", "expected a numeric value for metrics.m", 12),
        ] {
            let e = error(Runs, input);
            assert!(e.starts_with(&format!("Invalid filter '{input}': ")), "{e}");
            assert!(e.contains(expected), "{input}: {e}");
            assert!(e.contains(&format!("at position {at} (near '")), "{input}: {e}");
        }
    }

    #[test]
    fn type_errors_name_the_key() {
        for (input, expected) in [
            ("params.p = 1", "expected a quoted string value for params.p"),
            ("datasets.name = 3", "expected a quoted string value for datasets.name"),
            ("attributes.status = 1", "expected a quoted string value for attributes.status"),
            ("attributes.end_time = 'x'", "expected a numeric value for attributes.end_time"),
            ("metrics.m LIKE '1'", "comparator 'LIKE' is not supported for metrics.m"),
            ("metrics.`x y` IS NULL", "comparator 'IS NULL' is not supported for metrics.`x y`"),
            ("attributes.status < 'a'", "comparator '<' is not supported for attributes.status"),
            ("attributes.start_time IN ('1')", "comparator 'IN' is not supported"),
            ("params.p > 'a'", "comparator '>' is not supported for params.p"),
        ] {
            let e = error(Runs, input);
            assert!(e.starts_with(&format!("Invalid filter '{input}': ")), "{e}");
            assert!(e.contains(expected), "{input}: {e}");
        }
    }

    #[test]
    fn key_errors() {
        let e = error(Runs, "status = 'FINISHED'");
        assert!(e.contains("invalid key 'status': run filter keys need a prefix"), "{e}");
        assert!(e.contains("metrics, params, tags, attributes, datasets"), "{e}");
        assert!(error(Runs, "foo.bar = 'x'").contains("invalid key prefix 'foo'"));
        let e = error(Runs, "attributes.nope = 'x'");
        assert!(
            e.contains("invalid attribute 'nope' for runs, expected one of run_id, run_"),
            "{e}"
        );
        let e = error(Runs, "datasets.size = 'x'");
        assert!(e.contains("expected one of name, digest, context"), "{e}");
        let e = error(Experiments, "metrics.m > 1");
        assert!(
            e.contains("'metrics' keys are not supported for experiments, expected one of tags")
        );
        assert!(error(RegisteredModels, "params.p = 'x'").contains("not supported for registered"));
        assert!(error(ModelVersions, "datasets.name = 'x'").contains("not supported for model"));
        assert!(error(LoggedModels, "datasets.name = 'x'").contains("not supported for logged"));
    }

    #[test]
    fn other_entities() {
        let name = Key::Attribute(A::Name);
        assert_eq!(one(Experiments, "name LIKE 'exp%'"), clause(name.clone(), Op::Like, s("exp%")));
        assert_eq!(one(Experiments, "attributes.creation_time > 5").value, Value::Num(5.0));
        assert_eq!(one(Experiments, "tags.owner = 'me'").key, tag("owner"));
        assert_eq!(one(Experiments, "experiment_id IN ('1', '2')").op, Op::In);
        assert_eq!(one(RegisteredModels, "name = 'm'").key, name);
        assert!(error(RegisteredModels, "creation_timestamp > 1").contains("expected one of name"));
        let mv = clauses(ModelVersions, "name = 'm' and version_number = '3' and run_id IN ('r')");
        assert_eq!(mv[0].key, name);
        assert_eq!(mv[1], clause(Key::Attribute(A::VersionNumber), Op::Eq, Value::Num(3.0)));
        assert_eq!(mv[2].key, Key::Attribute(A::RunId));
        assert_eq!(one(ModelVersions, "version_number >= 2").value, Value::Num(2.0));
        assert_eq!(one(ModelVersions, "source_path = 's3://b'").key, Key::Attribute(A::SourcePath));
        let e = error(ModelVersions, "version_number = 'x'");
        assert!(e.contains("expected a numeric value for version_number at position 17"), "{e}");
        let lm = clauses(
            LoggedModels,
            "metrics.acc > 0.5 and params.lr = '0.1' and model_id = 'm' and creation_timestamp > 0",
        );
        assert_eq!(lm[0].key, Key::Metric("acc".into()));
        assert_eq!(lm[1].key, Key::Param("lr".into()));
        assert_eq!(lm[2].key, Key::Attribute(A::ModelId));
        assert_eq!(lm[3].key, Key::Attribute(A::CreationTime));
        assert_eq!(
            one(LoggedModels, "last_update_time < 9").key,
            Key::Attribute(A::LastUpdateTime)
        );
    }

    #[test]
    fn order_by_keys_and_directions() {
        let m = Key::Metric("acc".into());
        assert_eq!(order(Runs, "metrics.acc"), OrderBy { key: m.clone(), ascending: true });
        assert_eq!(
            order(Runs, " metrics.acc  DESC "),
            OrderBy { key: m.clone(), ascending: false }
        );
        assert_eq!(order(Runs, "metrics.acc asc"), OrderBy { key: m, ascending: true });
        assert!(!order(Runs, "metrics.`my metric` desc").ascending);
        assert_eq!(order(Runs, "params.\"a b\" Desc").key, Key::Param("a b".into()));
        assert_eq!(order(Runs, "tags.mlflow.runName").key, tag("mlflow.runName"));
        for (entity, input, attribute) in [
            (Runs, "attributes.start_time DESC", A::StartTime),
            (Runs, "start_time DESC", A::StartTime),
            (Runs, "`Run name`", A::RunName),
            (Experiments, "experiment_id", A::ExperimentId),
            (Experiments, "last_update_time DESC", A::LastUpdateTime),
            (RegisteredModels, "timestamp", A::LastUpdateTime),
            (RegisteredModels, "creation_timestamp", A::CreationTime),
            (ModelVersions, "version_number DESC", A::VersionNumber),
            (ModelVersions, "last_updated_timestamp", A::LastUpdateTime),
            (LoggedModels, "attributes.model_id", A::ModelId),
        ] {
            assert_eq!(order(entity, input).key, Key::Attribute(attribute), "{input}");
        }
        assert_eq!(order(LoggedModels, "metrics.acc").key, Key::Metric("acc".into()));
    }

    #[test]
    fn order_by_errors() {
        assert_eq!(
            order_error(Runs, "metrics.acc DESC x"),
            "Invalid order_by clause 'metrics.acc DESC x': \
             expected the end of the clause at position 17 (near 'x')"
        );
        let e = order_error(Runs, "metrics.acc sideways");
        assert!(e.contains("expected ASC, DESC or the end of the clause at position 12"), "{e}");
        assert!(
            order_error(Runs, "metrics.acc, params.p").contains("position 11 (near ', params.p')")
        );
        assert!(order_error(Runs, "").contains("expected a key such as"));
        assert!(order_error(Runs, "datasets.name").contains("'datasets' keys are not supported"));
        assert!(order_error(Experiments, "metrics.acc").contains("not supported for experiments"));
        let e = order_error(RegisteredModels, "version_number");
        assert!(
            e.starts_with("Invalid order_by clause 'version_number': invalid attribute"),
            "{e}"
        );
        assert!(e.contains("expected one of name, timestamp"), "{e}");
        assert!(order_error(ModelVersions, "run_id").contains("invalid attribute 'run_id'"));
    }
}
