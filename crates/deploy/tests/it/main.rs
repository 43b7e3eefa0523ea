//! Integration tests for shipgate-deploy's library: backups against real PostgreSQL,
//! MariaDB and SQLite servers and clients.

mod backup;
mod journal;
