//! Engine scenario tests: the real actors with deterministic fakes of the
//! ports, grouped by area.

mod admin;
mod cycles;
mod dependencies;
mod fail_fast;
mod fake_merger;
mod fakes;
mod file_matchers;
mod gating;
mod harness;
mod holding;
mod jobs;
mod managers;
mod reports;
mod restore;
mod scenarios;
mod speculative_config;
mod supercedes;
mod window;
