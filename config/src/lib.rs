//! Portcullis's configuration language: the typed model of the server config,
//! the tenant config (Zuul's main.yaml) and project config (zuul.yaml and
//! friends), parsed with errors that name file and line, assembled into a
//! [`Layout`], and frozen into the job graph of one item.
//!
//! This crate is pure: it reads the text it is handed and touches no files,
//! processes or network.
//!
//! | module | what it holds |
//! |---|---|
//! | [`encryption`] | decrypting secrets' `!encrypted/pkcs1-oaep` values with a project's key |
//! | [`error`] | [`ConfigError`]: one problem, with file, line and message |
//! | [`server`] | the server config (`portcullis serve --config FILE`) |
//! | [`tenant`] | the tenant config: tenants, sources, projects |
//! | [`project_config`] | parsing one zuul.yaml file into config objects |
//! | [`pipeline`], [`job`], [`project`], [`nodeset`] | the config objects |
//! | [`semaphore`], [`pragma`] | semaphores, queues, secrets; per-file pragmas |
//! | [`layout`] | a tenant's assembled config objects |
//! | [`freeze`] | the frozen job graph of one item |
//! | [`stanza`], [`form`] | reading top-level items with their lines; shared YAML shapes |

pub mod encryption;
pub mod error;
pub mod form;
pub mod freeze;
#[doc(hidden)]
pub mod fuzzing;
pub mod job;
pub mod layout;
pub mod nodeset;
pub mod pipeline;
pub mod pragma;
pub mod project;
pub mod project_config;
pub mod semaphore;
pub mod server;
pub mod stanza;
pub mod tenant;

#[cfg(test)]
mod testing;

pub use error::ConfigError;
pub use freeze::{FrozenJob, PlaybookRef};
pub use layout::{ConfigFile, Layout};
pub use server::ServerConfig;
pub use tenant::{TenantConfig, TenantDef};
