//! MLflow's `MLmodel` file: which flavors a model directory holds (with
//! their scalar settings, e.g. `data: model.lgb`) and its input signature.
//!
//! Read with a YAML parser because MLflow writes it with PyYAML, which
//! folds long values (a signature of 30 columns spans many lines).

use std::collections::BTreeMap;

use yaml_rust2::{Yaml, YamlLoader};

/// The parts of an `MLmodel` file serving needs.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Mlmodel {
    /// Flavor name → its scalar settings.
    pub(crate) flavors: BTreeMap<String, BTreeMap<String, String>>,
    /// `signature.inputs`: MLflow's column-spec JSON.
    pub(crate) signature_inputs: Option<String>,
}

impl Mlmodel {
    /// Parses the file's text.
    pub(crate) fn parse(text: &str) -> Result<Mlmodel, String> {
        let docs = YamlLoader::load_from_str(text).map_err(|e| format!("not YAML: {e}"))?;
        let Some(doc) = docs.into_iter().next() else { return Ok(Mlmodel::default()) };
        if doc.as_hash().is_none() {
            return Err("not a YAML mapping".into());
        }
        let mut flavors = BTreeMap::new();
        if let Some(map) = doc["flavors"].as_hash() {
            for (name, settings) in map {
                let Some(name) = name.as_str() else { continue };
                let mut fields = BTreeMap::new();
                if let Some(settings) = settings.as_hash() {
                    for (key, value) in settings {
                        if let (Some(key), Some(value)) = (key.as_str(), scalar(value)) {
                            fields.insert(key.to_string(), value);
                        }
                    }
                }
                flavors.insert(name.to_string(), fields);
            }
        }
        let signature_inputs = doc["signature"]["inputs"].as_str().map(str::to_string);
        Ok(Mlmodel { flavors, signature_inputs })
    }

    /// The settings of flavor `name`, when the model has it.
    pub(crate) fn flavor(&self, name: &str) -> Option<&BTreeMap<String, String>> {
        self.flavors.get(name)
    }

    /// The flavor names, comma-separated, for messages.
    pub(crate) fn flavor_names(&self) -> String {
        if self.flavors.is_empty() {
            return "none".into();
        }
        self.flavors.keys().cloned().collect::<Vec<_>>().join(", ")
    }
}

fn scalar(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The head of what `mlflow.lightgbm.log_model(booster, signature=…)` wrote (MLflow 3.17).
    const MLFLOW: &str = "artifact_path: /tmp/x/artifacts
flavors:
  lightgbm:
    code: null
    data: model.lgb
    lgb_version: 4.7.0
    model_class: lightgbm.basic.Booster
    skops_trusted_types:
    - lightgbm.basic.Booster
  python_function:
    data: model.lgb
    env:
      conda: conda.yaml
    loader_module: mlflow.lightgbm
signature:
  inputs: '[{\"type\": \"double\", \"name\": \"mean radius\", \"required\": true}, {\"type\":
    \"double\", \"name\": \"mean concave
    points\", \"required\": true}, {\"type\": \"double\", \"name\": \"it''s\", \"required\": true}]'
  outputs: '[{\"type\": \"tensor\", \"tensor-spec\": {\"dtype\": \"float64\", \"shape\": [-1]}}]'
";

    #[test]
    fn flavors_and_a_folded_signature_are_read() {
        let m = Mlmodel::parse(MLFLOW).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.flavor_names(), "lightgbm, python_function");
        let lgb = m.flavor("lightgbm").unwrap_or_else(|| panic!("no lightgbm flavor"));
        assert_eq!(lgb.get("data").map(String::as_str), Some("model.lgb"));
        assert_eq!(lgb.get("model_class").map(String::as_str), Some("lightgbm.basic.Booster"));
        assert!(!lgb.contains_key("code"), "null is not a setting");
        assert_eq!(
            m.signature_inputs.as_deref(),
            Some(
                "[{\"type\": \"double\", \"name\": \"mean radius\", \"required\": true}, {\"type\": \
                 \"double\", \"name\": \"mean concave points\", \"required\": true}, {\"type\": \
                 \"double\", \"name\": \"it's\", \"required\": true}]"
            )
        );
        assert_eq!(Mlmodel::parse("").unwrap_or_default(), Mlmodel::default());
        assert!(Mlmodel::parse("- a list").is_err());
        assert!(Mlmodel::parse("flavors: [unclosed").is_err());
    }
}
