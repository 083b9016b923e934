//! The results store: one SQLite file in the output folder holding every finished unit of work,
//! keyed by (instance, item, stage, fingerprint), each written in its own transaction. The
//! fingerprint covers the input bytes and the model/config that produced the unit, so a rerun
//! skips exactly what is still valid, and a process killed at any point loses at most the unit
//! it was computing.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{de::DeserializeOwned, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

pub const STORE_FILE: &str = "omniscore.sqlite";
/// Bumped when the layout of the tables changes.
const SCHEMA_VERSION: &str = "1";
/// Crash injection for the kill-and-resume tests: abort the process right after this many
/// units have been committed.
pub const CRASH_AFTER_UNITS_ENV: &str = "OMNISCORE_CRASH_AFTER_UNITS";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("results store {path}: {source}")]
    Sqlite { path: PathBuf, source: rusqlite::Error },
    #[error("results store {path}: cannot create its folder: {source}")]
    CreateDir { path: PathBuf, source: std::io::Error },
    #[error("results store {path}: schema version {found} is not {SCHEMA_VERSION}; use a new --out folder")]
    Schema { path: PathBuf, found: String },
    #[error("results store {path}: stored {what} is unreadable ({source}); delete the store to start over")]
    Corrupt { path: PathBuf, what: String, source: serde_json::Error },
    #[error("results store {path}: no finished run recorded; run `omniscore score` with this --out first")]
    NoRun { path: PathBuf },
    #[error("results store {path}: the {stage} unit of instance {instance} that the last run used is gone; rerun `omniscore score`")]
    MissingUnit { path: PathBuf, stage: String, instance: String },
}

/// Identifies one unit of work.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct UnitKey {
    pub instance: String,
    /// Item tag, or "" for an instance-level unit.
    pub item: String,
    pub stage: String,
    pub fingerprint: String,
}

impl UnitKey {
    pub fn new(instance: &str, item: impl ToString, stage: &str, fingerprint: String) -> Self {
        UnitKey { instance: instance.to_string(), item: item.to_string(), stage: stage.to_string(), fingerprint }
    }
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
    written: AtomicU64,
    crash_after: Option<u64>,
}

impl Store {
    /// Opens (creating if needed) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir { path: dir.to_path_buf(), source })?;
        let path = dir.join(STORE_FILE);
        let conn = Connection::open(&path).map_err(|source| StoreError::Sqlite { path: path.clone(), source })?;
        let store = Store {
            conn,
            path,
            written: AtomicU64::new(0),
            crash_after: std::env::var(CRASH_AFTER_UNITS_ENV).ok().and_then(|v| v.parse().ok()),
        };
        store.init()?;
        Ok(store)
    }

    /// Opens an existing store without creating one.
    pub fn open_existing(dir: &Path) -> Result<Store, StoreError> {
        let path = dir.join(STORE_FILE);
        if !path.is_file() {
            return Err(StoreError::NoRun { path });
        }
        Store::open(dir)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sql<T>(&self, r: rusqlite::Result<T>) -> Result<T, StoreError> {
        r.map_err(|source| StoreError::Sqlite { path: self.path.clone(), source })
    }

    fn init(&self) -> Result<(), StoreError> {
        // WAL + NORMAL: a commit survives the process being killed (not a power cut), and
        // commits stay cheap enough for one transaction per unit.
        self.sql(self.conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             PRAGMA synchronous=NORMAL;
             PRAGMA busy_timeout=5000;
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS units (
                 instance TEXT NOT NULL, item TEXT NOT NULL, stage TEXT NOT NULL,
                 fingerprint TEXT NOT NULL, value TEXT NOT NULL,
                 PRIMARY KEY (instance, item, stage, fingerprint)) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS runs (name TEXT PRIMARY KEY, manifest TEXT NOT NULL);",
        ))?;
        let found: Option<String> = self.sql(
            self.conn.query_row("SELECT value FROM meta WHERE key = 'schema'", [], |r| r.get(0)).optional(),
        )?;
        match found {
            None => {
                self.sql(self.conn.execute("INSERT INTO meta (key, value) VALUES ('schema', ?1)", [SCHEMA_VERSION]))?;
            }
            Some(v) if v == SCHEMA_VERSION => {}
            Some(found) => return Err(StoreError::Schema { path: self.path.clone(), found }),
        }
        Ok(())
    }

    pub fn get<T: DeserializeOwned>(&self, key: &UnitKey) -> Result<Option<T>, StoreError> {
        let mut stmt = self.sql(self.conn.prepare_cached(
            "SELECT value FROM units WHERE instance = ?1 AND item = ?2 AND stage = ?3 AND fingerprint = ?4",
        ))?;
        let text: Option<String> = self.sql(
            stmt.query_row(params![key.instance, key.item, key.stage, key.fingerprint], |r| r.get(0)).optional(),
        )?;
        text.map(|t| {
            serde_json::from_str(&t).map_err(|source| StoreError::Corrupt {
                path: self.path.clone(),
                what: format!("{} unit of instance {}", key.stage, key.instance),
                source,
            })
        })
        .transpose()
    }

    /// A unit that must be there (one a finished run recorded).
    pub fn get_required<T: DeserializeOwned>(&self, key: &UnitKey) -> Result<T, StoreError> {
        self.get(key)?.ok_or_else(|| StoreError::MissingUnit {
            path: self.path.clone(),
            stage: key.stage.clone(),
            instance: key.instance.clone(),
        })
    }

    pub fn contains(&self, key: &UnitKey) -> Result<bool, StoreError> {
        let mut stmt = self.sql(self.conn.prepare_cached(
            "SELECT 1 FROM units WHERE instance = ?1 AND item = ?2 AND stage = ?3 AND fingerprint = ?4",
        ))?;
        self.sql(stmt.exists(params![key.instance, key.item, key.stage, key.fingerprint]))
    }

    /// Commits one unit in its own transaction.
    pub fn put<T: Serialize>(&self, key: &UnitKey, value: &T) -> Result<(), StoreError> {
        let text = serde_json::to_string(value).expect("units serialise to JSON");
        let mut stmt = self.sql(self.conn.prepare_cached(
            "INSERT OR REPLACE INTO units (instance, item, stage, fingerprint, value) VALUES (?1, ?2, ?3, ?4, ?5)",
        ))?;
        self.sql(stmt.execute(params![key.instance, key.item, key.stage, key.fingerprint, text]))?;
        let n = self.written.fetch_add(1, Ordering::Relaxed) + 1;
        if self.crash_after == Some(n) {
            eprintln!("{CRASH_AFTER_UNITS_ENV}={n}: aborting after {n} committed units");
            std::process::abort();
        }
        Ok(())
    }

    /// Units committed by this process.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    pub fn save_run<T: Serialize>(&self, name: &str, manifest: &T) -> Result<(), StoreError> {
        let text = serde_json::to_string(manifest).expect("manifests serialise to JSON");
        self.sql(self.conn.execute("INSERT OR REPLACE INTO runs (name, manifest) VALUES (?1, ?2)", params![name, text]))?;
        Ok(())
    }

    pub fn load_run<T: DeserializeOwned>(&self, name: &str) -> Result<T, StoreError> {
        let text: Option<String> =
            self.sql(self.conn.query_row("SELECT manifest FROM runs WHERE name = ?1", [name], |r| r.get(0)).optional())?;
        let text = text.ok_or_else(|| StoreError::NoRun { path: self.path.clone() })?;
        serde_json::from_str(&text).map_err(|source| StoreError::Corrupt { path: self.path.clone(), what: format!("run `{name}`"), source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_round_trip_and_persist() {
        let dir = tempfile::tempdir().unwrap();
        let key = UnitKey::new("1", "image2", "import-gq", "abc".into());
        {
            let store = Store::open(dir.path()).unwrap();
            assert!(!store.contains(&key).unwrap());
            store.put(&key, &serde_json::json!({"v": 0.25})).unwrap();
            assert_eq!(store.written(), 1);
        }
        let store = Store::open(dir.path()).unwrap();
        let v: serde_json::Value = store.get(&key).unwrap().unwrap();
        assert_eq!(v["v"], 0.25);
        let other = UnitKey { fingerprint: "def".into(), ..key };
        assert!(store.get::<serde_json::Value>(&other).unwrap().is_none());
        assert!(matches!(store.load_run::<serde_json::Value>("last"), Err(StoreError::NoRun { .. })));
    }
}
