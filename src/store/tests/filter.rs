//! Unit tests: query strings into filters, and their errors. No database.

use crate::store::{BuildFilter, BuildsetFilter, StoreError, DEFAULT_LIMIT, MAX_LIMIT};

fn bad_filter(result: Result<impl std::fmt::Debug, StoreError>) -> String {
    match result {
        Err(StoreError::BadFilter(message)) => message,
        other => panic!("expected a bad filter error, got {other:?}"),
    }
}

#[test]
fn repeated_parameters_collect_every_value() {
    let f = BuildFilter::from_query("result=SUCCESS&result=FAILURE&project=a&project=b").unwrap();
    assert_eq!(f.result, ["SUCCESS", "FAILURE"]);
    assert_eq!(f.project, ["a", "b"]);
}

#[test]
fn booleans_accept_true_false_one_and_zero() {
    let f = BuildFilter::from_query("voting=true&final=0&held=1&complete=FALSE").unwrap();
    assert_eq!(f.voting, Some(true));
    assert_eq!(f.r#final, Some(false));
    assert_eq!(f.held, Some(true));
    assert_eq!(f.complete, Some(false));
}

#[test]
fn a_bad_boolean_is_a_clear_error() {
    let message = bad_filter(BuildFilter::from_query("voting=maybe"));
    assert_eq!(message, "voting must be true, false, 1 or 0, not \"maybe\"");
}

#[test]
fn bad_numbers_are_clear_errors() {
    let message = bad_filter(BuildsetFilter::from_query("idx_min=ten"));
    assert!(
        message.starts_with("idx_min must be an integer"),
        "{message}"
    );
    let message = bad_filter(BuildFilter::from_query("limit=-1"));
    assert!(
        message.starts_with("limit must be an integer of 0 or more"),
        "{message}"
    );
    let message = bad_filter(BuildFilter::from_query("change=abc"));
    assert!(
        message.starts_with("change must be an integer"),
        "{message}"
    );
}

#[test]
fn an_unknown_parameter_is_refused() {
    let message = bad_filter(BuildsetFilter::from_query("job_name=lint"));
    assert_eq!(message, "unknown query parameter \"job_name\"");
}

#[test]
fn values_are_percent_decoded_and_a_leading_question_mark_is_ignored() {
    let f = BuildsetFilter::from_query("?ref=refs%2Fheads%2Fmain&project=org%2F*").unwrap();
    assert_eq!(f.r#ref, ["refs/heads/main"]);
    assert_eq!(f.project, ["org/*"]);
}

#[test]
fn limit_defaults_to_fifty_and_is_capped() {
    assert_eq!(BuildFilter::default().limit(), DEFAULT_LIMIT);
    assert_eq!(DEFAULT_LIMIT, 50);
    let huge = BuildFilter::from_query("limit=100000&skip=7").unwrap();
    assert_eq!(huge.limit(), MAX_LIMIT);
    assert_eq!(huge.skip(), 7);
}

#[test]
fn actix_query_extraction_uses_the_same_parser() {
    // Given the web layer's query extractor (serde_urlencoded underneath)
    let parsed = actix_web::web::Query::<BuildFilter>::from_query("job_name=a&job_name=b&final=1");

    // Then repeats and booleans read as from_query reads them
    let filter = parsed.expect("a valid filter").into_inner();
    assert_eq!(
        filter,
        BuildFilter::from_query("job_name=a&job_name=b&final=1").unwrap()
    );
    assert_eq!(filter.job_name, ["a", "b"]);
    let bad = actix_web::web::Query::<BuildFilter>::from_query("final=yes");
    assert!(bad.unwrap_err().to_string().contains("final must be"));
}
