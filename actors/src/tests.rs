//! Engine scenario tests: the real actors with deterministic fakes of the ports.

mod fakes;
mod scenarios;
