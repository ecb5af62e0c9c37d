//! Zuul's way of printing times and durations.

use serde_json::{json, Value};

use super::harness::at;
use crate::web::format::{duration, zuul_time};

#[test]
fn a_time_is_printed_without_zone_or_fraction() {
    assert_eq!(zuul_time(Some(&at(61.75))), json!("2024-05-01T12:01:01"));
    assert_eq!(zuul_time(None), Value::Null);
}

#[test]
fn a_duration_is_fractional_seconds_and_null_until_the_end_is_known() {
    assert_eq!(duration(Some(&at(1.0)), Some(&at(3.25))), json!(2.25));
    assert_eq!(duration(Some(&at(1.0)), None), Value::Null);
}
