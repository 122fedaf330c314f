//! Picking a tabular learner by name with `key=value` parameters, as
//! `lathe train --model NAME --params k=v ...` does.

use lathe_core::{FeatureMatrix, Param, RunRecorder, Target};

use crate::{Error, Forest, Gbm, Linear, Result, TabularLearner, TabularModel};

/// One of the tabular learners, chosen at run time.
#[derive(Debug, Clone, PartialEq)]
pub enum AnyLearner {
    /// Gradient boosting.
    Gbm(Gbm),
    /// Random forest.
    Forest(Forest),
    /// Ridge / penalized logistic regression.
    Linear(Linear),
}

impl AnyLearner {
    /// The learner called `name` (`gbm`, `forest` or `linear`) with its defaults,
    /// then `params` applied in order.
    pub fn new(name: &str, params: &[(String, String)]) -> Result<AnyLearner> {
        let mut learner = match name {
            "gbm" => AnyLearner::Gbm(Gbm::default()),
            "forest" => AnyLearner::Forest(Forest::default()),
            "linear" => AnyLearner::Linear(Linear::default()),
            other => {
                return Err(Error::InvalidParameter {
                    name: "model",
                    value: other.into(),
                    expected: "gbm, forest or linear",
                })
            }
        };
        for (k, v) in params {
            match &mut learner {
                AnyLearner::Gbm(g) => g.set(k, v)?,
                AnyLearner::Forest(f) => f.set(k, v)?,
                AnyLearner::Linear(l) => l.set(k, v)?,
            }
        }
        Ok(learner)
    }
}

impl TabularLearner for AnyLearner {
    fn name(&self) -> &'static str {
        match self {
            AnyLearner::Gbm(g) => g.name(),
            AnyLearner::Forest(f) => f.name(),
            AnyLearner::Linear(l) => l.name(),
        }
    }

    fn params(&self) -> Vec<Param> {
        match self {
            AnyLearner::Gbm(g) => g.params(),
            AnyLearner::Forest(f) => f.params(),
            AnyLearner::Linear(l) => l.params(),
        }
    }

    fn fit<R: RunRecorder>(
        &self,
        train: &FeatureMatrix,
        y: &Target,
        valid: Option<(&FeatureMatrix, &Target)>,
        recorder: &mut R,
    ) -> Result<TabularModel> {
        match self {
            AnyLearner::Gbm(g) => g.fit(train, y, valid, recorder),
            AnyLearner::Forest(f) => f.fit(train, y, valid, recorder),
            AnyLearner::Linear(l) => l.fit(train, y, valid, recorder),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_params_are_checked() -> Result<()> {
        let p = |k: &str, v: &str| (k.to_string(), v.to_string());
        let g = AnyLearner::new("gbm", &[p("num_leaves", "15"), p("class_weight", "balanced")])?;
        assert!(matches!(&g, AnyLearner::Gbm(g) if g.num_leaves == 15));
        assert_eq!(g.name(), "gbm");
        assert!(AnyLearner::new("forest", &[p("num_trees", "7")])?
            .params()
            .iter()
            .any(|q| q.value == "7"));
        let msg = |r: Result<AnyLearner>| r.map(|_| ()).unwrap_err().to_string();
        assert!(msg(AnyLearner::new("svm", &[])).contains("gbm, forest or linear"));
        assert!(msg(AnyLearner::new("gbm", &[p("leaves", "3")])).contains("num_leaves"));
        assert!(msg(AnyLearner::new("gbm", &[p("learning_rate", "-1")])).contains("learning_rate"));
        assert!(msg(AnyLearner::new("gbm", &[p("min_data_in_leaf", "5")])).contains("at least 20"));
        assert!(msg(AnyLearner::new("forest", &[p("bagging_fraction", "1")])).contains("(0, 1)"));
        assert!(msg(AnyLearner::new("linear", &[p("c", "0")])).contains("positive"));
        assert!(
            matches!(AnyLearner::new("linear", &[p("l1_ratio", "0.5")])?, AnyLearner::Linear(l) if l.l1_ratio == 0.5)
        );
        Ok(())
    }
}
