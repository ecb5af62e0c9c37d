//! The harness for Portcullis's end-to-end tests: real git repos, the real
//! server binary, real ansible-playbook, real SQLite/PostgreSQL, and headless
//! Chromium for the web UI.
//!
//! | module | what it holds |
//! |---|---|
//! | [`ansible`] | one shared ansible-core venv for every test process |
//! | [`repo`] | git repos the tests commit to, as a developer would push |
//! | [`server`] | [`TestServer`]: a `portcullis serve` process over a scenario's repos |
//! | [`tunnel_harness`] | tunnels on the simulated cluster with the real kubectl |
//! | [`wait`] | waiting for a condition with a deadline, never a bare sleep |
//! | [`browser`] | headless Chromium: rendered DOM and screenshots |

pub mod ansible;
pub mod browser;
pub mod repo;
pub mod server;
pub mod tunnel_harness;
pub mod wait;

pub use repo::Repo;
pub use server::{Scenario, TestServer};
