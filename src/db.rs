//! The vault's SQLite database: connection settings that make commits durable, and migrations.
//!
//! Durability: WAL mode with `synchronous=FULL`, so a committed transaction survives power loss
//! (with `NORMAL` it may not; REFERENCE.md §4). Writers use `BEGIN IMMEDIATE`, which takes
//! SQLite's single write lock up front; together with the sequencer lock file this serialises
//! every append to the custody log.

use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// File name of the database inside the vault folder.
pub const DB_FILE: &str = "custos.db";

/// The migrations in `schema/`, in order. Each runs once, in a transaction, at start-up.
pub const MIGRATIONS: &[(u32, &str, &str)] = &[
    (1, "0001_init", include_str!("../schema/0001_init.sql")),
    (
        2,
        "0002_service",
        include_str!("../schema/0002_service.sql"),
    ),
];

/// Database errors.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database could not be opened or configured.
    #[error("cannot open the vault database {path}: {source}")]
    Open {
        /// The path.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// A migration failed; the database is left at the previous version.
    #[error("applying database migration {name} failed: {source}")]
    Migration {
        /// The migration's name.
        name: &'static str,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// The database was written by a newer Custos.
    #[error(
        "the vault database is at schema version {found}, newer than this custos ({supported}); upgrade custos"
    )]
    TooNew {
        /// Version found.
        found: u32,
        /// Newest version this build knows.
        supported: u32,
    },
    /// Any other SQLite error, with what was being done.
    #[error("database error while {doing}: {source}")]
    Sql {
        /// What was being done.
        doing: &'static str,
        /// SQLite's error.
        source: rusqlite::Error,
    },
}

/// Shorthand to attach context to a rusqlite error.
pub trait SqlContext<T> {
    /// Label the error with what was being done.
    fn doing(self, doing: &'static str) -> Result<T, DbError>;
}

impl<T> SqlContext<T> for Result<T, rusqlite::Error> {
    fn doing(self, doing: &'static str) -> Result<T, DbError> {
        self.map_err(|source| DbError::Sql { doing, source })
    }
}

/// Open (creating if asked) the database at `path`, configure durability and apply migrations.
pub fn open(path: &Path, create: bool) -> Result<Connection, DbError> {
    let err = |source| DbError::Open {
        path: path.to_owned(),
        source,
    };
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags).map_err(err)?;
    conn.busy_timeout(lock_timeout()).map_err(err)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(err)?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(err)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(err)?;
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .map_err(err)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(err(rusqlite::Error::InvalidParameterName(format!(
            "journal_mode is {mode}, WAL needed"
        ))));
    }
    migrate(&conn)?;
    Ok(conn)
}

/// Apply every migration newer than the database's version.
fn migrate(conn: &Connection) -> Result<(), DbError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
    )
    .doing("creating the migrations table")?;
    let current: u32 = conn
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )
        .doing("reading the schema version")?;
    let newest = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > newest {
        return Err(DbError::TooNew {
            found: current,
            supported: newest,
        });
    }
    for &(version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        let run = || -> Result<(), rusqlite::Error> {
            conn.execute_batch("BEGIN IMMEDIATE")?;
            conn.execute_batch(sql)?;
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
                rusqlite::params![version, name, now_micros()],
            )?;
            conn.execute_batch("COMMIT")
        };
        if let Err(source) = run() {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(DbError::Migration { name, source });
        }
    }
    Ok(())
}

/// How long to wait for another process's database or sequencer lock before failing cleanly:
/// `$CUSTOS_LOCK_TIMEOUT_SECS`, default 120 seconds.
pub fn lock_timeout() -> Duration {
    let secs = std::env::var("CUSTOS_LOCK_TIMEOUT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(120);
    Duration::from_secs(secs)
}

/// Current time as Unix microseconds.
pub fn now_micros() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// Unix microseconds as RFC 3339 UTC text (`2026-11-25T06:00:00.000000Z`); out-of-range values
/// (never written by the vault) print as the epoch.
pub fn rfc3339(micros: i64) -> String {
    custos_core::event::Timestamp::from_unix_micros(micros)
        .or_else(|_| custos_core::event::Timestamp::from_unix_micros(0))
        .map(|t| t.to_rfc3339())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_is_durable() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("t.db");
        let c = open(&p, true).unwrap();
        let sync: i64 = c
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 2, "synchronous must be FULL");
        drop(c);
        let c = open(&p, false).unwrap();
        let n: i64 = c
            .query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, MIGRATIONS.len() as i64);
        c.execute("INSERT INTO schema_migrations VALUES (99, 'future', 0)", [])
            .unwrap();
        drop(c);
        assert!(matches!(
            open(&p, false),
            Err(DbError::TooNew { found: 99, .. })
        ));
    }

    #[test]
    fn missing_database_is_an_open_error() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(matches!(
            open(&tmp.path().join("nope.db"), false),
            Err(DbError::Open { .. })
        ));
    }
}
