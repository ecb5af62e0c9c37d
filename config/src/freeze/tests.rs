//! Tests of freezing.
