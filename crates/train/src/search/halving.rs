//! Successive halving (Jamieson & Talwalkar 2016): every candidate gets a
//! small budget of boosting rounds, the best `1/eta` of them go on with
//! `eta` times the budget, until the survivors are fitted with the full
//! budget. Most rounds go to the candidates that look best early.

use crate::Result;

/// The schedule's numbers, checked by `SearchConfig`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Schedule {
    /// How many candidates start.
    pub candidates: usize,
    /// Survivors per rung: `ceil(alive / eta)`.
    pub eta: usize,
    /// The first rung's rounds.
    pub min_rounds: usize,
    /// The last rung's rounds.
    pub max_rounds: usize,
}

impl Schedule {
    /// Runs the rungs. `evaluate(candidate, rung, rounds, last)` fits one
    /// candidate with `rounds` rounds and returns its validation score;
    /// `better(a, b)` says whether score `a` beats `b`. Returns the
    /// candidates of the last rung, which all had `max_rounds`.
    pub(crate) fn run(
        self,
        better: impl Fn(f64, f64) -> bool,
        mut evaluate: impl FnMut(usize, usize, usize, bool) -> Result<f64>,
    ) -> Result<Vec<usize>> {
        let mut alive: Vec<usize> = (0..self.candidates).collect();
        let mut rounds = self.min_rounds.min(self.max_rounds);
        for rung in 0.. {
            let last = rounds >= self.max_rounds;
            let mut scored = Vec::with_capacity(alive.len());
            for &c in &alive {
                scored.push((c, evaluate(c, rung, rounds, last)?));
            }
            if last {
                break;
            }
            // Stable: among equal scores the earlier candidate stays ahead.
            scored.sort_by(|a, b| {
                if better(a.1, b.1) {
                    std::cmp::Ordering::Less
                } else if better(b.1, a.1) {
                    std::cmp::Ordering::Greater
                } else {
                    std::cmp::Ordering::Equal
                }
            });
            let keep = alive.len().div_ceil(self.eta).max(1);
            alive = scored[..keep].iter().map(|&(c, _)| c).collect();
            // A lone survivor has nothing left to race: give it the full budget now.
            rounds =
                if keep == 1 { self.max_rounds } else { (rounds * self.eta).min(self.max_rounds) };
        }
        Ok(alive)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_best_early_candidates_get_the_rounds() {
        let schedule = Schedule { candidates: 9, eta: 3, min_rounds: 10, max_rounds: 100 };
        let mut calls = Vec::new();
        // Candidate c scores c at every budget (higher is better): 8, 7, 6 survive rung 0.
        let last = schedule
            .run(
                |a, b| a > b,
                |c, rung, rounds, last| {
                    calls.push((c, rung, rounds, last));
                    Ok(c as f64)
                },
            )
            .unwrap();
        assert_eq!(last, vec![8]);
        let rung = |r: usize| -> Vec<(usize, usize)> {
            calls.iter().filter(|x| x.1 == r).map(|x| (x.0, x.2)).collect()
        };
        assert_eq!(rung(0).len(), 9);
        assert!(rung(0).iter().all(|&(_, rounds)| rounds == 10));
        assert_eq!(rung(1), vec![(8, 30), (7, 30), (6, 30)]);
        assert_eq!(rung(2), vec![(8, 100)]);
        assert!(calls.iter().all(|x| x.3 == (x.2 == 100)));
        let total: usize = calls.iter().map(|x| x.2).sum();
        assert_eq!(total, 9 * 10 + 3 * 30 + 100);
    }

    #[test]
    fn a_budget_that_cannot_grow_is_one_rung() {
        let schedule = Schedule { candidates: 4, eta: 2, min_rounds: 50, max_rounds: 50 };
        let mut n = 0;
        let last = schedule
            .run(
                |a, b| a < b,
                |_, _, _, _| {
                    n += 1;
                    Ok(1.0)
                },
            )
            .unwrap();
        assert_eq!((n, last), (4, vec![0, 1, 2, 3]));
    }
}
