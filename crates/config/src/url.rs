//! Paths inside URLs: a relative `sqlite://` path means, like every other relative path
//! in shipgate.toml, relative to the file's directory, not to wherever the binary was
//! started.

use std::path::Path;

/// `url` with a relative SQLite file path resolved against `base`: `sqlite://data.db`
/// and `sqlite:data.db` become `sqlite://BASE/data.db`; absolute paths, `:memory:`,
/// and every other scheme are returned as they are. The query (`?mode=rwc`) is kept.
pub fn resolve_sqlite(url: &str, base: &Path) -> String {
    let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        return url.to_owned();
    };
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    if path.is_empty() || path.starts_with('/') || path.starts_with(":memory:") {
        return url.to_owned();
    }
    let joined = base.join(path);
    match query {
        Some(q) => format!("sqlite://{}?{q}", joined.display()),
        None => format!("sqlite://{}", joined.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_relative_sqlite_path_changes() {
        let base = Path::new("/srv/shop");
        assert_eq!(
            resolve_sqlite("sqlite://data.db", base),
            "sqlite:///srv/shop/data.db"
        );
        assert_eq!(
            resolve_sqlite("sqlite:db/app.db?mode=rwc", base),
            "sqlite:///srv/shop/db/app.db?mode=rwc"
        );
        for same in [
            "sqlite:///var/lib/app.db",
            "sqlite::memory:",
            "sqlite://:memory:",
            "postgres://u@h/db",
        ] {
            assert_eq!(resolve_sqlite(same, base), same);
        }
    }
}
