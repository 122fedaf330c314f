//! The trees of a model whose nodes never treat a value as missing
//! (LightGBM's missing type `None`, what training without missing values
//! writes), laid out to be walked several at a time.
//!
//! One tree is a chain of dependent loads: the next node is known only
//! once this one is read, so a walk waits on memory at every level.
//! Walking [`LANES`] trees in lockstep lets their loads overlap. For the
//! lanes to step together without a branch per lane, a leaf is a node
//! that steps to itself, and a group takes as many steps as its deepest
//! tree. A node's two children sit side by side, so a step is one load of
//! a 16-byte node, one comparison and an add; a row's NaNs are read as 0
//! once, before the walk, not at every node.

use std::collections::VecDeque;

use super::{Missing, Tree};

/// Trees walked together.
const LANES: usize = 8;

/// Models reading at most this many features take the walk without
/// bounds checks on the row.
const SMALL: usize = 256;

/// One node of the walk: a row goes to `next + 1` when its `feature` is
/// above `threshold`, else to `next`. A leaf has `next` pointing to itself
/// and an infinite threshold, so it stays where it is.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Step {
    threshold: f64,
    feature: u32,
    next: u32,
}

/// Every tree of a plain model in one node array.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct PlainForest {
    /// The roots of [`LANES`] trees at a time, in model order; the last
    /// group is filled up with a lone leaf that is never added.
    groups: Vec<[u32; LANES]>,
    /// The steps each group takes: the depth of its deepest tree.
    depths: Vec<u32>,
    /// Trees in the model.
    trees: usize,
    steps: Vec<Step>,
    /// Per node, its value when it is a leaf (0 for internal nodes).
    values: Vec<f64>,
    /// The largest feature index read plus one: the cells a row is read as.
    width: usize,
}

/// A node of the model's own layout: internal (an index into
/// `Tree::nodes`) or a leaf (an index into `Tree::leaves`).
#[derive(Clone, Copy)]
enum Child {
    Internal(usize),
    Leaf(usize),
}

impl Child {
    fn of(child: i32) -> Child {
        if child >= 0 {
            Child::Internal(child as usize)
        } else {
            Child::Leaf(!child as usize)
        }
    }
}

impl PlainForest {
    /// The layout of `trees`, or `None` when a node treats a value as
    /// missing, a child index is out of range, or the model is too large
    /// to index with `u32`.
    pub(super) fn new(trees: &[Tree]) -> Option<PlainForest> {
        let mut forest = PlainForest {
            groups: Vec::new(),
            depths: Vec::new(),
            trees: trees.len(),
            steps: Vec::new(),
            values: Vec::new(),
            width: 1,
        };
        let mut roots = Vec::with_capacity(trees.len());
        for tree in trees {
            if tree.nodes.iter().any(|n| n.missing != Missing::None) {
                return None;
            }
            roots.push(forest.lay_out(tree)?);
        }
        let filler = forest.leaf(0.0)?;
        for group in roots.chunks(LANES) {
            let mut lanes = [filler; LANES];
            for (lane, &(root, _)) in lanes.iter_mut().zip(group) {
                *lane = root;
            }
            forest.groups.push(lanes);
            forest.depths.push(group.iter().map(|&(_, depth)| depth).max().unwrap_or(0));
        }
        Some(forest)
    }

    /// A new node slot, filled in later.
    fn slot(&mut self) -> Option<u32> {
        let at = u32::try_from(self.steps.len()).ok()?;
        self.steps.push(Step { threshold: f64::INFINITY, feature: 0, next: at });
        self.values.push(0.0);
        Some(at)
    }

    /// A leaf of its own: a slot that steps to itself.
    fn leaf(&mut self, value: f64) -> Option<u32> {
        let at = self.slot()?;
        self.values[at as usize] = value;
        Some(at)
    }

    /// Lays `tree` out breadth first, each node's children in two
    /// adjacent slots: its root and its depth.
    fn lay_out(&mut self, tree: &Tree) -> Option<(u32, u32)> {
        let root = self.slot()?;
        let first = if tree.nodes.is_empty() { Child::Leaf(0) } else { Child::Internal(0) };
        let mut open = VecDeque::from([(first, root, 0u32)]);
        let mut deepest = 0;
        // Children point forward (the parser refuses cycles); the budget
        // keeps a malformed tree from looping all the same.
        let mut budget = tree.nodes.len() + tree.leaves.len();
        while let Some((child, at, depth)) = open.pop_front() {
            budget = budget.checked_sub(1)?;
            match child {
                Child::Internal(i) => {
                    let node = tree.nodes.get(i)?;
                    let next = self.slot()?;
                    self.slot()?;
                    self.steps[at as usize] =
                        Step { threshold: node.threshold, feature: node.feature, next };
                    self.width = self.width.max(node.feature as usize + 1);
                    open.push_back((Child::of(node.children[0]), next, depth + 1));
                    open.push_back((Child::of(node.children[1]), next + 1, depth + 1));
                }
                Child::Leaf(j) => {
                    self.values[at as usize] = *tree.leaves.get(j)?;
                    deepest = deepest.max(depth);
                }
            }
        }
        Some((root, deepest))
    }

    /// Adds each tree's leaf value for `row` to `out[tree % out.len()]`,
    /// in model order.
    pub(super) fn add(&self, row: &[f64], out: &mut [f64]) {
        // Without a missing type, NaN reads as 0 (LightGBM's rule), and so
        // does a feature past the end of the row.
        let cell = |i: usize| row.get(i).copied().filter(|v| !v.is_nan()).unwrap_or(0.0);
        if self.width <= SMALL {
            // A feature index read as a `u8` into 256 cells is always in
            // bounds, so the walk checks none (a sixth of its instructions).
            let mut x = [0.0; SMALL];
            for (i, v) in x.iter_mut().enumerate().take(self.width) {
                *v = cell(i);
            }
            self.walk(|feature| x[usize::from(feature as u8)], out);
        } else {
            let x: Vec<f64> = (0..self.width).map(cell).collect();
            self.walk(|feature| x[feature as usize], out);
        }
    }

    fn walk(&self, x: impl Fn(u32) -> f64, out: &mut [f64]) {
        let outputs = out.len().max(1);
        for (g, (group, &depth)) in self.groups.iter().zip(&self.depths).enumerate() {
            let mut at = *group;
            for _ in 0..depth {
                for lane in &mut at {
                    let step = &self.steps[*lane as usize];
                    *lane = step.next + u32::from(x(step.feature) > step.threshold);
                }
            }
            let first = g * LANES;
            for (k, lane) in at.iter().take(self.trees - first).enumerate() {
                out[(first + k) % outputs] += self.values[*lane as usize];
            }
        }
    }
}
