//! The Portcullis server: everything that touches the outside world, wired
//! around the engine in `portcullis-actors`.
//!
//! | module | what it holds |
//! |---|---|
//! | [`cli`] | the binary's subcommands (`serve`, ...) |
//! | [`server`] | start-up: reads the config, opens the store, starts engine, drivers and web |
//! | [`drivers`] | connections: the git poller turns ref updates into trigger events |
//! | [`merger`] | git operations: repo cache, reading config files, build workspaces |
//! | [`keys`] | each project's RSA key pair for its secrets, under the state dir |
//! | [`executor`] | Ansible runs: inventory, zuul vars, logs, timeouts |
//! | [`nodes`] | node providers: Kubernetes pods as nodes, with console tunnels |
//! | [`store`] | diesel schema and queries (SQLite or PostgreSQL) |
//! | [`web`] | actix-web: Zuul's REST API, the console-stream websocket, the UI |
//! | [`quickstart`] | creates the quickstart's example repos on first start |
//! | [`stop_signals`] | SIGINT, SIGTERM and SIGQUIT, listened for from the start |

pub mod cli;
pub mod drivers;
pub mod executor;
pub mod keys;
pub mod merger;
pub mod nodes;
pub mod quickstart;
pub mod server;
pub mod stop_signals;
pub mod store;
pub mod web;
