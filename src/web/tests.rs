//! The web layer's tests: the real handlers over a real (temporary SQLite)
//! store and a real engine whose tenant has an empty layout. The websocket
//! scenarios run a real server on a free port.

mod admin_api;
mod admin_auth;
mod admin_engine;
mod admin_world;
mod api;
mod console;
mod format;
mod harness;
mod logs;
mod read_access;
mod ui;
mod ws_client;
