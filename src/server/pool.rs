//! A small pool of SQLite connections for request handlers, used off the async threads.

use crate::db::{self, DbError};
use rusqlite::Connection;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Reader/writer connections for the handlers (the custody log has its own, in the sequencer).
#[derive(Clone)]
pub struct DbPool {
    path: PathBuf,
    idle: Arc<Mutex<Vec<Connection>>>,
}

/// Connections kept open between requests.
const MAX_IDLE: usize = 16;

impl DbPool {
    /// A pool over the database at `path` (which must exist).
    pub fn new(path: PathBuf) -> Self {
        DbPool {
            path,
            idle: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Run `f` with a connection on the blocking thread pool.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let pool = self.clone();
        tokio::task::spawn_blocking(move || {
            let conn = pool.take()?;
            let out = f(&conn);
            pool.put(conn);
            out
        })
        .await
        .unwrap_or_else(|_| {
            Err(E::from(DbError::Sql {
                doing: "running a database task",
                source: rusqlite::Error::InvalidQuery,
            }))
        })
    }

    fn take(&self) -> Result<Connection, DbError> {
        let pooled = self.idle.lock().ok().and_then(|mut v| v.pop());
        match pooled {
            Some(c) => Ok(c),
            None => db::open(&self.path, false),
        }
    }

    fn put(&self, conn: Connection) {
        if conn.is_autocommit()
            && let Ok(mut v) = self.idle.lock()
            && v.len() < MAX_IDLE
        {
            v.push(conn);
        }
    }
}
