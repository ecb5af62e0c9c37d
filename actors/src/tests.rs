//! Engine scenario tests: the real actors with deterministic fakes of the
//! ports, grouped by area.

mod admin;
mod fake_merger;
mod fakes;
mod gating;
mod harness;
mod jobs;
mod managers;
mod reports;
mod scenarios;
mod supercedes;
mod window;
