//! `/health`, `/ready`, `/healthz` and their per-check paths.

use std::fmt::Write as _;
use std::sync::Arc;

use alerting_core::health::{CheckReport, Detail, HealthRegistry, HealthReport, Status};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::auth::{BearerToken, unauthorized};

/// At most this many `exclude` names are read from one query.
const MAX_EXCLUDES: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    Liveness,
    Readiness,
    Report,
}

impl Scope {
    /// The word in the last line of a verbose answer.
    fn probe_name(self) -> &'static str {
        match self {
            Scope::Liveness => "liveness",
            Scope::Readiness => "readiness",
            Scope::Report => "health",
        }
    }

    fn report(self, health: &HealthRegistry) -> HealthReport {
        self.report_excluding(health, &[])
    }

    fn report_excluding(self, health: &HealthRegistry, exclude: &[String]) -> HealthReport {
        let view = health.excluding(exclude);
        match self {
            Scope::Liveness => view.liveness(Detail::Brief),
            Scope::Readiness => view.readiness(Detail::Brief),
            Scope::Report => view.report(Detail::Full),
        }
    }
}

pub(crate) struct HealthState {
    pub(crate) health: HealthRegistry,
    pub(crate) scope: Scope,
    pub(crate) token: Option<Arc<BearerToken>>,
}

/// What the query asked for; anything else in it is ignored.
#[derive(Debug, Default, PartialEq)]
struct Query {
    verbose: bool,
    exclude: Vec<String>,
}

impl Query {
    fn parse(raw: Option<&str>) -> Self {
        let mut query = Query::default();
        let Some(raw) = raw else { return query };
        for (key, value) in form_urlencoded::parse(raw.as_bytes()) {
            match &*key {
                // `?verbose`, `?verbose=true`, `?verbose=1`; `=false`/`=0` off.
                "verbose" => query.verbose = !matches!(&*value, "false" | "0"),
                "exclude" => {
                    for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                        if query.exclude.len() < MAX_EXCLUDES {
                            query.exclude.push(name.to_owned());
                        }
                    }
                }
                _ => {}
            }
        }
        query
    }
}

pub(crate) async fn whole(
    State(state): State<Arc<HealthState>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Some(token) = &state.token
        && !token.authorizes(&headers)
    {
        return unauthorized();
    }
    let query = Query::parse(raw.as_deref());
    let (report, unknown) = if query.exclude.is_empty() {
        (state.scope.report(&state.health), Vec::new())
    } else {
        let unknown = query
            .exclude
            .iter()
            .filter(|n| !state.health.has_check(n))
            .cloned()
            .collect();
        (
            state.scope.report_excluding(&state.health, &query.exclude),
            unknown,
        )
    };
    let status = http_status(&report);
    if query.verbose {
        let text = verbose(&report, state.scope, &query.exclude, &unknown);
        return (status, text_headers(), text).into_response();
    }
    json(status, &report)
}

pub(crate) async fn one_check(
    State(state): State<Arc<HealthState>>,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Some(token) = &state.token
        && !token.authorizes(&headers)
    {
        return unauthorized();
    }
    let query = Query::parse(raw.as_deref());
    let mut report = state.scope.report(&state.health);
    let Some(check) = report.checks.remove(&name) else {
        return (
            StatusCode::NOT_FOUND,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            r#"{"error":"no such check"}"#,
        )
            .into_response();
    };
    let status = if check.status == Status::Down {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    if query.verbose {
        let mut text = String::new();
        check_line(&mut text, &name, &check, state.scope);
        let _ = writeln!(
            text,
            "{} check {}",
            state.scope.probe_name(),
            if status == StatusCode::OK {
                "passed"
            } else {
                "failed"
            }
        );
        return (status, text_headers(), text).into_response();
    }
    json(status, &check)
}

fn http_status(report: &HealthReport) -> StatusCode {
    StatusCode::from_u16(report.http_status()).unwrap_or(StatusCode::SERVICE_UNAVAILABLE)
}

fn json<T: serde::Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => (
            status,
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            body,
        )
            .into_response(),
        // A report is plain data; this does not happen.
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn text_headers() -> [(header::HeaderName, HeaderValue); 3] {
    [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
    ]
}

/// `[+]name ok` / `[-]name failed: reason`, as Kubernetes writes them.
fn check_line(out: &mut String, name: &str, check: &CheckReport, scope: Scope) {
    let reason = match scope {
        // Probes are open to anyone: never say why.
        Scope::Liveness | Scope::Readiness => None,
        Scope::Report => check.reason.as_deref(),
    };
    let _ = match check.status {
        Status::Up => writeln!(out, "[+]{name} ok"),
        Status::Degraded => match reason {
            Some(r) => writeln!(out, "[+]{name} degraded: {r}"),
            None => writeln!(out, "[+]{name} degraded"),
        },
        _ => {
            let r = reason.unwrap_or("reason withheld");
            if check.critical == Some(false) {
                writeln!(out, "[-]{name} failed (non-critical): {r}")
            } else {
                writeln!(out, "[-]{name} failed: {r}")
            }
        }
    };
}

fn verbose(report: &HealthReport, scope: Scope, exclude: &[String], unknown: &[String]) -> String {
    let mut out = String::new();
    for (name, check) in &report.checks {
        check_line(&mut out, name, check, scope);
    }
    for name in exclude.iter().filter(|n| !unknown.contains(n)) {
        let _ = writeln!(out, "[+]{name} excluded: ok");
    }
    if report.shutting_down && scope != Scope::Liveness {
        out.push_str("[-]shutdown failed: shutting down\n");
    }
    if !unknown.is_empty() {
        // Quoted with escapes: the names come from the request.
        let names: Vec<String> = unknown.iter().map(|n| format!("{n:?}")).collect();
        let _ = writeln!(
            out,
            "warn: some health checks cannot be excluded: no matches for {}",
            names.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "{} check {}",
        scope.probe_name(),
        if report.is_ok() { "passed" } else { "failed" }
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_read_leniently() {
        assert_eq!(Query::parse(None), Query::default());
        let q = Query::parse(Some("verbose&exclude=db&exclude=redis,%20cache&x=1"));
        assert!(q.verbose);
        assert_eq!(q.exclude, ["db", "redis", "cache"]);
        assert!(!Query::parse(Some("verbose=false")).verbose);
        assert!(Query::parse(Some("verbose=")).verbose);
        // Broken escapes and separators are read as far as they go.
        let q = Query::parse(Some("exclude=%ZZ%&&&=&exclude=%E2%82&verbose=%"));
        assert!(q.verbose);
        assert_eq!(q.exclude.len(), 2);
        let many = "exclude=a&".repeat(1000);
        assert_eq!(Query::parse(Some(&many)).exclude.len(), MAX_EXCLUDES);
    }
}
