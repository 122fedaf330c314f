//! The property serving relies on: `transform` on a frame and
//! `transform_row` on each row as a JSON object give bit-identical
//! features, over random rows with missing values, NaN, unseen labels,
//! numbers sent as strings, odd text and every spec option.

use lathe_core::SplitMix64;
use lathe_data::{CategoricalEncoding, Imputation, PreprocessSpec, Preprocessor, Scaling};
use polars::prelude::*;
use serde_json::{Map, Value};

const WORDS: [&str; 12] =
    ["Good", "bad", "ÜBER", "naïve", "café's", "x", "don't", "42", "a_b", "—", "émoji🙂", "  "];

struct Rows {
    num: Vec<Option<f64>>,
    int: Vec<Option<i64>>,
    cat: Vec<Option<String>>,
    flag: Vec<Option<bool>>,
    when: Vec<Option<String>>,
    text: Vec<Option<String>>,
    y: Vec<i64>,
}

fn random_rows(rng: &mut SplitMix64, n: usize, unseen: bool) -> Rows {
    let mut r = Rows {
        num: vec![],
        int: vec![],
        cat: vec![],
        flag: vec![],
        when: vec![],
        text: vec![],
        y: vec![],
    };
    for _ in 0..n {
        let u = rng.below(100);
        r.num.push(match u {
            0..=9 => None,
            10..=12 => Some(f64::NAN),
            _ => Some((rng.next_u64() as f64 / u64::MAX as f64 - 0.5) * 1e3),
        });
        r.int.push((rng.below(10) > 0).then(|| rng.below(7) as i64 - 3));
        let k = rng.below(if unseen { 40 } else { 30 });
        r.cat.push((k != 0).then(|| format!("c{k}")));
        r.flag.push((rng.below(8) > 0).then(|| rng.below(2) == 0));
        r.when.push((rng.below(10) > 0).then(|| {
            format!(
                "20{:02}-{:02}-{:02}T{:02}:30:00",
                rng.below(30),
                rng.below(12) + 1,
                rng.below(28) + 1,
                rng.below(24)
            )
        }));
        r.text.push((rng.below(10) > 0).then(|| {
            (0..rng.below(9))
                .map(|_| WORDS[rng.below(WORDS.len() as u64) as usize])
                .collect::<Vec<_>>()
                .join(" ")
        }));
        r.y.push(rng.below(2) as i64);
    }
    r
}

fn frame(r: &Rows) -> DataFrame {
    DataFrame::new_infer_height(vec![
        Column::new("num".into(), &r.num),
        Column::new("int".into(), &r.int),
        Column::new("cat".into(), &r.cat),
        Column::new("flag".into(), &r.flag),
        Column::new("when".into(), &r.when),
        Column::new("text".into(), &r.text),
        Column::new("y".into(), &r.y),
    ])
    .unwrap()
}

/// Row `i` as a serving request would carry it; numbers sometimes as text.
fn json_row(r: &Rows, i: usize, rng: &mut SplitMix64) -> Map<String, Value> {
    let mut m = Map::new();
    let num = match r.num[i] {
        Some(x) if rng.below(3) == 0 => Value::String(format!("{x}")),
        Some(x) => Value::from(x), // NaN becomes null, as JSON has no NaN
        None => Value::Null,
    };
    m.insert("num".into(), num);
    m.insert("int".into(), r.int[i].map_or(Value::Null, Value::from));
    m.insert("cat".into(), r.cat[i].clone().map_or(Value::Null, Value::String));
    m.insert("flag".into(), r.flag[i].map_or(Value::Null, Value::Bool));
    m.insert("when".into(), r.when[i].clone().map_or(Value::Null, Value::String));
    m.insert("text".into(), r.text[i].clone().map_or(Value::Null, Value::String));
    if rng.below(2) == 0 {
        m.insert("y".into(), Value::from(r.y[i])); // the target may ride along
    }
    m
}

#[test]
fn frame_and_json_rows_give_bit_identical_features() {
    let specs = [
        PreprocessSpec { max_categories: 8, max_features: 6, ..PreprocessSpec::default() },
        PreprocessSpec {
            imputation: Imputation::Mean,
            scaling: Scaling::MinMax,
            categorical: CategoricalEncoding::Ordinal,
            ..PreprocessSpec::default()
        },
        PreprocessSpec {
            imputation: Imputation::MostFrequent,
            scaling: Scaling::Robust,
            missing_indicators: false,
            ..PreprocessSpec::default()
        },
        PreprocessSpec {
            imputation: Imputation::Constant(-1.5),
            scaling: Scaling::None,
            ..PreprocessSpec::default()
        },
    ];
    let mut checked = 0;
    for seed in 0..8u64 {
        let mut rng = SplitMix64::new(seed);
        let train = random_rows(&mut rng, 200, false);
        let apply = random_rows(&mut rng, 300, true);
        let spec = &specs[seed as usize % specs.len()];
        let prep = Preprocessor::fit(&frame(&train), "y", spec).unwrap();
        let (m, report) = prep.transform(&frame(&apply)).unwrap();
        assert_eq!(m.cols(), prep.feature_names().len());
        let unseen = report.unseen.iter().find(|(c, _)| c == "cat").map_or(0, |u| u.1);
        assert!(unseen > 0, "labels c30..c39 were never seen in training");
        // The saved form transforms the same way.
        let reloaded = Preprocessor::from_json(&prep.to_json().unwrap()).unwrap();
        assert_eq!(reloaded, prep);
        for i in 0..m.rows() {
            let row = json_row(&apply, i, &mut rng);
            let one = reloaded.transform_row(&row).unwrap();
            for (j, (a, b)) in m.row(i).iter().zip(&one).enumerate() {
                assert_eq!(
                    a.to_bits(),
                    b.to_bits(),
                    "seed {seed}, row {i}, feature {}: frame {a} vs row {b} ({row:?})",
                    prep.feature_names()[j]
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 8 * 300);
}
