//! Connections: which backend a URL names, the pool's connection manager,
//! and the embedded migrations of each backend.

use std::path::PathBuf;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::R2D2Connection;
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::StoreError;

/// SQLite's migrations, compiled into the binary.
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
/// PostgreSQL's migrations, compiled into the binary.
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// How long a SQLite writer waits for another writer's lock before failing.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// A connection to either backend; queries are written once against both.
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    /// A PostgreSQL server.
    Postgresql(PgConnection),
    /// A SQLite file.
    Sqlite(SqliteConnection),
}

/// The database a store URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A SQLite file at this path.
    Sqlite(PathBuf),
    /// A PostgreSQL URL, passed to libpq as is.
    Postgres(String),
}

impl Target {
    /// Reads `sqlite://PATH` or `postgres://...` (also `postgresql://...`).
    pub fn parse(url: &str) -> Result<Target, StoreError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(connect_error(url, "the sqlite URL names no file"));
            }
            return Ok(Target::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Target::Postgres(url.to_string()));
        }
        Err(connect_error(
            url,
            "expected a sqlite://PATH or postgres://... URL",
        ))
    }

    /// Opens one connection, set up for concurrent use.
    pub fn connect(&self) -> Result<AnyConnection, diesel::ConnectionError> {
        match self {
            Target::Postgres(url) => PgConnection::establish(url).map(AnyConnection::Postgresql),
            Target::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
                // The busy timeout comes first: switching to WAL itself needs the lock.
                let pragmas = format!(
                    "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                    SQLITE_BUSY_TIMEOUT.as_millis()
                );
                conn.batch_execute(&pragmas)
                    .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
                Ok(AnyConnection::Sqlite(conn))
            }
        }
    }
}

/// Applies every pending migration of the connection's backend.
pub fn migrate(conn: &mut AnyConnection) -> Result<(), StoreError> {
    let result = match conn {
        AnyConnection::Postgresql(pg) => pg.run_pending_migrations(POSTGRES_MIGRATIONS).map(drop),
        AnyConnection::Sqlite(lite) => lite.run_pending_migrations(SQLITE_MIGRATIONS).map(drop),
    };
    result.map_err(|e| StoreError::Migration(e.to_string()))
}

/// Hands r2d2 connections to the one backend the URL named, never guessing.
#[derive(Debug)]
pub struct Manager {
    target: Target,
}

impl Manager {
    /// A manager for `target`.
    pub fn new(target: Target) -> Self {
        Manager { target }
    }
}

impl diesel::r2d2::ManageConnection for Manager {
    type Connection = AnyConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<AnyConnection, Self::Error> {
        self.target
            .connect()
            .map_err(diesel::r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut AnyConnection) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut AnyConnection) -> bool {
        conn.is_broken()
    }
}

/// A connect error that shows the URL without its password.
pub fn connect_error(url: &str, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Connect {
        url: redact(url),
        reason: reason.to_string(),
    }
}

/// The URL with any password replaced, fit for logs and error messages.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_string();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}
