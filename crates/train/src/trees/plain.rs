//! The trees of a model whose nodes never treat a value as missing
//! (LightGBM's missing type `None`, what training without missing values
//! writes), laid out to be walked several at a time.
//!
//! One tree is a chain of dependent loads: the next node is known only
//! once this one is read, so a walk waits on memory at every level.
//! Walking [`LANES`] trees in lockstep lets their loads overlap. For the
//! lanes to step together without a branch per lane, a leaf is a node
//! that points to itself, and a group takes as many steps as its deepest
//! tree.

use super::{Node, Tree};

/// Trees walked together.
const LANES: usize = 8;

/// Every tree of a plain model in one node array.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct PlainForest {
    /// Per tree, in model order: its root in `nodes` and its depth.
    roots: Vec<(u32, u32)>,
    /// Internal nodes and leaves; child indices are absolute.
    nodes: Vec<Node>,
    /// Per node, its value when it is a leaf (0 for internal nodes).
    values: Vec<f64>,
}

impl PlainForest {
    /// The layout of `trees`, or `None` when a node treats a value as
    /// missing (or the model is too large to index with `u32`).
    pub(super) fn new(trees: &[Tree]) -> Option<PlainForest> {
        let mut forest = PlainForest { roots: Vec::new(), nodes: Vec::new(), values: Vec::new() };
        for tree in trees {
            if tree.nodes.iter().any(|n| n.missing != super::Missing::None) {
                return None;
            }
            let start = forest.nodes.len();
            let internal = tree.nodes.len();
            let at = |child: i32| -> Option<i32> {
                let local = if child >= 0 { child as usize } else { internal + !child as usize };
                i32::try_from(start + local).ok()
            };
            // depth[i]: internal nodes on the path from the root to node i.
            let mut depth = vec![0u32; internal + tree.leaves.len()];
            for (i, node) in tree.nodes.iter().enumerate() {
                let children = [at(node.children[0])?, at(node.children[1])?];
                for &c in &children {
                    depth[c as usize - start] = depth[i] + 1;
                }
                forest.nodes.push(Node { children, ..node.clone() });
                forest.values.push(0.0);
            }
            for &value in &tree.leaves {
                let me = i32::try_from(forest.nodes.len()).ok()?;
                // `value > +inf` is never true: a leaf keeps the walk where it is.
                forest.nodes.push(Node {
                    threshold: f64::INFINITY,
                    feature: 0,
                    children: [me, me],
                    default_left: true,
                    missing: super::Missing::None,
                });
                forest.values.push(value);
            }
            let deepest = depth[internal..].iter().copied().max().unwrap_or(0);
            forest.roots.push((u32::try_from(start).ok()?, deepest));
        }
        Some(forest)
    }

    /// Adds each tree's leaf value for `row` to `out[tree % out.len()]`,
    /// in model order.
    pub(super) fn add(&self, row: &[f64], out: &mut [f64]) {
        let outputs = out.len().max(1);
        for (g, group) in self.roots.chunks(LANES).enumerate() {
            let mut at = [0u32; LANES];
            for (lane, &(root, _)) in at.iter_mut().zip(group) {
                *lane = root;
            }
            let steps = group.iter().map(|&(_, depth)| depth).max().unwrap_or(0);
            for _ in 0..steps {
                for lane in at.iter_mut().take(group.len()) {
                    let node = &self.nodes[*lane as usize];
                    let value = row.get(node.feature as usize).copied().unwrap_or(0.0);
                    // Without a missing type, NaN reads as 0 (LightGBM's rule).
                    let value = if value.is_nan() { 0.0 } else { value };
                    *lane = node.children[usize::from(value > node.threshold)] as u32;
                }
            }
            for (k, lane) in at.iter().take(group.len()).enumerate() {
                out[(g * LANES + k) % outputs] += self.values[*lane as usize];
            }
        }
    }
}
