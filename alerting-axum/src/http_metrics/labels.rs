//! The label types: methods and status classes are enums, the route a
//! string bounded by the router's own templates.

use alerting_core::metrics::{EnumLabel, LabelSet, LabelValue};

/// The `method` label: the standard methods, and `other`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
pub(crate) enum HttpMethod {
    #[label(rename = "GET")]
    Get,
    #[label(rename = "HEAD")]
    Head,
    #[label(rename = "POST")]
    Post,
    #[label(rename = "PUT")]
    Put,
    #[label(rename = "DELETE")]
    Delete,
    #[label(rename = "PATCH")]
    Patch,
    #[label(rename = "OPTIONS")]
    Options,
    #[label(rename = "CONNECT")]
    Connect,
    #[label(rename = "TRACE")]
    Trace,
    Other,
}

impl HttpMethod {
    pub(crate) const COUNT: usize = <Self as EnumLabel>::VALUES.len();

    pub(crate) fn of(method: &axum::http::Method) -> Self {
        // `as_str` of a standard method is a static string: a short
        // comparison, no allocation.
        match method.as_str() {
            "GET" => Self::Get,
            "HEAD" => Self::Head,
            "POST" => Self::Post,
            "PUT" => Self::Put,
            "DELETE" => Self::Delete,
            "PATCH" => Self::Patch,
            "OPTIONS" => Self::Options,
            "CONNECT" => Self::Connect,
            "TRACE" => Self::Trace,
            _ => Self::Other,
        }
    }

    pub(crate) fn index(self) -> usize {
        EnumLabel::index(self)
    }
}

/// The `status` label: the class of the status code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
pub(crate) enum StatusClass {
    #[label(rename = "1xx")]
    Informational,
    #[label(rename = "2xx")]
    Success,
    #[label(rename = "3xx")]
    Redirection,
    #[label(rename = "4xx")]
    ClientError,
    #[label(rename = "5xx")]
    ServerError,
    Other,
}

impl StatusClass {
    pub(crate) const COUNT: usize = <Self as EnumLabel>::VALUES.len();

    pub(crate) fn of(status: axum::http::StatusCode) -> Self {
        match status.as_u16() {
            100..=199 => Self::Informational,
            200..=299 => Self::Success,
            300..=399 => Self::Redirection,
            400..=499 => Self::ClientError,
            500..=599 => Self::ServerError,
            _ => Self::Other,
        }
    }

    pub(crate) fn index(self) -> usize {
        EnumLabel::index(self)
    }
}

/// The class of a gRPC status code (the `grpc-status` header or trailer),
/// as the HTTP status gRPC gateways answer for it: `OK` is `2xx`; the
/// caller's errors (`CANCELLED`, `INVALID_ARGUMENT`, `NOT_FOUND`,
/// `ALREADY_EXISTS`, `PERMISSION_DENIED`, `RESOURCE_EXHAUSTED`,
/// `FAILED_PRECONDITION`, `ABORTED`, `OUT_OF_RANGE`, `UNAUTHENTICATED`)
/// are `4xx`; the server's (`UNKNOWN`, `DEADLINE_EXCEEDED`,
/// `UNIMPLEMENTED`, `INTERNAL`, `UNAVAILABLE`, `DATA_LOSS`) and anything
/// unreadable are `5xx`.
pub(crate) fn grpc_status_class(code: &[u8]) -> StatusClass {
    match code {
        b"0" => StatusClass::Success,
        b"1" | b"3" | b"5" | b"6" | b"7" | b"8" | b"9" | b"10" | b"11" | b"16" => {
            StatusClass::ClientError
        }
        _ => StatusClass::ServerError,
    }
}

/// Labels of `http_requests_total`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
pub(crate) struct RequestLabels {
    pub(crate) method: HttpMethod,
    pub(crate) route: String,
    pub(crate) status: StatusClass,
}

/// Labels of the per-route histograms.
#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
pub(crate) struct RouteLabels {
    pub(crate) method: HttpMethod,
    pub(crate) route: String,
}

#[cfg(test)]
mod tests {
    use axum::http::{Method, StatusCode};

    use super::*;

    #[test]
    fn label_names_are_the_shared_http_schema() {
        use alerting_core::metrics::LabelSet as _;
        use alerting_core::metrics::http::{METHOD_LABEL, ROUTE_LABEL, STATUS_LABEL};
        assert_eq!(
            RequestLabels::NAMES,
            [METHOD_LABEL, ROUTE_LABEL, STATUS_LABEL]
        );
        assert_eq!(RouteLabels::NAMES, [METHOD_LABEL, ROUTE_LABEL]);
    }

    #[test]
    fn methods_fold_into_other() {
        assert_eq!(HttpMethod::of(&Method::GET), HttpMethod::Get);
        assert_eq!(HttpMethod::of(&Method::PATCH), HttpMethod::Patch);
        let odd = Method::from_bytes(b"PROPFIND").unwrap();
        assert_eq!(HttpMethod::of(&odd), HttpMethod::Other);
        let lower = Method::from_bytes(b"get").unwrap();
        assert_eq!(HttpMethod::of(&lower), HttpMethod::Other);
        for (i, m) in <HttpMethod as EnumLabel>::VALUES.iter().enumerate() {
            assert_eq!(m.index(), i);
        }
        assert_eq!(HttpMethod::Other.as_str(), "other");
        assert_eq!(HttpMethod::Delete.as_str(), "DELETE");
    }

    #[test]
    fn grpc_codes_are_classes() {
        assert_eq!(grpc_status_class(b"0"), StatusClass::Success);
        for client in [1, 3, 5, 6, 7, 8, 9, 10, 11, 16] {
            let code = client.to_string();
            assert_eq!(grpc_status_class(code.as_bytes()), StatusClass::ClientError);
        }
        for server in [2, 4, 12, 13, 14, 15, 17, 99] {
            let code = server.to_string();
            assert_eq!(grpc_status_class(code.as_bytes()), StatusClass::ServerError);
        }
        assert_eq!(grpc_status_class(b"ok"), StatusClass::ServerError);
        assert_eq!(grpc_status_class(b""), StatusClass::ServerError);
    }

    #[test]
    fn statuses_are_classes() {
        assert_eq!(StatusClass::of(StatusCode::OK), StatusClass::Success);
        assert_eq!(StatusClass::of(StatusCode::NOT_FOUND).as_str(), "4xx");
        assert_eq!(
            StatusClass::of(StatusCode::SERVICE_UNAVAILABLE).as_str(),
            "5xx"
        );
        let odd = StatusCode::from_u16(799).unwrap();
        assert_eq!(StatusClass::of(odd), StatusClass::Other);
        for (i, c) in <StatusClass as EnumLabel>::VALUES.iter().enumerate() {
            assert_eq!(c.index(), i);
        }
    }
}
