//! Ready-made pulled checks for what services depend on: a TCP endpoint
//! ([`TcpCheck`]), a plain-HTTP endpoint ([`HttpCheck`]), an SQL pool
//! (`SqlPoolCheck`, feature `sqlx`), and the probe a container's
//! `HEALTHCHECK` runs ([`http_status`]). Redis has its own, `RedisCheck`
//! in [`cooldown`](crate::cooldown) (feature `redis`).
//!
//! ```
//! use alerting_core::health::{CheckOptions, HealthRegistry};
//! use alerting_core::health::checks::{HttpCheck, TcpCheck};
//!
//! let health = HealthRegistry::new();
//! health.add_check("postgres_port", CheckOptions::new(), TcpCheck::new("127.0.0.1:5432"))?;
//! health.add_check(
//!     "price_api",
//!     CheckOptions::new().critical(false),
//!     HttpCheck::new("http://127.0.0.1:8080/health")?,
//! )?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The registry gives every run its timeout ([`CheckOptions::timeout`]);
//! [`http_status`] takes one of its own, for use outside a registry.
//!
//! [`CheckOptions::timeout`]: super::CheckOptions::timeout

use std::fmt;
use std::io;
use std::time::Duration;

use tokio::net::TcpStream;

use super::{CheckOutcome, HealthCheck};

#[cfg(feature = "sqlx")]
mod sql_pool;
#[cfg(feature = "sqlx")]
pub use sql_pool::{SqlPoolCheck, SqlPoolError};

/// The most of a response read to find its status line.
const MAX_STATUS_LINE: usize = 8 * 1024;

/// Up when a TCP connection to the address opens (then closed at once);
/// down, with the OS error kept private, when it does not.
#[derive(Clone, Debug)]
pub struct TcpCheck {
    addr: String,
}

impl TcpCheck {
    /// A check of `addr`: `host:port`, resolved at every run (so a DNS
    /// change is followed).
    pub fn new(addr: impl Into<String>) -> Self {
        Self { addr: addr.into() }
    }
}

impl HealthCheck for TcpCheck {
    async fn check(&self) -> CheckOutcome {
        match TcpStream::connect(self.addr.as_str()).await {
            Ok(_) => CheckOutcome::up(),
            Err(e) => CheckOutcome::down(format!("cannot connect to {}", self.addr)).with_error(e),
        }
    }
}

/// Why an `http://` URL was refused, or a probe got no status.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpProbeError {
    /// Not an `http://host[:port][/path]` URL.
    #[error(
        "`{url}` is not an http:// URL ({reason}); for https, check with your own client and `check_fn`"
    )]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No connection, or it broke before the status line.
    #[error("cannot reach {url}")]
    Io {
        /// The URL probed.
        url: String,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The answer did not start with an HTTP/1 status line.
    #[error("{url} did not answer with an HTTP/1 status line")]
    NotHttp {
        /// The URL probed.
        url: String,
    },
    /// No status line within the timeout.
    #[error("{url} did not answer within {timeout:?}")]
    TimedOut {
        /// The URL probed.
        url: String,
        /// The timeout.
        timeout: Duration,
    },
}

/// A parsed `http://` URL.
#[derive(Clone, PartialEq, Eq)]
struct HttpUrl {
    /// `host:port`, as connected to.
    authority: String,
    /// The `Host` header: the host, and the port if one was written.
    host_header: String,
    /// The path and query, starting with `/`.
    target: String,
}

impl fmt::Debug for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}{}", self.host_header, self.target)
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl HttpUrl {
    fn parse(url: &str) -> Result<Self, HttpProbeError> {
        let invalid = |reason| HttpProbeError::InvalidUrl {
            url: url.to_owned(),
            reason,
        };
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| invalid("it does not start with http://"))?;
        let (authority, target) = match rest.find(['/', '?']) {
            Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], &rest[i..]),
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let target = if target.starts_with('?') {
            format!("/{target}")
        } else {
            target.to_owned()
        };
        if target.bytes().any(|b| b.is_ascii_control() || b == b' ') {
            return Err(invalid("the path has spaces or control characters"));
        }
        if authority.contains('@') {
            return Err(invalid("credentials in the URL are not supported"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let end = v6
                .find(']')
                .ok_or_else(|| invalid("an IPv6 host without its `]`"))?;
            let host = &authority[..end + 2];
            match &authority[end + 2..] {
                "" => (host, None),
                p => (
                    host,
                    Some(
                        p.strip_prefix(':')
                            .ok_or_else(|| invalid("junk after the host"))?,
                    ),
                ),
            }
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        let host_chars: &[u8] = if host.starts_with('[') {
            b"[]:."
        } else {
            b"-._"
        };
        if host.is_empty()
            || host
                .bytes()
                .any(|b| !(b.is_ascii_alphanumeric() || host_chars.contains(&b)))
        {
            return Err(invalid("no host, or a character a host cannot have"));
        }
        let port = match port {
            None => 80,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| invalid("the port is not a number from 1 to 65535"))?,
        };
        Ok(Self {
            authority: format!("{host}:{port}"),
            host_header: authority.to_owned(),
            target,
        })
    }

    /// The status code of a `GET`, reading no more than the status line.
    async fn status(&self) -> Result<u16, HttpProbeError> {
        let io = |source| HttpProbeError::Io {
            url: self.to_string(),
            source,
        };
        let stream = TcpStream::connect(self.authority.as_str())
            .await
            .map_err(io)?;
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: alerting-health\r\nAccept: */*\r\nConnection: close\r\n\r\n",
            self.target, self.host_header
        );
        let mut sent = 0;
        while sent < request.len() {
            stream.writable().await.map_err(io)?;
            match stream.try_write(&request.as_bytes()[sent..]) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(io(e)),
            }
        }
        let mut head = Vec::with_capacity(256);
        let mut buf = [0u8; 1024];
        loop {
            if let Some(end) = head.windows(2).position(|w| w == b"\r\n") {
                return parse_status_line(&head[..end]).ok_or_else(|| HttpProbeError::NotHttp {
                    url: self.to_string(),
                });
            }
            if head.len() >= MAX_STATUS_LINE {
                return Err(HttpProbeError::NotHttp {
                    url: self.to_string(),
                });
            }
            stream.readable().await.map_err(io)?;
            match stream.try_read(&mut buf) {
                Ok(0) => {
                    return Err(io(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "closed before the status line",
                    )));
                }
                Ok(n) => head.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(io(e)),
            }
        }
    }
}

/// `HTTP/1.x NNN reason` → `NNN`.
fn parse_status_line(line: &[u8]) -> Option<u16> {
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.splitn(3, ' ');
    let version = parts.next()?;
    if !matches!(version, "HTTP/1.0" | "HTTP/1.1") {
        return None;
    }
    let code = parts.next()?;
    if code.len() != 3 {
        return None;
    }
    code.parse::<u16>().ok().filter(|c| (100..=999).contains(c))
}

/// Up when a `GET` of the URL answers 2xx; down with the status (or the
/// connection error) otherwise. Plain HTTP/1.1 only: for `https://`,
/// check with the client the service already has, in a [`check_fn`].
///
/// [`check_fn`]: super::check_fn
#[derive(Clone, Debug)]
pub struct HttpCheck {
    url: HttpUrl,
}

impl HttpCheck {
    /// A check of `url` (`http://host[:port][/path][?query]`).
    ///
    /// # Errors
    ///
    /// [`HttpProbeError::InvalidUrl`], naming the URL and what is wrong.
    pub fn new(url: &str) -> Result<Self, HttpProbeError> {
        Ok(Self {
            url: HttpUrl::parse(url)?,
        })
    }
}

impl HealthCheck for HttpCheck {
    async fn check(&self) -> CheckOutcome {
        match self.url.status().await {
            Ok(code) if (200..300).contains(&code) => CheckOutcome::up(),
            Ok(code) => CheckOutcome::down(format!("{} answered {code}", self.url)),
            Err(e) => CheckOutcome::down(format!("no answer from {}", self.url)).with_error(e),
        }
    }
}

/// The status code a `GET` of `url` answers, within `timeout`: what a
/// container's `HEALTHCHECK` (which may have no `curl`) runs through the
/// service's own binary. Reads the status line only.
///
/// ```no_run
/// # async fn probe() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// let code = alerting_core::health::checks::http_status(
///     "http://127.0.0.1:9464/health",
///     Duration::from_secs(3),
/// )
/// .await?;
/// std::process::exit(if (200..300).contains(&code) { 0 } else { 1 });
/// # }
/// ```
///
/// # Errors
///
/// [`HttpProbeError`]: an invalid URL, no connection, no HTTP answer, or
/// none within `timeout`.
pub async fn http_status(url: &str, timeout: Duration) -> Result<u16, HttpProbeError> {
    let parsed = HttpUrl::parse(url)?;
    match tokio::time::timeout(timeout, parsed.status()).await {
        Ok(result) => result,
        Err(_) => Err(HttpProbeError::TimedOut {
            url: parsed.to_string(),
            timeout,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_or_say_why_not() {
        let u = HttpUrl::parse("http://127.0.0.1:9464/health").unwrap();
        assert_eq!(
            (u.authority.as_str(), u.target.as_str()),
            ("127.0.0.1:9464", "/health")
        );
        let u = HttpUrl::parse("http://svc.local").unwrap();
        assert_eq!(
            (
                u.authority.as_str(),
                u.host_header.as_str(),
                u.target.as_str()
            ),
            ("svc.local:80", "svc.local", "/")
        );
        let u = HttpUrl::parse("http://[::1]:8080?x=1").unwrap();
        assert_eq!(
            (u.authority.as_str(), u.target.as_str()),
            ("[::1]:8080", "/?x=1")
        );
        for bad in [
            "https://example.com/",
            "ftp://x",
            "http://",
            "http://host:0/",
            "http://host:65536/",
            "http://host:http/",
            "http://user:pw@host/",
            "http://ho st/",
            "http://host/a b",
            "http://host/\r\nX-Injected: 1",
            "http://[::1/",
            "http://a:b:80/",
        ] {
            let err = HttpUrl::parse(bad).unwrap_err();
            assert!(err.to_string().contains(&format!("`{bad}`")), "{err}");
        }
    }

    #[test]
    fn status_lines() {
        assert_eq!(parse_status_line(b"HTTP/1.1 200 OK"), Some(200));
        assert_eq!(
            parse_status_line(b"HTTP/1.0 503 Service Unavailable"),
            Some(503)
        );
        assert_eq!(parse_status_line(b"HTTP/1.1 204"), Some(204));
        assert_eq!(parse_status_line(b"HTTP/2 200"), None);
        assert_eq!(parse_status_line(b"SSH-2.0-OpenSSH"), None);
        assert_eq!(parse_status_line(b"HTTP/1.1 20 OK"), None);
        assert_eq!(parse_status_line(b"\xff\xfe"), None);
    }
}
