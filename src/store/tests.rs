//! The store's tests. Every history scenario runs twice, once on a fresh
//! SQLite file and once on a fresh PostgreSQL database (see `harness`).

/// Turns each `async fn name(db: &TestDb)` of the calling module into two
/// tests, `sqlite::name` and `postgres::name`, each on its own new database.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::store::tests::harness::TestDb::sqlite();
                    super::$name(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::store::tests::harness::TestDb::postgres();
                    super::$name(&db).await;
                }
            )*
        }
    };
}

mod filter;
mod harness;
mod history;
mod migration;
mod query;
mod url;
