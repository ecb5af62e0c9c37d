//! Engine scenario tests: the real actors with deterministic fakes of the
//! ports, grouped by area.

mod admin;
mod fail_fast;
mod fake_merger;
mod fakes;
mod file_matchers;
mod gating;
mod harness;
mod jobs;
mod managers;
mod scenarios;
mod window;
