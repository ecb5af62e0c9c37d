//! Every migration goes up, down and up again, on both backends.

use diesel::connection::SimpleConnection;
use diesel_migrations::MigrationHarness;

use super::harness::TestDb;
use crate::store::connection::{AnyConnection, Target, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};

/// Whether both history tables can be read.
fn tables_exist(conn: &mut AnyConnection) -> bool {
    let probe = "SELECT id FROM zuul_buildset LIMIT 1; SELECT id FROM zuul_build LIMIT 1; \
                 SELECT id FROM portcullis_queue_item LIMIT 1;";
    match conn {
        AnyConnection::Postgresql(pg) => pg.batch_execute(probe).is_ok(),
        AnyConnection::Sqlite(lite) => lite.batch_execute(probe).is_ok(),
    }
}

/// Reverts every applied migration, newest first; returns how many.
fn revert_all(conn: &mut AnyConnection) -> usize {
    let reverted = match conn {
        AnyConnection::Postgresql(pg) => pg.revert_all_migrations(POSTGRES_MIGRATIONS),
        AnyConnection::Sqlite(lite) => lite.revert_all_migrations(SQLITE_MIGRATIONS),
    };
    reverted.expect("every migration reverts").len()
}

async fn every_migration_goes_up_down_and_up_again(db: &TestDb) {
    // Given a database the store migrated
    drop(db.open().await);
    let target = Target::parse(&db.url).expect("a store URL");
    let mut conn = target.connect().expect("a connection");
    assert!(tables_exist(&mut conn), "tables after the first migration");

    // When every migration is reverted
    let reverted = revert_all(&mut conn);

    // Then no table is left, and migrating again rebuilds them all
    assert!(reverted > 0, "some migration was applied");
    assert!(!tables_exist(&mut conn), "tables left after reverting");
    crate::store::connection::migrate(&mut conn).expect("migrating again");
    assert!(tables_exist(&mut conn), "tables after migrating again");
}

on_both_backends!(every_migration_goes_up_down_and_up_again);
