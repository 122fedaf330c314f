//! Free-text columns: TF-IDF as scikit-learn's `TfidfVectorizer` with its
//! defaults — lowercase, tokens `(?u)\b\w\w+\b`, raw counts, smooth idf
//! `ln((1 + n) / (1 + df)) + 1`, rows scaled to unit L2 norm — keeping the
//! `max_features` terms with the highest total count (ties: the
//! lexicographically smaller term), features in sorted term order.

use std::collections::HashMap;
use std::sync::OnceLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// A fitted TF-IDF vocabulary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct TfidfStep {
    /// Terms, sorted.
    pub vocabulary: Vec<String>,
    /// Inverse document frequency of each term.
    pub idf: Vec<f64>,
}

fn token_pattern() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"\b\w\w+\b").expect("a literal pattern compiles"))
}

/// The lowercased tokens of `doc`.
fn tokens(doc: &str) -> Vec<String> {
    let lower = doc.to_lowercase();
    token_pattern().find_iter(&lower).map(|m| m.as_str().to_string()).collect()
}

impl TfidfStep {
    pub fn fit<'a>(
        docs: impl Iterator<Item = std::borrow::Cow<'a, str>>,
        max_features: usize,
    ) -> TfidfStep {
        let mut total: HashMap<String, (usize, usize)> = HashMap::new(); // term → (count, df)
        let mut n = 0usize;
        for doc in docs {
            n += 1;
            let mut toks = tokens(&doc);
            toks.sort_unstable();
            let mut i = 0;
            while i < toks.len() {
                let mut j = i;
                while j < toks.len() && toks[j] == toks[i] {
                    j += 1;
                }
                let e = total.entry(std::mem::take(&mut toks[i])).or_default();
                e.0 += j - i;
                e.1 += 1;
                i = j;
            }
        }
        let mut terms: Vec<(String, (usize, usize))> = total.into_iter().collect();
        if terms.len() > max_features {
            terms.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then_with(|| a.0.cmp(&b.0)));
            terms.truncate(max_features);
        }
        terms.sort_by(|a, b| a.0.cmp(&b.0));
        let idf = terms
            .iter()
            .map(|(_, (_, df))| ((1.0 + n as f64) / (1.0 + *df as f64)).ln() + 1.0)
            .collect();
        TfidfStep { vocabulary: terms.into_iter().map(|t| t.0).collect(), idf }
    }

    pub fn width(&self) -> usize {
        self.vocabulary.len()
    }

    pub fn feature_names(&self, column: &str) -> Vec<String> {
        self.vocabulary.iter().map(|t| format!("{column}__tfidf__{t}")).collect()
    }

    /// Writes the document's TF-IDF row into `out`.
    pub fn apply(&self, doc: &str, out: &mut [f64]) {
        out.iter_mut().for_each(|v| *v = 0.0);
        let mut hit = Vec::new();
        for t in tokens(doc) {
            if let Ok(i) = self.vocabulary.binary_search(&t) {
                if out[i] == 0.0 {
                    hit.push(i);
                }
                out[i] += 1.0;
            }
        }
        hit.sort_unstable();
        for &i in &hit {
            out[i] *= self.idf[i];
        }
        let norm = hit.iter().map(|&i| out[i] * out[i]).sum::<f64>().sqrt();
        if norm > 0.0 {
            for &i in &hit {
                out[i] /= norm;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    #[test]
    fn sklearn_defaults_on_a_tiny_corpus() {
        let docs = ["The cat sat", "the dog, the DOG!", "a b c"];
        let s = TfidfStep::fit(docs.iter().map(|d| Cow::Borrowed(*d)), 2000);
        assert_eq!(s.vocabulary, vec!["cat", "dog", "sat", "the"]);
        // df(the) = 2 of 3 docs.
        assert!((s.idf[3] - ((4.0f64 / 3.0).ln() + 1.0)).abs() < 1e-15);
        let mut out = vec![0.0; 4];
        s.apply("dog dog zebra", &mut out);
        assert_eq!(out, vec![0.0, 1.0, 0.0, 0.0]);
        s.apply("a b", &mut out);
        assert_eq!(out, vec![0.0; 4]);
        let capped = TfidfStep::fit(docs.iter().map(|d| Cow::Borrowed(*d)), 2);
        assert_eq!(capped.vocabulary, vec!["dog", "the"]);
    }
}
