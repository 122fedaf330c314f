//! Lenient numbers, as protobuf's JSON parser accepts them.

use serde::{de, Deserialize, Deserializer, Serializer};

/// A JSON number or string, read without buffering (an untagged enum would
/// buffer every value first, which showed up when parsing 1,000-point batches).
enum NumOrText {
    Int(i64),
    Float(f64),
    Text(String),
}

impl<'de> Deserialize<'de> for NumOrText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl de::Visitor<'_> for Visit {
            type Value = NumOrText;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a number or a numeric string")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<NumOrText, E> {
                Ok(NumOrText::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<NumOrText, E> {
                Ok(i64::try_from(v).map(NumOrText::Int).unwrap_or(NumOrText::Float(v as f64)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<NumOrText, E> {
                Ok(NumOrText::Float(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<NumOrText, E> {
                Ok(NumOrText::Text(v.to_string()))
            }
        }
        d.deserialize_any(Visit)
    }
}

/// An int64 given as a number or a decimal string.
pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    match NumOrText::deserialize(d)? {
        NumOrText::Int(v) => Ok(v),
        NumOrText::Float(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(f as i64),
        NumOrText::Text(s) => s
            .trim()
            .parse()
            .map_err(|_| de::Error::custom(format!("expected an integer, got '{s}'"))),
        NumOrText::Float(f) => Err(de::Error::custom(format!("expected an integer, got {f}"))),
    }
}

/// An optional int64.
pub fn opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    struct Wrap(#[serde(deserialize_with = "int")] i64);
    Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
}

/// A double given as a number, a numeric string, or `NaN` / `Infinity` / `-Infinity`.
pub fn float<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    match NumOrText::deserialize(d)? {
        NumOrText::Int(v) => Ok(v as f64),
        NumOrText::Float(f) => Ok(f),
        NumOrText::Text(s) => match s.as_str() {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            other => other
                .parse()
                .map_err(|_| de::Error::custom(format!("expected a number, got '{s}'"))),
        },
    }
}

/// Writes a double as JSON allows: non-finite values as protobuf's strings.
pub fn write_float<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_nan() {
        s.serialize_str("NaN")
    } else if *v == f64::INFINITY {
        s.serialize_str("Infinity")
    } else if *v == f64::NEG_INFINITY {
        s.serialize_str("-Infinity")
    } else {
        s.serialize_f64(*v)
    }
}

/// A list given as a JSON array, or as one value (a query string with a
/// single `order_by=…` has no way to say "list").
pub fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => Vec::new(),
        Some(OneOrMany::One(s)) => vec![s],
        Some(OneOrMany::Many(v)) => v,
    })
}
