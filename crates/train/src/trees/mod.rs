//! LightGBM's text model format (`model.txt`), read into flat trees that
//! predict in pure Rust.
//!
//! Serving walks these trees instead of calling LightGBM: no FFI, no
//! allocation per row. The decision rules mirror LightGBM's `tree.h`
//! (`NumericalDecision`, missing types, default-left) and `gbdt.cpp`
//! (`PredictRaw`, `average_output` for random forests) so predictions equal
//! the library's own; `tests/gbm_equality.rs` checks it to 1e-6.

mod parse;
mod plain;

use plain::PlainForest;

/// LightGBM treats `|x| <= 1e-35` as zero (`kZeroThreshold`).
const ZERO_THRESHOLD: f64 = 1e-35;

/// How a node routes a missing value (bits 2–3 of `decision_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Missing {
    /// No missing values seen in training: NaN is read as 0.
    None,
    /// Zero is the missing value.
    Zero,
    /// NaN is the missing value.
    Nan,
}

/// One internal node, kept to 24 bytes so a model's trees stay in cache.
/// `children[0]` is the left child, `children[1]` the right; a child
/// `>= 0` is a node, `< 0` a leaf (`!child`).
#[derive(Debug, Clone, PartialEq)]
struct Node {
    threshold: f64,
    feature: u32,
    children: [i32; 2],
    default_left: bool,
    missing: Missing,
}

/// One regression tree.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tree {
    nodes: Vec<Node>,
    leaves: Vec<f64>,
    /// Each node's split gain, apart from the nodes: only importance reads it.
    gains: Vec<f64>,
}

impl Tree {
    /// The leaf value `row` falls into.
    #[inline]
    fn predict(&self, row: &[f64]) -> f64 {
        if self.nodes.is_empty() {
            return self.leaves[0];
        }
        let mut i = 0i32;
        while i >= 0 {
            let node = &self.nodes[i as usize];
            let value = row.get(node.feature as usize).copied().unwrap_or(f64::NAN);
            i = node.children[usize::from(!node.goes_left(value))];
        }
        self.leaves[!i as usize]
    }
}

impl Node {
    /// LightGBM's `NumericalDecision`. Written as selects, not branches:
    /// which way a row goes is data, and a mispredicted branch per node
    /// was most of a prediction's time.
    #[inline]
    fn goes_left(&self, value: f64) -> bool {
        let nan = value.is_nan();
        // NaN reads as 0 unless NaN is this node's missing value (then
        // `missing` below decides and the 0 is never compared).
        let v = if nan { 0.0 } else { value };
        let missing = match self.missing {
            Missing::None => false,
            Missing::Zero => v.abs() <= ZERO_THRESHOLD,
            Missing::Nan => nan,
        };
        if missing {
            self.default_left
        } else {
            v <= self.threshold
        }
    }
}

/// How raw scores become predictions (the `objective=` line).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Link {
    /// Regression objectives that predict the raw score (`regression`, `regression_l1`, `huber`, ...).
    Identity,
    /// `binary sigmoid:S`: `1 / (1 + exp(-S·raw))`.
    Sigmoid(f64),
    /// `multiclass`: softmax over the classes' raw scores.
    Softmax,
    /// `poisson`, `gamma`, `tweedie`: `exp(raw)`.
    Exp,
}

/// A whole LightGBM model: trees grouped by iteration, `classes` trees per
/// iteration, and the link that turns their sums into predictions.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeEnsemble {
    trees: Vec<Tree>,
    /// Trees per iteration (1, or the number of classes for multiclass).
    outputs: usize,
    /// Number of features the model reads (`max_feature_idx + 1`).
    n_features: usize,
    feature_names: Vec<String>,
    link: Link,
    /// Random forests (`boosting=rf`) average their iterations instead of summing.
    average: bool,
    /// The same trees laid out to be walked together, when no node
    /// treats a value as missing (module `plain`).
    plain: Option<PlainForest>,
}

impl TreeEnsemble {
    /// Number of features a row must have.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Feature names stored in the model.
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// Raw scores per row: 1 for binary and regression, one per class for multiclass.
    pub fn outputs(&self) -> usize {
        self.outputs
    }

    /// Boosting iterations (trees / outputs).
    pub fn iterations(&self) -> usize {
        self.trees.len() / self.outputs
    }

    /// The link from raw scores to predictions.
    pub fn link(&self) -> Link {
        self.link
    }

    /// Whether iterations are averaged (random forest) rather than summed.
    pub fn is_average(&self) -> bool {
        self.average
    }

    /// Adds the raw scores of iteration `iteration` for `row` into `out`
    /// (`outputs()` values); lets callers score a model round by round.
    pub(crate) fn add_iteration(&self, iteration: usize, row: &[f64], out: &mut [f64]) {
        let trees = &self.trees[iteration * self.outputs..(iteration + 1) * self.outputs];
        for (o, tree) in out.iter_mut().zip(trees) {
            *o += tree.predict(row);
        }
    }

    /// Raw scores of `row` into `out` (`outputs()` values), as LightGBM's
    /// `PredictRaw`: sums over iterations in order, averaged for forests.
    ///
    /// `row` must hold `n_features()` values (callers check).
    pub fn predict_raw(&self, row: &[f64], out: &mut [f64]) {
        out.iter_mut().for_each(|o| *o = 0.0);
        if let Some(plain) = &self.plain {
            plain.add(row, out);
        } else {
            for it in 0..self.iterations() {
                self.add_iteration(it, row, out);
            }
        }
        if self.average {
            let n = self.iterations() as f64;
            out.iter_mut().for_each(|o| *o /= n);
        }
    }

    /// Applies the link to raw scores in place: probabilities of the
    /// positive class (binary), of each class (multiclass), or values.
    pub fn transform(&self, out: &mut [f64]) {
        match self.link {
            Link::Identity => {}
            Link::Exp => out.iter_mut().for_each(|o| *o = o.exp()),
            Link::Sigmoid(s) => out.iter_mut().for_each(|o| *o = 1.0 / (1.0 + (-s * *o).exp())),
            Link::Softmax => softmax(out),
        }
    }

    /// Per-feature `(split count, total gain)`, as LightGBM's
    /// `feature_importance` computes it (splits with positive gain only).
    pub fn importance(&self) -> Vec<(f64, f64)> {
        let mut imp = vec![(0.0, 0.0); self.n_features];
        for tree in &self.trees {
            for (node, &gain) in tree.nodes.iter().zip(&tree.gains) {
                if gain > 0.0 {
                    imp[node.feature as usize].0 += 1.0;
                    imp[node.feature as usize].1 += gain;
                }
            }
        }
        imp
    }
}

/// LightGBM's `Common::Softmax`: shift by the max, exponentiate, normalize.
pub(crate) fn softmax(v: &mut [f64]) {
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for x in v.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    v.iter_mut().for_each(|x| *x /= sum);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Result;

    const STUMP: &str = "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\n\
        label_index=0\nmax_feature_idx=1\nobjective=binary sigmoid:1\n\
        feature_names=a b\n\nTree=0\nnum_leaves=2\nnum_cat=0\nsplit_feature=1\n\
        split_gain=3.5\nthreshold=0.5\ndecision_type=10\nleft_child=-1\nright_child=-2\n\
        leaf_value=-1 2\nis_linear=0\nshrinkage=1\n\n\nend of trees\n";

    #[test]
    fn stump_routes_nan_by_default_direction() -> Result<()> {
        let m = TreeEnsemble::parse(STUMP)?;
        let mut out = [0.0];
        // decision_type 10 = NaN missing (8) + default left (2).
        m.predict_raw(&[0.0, f64::NAN], &mut out);
        assert_eq!(out[0], -1.0);
        m.predict_raw(&[0.0, 0.7], &mut out);
        assert_eq!(out[0], 2.0);
        m.predict_raw(&[0.0, 0.5], &mut out);
        assert_eq!(out[0], -1.0);
        m.transform(&mut out);
        assert!((out[0] - 1.0 / (1.0 + 1f64.exp())).abs() < 1e-15, "sigmoid(-1)");
        assert_eq!(m.importance(), vec![(0.0, 0.0), (1.0, 3.5)]);
        Ok(())
    }

    /// A pseudo-random number (a linear congruential step), for fixtures.
    fn draw(seed: &mut u64) -> u64 {
        *seed =
            seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        *seed >> 33
    }

    /// A random tree with at most `internal` nodes over 4 features, no missing type.
    fn random_tree(seed: &mut u64, internal: usize) -> Tree {
        let leaf = |seed: &mut u64| draw(seed) as f64 / 1e9 - 1.0;
        if internal == 0 {
            return Tree { nodes: Vec::new(), leaves: vec![leaf(seed)], gains: Vec::new() };
        }
        let node = |seed: &mut u64| Node {
            threshold: (draw(seed) % 200) as f64 / 100.0 - 1.0,
            feature: (draw(seed) % 4) as u32,
            children: [0, 0],
            default_left: draw(seed).is_multiple_of(2),
            missing: Missing::None,
        };
        let (mut nodes, mut leaves) = (vec![node(seed)], Vec::new());
        let mut open = std::collections::VecDeque::from([(0, 0), (0, 1)]);
        while let Some((parent, side)) = open.pop_front() {
            let child = if nodes.len() < internal && !draw(seed).is_multiple_of(3) {
                nodes.push(node(seed));
                open.extend([(nodes.len() - 1, 0), (nodes.len() - 1, 1)]);
                nodes.len() as i32 - 1
            } else {
                leaves.push(leaf(seed));
                !(leaves.len() as i32 - 1)
            };
            nodes[parent].children[side] = child;
        }
        let gains = vec![0.0; nodes.len()];
        Tree { nodes, leaves, gains }
    }

    #[test]
    fn trees_walked_together_score_as_each_walked_alone() {
        let mut seed = 7;
        // 37 trees: groups of 8 and a short one; single leaves and deep trees.
        let trees: Vec<Tree> =
            (0..37).map(|i| random_tree(&mut seed, [0, 1, 5, 30][i % 4])).collect();
        // The same trees with one node reading feature 300: past the
        // 256 features the bounds-check-free walk takes.
        let mut wide = trees.clone();
        wide[5].nodes[0].feature = 300;
        let cells = [f64::NAN, 0.0, -0.0, 0.5, -0.5, 1.0, f64::INFINITY, f64::NEG_INFINITY, 1e-40];
        for trees in [&trees, &wide] {
            let plain = PlainForest::new(trees).expect("no node has a missing type");
            for _ in 0..500 {
                // Rows as wide as the features read, or shorter (the rest reads as 0).
                let width = [2, 3, 4, 301][draw(&mut seed) as usize % 4];
                let row: Vec<f64> = (0..width)
                    .map(|_| match draw(&mut seed) % 3 {
                        0 => cells[draw(&mut seed) as usize % cells.len()],
                        _ => (draw(&mut seed) % 300) as f64 / 100.0 - 1.5,
                    })
                    .collect();
                let mut alone = [0.0; 3];
                for (i, tree) in trees.iter().enumerate() {
                    alone[i % 3] += tree.predict(&row);
                }
                let mut together = [0.0; 3];
                plain.add(&row, &mut together);
                assert_eq!(together, alone, "row {row:?}");
            }
        }
        let mut nan = trees;
        nan[3].nodes[0].missing = Missing::Nan;
        assert!(PlainForest::new(&nan).is_none(), "a missing type takes the node-by-node walk");
    }

    #[test]
    fn nan_is_zero_when_no_missing_type() -> Result<()> {
        let m = TreeEnsemble::parse(&STUMP.replace("decision_type=10", "decision_type=0"))?;
        let mut out = [0.0];
        m.predict_raw(&[0.0, f64::NAN], &mut out);
        assert_eq!(out[0], -1.0, "NaN read as 0 <= 0.5");
        let m = TreeEnsemble::parse(&STUMP.replace("threshold=0.5", "threshold=-0.5"))?;
        m.predict_raw(&[0.0, f64::NAN], &mut out);
        assert_eq!(out[0], -1.0, "NaN missing with default left");
        Ok(())
    }

    #[test]
    fn malformed_models_name_the_line() {
        for (text, needle) in [
            (STUMP.replace("left_child=-1", "left_child=5"), "out of range"),
            (STUMP.replace("leaf_value=-1 2", "leaf_value=-1"), "1 leaf values"),
            (STUMP.replace("objective=binary sigmoid:1", "objective=lambdarank"), "line 7"),
            (STUMP.replace("threshold=0.5", "threshold=x"), "threshold='x'"),
            (STUMP.replace("num_cat=0", "num_cat=1"), "categorical"),
            ("tree\nmax_feature_idx=1\nobjective=regression\n".to_string(), "no trees"),
        ] {
            let err = TreeEnsemble::parse(&text).map(|_| ()).unwrap_err().to_string();
            assert!(err.contains(needle), "{err} should mention {needle}");
        }
    }
}
