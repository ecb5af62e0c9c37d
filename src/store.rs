//! The build history: Zuul's buildsets and builds in SQLite or PostgreSQL.
//!
//! The engine writes through [`portcullis_actors::BuildStore`]; the web layer
//! reads with [`Store::builds`], [`Store::build`], [`Store::buildsets`],
//! [`Store::buildset`] and [`Store::build_tenant`]. Every query runs on
//! tokio's blocking pool, never on an async thread.
//!
//! | module | holds |
//! |---|---|
//! | `connection` | URL to backend, the pool's connection manager, embedded migrations |
//! | `schema` | diesel's table definitions |
//! | [`filter`] | Zuul's query parameters, parsed from query strings |
//! | [`row`] | the rows queries return |
//! | `query` | reads |
//! | `write` | the engine's records |
//! | `restart` | saved queues, and the rows a stopped run left unfinished |

mod connection;
pub mod filter;
mod query;
mod restart;
pub mod row;
mod schema;
#[cfg(test)]
mod tests;
mod write;

use diesel::r2d2::Pool;
use futures_util::future::BoxFuture;
use portcullis_actors::port::{self, StoreRecord};

use connection::{connect_error, AnyConnection, Manager, Target};
pub use filter::{BuildFilter, BuildsetFilter, DEFAULT_LIMIT, MAX_LIMIT};
pub use restart::ABORTED;
pub use row::{BuildRow, BuildsetRow};

/// SQLite allows one writer at a time; a few readers beside it are plenty.
const SQLITE_POOL_SIZE: u32 = 4;
/// Connections kept open to a PostgreSQL server.
const POSTGRES_POOL_SIZE: u32 = 8;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached or its URL is not understood.
    #[error("cannot connect to the database {url}: {reason}")]
    Connect {
        /// The URL, without its password.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// A migration failed.
    #[error("cannot migrate the database: {0}")]
    Migration(String),
    /// A query failed.
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    /// A query parameter has a bad name or value.
    #[error("bad filter: {0}")]
    BadFilter(String),
    /// A record names a buildset the store never saw start.
    #[error("no buildset with uuid {0}")]
    UnknownBuildset(String),
    /// A record names a build the store never saw start.
    #[error("no build with uuid {0}")]
    UnknownBuild(String),
    /// The blocking task that ran the query died.
    #[error("database worker failed: {0}")]
    Worker(String),
}

/// A handle on the build history; clones share one connection pool.
#[derive(Clone)]
pub struct Store {
    /// Connections to the one database the URL named.
    pool: Pool<Manager>,
    /// The URL without its password, for error messages.
    url: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("url", &self.url).finish()
    }
}

impl Store {
    /// Connects to `sqlite://PATH` or `postgres://...` and applies pending migrations.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let url = url.to_string();
        tokio::task::spawn_blocking(move || Store::open_blocking(&url))
            .await
            .map_err(|e| StoreError::Worker(e.to_string()))?
    }

    fn open_blocking(url: &str) -> Result<Store, StoreError> {
        let target = Target::parse(url)?;
        let size = match &target {
            Target::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| connect_error(url, e))?;
                }
                SQLITE_POOL_SIZE
            }
            Target::Postgres(_) => POSTGRES_POOL_SIZE,
        };
        // Migrate on a lone connection first, so the pool never races the schema.
        let mut first = target.connect().map_err(|e| connect_error(url, e))?;
        connection::migrate(&mut first)?;
        drop(first);
        let pool = Pool::builder()
            .max_size(size)
            .min_idle(Some(1))
            .build(Manager::new(target))
            .map_err(|e| connect_error(url, e))?;
        Ok(Store {
            pool,
            url: connection::redact(url),
        })
    }

    /// Runs `work` with a pooled connection on the blocking pool.
    async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, StoreError> + Send + 'static,
    {
        let pool = self.pool.clone();
        let url = self.url.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(|e| connect_error(&url, e))?;
            work(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Worker(e.to_string()))?
    }

    /// Writes one engine record.
    pub async fn record(&self, record: StoreRecord) -> Result<(), StoreError> {
        self.run(move |conn| write::record(conn, record)).await
    }

    /// The queues the pipelines saved last, each in order.
    pub async fn saved_queues(&self) -> Result<Vec<port::SavedQueue>, StoreError> {
        self.run(restart::saved_queues).await
    }

    /// Ends the builds and buildsets a stopped run left without a result; see
    /// [`restart::end_unfinished`].
    pub async fn end_unfinished(&self) -> Result<usize, StoreError> {
        self.run(restart::end_unfinished).await
    }

    /// The uuids of builds an autohold kept.
    pub async fn held_builds(&self) -> Result<Vec<String>, StoreError> {
        self.run(restart::held_builds).await
    }

    /// Builds of `tenant` matching `filter`, newest first.
    pub async fn builds(
        &self,
        tenant: &str,
        filter: &BuildFilter,
    ) -> Result<Vec<BuildRow>, StoreError> {
        let (tenant, filter) = (tenant.to_string(), filter.clone());
        self.run(move |conn| query::builds(conn, &tenant, &filter))
            .await
    }

    /// The build `uuid` of `tenant`, with its buildset.
    pub async fn build(&self, tenant: &str, uuid: &str) -> Result<Option<BuildRow>, StoreError> {
        let (tenant, uuid) = (tenant.to_string(), uuid.to_string());
        self.run(move |conn| query::build(conn, &tenant, &uuid))
            .await
    }

    /// The tenant of build `uuid`, for callers that know only the uuid (its logs).
    pub async fn build_tenant(&self, uuid: &str) -> Result<Option<String>, StoreError> {
        let uuid = uuid.to_string();
        self.run(move |conn| query::build_tenant(conn, &uuid)).await
    }

    /// Buildsets of `tenant` matching `filter`, newest first.
    pub async fn buildsets(
        &self,
        tenant: &str,
        filter: &BuildsetFilter,
    ) -> Result<Vec<BuildsetRow>, StoreError> {
        let (tenant, filter) = (tenant.to_string(), filter.clone());
        self.run(move |conn| query::buildsets(conn, &tenant, &filter))
            .await
    }

    /// The buildset `uuid` of `tenant` with its builds, oldest build first.
    pub async fn buildset(
        &self,
        tenant: &str,
        uuid: &str,
    ) -> Result<Option<(BuildsetRow, Vec<BuildRow>)>, StoreError> {
        let (tenant, uuid) = (tenant.to_string(), uuid.to_string());
        self.run(move |conn| query::buildset(conn, &tenant, &uuid))
            .await
    }
}

impl port::BuildStore for Store {
    fn record(&self, record: StoreRecord) -> BoxFuture<'static, Result<(), port::StoreError>> {
        let store = self.clone();
        Box::pin(async move {
            Store::record(&store, record)
                .await
                .map_err(|e| port::StoreError(e.to_string()))
        })
    }
}
