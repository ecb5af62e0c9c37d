//! Gating on plain git through the real server: review branches proposed to
//! a dependent `gate` pipeline, tested speculatively with real Ansible and
//! merged by the server into the real repo; serial and supercedent
//! pipelines; and Zuul's admin API behind bearer tokens.
//!
//! The `gatekeeper` job ([`JobGate`](portcullis_integration_tests::review::JobGate))
//! records the tree it tests, waits until the test releases it, and fails
//! when the tree holds a file `FAIL`, so each scenario steps its queue by
//! releasing builds and watching the status, never by sleeping.

mod admin_api;
mod managers;
