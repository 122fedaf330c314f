//! Reading LightGBM's text format (`model.txt`): the header up to the first
//! `Tree=` line, then one block per tree, each checked so that every walk
//! ends at a leaf.

use super::{Link, Missing, Node, Tree, TreeEnsemble};
use crate::{Error, Result};

impl TreeEnsemble {
    /// Reads LightGBM's text format, as written by `Booster::save_model`.
    pub fn parse(text: &str) -> Result<TreeEnsemble> {
        let bad =
            |line: usize, what: String| Error::ModelFile(format!("model.txt line {line}: {what}"));
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end()));
        let mut header = Header::default();
        // The header runs to the first `Tree=` line.
        let mut first_tree = None;
        for (no, line) in lines.by_ref() {
            if line.starts_with("Tree=") {
                first_tree = Some(no);
                break;
            }
            header.read(no, line)?;
        }
        let outputs = header.num_tree_per_iteration.or(header.num_class).unwrap_or(1);
        let n_features = header
            .max_feature_idx
            .map(|m| m + 1)
            .ok_or_else(|| bad(1, "no max_feature_idx".into()))?;
        let link = header.link.ok_or_else(|| bad(1, "no objective line".into()))?;
        if first_tree.is_none() {
            return Err(bad(1, "no trees (expected 'Tree=0')".into()));
        }
        let mut trees = Vec::new();
        let mut block = TreeBlock::default();
        for (no, line) in lines {
            if line.starts_with("Tree=") || line == "end of trees" {
                trees.push(block.finish(no, n_features)?);
                block = TreeBlock::default();
                if line == "end of trees" {
                    break;
                }
                continue;
            }
            block.read(no, line)?;
        }
        if trees.is_empty() || trees.len() % outputs != 0 {
            return Err(bad(
                1,
                format!("{} trees do not make whole iterations of {outputs}", trees.len()),
            ));
        }
        Ok(TreeEnsemble {
            plain: super::PlainForest::new(&trees),
            trees,
            outputs,
            n_features,
            feature_names: header.feature_names,
            link,
            average: header.average_output,
        })
    }
}

#[derive(Default)]
struct Header {
    num_class: Option<usize>,
    num_tree_per_iteration: Option<usize>,
    max_feature_idx: Option<usize>,
    feature_names: Vec<String>,
    link: Option<Link>,
    average_output: bool,
}

impl Header {
    fn read(&mut self, no: usize, line: &str) -> Result<()> {
        if line == "average_output" {
            self.average_output = true;
            return Ok(());
        }
        let Some((key, value)) = line.split_once('=') else { return Ok(()) };
        match key {
            "num_class" => self.num_class = Some(parse_one(no, key, value)?),
            "num_tree_per_iteration" => {
                self.num_tree_per_iteration = Some(parse_one(no, key, value)?)
            }
            "max_feature_idx" => self.max_feature_idx = Some(parse_one(no, key, value)?),
            "feature_names" => self.feature_names = value.split(' ').map(str::to_string).collect(),
            "objective" => self.link = Some(parse_objective(no, value)?),
            _ => {}
        }
        Ok(())
    }
}

fn parse_objective(no: usize, value: &str) -> Result<Link> {
    let mut parts = value.split(' ');
    let name = parts.next().unwrap_or_default();
    let option = |key: &str| parts.clone().find_map(|p| p.strip_prefix(key)?.strip_prefix(':'));
    Ok(match name {
        "binary" | "cross_entropy" => {
            let s = option("sigmoid").map(|s| parse_one::<f64>(no, "sigmoid", s)).transpose()?;
            Link::Sigmoid(s.unwrap_or(1.0))
        }
        "multiclass" => Link::Softmax,
        "regression" | "regression_l1" | "huber" | "fair" | "quantile" | "mape" => Link::Identity,
        "poisson" | "gamma" | "tweedie" => Link::Exp,
        other => {
            return Err(Error::ModelFile(format!(
                "model.txt line {no}: objective '{other}' is not supported \
                 (expected binary, multiclass or a regression objective)"
            )))
        }
    })
}

fn parse_one<T: std::str::FromStr>(no: usize, key: &str, value: &str) -> Result<T> {
    value.trim().parse().map_err(|_| {
        Error::ModelFile(format!("model.txt line {no}: {key}='{value}' is not a valid number"))
    })
}

fn parse_list<T: std::str::FromStr>(no: usize, key: &str, value: &str) -> Result<Vec<T>> {
    value.split(' ').filter(|s| !s.is_empty()).map(|s| parse_one(no, key, s)).collect()
}

/// The lines of one `Tree=` block, gathered until the next one.
#[derive(Default)]
struct TreeBlock {
    start: usize,
    num_leaves: Option<usize>,
    split_feature: Vec<usize>,
    /// LightGBM keeps gains as `f32`; reading them so sums its importances exactly.
    split_gain: Vec<f32>,
    threshold: Vec<f64>,
    decision_type: Vec<u8>,
    left: Vec<i32>,
    right: Vec<i32>,
    leaves: Vec<f64>,
}

impl TreeBlock {
    fn read(&mut self, no: usize, line: &str) -> Result<()> {
        if self.start == 0 {
            self.start = no;
        }
        let Some((key, value)) = line.split_once('=') else { return Ok(()) };
        let unsupported = |what: &str| {
            Err(Error::ModelFile(format!(
                "model.txt line {no}: {what} are not supported (train without them)"
            )))
        };
        match key {
            "num_leaves" => self.num_leaves = Some(parse_one(no, key, value)?),
            "num_cat" if value.trim() != "0" => return unsupported("categorical splits"),
            "is_linear" if value.trim() != "0" => return unsupported("linear trees"),
            "split_feature" => self.split_feature = parse_list(no, key, value)?,
            "split_gain" => self.split_gain = parse_list(no, key, value)?,
            "threshold" => self.threshold = parse_list(no, key, value)?,
            "decision_type" => self.decision_type = parse_list(no, key, value)?,
            "left_child" => self.left = parse_list(no, key, value)?,
            "right_child" => self.right = parse_list(no, key, value)?,
            "leaf_value" => self.leaves = parse_list(no, key, value)?,
            _ => {}
        }
        Ok(())
    }

    fn finish(self, no: usize, n_features: usize) -> Result<Tree> {
        let at = self.start.max(1);
        let bad = |what: String| Error::ModelFile(format!("model.txt tree at line {at}: {what}"));
        let leaves_n =
            self.num_leaves.ok_or_else(|| bad(format!("no num_leaves before line {no}")))?;
        if self.leaves.len() != leaves_n || leaves_n == 0 {
            return Err(bad(format!(
                "{} leaf values for num_leaves={leaves_n}",
                self.leaves.len()
            )));
        }
        let inner = leaves_n - 1;
        for (name, len) in [
            ("split_feature", self.split_feature.len()),
            ("threshold", self.threshold.len()),
            ("decision_type", self.decision_type.len()),
            ("left_child", self.left.len()),
            ("right_child", self.right.len()),
        ] {
            if len != inner {
                return Err(bad(format!("{name} has {len} values, expected {inner}")));
            }
        }
        let child_ok =
            |c: i32| if c >= 0 { (c as usize) < inner } else { (!c as usize) < leaves_n };
        let mut nodes = Vec::with_capacity(inner);
        let mut gains = Vec::with_capacity(inner);
        for i in 0..inner {
            let d = self.decision_type[i];
            if d & 1 != 0 {
                return Err(bad(format!("node {i} is a categorical split (not supported)")));
            }
            let missing = match (d >> 2) & 3 {
                0 => Missing::None,
                1 => Missing::Zero,
                2 => Missing::Nan,
                m => return Err(bad(format!("node {i}: unknown missing type {m}"))),
            };
            let (feature, left, right) = (self.split_feature[i], self.left[i], self.right[i]);
            let feature = u32::try_from(feature).ok().filter(|_| feature < n_features);
            let Some(feature) = feature.filter(|_| child_ok(left) && child_ok(right)) else {
                return Err(bad(format!("node {i}: feature or child index out of range")));
            };
            nodes.push(Node {
                threshold: self.threshold[i],
                feature,
                children: [left, right],
                default_left: d & 2 != 0,
                missing,
            });
            gains.push(self.split_gain.get(i).map_or(0.0, |&g| f64::from(g)));
        }
        // Children must point forward so a walk always ends at a leaf.
        for (i, n) in nodes.iter().enumerate() {
            if n.children.iter().any(|&c| c >= 0 && c as usize <= i) {
                return Err(bad(format!("node {i}: child points backwards (cycle)")));
            }
        }
        Ok(Tree { nodes, leaves: self.leaves, gains })
    }
}
