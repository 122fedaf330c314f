//! The tree learners: gradient boosting ([`Gbm`]) and a random forest
//! ([`Forest`], LightGBM's `boosting=rf`), both trained by LightGBM and
//! predicted by lathe's own tree walker.

use lathe_core::{FeatureMatrix, Param, RunRecorder, Target};
use serde_json::{json, Map, Value};

use crate::lightgbm::{ClassWeight, LgbmFit};
use crate::{Error, Result, TabularLearner, TabularModel};

fn param(key: &str, value: impl ToString) -> Param {
    Param { key: key.to_string(), value: value.to_string() }
}

fn parse<T: std::str::FromStr>(
    name: &'static str,
    value: &str,
    expected: &'static str,
) -> Result<T> {
    value.trim().parse().map_err(|_| Error::InvalidParameter {
        name,
        value: value.into(),
        expected,
    })
}

fn fraction(name: &'static str, value: &str) -> Result<f64> {
    let v: f64 = parse(name, value, "a number in (0, 1]")?;
    if v > 0.0 && v <= 1.0 {
        Ok(v)
    } else {
        Err(Error::InvalidParameter { name, value: value.into(), expected: "a number in (0, 1]" })
    }
}

fn class_weight(value: &str) -> Result<ClassWeight> {
    match value.trim() {
        "balanced" => Ok(ClassWeight::Balanced),
        "none" => Ok(ClassWeight::None),
        _ => Err(Error::InvalidParameter {
            name: "class_weight",
            value: value.into(),
            expected: "'balanced' or 'none'",
        }),
    }
}

/// Gradient-boosted trees, fitted by LightGBM with its defaults
/// (histograms of 255 bins, 31 leaves, learning rate 0.1, 100 rounds).
///
/// With a validation set it stops after `early_stopping_rounds` rounds
/// without improvement of the validation loss and keeps the best round.
#[derive(Debug, Clone, PartialEq)]
pub struct Gbm {
    /// Boosting rounds (at most, with early stopping).
    pub num_iterations: usize,
    /// Shrinkage per round.
    pub learning_rate: f64,
    /// Leaves per tree.
    pub num_leaves: usize,
    /// Minimum rows per leaf (LightGBM pre-filters features with it, so it
    /// cannot go below its default of 20 through these bindings).
    pub min_data_in_leaf: usize,
    /// Share of features tried per tree.
    pub feature_fraction: f64,
    /// Share of rows per bagging round (1 = no bagging).
    pub bagging_fraction: f64,
    /// Bag every k rounds (0 = never).
    pub bagging_freq: usize,
    /// L1 penalty on leaf values.
    pub lambda_l1: f64,
    /// L2 penalty on leaf values.
    pub lambda_l2: f64,
    /// Rounds without validation improvement before stopping (`None`: never).
    pub early_stopping_rounds: Option<usize>,
    /// Class weights for classifiers.
    pub class_weight: ClassWeight,
    /// Seed for bagging and feature sampling.
    pub seed: u64,
    /// Threads for training (0: OpenMP's default, all cores). LightGBM
    /// bins the dataset before these parameters reach it, with OpenMP's
    /// default count: cap that with `OMP_NUM_THREADS`.
    pub num_threads: usize,
}

impl Default for Gbm {
    fn default() -> Self {
        Gbm {
            num_iterations: 100,
            learning_rate: 0.1,
            num_leaves: 31,
            min_data_in_leaf: 20,
            feature_fraction: 1.0,
            bagging_fraction: 1.0,
            bagging_freq: 0,
            lambda_l1: 0.0,
            lambda_l2: 0.0,
            early_stopping_rounds: Some(20),
            class_weight: ClassWeight::None,
            seed: 0,
            num_threads: 0,
        }
    }
}

impl Gbm {
    /// Sets one hyperparameter from text (`--params key=value`); the keys
    /// are the field names.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        match key {
            "num_iterations" => self.num_iterations = parse("num_iterations", value, "a whole number")?,
            "learning_rate" => self.learning_rate = parse("learning_rate", value, "a positive number")?,
            "num_leaves" => self.num_leaves = parse("num_leaves", value, "a whole number >= 2")?,
            "min_data_in_leaf" => self.min_data_in_leaf = parse("min_data_in_leaf", value, "a whole number >= 20")?,
            "feature_fraction" => self.feature_fraction = fraction("feature_fraction", value)?,
            "bagging_fraction" => self.bagging_fraction = fraction("bagging_fraction", value)?,
            "bagging_freq" => self.bagging_freq = parse("bagging_freq", value, "a whole number")?,
            "lambda_l1" => self.lambda_l1 = parse("lambda_l1", value, "a number >= 0")?,
            "lambda_l2" => self.lambda_l2 = parse("lambda_l2", value, "a number >= 0")?,
            "early_stopping_rounds" => {
                let n: usize = parse("early_stopping_rounds", value, "a whole number (0: off)")?;
                self.early_stopping_rounds = (n > 0).then_some(n);
            }
            "class_weight" => self.class_weight = class_weight(value)?,
            "seed" => self.seed = parse("seed", value, "a whole number")?,
            "num_threads" => self.num_threads = parse("num_threads", value, "a whole number")?,
            _ => {
                return Err(Error::InvalidParameter {
                    name: "gbm parameter",
                    value: key.into(),
                    expected: "one of num_iterations, learning_rate, num_leaves, min_data_in_leaf, \
                               feature_fraction, bagging_fraction, bagging_freq, lambda_l1, lambda_l2, \
                               early_stopping_rounds, class_weight, seed, num_threads",
                })
            }
        }
        self.check()
    }

    fn check(&self) -> Result<()> {
        let invalid =
            |name, value: String, expected| Err(Error::InvalidParameter { name, value, expected });
        if self.num_iterations == 0 {
            return invalid("num_iterations", "0".into(), "at least 1");
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return invalid("learning_rate", self.learning_rate.to_string(), "a positive number");
        }
        if self.num_leaves < 2 {
            return invalid("num_leaves", self.num_leaves.to_string(), "at least 2");
        }
        if self.min_data_in_leaf < 20 {
            return invalid("min_data_in_leaf", self.min_data_in_leaf.to_string(), "at least 20");
        }
        for (name, v) in [("lambda_l1", self.lambda_l1), ("lambda_l2", self.lambda_l2)] {
            if !(v.is_finite() && v >= 0.0) {
                return invalid(name, v.to_string(), "a number >= 0");
            }
        }
        for (name, v) in [
            ("feature_fraction", self.feature_fraction),
            ("bagging_fraction", self.bagging_fraction),
        ] {
            if !(v > 0.0 && v <= 1.0) {
                return invalid(name, v.to_string(), "a number in (0, 1]");
            }
        }
        Ok(())
    }

    fn lightgbm_params(&self) -> Map<String, Value> {
        let mut p = Map::new();
        p.insert("boosting".into(), json!("gbdt"));
        p.insert("num_iterations".into(), json!(self.num_iterations));
        p.insert("learning_rate".into(), json!(self.learning_rate));
        p.insert("num_leaves".into(), json!(self.num_leaves));
        p.insert("min_data_in_leaf".into(), json!(self.min_data_in_leaf));
        p.insert("feature_fraction".into(), json!(self.feature_fraction));
        p.insert("bagging_fraction".into(), json!(self.bagging_fraction));
        p.insert("bagging_freq".into(), json!(self.bagging_freq));
        p.insert("lambda_l1".into(), json!(self.lambda_l1));
        p.insert("lambda_l2".into(), json!(self.lambda_l2));
        p.insert("seed".into(), json!(self.seed));
        p.insert("num_threads".into(), json!(self.num_threads));
        p
    }
}

impl TabularLearner for Gbm {
    fn name(&self) -> &'static str {
        "gbm"
    }

    fn params(&self) -> Vec<Param> {
        let es = self.early_stopping_rounds.map_or("off".to_string(), |n| n.to_string());
        vec![
            param("model", self.name()),
            param("trainer", "lightgbm"),
            param("num_iterations", self.num_iterations),
            param("learning_rate", self.learning_rate),
            param("num_leaves", self.num_leaves),
            param("min_data_in_leaf", self.min_data_in_leaf),
            param("feature_fraction", self.feature_fraction),
            param("bagging_fraction", self.bagging_fraction),
            param("bagging_freq", self.bagging_freq),
            param("lambda_l1", self.lambda_l1),
            param("lambda_l2", self.lambda_l2),
            param("early_stopping_rounds", es),
            param("class_weight", format!("{:?}", self.class_weight).to_lowercase()),
            param("seed", self.seed),
        ]
    }

    fn fit<R: RunRecorder>(
        &self,
        train: &FeatureMatrix,
        y: &Target,
        valid: Option<(&FeatureMatrix, &Target)>,
        recorder: &mut R,
    ) -> Result<TabularModel> {
        self.check()?;
        LgbmFit {
            learner: self.name(),
            params: self.lightgbm_params(),
            early_stopping_rounds: self.early_stopping_rounds,
            class_weight: self.class_weight,
            logged: self.params(),
        }
        .run(train, y, valid, recorder)
    }
}

/// A random forest: LightGBM's `boosting=rf`, every tree fitted to the same
/// starting gradients on a bootstrap-sized bag of rows (`bagging_fraction`
/// 0.632, redrawn every tree) with `sqrt(features)` tried per split for
/// classifiers, its prediction the average of the trees.
#[derive(Debug, Clone, PartialEq)]
pub struct Forest {
    /// Trees.
    pub num_trees: usize,
    /// Leaves per tree.
    pub num_leaves: usize,
    /// Share of rows per tree, in (0, 1).
    pub bagging_fraction: f64,
    /// Share of features tried per split; `None`: `sqrt(d)/d` for
    /// classifiers, all for regression (scikit-learn's defaults).
    pub feature_fraction_bynode: Option<f64>,
    /// Class weights for classifiers.
    pub class_weight: ClassWeight,
    /// Seed for the bags and feature draws.
    pub seed: u64,
    /// Threads (0: all cores).
    pub num_threads: usize,
}

impl Default for Forest {
    fn default() -> Self {
        Forest {
            num_trees: 100,
            num_leaves: 255,
            bagging_fraction: 0.632,
            feature_fraction_bynode: None,
            class_weight: ClassWeight::None,
            seed: 0,
            num_threads: 0,
        }
    }
}

impl Forest {
    /// Sets one hyperparameter from text (`--params key=value`).
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        match key {
            "num_trees" => self.num_trees = parse("num_trees", value, "a whole number >= 1")?,
            "num_leaves" => self.num_leaves = parse("num_leaves", value, "a whole number >= 2")?,
            "bagging_fraction" => self.bagging_fraction = fraction("bagging_fraction", value)?,
            "feature_fraction_bynode" => {
                self.feature_fraction_bynode = Some(fraction("feature_fraction_bynode", value)?)
            }
            "class_weight" => self.class_weight = class_weight(value)?,
            "seed" => self.seed = parse("seed", value, "a whole number")?,
            "num_threads" => self.num_threads = parse("num_threads", value, "a whole number")?,
            _ => {
                return Err(Error::InvalidParameter {
                    name: "forest parameter",
                    value: key.into(),
                    expected: "one of num_trees, num_leaves, bagging_fraction, \
                               feature_fraction_bynode, class_weight, seed, num_threads",
                })
            }
        }
        self.check()
    }

    fn check(&self) -> Result<()> {
        let invalid =
            |name, value: String, expected| Err(Error::InvalidParameter { name, value, expected });
        if self.num_trees == 0 {
            return invalid("num_trees", "0".into(), "at least 1");
        }
        if self.num_leaves < 2 {
            return invalid("num_leaves", self.num_leaves.to_string(), "at least 2");
        }
        // LightGBM's rf needs some sampling, else every tree is the same.
        if !(self.bagging_fraction > 0.0 && self.bagging_fraction < 1.0) {
            return invalid(
                "bagging_fraction",
                self.bagging_fraction.to_string(),
                "a number in (0, 1)",
            );
        }
        Ok(())
    }

    fn bynode(&self, train: &FeatureMatrix, y: &Target) -> f64 {
        self.feature_fraction_bynode.unwrap_or_else(|| {
            let d = train.cols().max(1) as f64;
            match y.kind {
                lathe_core::TaskKind::Regression => 1.0,
                _ => (d.sqrt().floor().max(1.0) / d).min(1.0),
            }
        })
    }
}

impl TabularLearner for Forest {
    fn name(&self) -> &'static str {
        "forest"
    }

    fn params(&self) -> Vec<Param> {
        let bynode = self.feature_fraction_bynode.map_or("auto".to_string(), |f| f.to_string());
        vec![
            param("model", self.name()),
            param("trainer", "lightgbm_rf"),
            param("num_trees", self.num_trees),
            param("num_leaves", self.num_leaves),
            param("bagging_fraction", self.bagging_fraction),
            param("feature_fraction_bynode", bynode),
            param("class_weight", format!("{:?}", self.class_weight).to_lowercase()),
            param("seed", self.seed),
        ]
    }

    fn fit<R: RunRecorder>(
        &self,
        train: &FeatureMatrix,
        y: &Target,
        valid: Option<(&FeatureMatrix, &Target)>,
        recorder: &mut R,
    ) -> Result<TabularModel> {
        self.check()?;
        let mut p = Map::new();
        p.insert("boosting".into(), json!("rf"));
        p.insert("num_iterations".into(), json!(self.num_trees));
        p.insert("num_leaves".into(), json!(self.num_leaves));
        p.insert("bagging_fraction".into(), json!(self.bagging_fraction));
        p.insert("bagging_freq".into(), json!(1));
        p.insert("feature_fraction_bynode".into(), json!(self.bynode(train, y)));
        p.insert("seed".into(), json!(self.seed));
        p.insert("num_threads".into(), json!(self.num_threads));
        LgbmFit {
            learner: self.name(),
            params: p,
            early_stopping_rounds: None,
            class_weight: self.class_weight,
            logged: self.params(),
        }
        .run(train, y, valid, recorder)
    }
}
