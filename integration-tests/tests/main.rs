//! End-to-end tests: the real server over real git repos, running real
//! ansible-playbook, storing into real SQLite and PostgreSQL, seen through its
//! REST API, its websocket and headless Chromium.

mod builds;
mod config_cli;
mod config_errors;
mod console_stream;
mod containment;
mod gating;
mod history;
mod jobs;
mod live_log;
mod pod_jobs;
mod pod_nodes;
mod read_access;
mod reconfigure;
mod review_flow;
mod server_signals;
mod tunnels;
mod web_ui;
