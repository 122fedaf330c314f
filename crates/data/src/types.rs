//! Column types and how they are inferred from values.
//!
//! One rule serves `read_table` (on raw text) and `Preprocessor::fit` (on a
//! frame that may come from anywhere), so a column is typed the same way
//! whichever door it came through:
//!
//! * numbers (integer or float dtypes) → [`ColumnType::Numeric`];
//! * booleans → [`ColumnType::Boolean`];
//! * date/datetime dtypes, or strings that all parse as ISO 8601 dates
//!   (`YYYY-MM-DD`, optionally `THH:MM[:SS[.f]]` or with a space, optional
//!   `Z`/offset) → [`ColumnType::Datetime`];
//! * other strings → [`ColumnType::Text`] when the values average at least
//!   [`TEXT_MIN_WORDS`] whitespace-separated words, or when more than half of
//!   them are distinct, they average at least [`TEXT_MIN_CHARS`] characters
//!   and at least two words; else [`ColumnType::Categorical`] (so long
//!   one-token identifiers stay categorical: they have no words to weigh).

use serde::{Deserialize, Serialize};

/// Average words per value from which a string column is free text.
pub const TEXT_MIN_WORDS: f64 = 3.0;
/// Average characters per value from which a mostly-distinct string column is free text.
pub const TEXT_MIN_CHARS: f64 = 20.0;

/// Cell texts that mean "missing" in CSV files (besides the empty field).
/// `NaN` is not among them: it parses as a number and is reported, then
/// treated as missing.
pub const NA_TOKENS: [&str; 6] = ["", "NA", "N/A", "NULL", "null", "None"];

/// What a column holds, which decides how it is preprocessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    /// Real numbers (integers included).
    Numeric,
    /// A small set of labels.
    Categorical,
    /// Free text (TF-IDF).
    Text,
    /// Dates and times (ISO 8601).
    Datetime,
    /// `true` / `false`.
    Boolean,
}

impl ColumnType {
    /// The lowercase name used in messages and schemas.
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::Numeric => "numeric",
            ColumnType::Categorical => "categorical",
            ColumnType::Text => "text",
            ColumnType::Datetime => "datetime",
            ColumnType::Boolean => "boolean",
        }
    }
}

impl std::str::FromStr for ColumnType {
    type Err = crate::Error;

    fn from_str(s: &str) -> crate::Result<Self> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "numeric" | "number" | "float" | "int" => ColumnType::Numeric,
            "categorical" | "category" => ColumnType::Categorical,
            "text" | "string" => ColumnType::Text,
            "datetime" | "date" => ColumnType::Datetime,
            "boolean" | "bool" => ColumnType::Boolean,
            other => {
                return Err(crate::Error::InvalidArgument(format!(
                "column type {other:?}; expected numeric, categorical, text, datetime or boolean"
            )))
            }
        })
    }
}

/// Whether `s` (trimmed) is one of [`NA_TOKENS`].
pub fn is_na_token(s: &str) -> bool {
    NA_TOKENS.contains(&s.trim())
}

/// `true`/`false` in any case.
pub fn parse_bool(s: &str) -> Option<bool> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("true") {
        Some(true)
    } else if t.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// The type of a string column from its non-missing values.
pub fn infer_string_type<'a>(values: impl Iterator<Item = &'a str>) -> ColumnType {
    infer_string_type_counted(values.map(|v| (v, 1)))
}

/// [`infer_string_type`] from values with how many rows hold each (a value
/// may come more than once; its counts add up).
pub fn infer_string_type_counted<'a>(values: impl Iterator<Item = (&'a str, usize)>) -> ColumnType {
    let mut n = 0usize;
    let mut all_dates = true;
    let mut words = 0usize;
    let mut chars = 0usize;
    let mut distinct = std::collections::HashSet::new();
    for (v, count) in values {
        n += count;
        if all_dates && parse_datetime(v).is_none() {
            all_dates = false;
        }
        words += v.split_whitespace().count() * count;
        chars += v.chars().count() * count;
        distinct.insert(v);
    }
    if n == 0 {
        return ColumnType::Categorical;
    }
    if all_dates {
        return ColumnType::Datetime;
    }
    let n_f = n as f64;
    let avg_words = words as f64 / n_f;
    let avg_chars = chars as f64 / n_f;
    let distinct_share = distinct.len() as f64 / n_f;
    if avg_words >= TEXT_MIN_WORDS
        || (distinct_share > 0.5 && avg_chars >= TEXT_MIN_CHARS && avg_words >= 2.0)
    {
        ColumnType::Text
    } else {
        ColumnType::Categorical
    }
}

/// The parts of an ISO 8601 date or datetime that become features.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateParts {
    /// Year.
    pub year: i32,
    /// Month, 1–12.
    pub month: u32,
    /// Day of month, 1–31.
    pub day: u32,
    /// Day of week, Monday = 0 (as pandas' `dayofweek`).
    pub weekday: u32,
    /// Hour, 0–23 (0 for a bare date).
    pub hour: u32,
}

/// Parses `YYYY-MM-DD[(T| )HH:MM[:SS[.fff]]][Z|±HH[:]MM]`; wall-clock parts
/// are kept as written (an offset is accepted but not applied).
pub fn parse_datetime(s: &str) -> Option<DateParts> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year: i32 = digits(&b[0..4])? as i32;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let mut hour = 0;
    let rest = &b[10..];
    if !rest.is_empty() {
        if rest[0] != b'T' && rest[0] != b' ' || rest.len() < 6 || rest[3] != b':' {
            return None;
        }
        hour = digits(&rest[1..3])?;
        let minute = digits(&rest[4..6])?;
        if hour > 23 || minute > 59 {
            return None;
        }
        let mut tail = &rest[6..];
        if tail.len() >= 3 && tail[0] == b':' {
            let second = digits(&tail[1..3])?;
            if second > 60 {
                return None;
            }
            tail = &tail[3..];
            if tail.first() == Some(&b'.') {
                let frac = tail[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                if frac == 0 {
                    return None;
                }
                tail = &tail[1 + frac..];
            }
        }
        if !valid_offset(tail) {
            return None;
        }
    }
    Some(DateParts { year, month, day, weekday: weekday(year, month, day), hour })
}

fn valid_offset(t: &[u8]) -> bool {
    match t {
        [] | [b'Z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] | [b'+' | b'-', h1, h2, m1, m2] => {
            [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit())
        }
        [b'+' | b'-', h1, h2] => h1.is_ascii_digit() && h2.is_ascii_digit(),
        _ => false,
    }
}

fn digits(b: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

fn is_leap(y: i32) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Monday = 0, by Sakamoto's method.
fn weekday(y: i32, m: u32, d: u32) -> u32 {
    const T: [i32; 12] = [0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4];
    let y = if m < 3 { y - 1 } else { y };
    let sunday0 = (y + y / 4 - y / 100 + y / 400 + T[(m - 1) as usize] + d as i32).rem_euclid(7);
    ((sunday0 + 6) % 7) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_with_weekday() {
        let p = parse_datetime("2024-02-29T13:45:10.5Z")
            .map(|p| (p.year, p.month, p.day, p.weekday, p.hour));
        assert_eq!(p, Some((2024, 2, 29, 3, 13))); // a Thursday
        assert_eq!(parse_datetime("2001-01-01").map(|p| p.weekday), Some(0)); // a Monday
        assert_eq!(parse_datetime("2023-02-29"), None);
        assert_eq!(parse_datetime("2023-13-01"), None);
        assert_eq!(parse_datetime("2023-01-01 25:00"), None);
        assert!(parse_datetime("2023-01-01 10:00+02:00").is_some());
        assert_eq!(parse_datetime("hello world"), None);
    }

    #[test]
    fn string_inference_rule() {
        assert_eq!(
            infer_string_type(["2020-01-01", "2021-05-06"].into_iter()),
            ColumnType::Datetime
        );
        assert_eq!(infer_string_type(["a", "b", "a"].into_iter()), ColumnType::Categorical);
        assert_eq!(
            infer_string_type(["a long review here", "another one of them"].into_iter()),
            ColumnType::Text
        );
        assert_eq!(
            infer_string_type(
                ["averyveryverylongidentifier1", "averyveryverylongidentifier2"].into_iter()
            ),
            ColumnType::Categorical
        );
        assert_eq!(
            infer_string_type(
                ["Reconfirmation-needed immediately", "Unsubscribe-instructions enclosed"]
                    .into_iter()
            ),
            ColumnType::Text
        );
    }
}
