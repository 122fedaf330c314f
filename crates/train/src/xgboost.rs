//! XGBoost's JSON model format (`booster.save_model("model.json")`, and the
//! `model.json` MLflow's xgboost flavor writes with `model_format="json"`),
//! read and predicted in pure Rust so that a model trained in Python is
//! served without Python.
//!
//! Written by hand because no maintained crate evaluates XGBoost's JSON
//! format without linking libxgboost. The arithmetic follows XGBoost's CPU
//! predictor: features and thresholds are `f32`, a row goes left when
//! `value < threshold` and takes the node's default direction when the value
//! is missing, leaf values are summed in `f32` onto the base margin, and the
//! objective's transform (sigmoid, softmax, exp) is applied in `f32`.

use serde::Deserialize;

use crate::{Error, Result};

/// How margins become predictions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objective {
    /// `binary:logistic`, `reg:logistic`: sigmoid of the margin.
    Logistic,
    /// `binary:logitraw`: the margin itself (base score given as a probability).
    LogitRaw,
    /// `reg:squarederror` and the other identity-link regressions.
    Identity,
    /// `count:poisson`, `reg:gamma`, `reg:tweedie`: exp of the margin.
    Exp,
    /// `multi:softprob`, `multi:softmax`: softmax over the classes' margins.
    Softmax,
}

impl Objective {
    fn parse(name: &str) -> Result<Objective> {
        Ok(match name {
            "binary:logistic" | "reg:logistic" => Objective::Logistic,
            "binary:logitraw" => Objective::LogitRaw,
            "reg:squarederror" | "reg:squaredlogerror" | "reg:absoluteerror"
            | "reg:pseudohubererror" | "reg:quantileerror" => Objective::Identity,
            "count:poisson" | "reg:gamma" | "reg:tweedie" => Objective::Exp,
            "multi:softprob" | "multi:softmax" => Objective::Softmax,
            other => {
                return Err(Error::ModelFile(format!(
                    "xgboost objective '{other}' is not supported (binary:logistic, binary:logitraw, \
                     reg:*, count:poisson, reg:gamma, reg:tweedie, multi:softprob, multi:softmax are)"
                )))
            }
        })
    }

    /// The base score as XGBoost stores it (in output space) turned into a margin.
    fn base_margin(self, score: f32) -> f32 {
        match self {
            Objective::Logistic | Objective::LogitRaw => (score / (1.0 - score)).ln(),
            Objective::Exp => score.ln(),
            Objective::Identity | Objective::Softmax => score,
        }
    }
}

/// One regression tree in XGBoost's array layout.
#[derive(Debug, Clone, PartialEq)]
struct Tree {
    left: Vec<i32>,
    right: Vec<i32>,
    feature: Vec<u32>,
    /// The split threshold, or the leaf value on leaves.
    value: Vec<f32>,
    default_left: Vec<bool>,
}

impl Tree {
    fn leaf(&self, row: &[f32]) -> f32 {
        let mut node = 0usize;
        loop {
            let left = self.left[node];
            if left < 0 {
                return self.value[node];
            }
            let x = row.get(self.feature[node] as usize).copied().unwrap_or(f32::NAN);
            let go_left = if x.is_nan() { self.default_left[node] } else { x < self.value[node] };
            // Indices were checked at load: children are in range.
            node = if go_left { left as usize } else { self.right[node] as usize };
        }
    }
}

/// An XGBoost booster, ready to predict.
#[derive(Debug, Clone, PartialEq)]
pub struct XgbModel {
    objective: Objective,
    feature_names: Vec<String>,
    /// One output per class for softmax, else one.
    outputs: usize,
    base_margin: Vec<f32>,
    trees: Vec<Tree>,
    /// The output each tree adds to.
    tree_output: Vec<usize>,
}

impl XgbModel {
    /// Reads XGBoost's JSON model text.
    pub fn from_json(text: &str) -> Result<XgbModel> {
        let bad = |why: String| Error::ModelFile(format!("xgboost model: {why}"));
        let file: raw::File = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        let learner = file.learner;
        let objective = Objective::parse(&learner.objective.name)?;
        let params = &learner.learner_model_param;
        let number = |what: &str, s: &str| -> Result<usize> {
            s.trim().parse().map_err(|_| bad(format!("{what} '{s}' is not a whole number")))
        };
        if number("num_target", &params.num_target)? > 1 {
            return Err(bad("multi-target models are not supported".into()));
        }
        let num_class = number("num_class", &params.num_class)?;
        let outputs = if objective == Objective::Softmax { num_class.max(1) } else { 1 };
        let scores: Vec<f32> = params
            .base_score
            .trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .split(',')
            .map(|s| s.trim().parse::<f32>().map_err(|_| bad(format!("base_score '{s}'"))))
            .collect::<Result<_>>()?;
        let base_margin: Vec<f32> = match scores.as_slice() {
            [one] => vec![objective.base_margin(*one); outputs],
            many if many.len() == outputs => {
                many.iter().map(|s| objective.base_margin(*s)).collect()
            }
            many => {
                return Err(bad(format!("{} base scores for {outputs} outputs", many.len())));
            }
        };
        let model = learner.gradient_booster.model;
        if model.trees.len() != model.tree_info.len() {
            return Err(bad("tree_info does not have one entry per tree".into()));
        }
        let num_feature = number("num_feature", &params.num_feature)?;
        let mut trees = Vec::with_capacity(model.trees.len());
        for (i, t) in model.trees.into_iter().enumerate() {
            trees.push(check_tree(i, t, num_feature).map_err(bad)?);
        }
        if let Some(out) = model.tree_info.iter().find(|&&o| o >= outputs) {
            return Err(bad(format!("a tree adds to output {out} of {outputs}")));
        }
        let feature_names = if learner.feature_names.is_empty() {
            (0..num_feature).map(|i| format!("f{i}")).collect()
        } else {
            learner.feature_names
        };
        Ok(XgbModel {
            objective,
            feature_names,
            outputs,
            base_margin,
            trees,
            tree_output: model.tree_info,
        })
    }

    /// Feature names in the order rows must give them (`f0, f1, …` when the
    /// model was trained without names).
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// The objective's link.
    pub fn objective(&self) -> Objective {
        self.objective
    }

    /// Values per prediction: the number of classes for softmax, else 1.
    pub fn outputs(&self) -> usize {
        self.outputs
    }

    /// The raw margins of one row (NaN = missing), as `output_margin=True`.
    pub fn margin(&self, row: &[f64]) -> Vec<f64> {
        let row: Vec<f32> = row.iter().map(|&x| x as f32).collect();
        let mut sums = self.base_margin.clone();
        for (tree, &out) in self.trees.iter().zip(&self.tree_output) {
            sums[out] += tree.leaf(&row);
        }
        sums.into_iter().map(f64::from).collect()
    }

    /// What XGBoost's `predict` gives for one row: the probability of class 1
    /// (logistic), the class probabilities (softmax), or the value.
    pub fn predict(&self, row: &[f64]) -> Vec<f64> {
        let margins: Vec<f32> = self.margin(row).into_iter().map(|m| m as f32).collect();
        let out: Vec<f32> = match self.objective {
            Objective::Logistic => margins.iter().map(|&m| 1.0 / (1.0 + (-m).exp())).collect(),
            Objective::LogitRaw | Objective::Identity => margins,
            Objective::Exp => margins.iter().map(|&m| m.exp()).collect(),
            Objective::Softmax => {
                let max = margins.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let exps: Vec<f32> = margins.iter().map(|&m| (m - max).exp()).collect();
                let sum: f32 = exps.iter().sum();
                exps.into_iter().map(|e| e / sum).collect()
            }
        };
        out.into_iter().map(f64::from).collect()
    }
}

/// Checks one tree's arrays agree and every child and feature is in range.
fn check_tree(i: usize, t: raw::Tree, num_feature: usize) -> std::result::Result<Tree, String> {
    let n = t.left_children.len();
    let lens = [t.right_children.len(), t.split_indices.len(), t.split_conditions.len()];
    if n == 0 || lens.iter().any(|&l| l != n) || t.default_left.len() != n {
        return Err(format!("tree {i}: its node arrays differ in length"));
    }
    if t.split_type.iter().any(|&s| s != 0) {
        return Err(format!(
            "tree {i} has categorical splits, which are not supported (train with one-hot features)"
        ));
    }
    for node in 0..n {
        let (l, r) = (t.left_children[node], t.right_children[node]);
        if l < 0 {
            continue;
        }
        let in_range = |c: i32| c > 0 && (c as usize) < n && c as usize > node;
        if !in_range(l) || !in_range(r) {
            return Err(format!("tree {i} node {node}: children {l}, {r} out of range"));
        }
        if t.split_indices[node] as usize >= num_feature {
            return Err(format!(
                "tree {i} node {node}: feature {} of {num_feature}",
                t.split_indices[node]
            ));
        }
    }
    Ok(Tree {
        left: t.left_children,
        right: t.right_children,
        feature: t.split_indices,
        value: t.split_conditions,
        default_left: t.default_left.into_iter().map(|d| d != 0).collect(),
    })
}

/// The parts of XGBoost's JSON schema prediction reads.
mod raw {
    use super::Deserialize;

    #[derive(Deserialize)]
    pub(super) struct File {
        pub(super) learner: Learner,
    }

    #[derive(Deserialize)]
    pub(super) struct Learner {
        #[serde(default)]
        pub(super) feature_names: Vec<String>,
        pub(super) gradient_booster: Booster,
        pub(super) learner_model_param: Params,
        pub(super) objective: Objective,
    }

    #[derive(Deserialize)]
    pub(super) struct Params {
        pub(super) base_score: String,
        pub(super) num_class: String,
        pub(super) num_feature: String,
        #[serde(default = "one")]
        pub(super) num_target: String,
    }

    fn one() -> String {
        "1".into()
    }

    #[derive(Deserialize)]
    pub(super) struct Objective {
        pub(super) name: String,
    }

    #[derive(Deserialize)]
    pub(super) struct Booster {
        pub(super) model: Model,
    }

    #[derive(Deserialize)]
    pub(super) struct Model {
        pub(super) trees: Vec<Tree>,
        pub(super) tree_info: Vec<usize>,
    }

    #[derive(Deserialize)]
    pub(super) struct Tree {
        pub(super) left_children: Vec<i32>,
        pub(super) right_children: Vec<i32>,
        pub(super) split_indices: Vec<u32>,
        pub(super) split_conditions: Vec<f32>,
        pub(super) default_left: Vec<u8>,
        #[serde(default)]
        pub(super) split_type: Vec<u8>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, model: &str, reference: &str) {
        let model = XgbModel::from_json(model).unwrap_or_else(|e| panic!("{name}: {e}"));
        let reference: serde_json::Value = serde_json::from_str(reference).unwrap_or_default();
        let features: Vec<&str> = reference["features"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str())
            .collect();
        assert_eq!(model.feature_names(), features.as_slice(), "{name}");
        let rows = reference["rows"].as_array().cloned().unwrap_or_default();
        assert!(rows.len() >= 40, "{name}: fixture has {} rows", rows.len());
        let as_vec = |v: &serde_json::Value| -> Vec<f64> {
            match v {
                serde_json::Value::Array(a) => {
                    a.iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect()
                }
                x => vec![x.as_f64().unwrap_or(f64::NAN)],
            }
        };
        let mut missing = 0;
        for (i, row) in rows.iter().enumerate() {
            let row = as_vec(row);
            missing += row.iter().filter(|x| x.is_nan()).count();
            for (what, got, want) in [
                ("margin", model.margin(&row), as_vec(&reference["margin"][i])),
                ("prediction", model.predict(&row), as_vec(&reference["predictions"][i])),
            ] {
                // XGBClassifier.predict_proba gives both classes of a binary model.
                let want = if want.len() == 2 && got.len() == 1 { vec![want[1]] } else { want };
                assert_eq!(got.len(), want.len(), "{name} row {i} {what}");
                for (g, w) in got.iter().zip(&want) {
                    assert!(
                        (g - w).abs() <= 1e-6 * w.abs().max(1.0),
                        "{name} row {i} {what}: {g} vs {w}"
                    );
                }
            }
        }
        assert!(missing > 0, "{name}: the fixture exercises no missing value");
    }

    #[test]
    fn predictions_equal_xgboost_on_every_task() {
        check(
            "binary",
            include_str!("../test_data/xgboost/binary.json"),
            include_str!("../test_data/xgboost/binary_reference.json"),
        );
        check(
            "multiclass",
            include_str!("../test_data/xgboost/multiclass.json"),
            include_str!("../test_data/xgboost/multiclass_reference.json"),
        );
        check(
            "regression",
            include_str!("../test_data/xgboost/regression.json"),
            include_str!("../test_data/xgboost/regression_reference.json"),
        );
    }

    #[test]
    fn models_it_cannot_predict_are_refused_by_name() {
        let binary = include_str!("../test_data/xgboost/binary.json");
        for (from, to, want) in [
            ("binary:logistic", "rank:pairwise", "objective 'rank:pairwise' is not supported"),
            (
                "\"split_type\":[0,0,0,0,0,0,0,0,0,0,0,0,0]",
                "\"split_type\":[1,0,0,0,0,0,0,0,0,0,0,0,0]",
                "categorical",
            ),
            ("\"left_children\":[1,", "\"left_children\":[99,", "out of range"),
        ] {
            assert!(binary.contains(from), "fixture lacks {from}");
            let err = XgbModel::from_json(&binary.replacen(from, to, 1)).unwrap_err().to_string();
            assert!(err.contains(want), "{err}");
        }
        let err = XgbModel::from_json("{\"learner\": 3}").unwrap_err().to_string();
        assert!(err.starts_with("invalid model file: xgboost model:"), "{err}");
    }
}
