//! Choosing the next token from logits: greedy, or sampling with
//! temperature, top-k, top-p and a repetition penalty, from a seeded
//! generator so a seed reproduces a generation.

use lathe_core::SplitMix64;

use crate::error::{Error, Result};

/// How the next token is chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplingParams {
    /// 0 chooses greedily; otherwise logits are divided by it.
    pub temperature: f32,
    /// Keep the smallest set of tokens whose probabilities add up to this (1 keeps all).
    pub top_p: f32,
    /// Keep only the k most likely tokens (0 keeps all).
    pub top_k: usize,
    /// Above 1, discourages tokens already in the sequence (CTRL's penalty, as in transformers).
    pub repetition_penalty: f32,
    /// Seed of the generator.
    pub seed: u64,
}

impl Default for SamplingParams {
    fn default() -> Self {
        SamplingParams { temperature: 0.0, top_p: 1.0, top_k: 0, repetition_penalty: 1.0, seed: 0 }
    }
}

impl SamplingParams {
    /// Refuses values outside their ranges.
    pub fn validate(&self) -> Result<()> {
        let bad =
            |param, problem: &str| Err(Error::InvalidParameter { param, problem: problem.into() });
        if !(self.temperature.is_finite() && self.temperature >= 0.0) {
            return bad("temperature", "must be a finite number >= 0");
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return bad("top_p", "must be in (0, 1]");
        }
        if !(self.repetition_penalty.is_finite() && self.repetition_penalty > 0.0) {
            return bad("repetition_penalty", "must be a finite number > 0");
        }
        Ok(())
    }
}

/// A sampler for one sequence.
pub struct Sampler {
    params: SamplingParams,
    rng: SplitMix64,
}

impl Sampler {
    /// A sampler seeded with `params.seed`.
    pub fn new(params: SamplingParams) -> Result<Self> {
        params.validate()?;
        let rng = SplitMix64::new(params.seed);
        Ok(Sampler { params, rng })
    }

    /// The next token given `logits` over the vocabulary and the tokens of
    /// the sequence so far (prompt included).
    pub fn sample(&mut self, logits: &mut [f32], previous: &[u32]) -> u32 {
        let p = &self.params;
        if p.repetition_penalty != 1.0 {
            let mut seen: Vec<u32> = previous.to_vec();
            seen.sort_unstable();
            seen.dedup();
            for id in seen {
                if let Some(l) = logits.get_mut(id as usize) {
                    *l = if *l > 0.0 {
                        *l / p.repetition_penalty
                    } else {
                        *l * p.repetition_penalty
                    };
                }
            }
        }
        if p.temperature == 0.0 {
            return argmax(logits);
        }
        let mut order: Vec<usize> = (0..logits.len()).collect();
        order.sort_unstable_by(|&a, &b| logits[b].total_cmp(&logits[a]));
        if p.top_k > 0 {
            order.truncate(p.top_k.max(1));
        }
        let max = logits[order[0]];
        let mut probs: Vec<f64> =
            order.iter().map(|&i| f64::from((logits[i] - max) / p.temperature).exp()).collect();
        let total: f64 = probs.iter().sum();
        probs.iter_mut().for_each(|x| *x /= total);
        if p.top_p < 1.0 {
            let mut cumulative = 0.0;
            let keep = probs
                .iter()
                .position(|x| {
                    cumulative += x;
                    cumulative >= f64::from(p.top_p)
                })
                .map_or(probs.len(), |i| i + 1);
            probs.truncate(keep);
            order.truncate(keep);
        }
        let total: f64 = probs.iter().sum();
        // 53 random bits make a uniform double in [0, 1).
        let u = (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * total;
        let mut cumulative = 0.0;
        for (i, x) in probs.iter().enumerate() {
            cumulative += x;
            if u < cumulative {
                return order[i] as u32;
            }
        }
        order[probs.len() - 1] as u32
    }
}

fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, l) in logits.iter().enumerate() {
        if *l > logits[best] {
            best = i;
        }
    }
    best as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sampler(temperature: f32, top_p: f32, top_k: usize, penalty: f32, seed: u64) -> Sampler {
        Sampler::new(SamplingParams {
            temperature,
            top_p,
            top_k,
            repetition_penalty: penalty,
            seed,
        })
        .unwrap()
    }

    #[test]
    fn greedy_takes_the_largest_and_penalty_can_flip_it() {
        let mut s = sampler(0.0, 1.0, 0, 1.0, 0);
        assert_eq!(s.sample(&mut [0.1, 2.0, 1.9], &[]), 1);
        let mut s = sampler(0.0, 1.0, 0, 1.2, 0);
        assert_eq!(s.sample(&mut [0.1, 2.0, 1.9], &[1]), 2);
        // A negative logit is multiplied, pushing it further down.
        let mut logits = [-1.0, -1.1];
        assert_eq!(s.sample(&mut logits, &[0]), 1);
    }

    #[test]
    fn top_k_one_and_tiny_top_p_are_greedy() {
        for seed in 0..20 {
            assert_eq!(sampler(1.0, 1.0, 1, 1.0, seed).sample(&mut [0.0, 1.0, 0.5], &[]), 1);
            assert_eq!(sampler(1.0, 0.01, 0, 1.0, seed).sample(&mut [0.0, 1.0, 0.5], &[]), 1);
        }
    }

    #[test]
    fn frequencies_follow_the_softmax_and_seeds_reproduce() {
        // softmax([0, ln 3]) = [0.25, 0.75]
        let mut s = sampler(1.0, 1.0, 0, 1.0, 7);
        let n = 20_000;
        let ones = (0..n).filter(|_| s.sample(&mut [0.0, 3f32.ln()], &[]) == 1).count();
        let freq = ones as f64 / n as f64;
        assert!((freq - 0.75).abs() < 0.015, "{freq}");
        let mut a = sampler(1.0, 1.0, 0, 1.0, 3);
        let mut b = sampler(1.0, 1.0, 0, 1.0, 3);
        let xs: Vec<u32> = (0..50).map(|_| a.sample(&mut [0.0, 0.1, 0.2, 0.3], &[])).collect();
        let ys: Vec<u32> = (0..50).map(|_| b.sample(&mut [0.0, 0.1, 0.2, 0.3], &[])).collect();
        assert_eq!(xs, ys);
    }

    #[test]
    fn top_p_drops_the_tail() {
        // probabilities ≈ [0.665, 0.245, 0.090]: top_p 0.8 keeps two.
        let mut s = sampler(1.0, 0.8, 0, 1.0, 1);
        for _ in 0..2000 {
            assert_ne!(s.sample(&mut [2.0, 1.0, 0.0], &[]), 2);
        }
    }

    #[test]
    fn refuses_bad_parameters() {
        let p = SamplingParams { top_p: 0.0, ..SamplingParams::default() };
        assert!(Sampler::new(p).is_err());
        let p = SamplingParams { temperature: -1.0, ..SamplingParams::default() };
        assert!(Sampler::new(p).is_err());
    }
}
