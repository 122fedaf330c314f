//! Standardization: each feature shifted to mean 0 and scaled to unit variance.

use serde::{Deserialize, Serialize};

use crate::{Dataset, Error, Result};

/// Per-feature means and scales, fitted on training rows only, as
/// scikit-learn's `StandardScaler`: the population standard deviation, and
/// a scale of 1 for a constant feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StandardScaler {
    /// Mean of each feature.
    pub means: Vec<f64>,
    /// Standard deviation of each feature (1 where it is 0).
    pub scales: Vec<f64>,
}

impl StandardScaler {
    /// Fits on every row of `data`; missing values are an error.
    pub fn fit(data: &Dataset) -> Result<StandardScaler> {
        if data.n_rows() == 0 {
            return Err(Error::Empty { what: "StandardScaler fit" });
        }
        data.check_complete()?;
        let n = data.n_rows() as f64;
        let mut means = Vec::with_capacity(data.n_features());
        let mut scales = Vec::with_capacity(data.n_features());
        for j in 0..data.n_features() {
            let mean = data.column(j).sum::<f64>() / n;
            let var = data.column(j).map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
            let std = var.sqrt();
            means.push(mean);
            // scikit-learn's `_handle_zeros_in_scale`: a (near-)constant feature is left unscaled.
            scales.push(if std < 10.0 * f64::EPSILON { 1.0 } else { std });
        }
        Ok(StandardScaler { means, scales })
    }

    /// Number of features it was fitted on.
    pub fn n_features(&self) -> usize {
        self.means.len()
    }

    /// Standardizes one row into `out`.
    pub fn transform_row(&self, row: &[f64], out: &mut Vec<f64>) -> Result<()> {
        if row.len() != self.n_features() {
            return Err(Error::Features(format!(
                "the scaler was fitted on {} features, the row has {}",
                self.n_features(),
                row.len()
            )));
        }
        out.clear();
        out.extend(
            row.iter().zip(self.means.iter().zip(&self.scales)).map(|(v, (m, s))| (v - m) / s),
        );
        Ok(())
    }

    /// A standardized copy of `data` (same names and labels).
    pub fn transform(&self, data: &Dataset) -> Result<Dataset> {
        let mut values = Vec::with_capacity(data.n_rows() * data.n_features());
        let mut buf = Vec::with_capacity(data.n_features());
        for row in data.rows() {
            self.transform_row(row, &mut buf)?;
            values.extend_from_slice(&buf);
        }
        Dataset::new(
            data.feature_names().to_vec(),
            values,
            data.labels().to_vec(),
            data.label().clone(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LabelInfo;

    fn data(values: Vec<f64>) -> Dataset {
        let label = LabelInfo {
            column: "y".into(),
            positive_class: "1".into(),
            negative_class: "0".into(),
        };
        let n = values.len() / 2;
        Dataset::new(vec!["a".into(), "c".into()], values, vec![0; n], label).unwrap()
    }

    #[test]
    fn standardizes_with_population_std_and_leaves_constants_alone() {
        let d = data(vec![1.0, 5.0, 3.0, 5.0]);
        let s = StandardScaler::fit(&d).unwrap();
        assert_eq!((s.means.clone(), s.scales.clone()), (vec![2.0, 5.0], vec![1.0, 1.0]));
        let t = s.transform(&d).unwrap();
        assert_eq!((t.row(0), t.row(1)), (&[-1.0, 0.0][..], &[1.0, 0.0][..]));
        assert!(s.transform_row(&[1.0], &mut Vec::new()).is_err());
        assert!(matches!(
            StandardScaler::fit(&data(vec![1.0, f64::NAN])),
            Err(Error::Missing { .. })
        ));
    }
}
