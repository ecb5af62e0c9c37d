//! The harness for Portcullis's end-to-end tests: real git repos, the real
//! server binary, real ansible-playbook, real SQLite/PostgreSQL, and headless
//! Chromium for the web UI.
//!
//! | module | what it holds |
//! |---|---|
//! | [`ansible`] | one shared ansible-core venv for every test process |
//! | [`postgres`] | a fresh PostgreSQL database per test |
//! | [`repo`] | git repos the tests commit to, as a developer would push |
//! | [`shared`] | folders a test shares with the sandboxed jobs it runs |
//! | [`server`] | [`TestServer`]: a `portcullis serve` process over a scenario's repos |
//! | [`tunnel_harness`] | tunnels on the simulated cluster with the real kubectl |
//! | [`wait`] | waiting for a condition with a deadline, never a bare sleep |
//! | [`review`] | gating on plain git: review branches, change numbers, held jobs, queues |
//! | [`token`] | HS256 bearer tokens with Zuul's claims for the admin API |
//! | [`browser`] | headless Chromium: rendered DOM and screenshots |

pub mod ansible;
pub mod browser;
pub mod postgres;
pub mod repo;
pub mod review;
pub mod server;
pub mod shared;
pub mod token;
pub mod tunnel_harness;
pub mod wait;

pub use repo::Repo;
pub use server::{Scenario, TestServer};
