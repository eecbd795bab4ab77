//! An integer field that also takes a whole number written with a fraction
//! (`42.0`): JSON has one number type, JSON Schema calls `42.0` an integer,
//! and some encoders (Python's for a float) write it so.

use std::fmt;

use serde::Deserializer;
use serde::de::{self, Visitor};

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    deserializer.deserialize_any(WholeNumber)
}

struct WholeNumber;

impl Visitor<'_> for WholeNumber {
    type Value = i64;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a whole number")
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<i64, E> {
        Ok(value)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<i64, E> {
        i64::try_from(value).map_err(|_| E::custom("a number too large for an id"))
    }

    #[expect(
        clippy::cast_possible_truncation,
        reason = "the value is checked to be whole and in range first"
    )]
    fn visit_f64<E: de::Error>(self, value: f64) -> Result<i64, E> {
        // 2^63 is exactly representable; anything below it that is whole fits.
        const LIMIT: f64 = 9_223_372_036_854_775_808.0;
        if value.fract() == 0.0 && (-LIMIT..LIMIT).contains(&value) {
            Ok(value as i64)
        } else {
            Err(E::invalid_type(de::Unexpected::Float(value), &self))
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::wire::ReadUpTo;

    fn read(json: &str) -> Result<i64, String> {
        serde_json::from_str::<ReadUpTo>(json)
            .map(|read| read.last_read_id)
            .map_err(|error| error.to_string())
    }

    #[test]
    fn whole_numbers_are_taken_in_either_notation_and_fractions_are_refused() {
        assert_eq!(read(r#"{"last_read_id": 573}"#), Ok(573));
        assert_eq!(read(r#"{"last_read_id": 573.0}"#), Ok(573));
        assert_eq!(read(r#"{"last_read_id": -2}"#), Ok(-2));
        assert_eq!(read(r#"{"last_read_id": 5.73e2}"#), Ok(573));
        for refused in ["573.5", "1e300", "18446744073709551615", "\"573\"", "null"] {
            let json = format!(r#"{{"last_read_id": {refused}}}"#);
            assert!(read(&json).is_err(), "{json} was taken");
        }
    }
}
