//! `Set-Cookie` parsing and a cookie jar per virtual user or scenario.

use http::{HeaderMap, Uri};

/// One parsed `Set-Cookie` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetCookie {
    /// Cookie name.
    pub name: String,
    /// Cookie value.
    pub value: String,
    /// `Secure`: only sent over https.
    pub secure: bool,
    /// `HttpOnly`: hidden from scripts.
    pub http_only: bool,
    /// `SameSite`, as written.
    pub same_site: Option<String>,
    /// `Path`, default `/`.
    pub path: String,
    /// `Max-Age` in seconds, if given (0 or less deletes the cookie).
    pub max_age: Option<i64>,
}

impl SetCookie {
    /// Parses one `Set-Cookie` value; `None` if it has no `name=value`.
    pub fn parse(header: &str) -> Option<Self> {
        let mut parts = header.split(';');
        let (name, value) = parts.next()?.trim().split_once('=')?;
        if name.trim().is_empty() {
            return None;
        }
        let mut cookie = SetCookie {
            name: name.trim().to_owned(),
            value: value.trim().trim_matches('"').to_owned(),
            secure: false,
            http_only: false,
            same_site: None,
            path: "/".to_owned(),
            max_age: None,
        };
        for attr in parts {
            let (key, val) = attr
                .trim()
                .split_once('=')
                .map_or((attr.trim(), ""), |(k, v)| (k.trim(), v.trim()));
            match key.to_ascii_lowercase().as_str() {
                "secure" => cookie.secure = true,
                "httponly" => cookie.http_only = true,
                "samesite" => cookie.same_site = Some(val.to_owned()),
                "path" if val.starts_with('/') => cookie.path = val.to_owned(),
                "max-age" => cookie.max_age = val.parse().ok(),
                _ => {}
            }
        }
        Some(cookie)
    }

    /// Every `Set-Cookie` of a response.
    pub fn all(headers: &HeaderMap) -> Vec<SetCookie> {
        headers
            .get_all(http::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(Self::parse)
            .collect()
    }
}

#[derive(Debug, Clone)]
struct Stored {
    host: String,
    cookie: SetCookie,
}

/// Cookies a client received, sent back on later requests to the same host and path.
/// `Secure` cookies go only over https.
#[derive(Debug, Clone, Default)]
pub struct CookieJar {
    cookies: Vec<Stored>,
}

impl CookieJar {
    /// An empty jar.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores the `Set-Cookie` headers of a response to `uri`.
    pub fn store(&mut self, uri: &Uri, headers: &HeaderMap) {
        if !headers.contains_key(http::header::SET_COOKIE) {
            return;
        }
        let host = uri.host().unwrap_or_default().to_ascii_lowercase();
        for cookie in SetCookie::all(headers) {
            self.cookies.retain(|s| {
                !(s.host == host && s.cookie.name == cookie.name && s.cookie.path == cookie.path)
            });
            if cookie.max_age.is_none_or(|age| age > 0) {
                self.cookies.push(Stored {
                    host: host.clone(),
                    cookie,
                });
            }
        }
    }

    /// The `Cookie` header for a request to `uri`, if any cookie applies.
    pub fn header_for(&self, uri: &Uri) -> Option<String> {
        if self.cookies.is_empty() {
            return None;
        }
        let host = uri.host().unwrap_or_default().to_ascii_lowercase();
        let https = uri.scheme_str() == Some("https");
        let path = uri.path();
        let pairs: Vec<String> = self
            .cookies
            .iter()
            .filter(|s| {
                s.host == host && (https || !s.cookie.secure) && path.starts_with(&s.cookie.path)
            })
            .map(|s| format!("{}={}", s.cookie.name, s.cookie.value))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    /// The value of a cookie by name, for any host.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .rev()
            .find(|s| s.cookie.name == name)
            .map(|s| s.cookie.value.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_attributes() {
        let c =
            SetCookie::parse("session=abc; Path=/app; HttpOnly; Secure; SameSite=Lax; Max-Age=60")
                .unwrap();
        assert_eq!(
            (c.name.as_str(), c.value.as_str(), c.path.as_str()),
            ("session", "abc", "/app")
        );
        assert!(c.secure && c.http_only);
        assert_eq!(c.same_site.as_deref(), Some("Lax"));
        assert_eq!(c.max_age, Some(60));
        assert!(SetCookie::parse("novalue").is_none());
    }

    #[test]
    fn jar_sends_by_host_path_and_scheme() {
        let mut jar = CookieJar::new();
        let mut headers = HeaderMap::new();
        headers.append("set-cookie", "a=1; Path=/".parse().unwrap());
        headers.append("set-cookie", "s=2; Secure".parse().unwrap());
        headers.append("set-cookie", "p=3; Path=/admin".parse().unwrap());
        jar.store(&"http://h.test/login".parse().unwrap(), &headers);
        assert_eq!(
            jar.header_for(&"http://h.test/x".parse().unwrap())
                .as_deref(),
            Some("a=1")
        );
        assert_eq!(
            jar.header_for(&"https://h.test/admin/y".parse().unwrap())
                .as_deref(),
            Some("a=1; s=2; p=3")
        );
        assert_eq!(jar.header_for(&"http://other.test/".parse().unwrap()), None);
        let mut delete = HeaderMap::new();
        delete.append("set-cookie", "a=; Max-Age=0".parse().unwrap());
        jar.store(&"http://h.test/".parse().unwrap(), &delete);
        assert_eq!(jar.header_for(&"http://h.test/x".parse().unwrap()), None);
    }
}
