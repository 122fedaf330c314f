//! Hyperparameter search on the real tables: grid search against fitting
//! every grid point by hand, random draws inside the space and repeatable,
//! successive halving cheaper than the full budget yet picking a strong
//! candidate, and the errors of bad spaces and configs.

use lathe_core::TaskKind;
use lathe_train::search::{
    search, MemoryTrials, SearchConfig, SearchData, SearchOutcome, SearchSpace,
};
use lathe_train::{AnyLearner, NoopRecorder, TabularLearner};
use serde_json::{json, Value};

use crate::fixtures::{case, Case};

fn p(k: &str, v: &str) -> (String, String) {
    (k.to_string(), v.to_string())
}

fn data(c: &Case) -> SearchData<'_> {
    SearchData { x: &c.train.0, y: &c.train.1, x_valid: &c.test.0, y_valid: &c.test.1 }
}

fn run(
    c: &Case,
    learner: &str,
    base: &[(String, String)],
    space: Value,
    config: Value,
) -> lathe_train::Result<(SearchOutcome, MemoryTrials)> {
    let space = SearchSpace::from_json(&space)?;
    let config = SearchConfig::from_json(&config)?;
    let mut trials = MemoryTrials::default();
    let outcome = search(learner, base, &space, &config, data(c), &mut trials)?;
    Ok((outcome, trials))
}

/// Validation RMSE of `learner` fitted with `params`, outside the search.
fn rmse_by_hand(c: &Case, params: &[(String, String)]) -> f64 {
    let model = AnyLearner::new("gbm", params)
        .unwrap()
        .fit(&c.train.0, &c.train.1, Some((&c.test.0, &c.test.1)), &mut NoopRecorder)
        .unwrap();
    let pred = model.predict(&c.test.0).unwrap().values;
    lathe_eval::RegressionMetrics::compute(&c.test.1.values, &pred).unwrap().rmse
}

#[test]
fn grid_search_finds_the_best_grid_point_fitted_by_hand() {
    let c = case("breast_cancer");
    let base = [p("num_threads", "1"), p("num_iterations", "40")];
    let (outcome, trials) = run(
        &c,
        "gbm",
        &base,
        json!({ "num_leaves": [3, 7, 15], "learning_rate": [0.05, 0.3] }),
        json!({ "strategy": "grid" }),
    )
    .unwrap();
    assert_eq!(outcome.metric.name(), "roc_auc");
    let mut by_hand = Vec::new();
    for lr in ["0.05", "0.3"] {
        for leaves in ["3", "7", "15"] {
            let params = [p("learning_rate", lr), p("num_leaves", leaves)];
            let all: Vec<_> = base.iter().chain(&params).cloned().collect();
            let model = AnyLearner::new("gbm", &all)
                .unwrap()
                .fit(&c.train.0, &c.train.1, Some((&c.test.0, &c.test.1)), &mut NoopRecorder)
                .unwrap();
            let prob = model.predict(&c.test.0).unwrap();
            let positive: Vec<f64> = (0..prob.rows()).map(|i| prob.row(i)[1]).collect();
            let y: Vec<u8> = c.test.1.values.iter().map(|&v| v as u8).collect();
            by_hand.push((params.to_vec(), lathe_eval::roc_auc(&y, &positive).unwrap()));
        }
    }
    assert_eq!(outcome.trials.len(), 6);
    for (trial, (params, score)) in outcome.trials.iter().zip(&by_hand) {
        assert_eq!(&trial.params, params);
        assert!((trial.score - score).abs() < 1e-9, "{} vs {score}", trial.score);
    }
    let best_by_hand = by_hand.iter().map(|(_, s)| *s).fold(f64::NEG_INFINITY, f64::max);
    assert!((outcome.best_trial().score - best_by_hand).abs() < 1e-9);
    assert!(by_hand.iter().any(|(_, s)| (s - best_by_hand).abs() > 1e-6), "the grid must differ");

    // The model handed back is the best trial's, and its params refit it.
    let refit = AnyLearner::new("gbm", &outcome.params)
        .unwrap()
        .fit(&c.train.0, &c.train.1, Some((&c.test.0, &c.test.1)), &mut NoopRecorder)
        .unwrap();
    assert_eq!(refit.predict(&c.test.0).unwrap(), outcome.model.predict(&c.test.0).unwrap());

    // Each trial reported its params, its score and where it sits in the search.
    assert_eq!(trials.runs.len(), 6);
    for (trial, rec) in &trials.runs {
        assert_eq!(rec.history("valid_roc_auc"), vec![(0, trial.score)]);
        let leaves = rec.params.iter().find(|q| q.key == "num_leaves").unwrap();
        assert_eq!(leaves.value, trial.params[1].1);
        let tag = rec.tags.iter().find(|t| t.key == "lathe.search.trial").unwrap();
        assert_eq!(tag.value, trial.index.to_string());
    }
}

#[test]
fn random_search_draws_inside_the_space_the_same_way_for_a_seed() {
    let c = case("diabetes");
    let base = [p("num_threads", "1"), p("num_iterations", "30")];
    let space = json!({
        "learning_rate": { "low": 0.02, "high": 0.3, "log": true },
        "num_leaves": { "low": 3, "high": 31 },
        "feature_fraction": [0.5, 1.0],
    });
    let config = |seed: u64| json!({ "strategy": "random", "trials": 5, "seed": seed });
    let (a, _) = run(&c, "gbm", &base, space.clone(), config(3)).unwrap();
    let (b, _) = run(&c, "gbm", &base, space.clone(), config(3)).unwrap();
    let (other, _) = run(&c, "gbm", &base, space, config(4)).unwrap();
    assert_eq!(a.trials, b.trials);
    assert_ne!(
        a.trials.iter().map(|t| &t.params).collect::<Vec<_>>(),
        other.trials.iter().map(|t| &t.params).collect::<Vec<_>>()
    );
    assert_eq!(a.trials.len(), 5);
    for t in &a.trials {
        let get = |k: &str| &t.params.iter().find(|(n, _)| n == k).unwrap().1;
        let lr: f64 = get("learning_rate").parse().unwrap();
        assert!((0.02..=0.3).contains(&lr), "{lr}");
        let leaves: i64 = get("num_leaves").parse().unwrap();
        assert!((3..=31).contains(&leaves), "{leaves}");
        assert!(["0.5", "1.0"].contains(&get("feature_fraction").as_str()));
        assert!(
            (t.score - rmse_by_hand(&c, &[base.to_vec(), t.params.clone()].concat())).abs() < 1e-9
        );
    }
    // Regression ranks by RMSE: lower is better.
    assert_eq!(a.metric.name(), "rmse");
    assert!(a.trials.iter().all(|t| t.score >= a.best_trial().score));
}

#[test]
fn halving_spends_fewer_rounds_and_keeps_a_top_candidate() {
    let c = case("diabetes");
    // Early stopping on (the default) as in real use: a fast learner that
    // wins the short rungs keeps its best round at the full budget instead
    // of overfitting (off, halving favours high learning rates).
    let base = [p("num_threads", "1")];
    let space = json!({
        "learning_rate": { "low": 0.005, "high": 0.5, "log": true },
        "num_leaves": [3, 7, 31],
    });
    let config = json!({
        "strategy": "halving", "trials": 9, "eta": 3, "min_rounds": 10, "max_rounds": 90, "seed": 5,
    });
    let (outcome, _) = run(&c, "gbm", &base, space, config).unwrap();
    let spent = outcome.total_rounds();
    assert_eq!(spent, 9 * 10 + 3 * 30 + 90);
    assert!(spent < 9 * 90);
    let best = outcome.best_trial();
    assert!(best.rounds.is_some_and(|r| r <= 90));
    assert_eq!(best.params.last(), Some(&p("num_iterations", "90")));
    assert!(outcome.trials.iter().filter(|t| t.rung == 2).all(|t| t.candidate == best.candidate));

    // Every candidate fitted with the full budget, by hand: the winner is in the better half.
    let first_rung: Vec<_> = outcome.trials.iter().filter(|t| t.rung == 0).collect();
    assert_eq!(first_rung.len(), 9);
    let full = |params: &[(String, String)]| {
        let mut all = [base.to_vec(), params.to_vec()].concat();
        all.retain(|(k, _)| k != "num_iterations");
        all.push(p("num_iterations", "90"));
        rmse_by_hand(&c, &all)
    };
    let mut scores: Vec<f64> = first_rung.iter().map(|t| full(&t.params)).collect();
    let winner = full(&best.params);
    assert!((winner - best.score).abs() < 1e-9);
    scores.sort_by(f64::total_cmp);
    assert!(winner <= scores[4], "winner {winner}, full-budget scores {scores:?}");
}

#[test]
fn forests_are_halved_on_their_trees_and_multiclass_ranks_by_log_loss() {
    let c = case("penguins");
    let base = [p("num_threads", "1"), p("num_trees", "27")];
    let (outcome, trials) = run(
        &c,
        "forest",
        &base,
        json!({ "num_leaves": [2, 4, 8, 16] }),
        json!({ "strategy": "halving", "trials": 4, "eta": 2, "min_rounds": 3, "seed": 1 }),
    )
    .unwrap();
    assert_eq!(outcome.metric.name(), "log_loss");
    // max_rounds comes from the learner's own num_trees: 4 x 3, 2 x 6, 1 x 27.
    let budgets: Vec<_> = outcome.trials.iter().map(|t| (t.rung, t.budget)).collect();
    assert_eq!(budgets.iter().filter(|b| **b == (0, Some(3))).count(), 4);
    assert_eq!(budgets.iter().filter(|b| **b == (1, Some(6))).count(), 2);
    assert_eq!(budgets.last(), Some(&(2, Some(27))));
    assert_eq!(outcome.total_rounds(), 4 * 3 + 2 * 6 + 27);
    assert_eq!(outcome.best, outcome.trials.len() - 1);
    let (_, rec) = trials.runs.last().unwrap();
    assert_eq!(rec.history("valid_log_loss"), vec![(0, outcome.best_trial().score)]);
    assert!(rec.params.iter().any(|q| q.key == "num_trees" && q.value == "27"));
}

#[test]
fn linear_models_are_searched_but_not_halved() {
    let c = case("breast_cancer");
    let (outcome, _) =
        run(&c, "linear", &[], json!({ "c": [0.01, 1.0] }), json!({ "strategy": "grid" })).unwrap();
    assert_eq!(outcome.trials.len(), 2);
    assert_eq!((outcome.trials[0].rounds, outcome.total_rounds()), (None, 0));
    let halving = json!({ "strategy": "halving", "trials": 2 });
    let err = run(&c, "linear", &[], json!({ "c": [0.01, 1.0] }), halving).unwrap_err();
    assert!(err.to_string().contains("'linear' has none"), "{err}");
}

#[test]
fn bad_searches_fail_before_any_trial_with_a_clear_message() {
    let c = case("breast_cancer");
    assert_eq!(c.train.1.kind, TaskKind::Binary);
    let fails = |learner: &str, space: Value, config: Value| -> String {
        let space = SearchSpace::from_json(&space).unwrap();
        let config = SearchConfig::from_json(&config).unwrap();
        let mut trials = MemoryTrials::default();
        let err = search(learner, &[], &space, &config, data(&c), &mut trials).unwrap_err();
        assert!(trials.runs.is_empty(), "{err}");
        err.to_string()
    };
    let grid = json!({ "strategy": "grid" });
    let msg = fails("gbm", json!({ "leaves": [3, 7] }), grid.clone());
    assert!(msg.contains("leaves") && msg.contains("num_leaves"), "{msg}");
    let msg = fails("gbm", json!({ "num_leaves": [1, 7] }), grid.clone());
    assert!(msg.contains("num_leaves") && msg.contains("at least 2"), "{msg}");
    let msg = fails("gbm", json!({ "learning_rate": { "low": 0.01, "high": 0.3 } }), grid);
    assert!(msg.contains("'learning_rate': grid search needs a list"), "{msg}");
    let msg = fails(
        "gbm",
        json!({ "num_leaves": [3, 7] }),
        json!({ "strategy": "random", "metric": "rmse" }),
    );
    assert!(msg.contains("metric 'rmse' does not apply to a classification target"), "{msg}");
    let msg = fails("gbm", json!({ "num_iterations": [10, 20] }), json!({ "strategy": "halving" }));
    assert!(msg.contains("'num_iterations': halving sets the rounds itself"), "{msg}");
    let msg = fails(
        "forest",
        json!({ "num_leaves": [3, 7] }),
        json!({ "strategy": "halving", "min_rounds": 200, "max_rounds": 50 }),
    );
    assert!(msg.contains("min_rounds (200) is above max_rounds (50)"), "{msg}");

    let config = |v: Value| SearchConfig::from_json(&v).unwrap_err().to_string();
    assert!(config(json!({ "strategy": "bayes" })).contains("unknown strategy 'bayes'"));
    assert!(config(json!({ "trials": 3 })).contains("'strategy' is missing"));
    assert!(config(json!({ "strategy": "grid", "trials": 3 }))
        .contains("unknown key 'trials' for strategy 'grid'"));
    assert!(config(json!({ "strategy": "random", "trials": 0 }))
        .contains("'trials' must be a whole number >= 1"));
    assert!(config(json!({ "strategy": "halving", "eta": 1 }))
        .contains("'eta' must be a whole number >= 2"));
    assert!(config(json!({ "strategy": "random", "metric": "f1" })).contains("unknown metric 'f1'"));
}
