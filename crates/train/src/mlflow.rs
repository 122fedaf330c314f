//! The few pieces of MLflow's file formats a model or dataset record needs:
//! column-spec schemas and YAML scalars.

/// MLflow's column-spec JSON, as `mlflow.types.Schema.to_json()` writes it:
/// `[{"type": "double", "name": "x", "required": true}, ...]`.
pub fn colspec_json<'a>(columns: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let specs: Vec<String> = columns
        .into_iter()
        .map(|(name, ty)| {
            format!(
                "{{\"type\": {}, \"name\": {}, \"required\": true}}",
                serde_json::Value::from(ty),
                serde_json::Value::from(name)
            )
        })
        .collect();
    format!("[{}]", specs.join(", "))
}

/// A YAML scalar: plain when it cannot be misread (letters, digits, `_.-`,
/// starting with a letter, not a YAML 1.1 boolean or null), else single-quoted.
pub fn yaml_quote(s: &str) -> String {
    const KEYWORDS: [&str; 11] =
        ["y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf"];
    let plain = s.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && !KEYWORDS.contains(&s.to_ascii_lowercase().as_str());
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colspec_is_mlflow_json() {
        assert_eq!(
            colspec_json([("a", "double"), ("y", "string")]),
            r#"[{"type": "double", "name": "a", "required": true}, {"type": "string", "name": "y", "required": true}]"#
        );
    }

    #[test]
    fn yaml_scalars_are_quoted_only_when_needed() {
        assert_eq!(yaml_quote("model"), "model");
        assert_eq!(yaml_quote("Yes"), "'Yes'");
        assert_eq!(yaml_quote("0.1.0"), "'0.1.0'");
        assert_eq!(yaml_quote("it's"), "'it''s'");
        assert_eq!(yaml_quote(""), "''");
    }
}
