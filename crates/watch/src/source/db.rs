//! Databases and Redis: connections in use against the server's limit, slow queries,
//! memory against `maxmemory`. One short connection per sample.

use std::collections::BTreeMap;
use std::time::Duration;

use fred::prelude::{Builder, ClientLike, Config};
use sqlx::{AnyConnection, Connection, Row};

use crate::sample::{Missing, Reading};

#[derive(Debug, Clone, Copy)]
pub(crate) enum Server {
    Postgres,
    Mariadb,
}

pub(crate) async fn sample(
    server: Server,
    url: &str,
    slow: Duration,
    fields: &[String],
) -> BTreeMap<String, Reading> {
    sqlx::any::install_default_drivers();
    let mut conn = match AnyConnection::connect(url).await {
        Ok(c) => c,
        // sqlx's message may quote the URL with its password: keep only that it failed.
        Err(_) => return super::all(fields, Missing::Error, "cannot connect to the database"),
    };
    let secs = slow.as_secs_f64();
    let (used, max, slow_sql) = match server {
        Server::Postgres => (
            "SELECT CAST(count(*) AS BIGINT) FROM pg_stat_activity WHERE backend_type = 'client backend'"
                .to_owned(),
            "SELECT CAST(setting AS BIGINT) FROM pg_settings WHERE name = 'max_connections'",
            format!(
                "SELECT CAST(count(*) AS BIGINT) FROM pg_stat_activity WHERE state = 'active' \
                 AND pid <> pg_backend_pid() AND now() - query_start > interval '{secs} seconds'"
            ),
        ),
        Server::Mariadb => (
            "SELECT CAST(VARIABLE_VALUE AS SIGNED) FROM information_schema.GLOBAL_STATUS \
             WHERE VARIABLE_NAME = 'THREADS_CONNECTED'"
                .to_owned(),
            "SELECT CAST(@@max_connections AS SIGNED)",
            format!(
                "SELECT CAST(COUNT(*) AS SIGNED) FROM information_schema.PROCESSLIST \
                 WHERE COMMAND NOT IN ('Sleep', 'Daemon') AND ID <> CONNECTION_ID() AND TIME >= {}",
                secs.ceil() as u64
            ),
        ),
    };
    let mut out = BTreeMap::new();
    let used = number(&mut conn, &used).await;
    let max = number(&mut conn, max).await;
    let slow = number(&mut conn, &slow_sql).await;
    let ratio = match (used.value(), max.value()) {
        (Some(u), Some(m)) if m > 0.0 => Reading::Value(u / m),
        (Some(_), Some(_)) => Reading::none(Missing::Empty, "max_connections is 0"),
        _ => Reading::none(Missing::Error, "connections or max_connections unread"),
    };
    out.insert("connections".to_owned(), used);
    out.insert("max_connections".to_owned(), max);
    out.insert("connections_ratio".to_owned(), ratio);
    out.insert("slow_queries".to_owned(), slow);
    let _ = conn.close().await;
    out
}

async fn number(conn: &mut AnyConnection, sql: &str) -> Reading {
    match sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(&mut *conn)
        .await
    {
        Ok(row) => match row.try_get::<i64, _>(0) {
            Ok(n) => Reading::Value(n as f64),
            Err(e) => Reading::none(Missing::Error, format!("unexpected answer: {e}")),
        },
        Err(e) => Reading::none(Missing::Error, format!("query failed: {e}")),
    }
}

pub(crate) async fn redis(url: &str, fields: &[String]) -> BTreeMap<String, Reading> {
    let Ok(config) = Config::from_url(url) else {
        return super::all(fields, Missing::Error, "the Redis URL is not valid");
    };
    let Ok(client) = Builder::from_config(config)
        .with_connection_config(|c| c.max_command_attempts = 1)
        .build()
    else {
        return super::all(fields, Missing::Error, "cannot build a Redis client");
    };
    if client.init().await.is_err() {
        return super::all(fields, Missing::Error, "cannot connect to Redis");
    }
    let info: Result<String, _> = client.info(None).await;
    let _ = client.quit().await;
    let Ok(info) = info else {
        return super::all(fields, Missing::Error, "INFO failed");
    };
    let field = |name: &str| -> Option<f64> {
        info.lines().find_map(|l| {
            l.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix(':'))
                .and_then(|v| v.trim().parse().ok())
        })
    };
    let read = |name: &str| {
        field(name).map_or_else(
            || Reading::none(Missing::Error, format!("INFO has no {name}")),
            Reading::Value,
        )
    };
    let mut out = BTreeMap::new();
    let used = field("used_memory");
    let max = field("maxmemory");
    out.insert("memory".to_owned(), read("used_memory"));
    out.insert("maxmemory".to_owned(), read("maxmemory"));
    out.insert("clients".to_owned(), read("connected_clients"));
    out.insert(
        "memory_ratio".to_owned(),
        match (used, max) {
            (Some(u), Some(m)) if m > 0.0 => Reading::Value(u / m),
            (Some(_), Some(_)) => Reading::none(Missing::Empty, "maxmemory is 0 (no limit)"),
            _ => Reading::none(Missing::Error, "INFO lacks used_memory or maxmemory"),
        },
    );
    out
}
