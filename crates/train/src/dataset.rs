//! A binary-classification table: numeric features and 0/1 labels read from CSV.

use serde::Serialize;

use crate::{Error, Result};

/// Numeric features (row-major) with one 0/1 label per row.
///
/// Empty cells (and `NA`, `NaN`) are read as missing (`NaN`): they are
/// counted by [`Dataset::profile`] and refused by fits.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    feature_names: Vec<String>,
    values: Vec<f64>,
    labels: Vec<u8>,
    label: LabelInfo,
}

/// Which column is the label and what its two classes are called.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct LabelInfo {
    /// Label column name.
    pub column: String,
    /// The class read as 1.
    pub positive_class: String,
    /// The class read as 0.
    pub negative_class: String,
}

/// Summary statistics of one feature column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnProfile {
    /// Column name.
    pub name: String,
    /// Present (finite) values.
    pub count: usize,
    /// Missing values.
    pub missing: usize,
    /// Mean of the present values.
    pub mean: Option<f64>,
    /// Sample standard deviation (n - 1) of the present values, as pandas' `describe`.
    pub std: Option<f64>,
    /// Smallest present value.
    pub min: Option<f64>,
    /// Largest present value.
    pub max: Option<f64>,
}

impl Dataset {
    /// Reads a CSV with a header row. Every column except `label_column` is a
    /// numeric feature; `label_column` must hold exactly two classes, of which
    /// `positive_class` becomes 1 and the other 0.
    pub fn from_csv(bytes: &[u8], label_column: &str, positive_class: &str) -> Result<Dataset> {
        let mut reader =
            csv::ReaderBuilder::new().has_headers(true).trim(csv::Trim::All).from_reader(bytes);
        let header: Vec<String> = reader.headers()?.iter().map(str::to_string).collect();
        let label_at = header.iter().position(|h| h == label_column).ok_or_else(|| {
            Error::MissingColumn { column: label_column.to_string(), available: header.join(", ") }
        })?;
        let feature_names: Vec<String> = header
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != label_at)
            .map(|(_, h)| h.clone())
            .collect();
        let labels_error =
            |problem: String| Error::Labels { column: label_column.to_string(), problem };
        let mut values = Vec::new();
        let mut labels = Vec::new();
        let mut negative_class: Option<String> = None;
        for record in reader.records() {
            let record = record?;
            let line = record.position().map_or(0, |p| p.line());
            for (i, cell) in record.iter().enumerate() {
                if i == label_at {
                    continue;
                }
                values.push(parse_cell(cell).ok_or_else(|| Error::NotNumeric {
                    line,
                    column: header[i].clone(),
                    value: cell.to_string(),
                })?);
            }
            let class = record.get(label_at).unwrap_or_default();
            if class.is_empty() {
                return Err(labels_error(format!("line {line} has no label")));
            }
            if class == positive_class {
                labels.push(1);
                continue;
            }
            match &negative_class {
                None => negative_class = Some(class.to_string()),
                Some(neg) if neg == class => {}
                Some(neg) => {
                    return Err(labels_error(format!(
                        "line {line} has a third class '{class}' besides '{positive_class}' and '{neg}'; \
                         binary classification needs exactly two"
                    )))
                }
            }
            labels.push(0);
        }
        if labels.is_empty() {
            return Err(Error::Empty { what: "CSV" });
        }
        if !labels.contains(&1) {
            return Err(labels_error(format!("positive class '{positive_class}' never occurs")));
        }
        let negative_class = negative_class.ok_or_else(|| {
            labels_error(format!(
                "only the positive class '{positive_class}' occurs; two classes are needed"
            ))
        })?;
        let label = LabelInfo {
            column: label_column.to_string(),
            positive_class: positive_class.to_string(),
            negative_class,
        };
        Ok(Dataset { feature_names, values, labels, label })
    }

    /// A dataset from parts; `values` is row-major with one row per label.
    pub fn new(
        feature_names: Vec<String>,
        values: Vec<f64>,
        labels: Vec<u8>,
        label: LabelInfo,
    ) -> Result<Dataset> {
        if values.len() != feature_names.len() * labels.len() {
            return Err(Error::Features(format!(
                "{} values do not make {} rows of {} features",
                values.len(),
                labels.len(),
                feature_names.len()
            )));
        }
        if let Some(bad) = labels.iter().find(|&&l| l > 1) {
            return Err(Error::Labels {
                column: label.column,
                problem: format!("label {bad} is not 0 or 1"),
            });
        }
        Ok(Dataset { feature_names, values, labels, label })
    }

    /// Feature column names, in order.
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// The label column and its classes.
    pub fn label(&self) -> &LabelInfo {
        &self.label
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.labels.len()
    }

    /// Number of feature columns.
    pub fn n_features(&self) -> usize {
        self.feature_names.len()
    }

    /// One row's features.
    pub fn row(&self, i: usize) -> &[f64] {
        let w = self.n_features();
        &self.values[i * w..(i + 1) * w]
    }

    /// Every row's features, in order.
    pub fn rows(&self) -> impl Iterator<Item = &[f64]> {
        // `max(1)`: a table without features still has rows (of nothing).
        self.values.chunks_exact(self.n_features().max(1)).take(self.n_rows())
    }

    /// Labels: 1 for the positive class, 0 for the other.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// Share of rows in the positive class.
    pub fn positive_share(&self) -> f64 {
        let positives = self.labels.iter().filter(|&&l| l == 1).count();
        positives as f64 / self.n_rows().max(1) as f64
    }

    /// The rows at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Result<Dataset> {
        if let Some(&bad) = indices.iter().find(|&&i| i >= self.n_rows()) {
            return Err(Error::InvalidParameter {
                name: "row index",
                value: bad.to_string(),
                expected: "an index below the number of rows",
            });
        }
        let mut values = Vec::with_capacity(indices.len() * self.n_features());
        for &i in indices {
            values.extend_from_slice(self.row(i));
        }
        Ok(Dataset {
            feature_names: self.feature_names.clone(),
            values,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            label: self.label.clone(),
        })
    }

    /// The values of feature column `j`.
    pub fn column(&self, j: usize) -> impl Iterator<Item = f64> + '_ {
        self.rows().map(move |r| r[j])
    }

    /// Count, missing, mean, standard deviation, min and max of every feature.
    pub fn profile(&self) -> Vec<ColumnProfile> {
        (0..self.n_features())
            .map(|j| {
                let present: Vec<f64> = self.column(j).filter(|v| v.is_finite()).collect();
                let n = present.len();
                let mean = (n > 0).then(|| present.iter().sum::<f64>() / n as f64);
                let std = mean.filter(|_| n > 1).map(|m| {
                    (present.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1) as f64).sqrt()
                });
                ColumnProfile {
                    name: self.feature_names[j].clone(),
                    count: n,
                    missing: self.n_rows() - n,
                    mean,
                    std,
                    min: present.iter().copied().reduce(f64::min),
                    max: present.iter().copied().reduce(f64::max),
                }
            })
            .collect()
    }

    /// The schema as MLflow records a dataset's, `{"mlflow_colspec": [...]}`:
    /// every feature a double, then the label column a string.
    pub fn mlflow_schema_json(&self) -> String {
        let features = self.feature_names.iter().map(|n| (n.as_str(), "double"));
        let label = std::iter::once((self.label.column.as_str(), "string"));
        format!("{{\"mlflow_colspec\": {}}}", crate::mlflow::colspec_json(features.chain(label)))
    }

    /// Fails with [`Error::Missing`] when any feature value is missing or not finite.
    pub fn check_complete(&self) -> Result<()> {
        for (j, name) in self.feature_names.iter().enumerate() {
            let count = self.column(j).filter(|v| !v.is_finite()).count();
            if count > 0 {
                return Err(Error::Missing { column: name.clone(), count });
            }
        }
        Ok(())
    }
}

fn parse_cell(cell: &str) -> Option<f64> {
    if cell.is_empty() || cell.eq_ignore_ascii_case("na") || cell.eq_ignore_ascii_case("nan") {
        return Some(f64::NAN);
    }
    cell.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &[u8] = b"a,b,y\n1,2,yes\n3,,no\n5,6,yes\n";

    #[test]
    fn reads_features_labels_and_missing_cells() {
        let d = Dataset::from_csv(CSV, "y", "yes").unwrap();
        assert_eq!(d.feature_names(), ["a", "b"]);
        assert_eq!(d.labels(), [1, 0, 1]);
        assert_eq!(d.label().negative_class, "no");
        assert_eq!(d.row(2), [5.0, 6.0]);
        let p = d.profile();
        assert_eq!((p[0].count, p[0].missing, p[0].mean, p[0].std), (3, 0, Some(3.0), Some(2.0)));
        assert_eq!((p[1].missing, p[1].min, p[1].max), (1, Some(2.0), Some(6.0)));
        assert!(matches!(d.check_complete(), Err(Error::Missing { count: 1, .. })));
        let s = d.subset(&[2, 0]).unwrap();
        assert_eq!((s.row(0), s.labels()), (&[5.0, 6.0][..], &[1, 1][..]));
        assert!(d.subset(&[3]).is_err());
        assert_eq!(
            d.mlflow_schema_json(),
            r#"{"mlflow_colspec": [{"type": "double", "name": "a", "required": true}, {"type": "double", "name": "b", "required": true}, {"type": "string", "name": "y", "required": true}]}"#
        );
    }

    #[test]
    fn bad_files_get_errors_that_say_where() {
        let e = Dataset::from_csv(CSV, "label", "yes").unwrap_err().to_string();
        assert_eq!(e, "label column 'label' not found; the columns are: a, b, y");
        let e = Dataset::from_csv(b"a,y\n1,yes\nx1,no\n", "y", "yes").unwrap_err().to_string();
        assert_eq!(e, "line 3, column 'a': 'x1' is not a number");
        let e = Dataset::from_csv(b"a,y\n1,yes\n2,no\n3,maybe\n", "y", "yes").unwrap_err();
        assert!(e.to_string().contains("third class 'maybe'"), "{e}");
        let e = Dataset::from_csv(b"a,y\n1,no\n", "y", "yes").unwrap_err();
        assert!(e.to_string().contains("'yes' never occurs"), "{e}");
        assert!(matches!(Dataset::from_csv(b"a,y\n", "y", "yes"), Err(Error::Empty { .. })));
        assert!(matches!(Dataset::from_csv(b"a,y\n1,yes,3\n", "y", "yes"), Err(Error::Csv(_))));
    }
}
