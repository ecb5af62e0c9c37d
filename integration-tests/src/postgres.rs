//! A fresh PostgreSQL database per test, on the server `PORTCULLIS_TEST_POSTGRES`
//! names (default `postgres://postgres@127.0.0.1:5432`).

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Tells apart the databases of tests running in one process.
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A fresh PostgreSQL database for one test; dropped with the guard.
pub struct Database {
    base: String,
    admin: String,
    name: String,
}

impl Database {
    /// Creates an empty database, named after the process and a counter.
    pub fn create() -> Database {
        let base = std::env::var("PORTCULLIS_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("portcullis_it_{}_{n}", std::process::id());
        let db = Database {
            admin: format!("{base}/postgres"),
            base,
            name,
        };
        db.psql(&format!("DROP DATABASE IF EXISTS {}", db.name));
        db.psql(&format!("CREATE DATABASE {}", db.name));
        db
    }

    /// The database's URL, for a scenario's `database`.
    pub fn url(&self) -> String {
        format!("{}/{}", self.base, self.name)
    }

    fn psql(&self, sql: &str) {
        let out = Command::new("psql")
            .arg(&self.admin)
            .args(["-qc", sql])
            .output()
            .expect("psql");
        assert!(
            out.status.success(),
            "psql {sql}: {} (is PostgreSQL running? .ci/test starts one)",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .arg(&self.admin)
            .args([
                "-qc",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .output();
    }
}
