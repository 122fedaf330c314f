//! The declared search space: what values each hyperparameter may take,
//! read from a JSON (or TOML, through serde) table, and how configurations
//! are drawn from it (every grid point, or seeded random samples).
//!
//! Values become the `(key, value)` text that [`crate::AnyLearner::new`]
//! reads, so a trial is fitted exactly as `lathe train --params` would fit it.

use lathe_core::SplitMix64;
use serde_json::Value;

use crate::{Error, Result};

/// The values one hyperparameter may take.
#[derive(Debug, Clone, PartialEq)]
pub enum Dimension {
    /// One of these values, each a number, a string or a boolean (as text).
    Choice(Vec<String>),
    /// A real number drawn uniformly in `[low, high]`.
    Uniform {
        /// Smallest value.
        low: f64,
        /// Largest value.
        high: f64,
    },
    /// A positive real number whose logarithm is uniform in `[ln low, ln high]`.
    LogUniform {
        /// Smallest value (> 0).
        low: f64,
        /// Largest value.
        high: f64,
    },
    /// A whole number in `low..=high`, uniform (or log-uniform, then rounded).
    IntUniform {
        /// Smallest value.
        low: i64,
        /// Largest value.
        high: i64,
        /// Draw on a log scale (`low >= 1`).
        log: bool,
    },
}

/// Hyperparameter name → the values it may take, in name order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchSpace {
    dimensions: Vec<(String, Dimension)>,
}

/// One point of a space: `(name, value)` pairs in the space's order.
pub type Config = Vec<(String, String)>;

fn bad(parameter: &str, problem: impl Into<String>) -> Error {
    Error::SearchSpace { parameter: parameter.to_string(), problem: problem.into() }
}

/// A JSON scalar as the text a learner's `set` reads; integers stay integers.
fn scalar_text(parameter: &str, value: &Value) -> Result<String> {
    match value {
        Value::Number(n) => Ok(n.to_string()),
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(bad(
            parameter,
            format!("list items must be numbers, strings or booleans, got {other}"),
        )),
    }
}

fn number(parameter: &str, table: &serde_json::Map<String, Value>, key: &str) -> Result<f64> {
    match table.get(key) {
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|v| v.is_finite())
            .ok_or_else(|| bad(parameter, format!("'{key}' must be a finite number"))),
        Some(other) => Err(bad(parameter, format!("'{key}' must be a number, got {other}"))),
        None => Err(bad(
            parameter,
            format!("a range needs '{key}' (e.g. {{ low = 0.01, high = 0.3 }})"),
        )),
    }
}

fn dimension(parameter: &str, value: &Value) -> Result<Dimension> {
    match value {
        Value::Array(items) => {
            if items.is_empty() {
                return Err(bad(parameter, "the list of values is empty"));
            }
            let values = items.iter().map(|v| scalar_text(parameter, v)).collect::<Result<_>>()?;
            Ok(Dimension::Choice(values))
        }
        Value::Object(table) => {
            const KEYS: [&str; 4] = ["low", "high", "log", "int"];
            if let Some(key) = table.keys().find(|k| !KEYS.contains(&k.as_str())) {
                return Err(bad(
                    parameter,
                    format!("unknown key '{key}' in a range (expected low, high, log, int)"),
                ));
            }
            let (low, high) = (number(parameter, table, "low")?, number(parameter, table, "high")?);
            let flag = |key: &str| match table.get(key) {
                None => Ok(None),
                Some(Value::Bool(b)) => Ok(Some(*b)),
                Some(other) => {
                    Err(bad(parameter, format!("'{key}' must be true or false, got {other}")))
                }
            };
            let log = flag("log")?.unwrap_or(false);
            if low > high {
                return Err(bad(parameter, format!("low ({low}) is above high ({high})")));
            }
            if log && low <= 0.0 {
                return Err(bad(parameter, format!("a log range needs low > 0, got {low}")));
            }
            // Whole-number bounds mean whole-number values unless `int = false` says otherwise.
            let whole_bounds =
                ["low", "high"].iter().all(|k| table.get(*k).is_some_and(Value::is_i64));
            let int = flag("int")?.unwrap_or(whole_bounds);
            if int && !(low.fract() == 0.0 && high.fract() == 0.0) {
                return Err(bad(
                    parameter,
                    format!("an integer range needs whole bounds, got {low} and {high}"),
                ));
            }
            Ok(match (int, log) {
                (true, log) => Dimension::IntUniform { low: low as i64, high: high as i64, log },
                (false, true) => Dimension::LogUniform { low, high },
                (false, false) => Dimension::Uniform { low, high },
            })
        }
        other => Err(bad(
            parameter,
            format!(
                "expected a list of values (e.g. [7, 15, 31]) or a range \
                 (e.g. {{ low = 0.01, high = 0.3, log = true }}), got {other}"
            ),
        )),
    }
}

/// A uniform draw in `[0, 1)` with 53 random bits.
fn unit(rng: &mut SplitMix64) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

impl Dimension {
    fn sample(&self, rng: &mut SplitMix64) -> String {
        match self {
            Dimension::Choice(values) => values[rng.below(values.len() as u64) as usize].clone(),
            Dimension::Uniform { low, high } => (low + unit(rng) * (high - low)).to_string(),
            Dimension::LogUniform { low, high } => {
                let (a, b) = (low.ln(), high.ln());
                // exp(ln high) may round above high; the bounds are promised.
                (a + unit(rng) * (b - a)).exp().clamp(*low, *high).to_string()
            }
            Dimension::IntUniform { low, high, log: false } => {
                (low + rng.below((high - low) as u64 + 1) as i64).to_string()
            }
            Dimension::IntUniform { low, high, log: true } => {
                // Uniform on the log of [low - 0.5, high + 0.5) so rounding gives every integer its share.
                let (a, b) = ((*low as f64 - 0.5).max(0.5).ln(), (*high as f64 + 0.5).ln());
                let v = (a + unit(rng) * (b - a)).exp().round() as i64;
                v.clamp(*low, *high).to_string()
            }
        }
    }
}

impl SearchSpace {
    /// Reads a table of `name → [values]` or `name → { low, high, log, int }`:
    /// whole-number bounds give whole numbers (unless `int = false`; `int =
    /// true` asks for them explicitly), `log = true` a log scale. Every
    /// problem names the parameter and what was expected.
    ///
    /// ```
    /// use lathe_train::search::{Dimension, SearchSpace};
    /// let space = SearchSpace::from_json(&serde_json::json!({
    ///     "num_leaves": [7, 15, 31],
    ///     "learning_rate": { "low": 0.01, "high": 0.3, "log": true },
    /// })).unwrap();
    /// assert_eq!(space.dimensions()[1].1, Dimension::Choice(vec!["7".into(), "15".into(), "31".into()]));
    /// assert_eq!(space.grid().unwrap_err().to_string(),
    ///     "search space: 'learning_rate': grid search needs a list of values, not a range");
    /// ```
    pub fn from_json(value: &Value) -> Result<SearchSpace> {
        let Value::Object(table) = value else {
            return Err(bad(
                "(space)",
                format!("expected a table of parameter = values, got {value}"),
            ));
        };
        if table.is_empty() {
            return Err(bad("(space)", "no parameters to search"));
        }
        let mut dimensions: Vec<(String, Dimension)> = table
            .iter()
            .map(|(name, v)| Ok((name.clone(), dimension(name, v)?)))
            .collect::<Result<_>>()?;
        // Whether serde_json keeps declaration order depends on a feature
        // another crate may turn on; name order makes the draws independent of it.
        dimensions.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(SearchSpace { dimensions })
    }

    /// A space from its dimensions (names must be distinct), in this order.
    pub fn new(dimensions: Vec<(String, Dimension)>) -> Result<SearchSpace> {
        for (i, (name, _)) in dimensions.iter().enumerate() {
            if dimensions[..i].iter().any(|(n, _)| n == name) {
                return Err(bad(name, "declared twice"));
            }
        }
        Ok(SearchSpace { dimensions })
    }

    /// The parameters and their values, in order.
    pub fn dimensions(&self) -> &[(String, Dimension)] {
        &self.dimensions
    }

    /// Whether `name` is searched.
    pub fn contains(&self, name: &str) -> bool {
        self.dimensions.iter().any(|(n, _)| n == name)
    }

    /// Every combination of the listed values, the last parameter varying
    /// fastest. Ranges have no grid: they are refused by name.
    pub fn grid(&self) -> Result<Vec<Config>> {
        let mut lists = Vec::with_capacity(self.dimensions.len());
        for (name, d) in &self.dimensions {
            match d {
                Dimension::Choice(values) => lists.push((name, values)),
                _ => return Err(bad(name, "grid search needs a list of values, not a range")),
            }
        }
        let mut configs: Vec<Config> = vec![Vec::new()];
        for (name, values) in lists {
            configs = configs
                .into_iter()
                .flat_map(|c| {
                    values.iter().map(move |v| {
                        let mut next = c.clone();
                        next.push((name.clone(), v.clone()));
                        next
                    })
                })
                .collect();
        }
        Ok(configs)
    }

    /// `n` configurations drawn independently with `seed`; the same seed
    /// gives the same draws.
    pub fn sample(&self, n: usize, seed: u64) -> Vec<Config> {
        let mut rng = SplitMix64::new(seed);
        (0..n)
            .map(|_| {
                self.dimensions.iter().map(|(name, d)| (name.clone(), d.sample(&mut rng))).collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn problem(v: Value) -> String {
        SearchSpace::from_json(&v).map(|_| ()).unwrap_err().to_string()
    }

    #[test]
    fn bad_spaces_name_the_parameter_and_the_expectation() {
        assert_eq!(
            problem(json!([1, 2])),
            "search space: '(space)': expected a table of parameter = values, got [1,2]"
        );
        assert!(problem(json!({})).contains("no parameters"));
        assert!(problem(json!({"num_leaves": 7}))
            .starts_with("search space: 'num_leaves': expected a list of values"));
        assert!(problem(json!({"num_leaves": []}))
            .contains("'num_leaves': the list of values is empty"));
        assert!(problem(json!({"num_leaves": [[1]]})).contains("numbers, strings or booleans"));
        assert!(problem(json!({"lr": {"low": 0.3, "high": 0.1}}))
            .contains("'lr': low (0.3) is above high (0.1)"));
        assert!(problem(json!({"lr": {"low": 0.0, "high": 0.1, "log": true}}))
            .contains("needs low > 0"));
        assert!(problem(json!({"lr": {"low": 0.1}})).contains("'lr': a range needs 'high'"));
        assert!(problem(json!({"lr": {"low": "a", "high": 1}})).contains("'low' must be a number"));
        assert!(problem(json!({"lr": {"low": 0.1, "high": 1, "step": 2}}))
            .contains("unknown key 'step'"));
        assert!(
            problem(json!({"lr": {"low": 0.1, "high": 1, "log": "yes"}})).contains("true or false")
        );
    }

    #[test]
    fn ranges_are_typed_by_their_bounds() {
        let s = SearchSpace::from_json(&json!({
            "a": {"low": 1, "high": 9},
            "b": {"low": 1, "high": 100, "log": true},
            "c": {"low": 0.5, "high": 2},
            "d": {"low": 0.01, "high": 1, "log": true},
            "e": ["x", true, 2.5],
            "f": {"low": 2.0, "high": 8.0, "int": true},
            "g": {"low": 1, "high": 3, "int": false},
        }))
        .unwrap();
        let d: Vec<&Dimension> = s.dimensions().iter().map(|(_, d)| d).collect();
        assert_eq!(d[0], &Dimension::IntUniform { low: 1, high: 9, log: false });
        assert_eq!(d[1], &Dimension::IntUniform { low: 1, high: 100, log: true });
        assert_eq!(d[2], &Dimension::Uniform { low: 0.5, high: 2.0 });
        assert_eq!(d[3], &Dimension::LogUniform { low: 0.01, high: 1.0 });
        assert_eq!(d[4], &Dimension::Choice(vec!["x".into(), "true".into(), "2.5".into()]));
        assert_eq!(d[5], &Dimension::IntUniform { low: 2, high: 8, log: false });
        assert_eq!(d[6], &Dimension::Uniform { low: 1.0, high: 3.0 });
    }

    #[test]
    fn the_grid_is_the_full_product_and_samples_stay_inside() {
        let s = SearchSpace::from_json(&json!({"a": [1, 2, 3], "b": ["x", "y"]})).unwrap();
        let grid = s.grid().unwrap();
        assert_eq!(grid.len(), 6);
        assert_eq!(grid[1], vec![("a".to_string(), "1".to_string()), ("b".into(), "y".into())]);
        let s = SearchSpace::from_json(&json!({
            "i": {"low": 3, "high": 5},
            "l": {"low": 2, "high": 300, "log": true},
            "u": {"low": 0.001, "high": 0.5, "log": true},
        }))
        .unwrap();
        let draws = s.sample(500, 11);
        assert_eq!(draws, s.sample(500, 11));
        assert_ne!(draws, s.sample(500, 12));
        let get = |c: &Config, k: &str| c.iter().find(|(n, _)| n == k).unwrap().1.clone();
        let ints: Vec<i64> = draws.iter().map(|c| get(c, "i").parse().unwrap()).collect();
        assert!((3..=5).all(|v| ints.contains(&v)) && ints.iter().all(|v| (3..=5).contains(v)));
        assert!(draws.iter().all(|c| (2..=300).contains(&get(c, "l").parse::<i64>().unwrap())));
        let u: Vec<f64> = draws.iter().map(|c| get(c, "u").parse().unwrap()).collect();
        assert!(u.iter().all(|v| (0.001..=0.5).contains(v)));
        // Log scale: about half the draws lie below the geometric midpoint.
        let below = u.iter().filter(|&&v| v < (0.001f64 * 0.5).sqrt()).count();
        assert!((200..300).contains(&below), "{below}");
    }
}
