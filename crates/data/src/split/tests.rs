//! Properties of every split: disjoint, covering, sized, and the
//! strategy's own promise (class shares, whole groups, time order).

use super::*;

fn check_partition(s: &Split, n: usize) {
    let mut all: Vec<usize> = s.train.iter().chain(&s.test).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..n).collect::<Vec<_>>(), "disjoint and covering");
    assert!(s.train.windows(2).all(|w| w[0] < w[1]) && s.test.windows(2).all(|w| w[0] < w[1]));
}

fn labels(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = SplitMix64::new(seed);
    // Unbalanced: class 0 most common, class 3 rare.
    (0..n).map(|_| [0., 0., 0., 0., 1., 1., 2., 3.][rng.below(8) as usize]).collect()
}

#[test]
fn random_is_seeded_sized_and_partitions() -> Result<()> {
    for n in [2, 3, 10, 101] {
        let s = random(n, 0.25, 7)?;
        check_partition(&s, n);
        assert_eq!(s.test.len(), (0.25 * n as f64).ceil() as usize);
        assert_eq!(s, random(n, 0.25, 7)?);
    }
    assert_ne!(random(100, 0.2, 1)?, random(100, 0.2, 2)?);
    assert!(
        random(10, 0.0, 1).is_err() && random(10, 1.0, 1).is_err() && random(1, 0.5, 1).is_err()
    );
    Ok(())
}

#[test]
fn stratified_keeps_class_shares_within_one_row() -> Result<()> {
    for seed in 0..30 {
        let n = 50 + seed as usize * 7;
        let y = labels(n, seed);
        let s = stratified(&y, 0.3, seed)?;
        check_partition(&s, n);
        let k = s.test.len();
        assert_eq!(k, (0.3 * n as f64).ceil() as usize);
        for c in 0..4 {
            let total = y.iter().filter(|&&v| v == c as f64).count() as f64;
            let in_test = s.test.iter().filter(|&&i| y[i] == c as f64).count() as f64;
            let exact = total * k as f64 / n as f64;
            assert!((in_test - exact).abs() < 1.0, "class {c}: {in_test} vs {exact}");
        }
    }
    Ok(())
}

#[test]
fn groups_are_never_split() -> Result<()> {
    for seed in 0..20 {
        let mut rng = SplitMix64::new(seed);
        let g: Vec<u64> = (0..200).map(|_| rng.below(17)).collect();
        let s = group(&g, 0.2, seed)?;
        check_partition(&s, 200);
        assert!(s.test.len() >= 40 && !s.train.is_empty());
        for &i in &s.test {
            assert!(s.train.iter().all(|&j| g[j] != g[i]), "group {} on both sides", g[i]);
        }
    }
    assert!(group(&[1, 1, 1], 0.3, 0).is_err());
    Ok(())
}

#[test]
fn time_split_puts_the_latest_rows_in_test() -> Result<()> {
    let keys = ["2020-03-01", "2020-01-01", "2021-01-01", "2020-02-01", "2019-12-31"];
    let s = time(&keys, 0.4)?;
    check_partition(&s, 5);
    assert_eq!(s.test, vec![0, 2]);
    let latest_train = s.train.iter().map(|&i| keys[i]).max();
    let earliest_test = s.test.iter().map(|&i| keys[i]).min();
    assert!(latest_train < earliest_test);
    let s = time(&[3.0, 1.0, 2.0, 0.5], 0.5)?;
    assert_eq!(s.test, vec![0, 2]);
    Ok(())
}

#[test]
fn folds_cover_each_row_once_and_balance_classes() -> Result<()> {
    let n = 103;
    let folds = k_fold(n, 5, 3)?;
    let mut seen = vec![0; n];
    for f in &folds {
        check_partition(f, n);
        assert!(f.test.len() == 20 || f.test.len() == 21);
        f.test.iter().for_each(|&i| seen[i] += 1);
    }
    assert!(seen.iter().all(|&c| c == 1));
    let y = labels(n, 9);
    let folds = stratified_k_fold(&y, 4, 9)?;
    let mut seen = vec![0; n];
    for c in 0..4 {
        let counts: Vec<usize> =
            folds.iter().map(|f| f.test.iter().filter(|&&i| y[i] == c as f64).count()).collect();
        let (lo, hi) = (counts.iter().min(), counts.iter().max());
        assert!(hi.zip(lo).is_some_and(|(h, l)| h - l <= 1), "class {c}: {counts:?}");
    }
    for f in &folds {
        check_partition(f, n);
        f.test.iter().for_each(|&i| seen[i] += 1);
    }
    assert!(seen.iter().all(|&c| c == 1));
    assert!(k_fold(3, 4, 0).is_err() && k_fold(3, 1, 0).is_err());
    let target = lathe_core::Target {
        name: "y".into(),
        kind: lathe_core::TaskKind::Multiclass,
        values: y.clone(),
        classes: vec!["a".into(), "b".into(), "c".into(), "d".into()],
    };
    assert_eq!(super::folds(&target, 4, 9)?, stratified_k_fold(&y, 4, 9)?);
    let target = lathe_core::Target { kind: lathe_core::TaskKind::Regression, ..target };
    assert_eq!(super::folds(&target, 4, 9)?, k_fold(n, 4, 9)?);
    Ok(())
}
