//! Bearer-token protection.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::EndpointsError;

/// A token that requests must present as `Authorization: Bearer <token>`.
pub(crate) struct BearerToken {
    token: Box<[u8]>,
}

impl BearerToken {
    /// Accepts RFC 6750 `b64token` characters, the only ones that fit the
    /// header without quoting.
    pub(crate) fn new(token: &str) -> Result<Self, EndpointsError> {
        let valid = !token.is_empty()
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b));
        if !valid {
            return Err(EndpointsError::InvalidToken);
        }
        Ok(Self {
            token: token.as_bytes().into(),
        })
    }

    /// Whether `headers` carry the token. The scheme is matched without
    /// regard to case, as RFC 9110 asks.
    pub(crate) fn authorizes(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return false;
        };
        let value = value.as_bytes();
        let Some((scheme, rest)) = value.split_first_chunk::<7>() else {
            return false;
        };
        if !scheme.eq_ignore_ascii_case(b"Bearer ") {
            return false;
        }
        let given = rest.trim_ascii();
        constant_time_eq(given, &self.token)
    }
}

/// Compares without stopping at the first difference: the time taken
/// depends on the length of `given` (which the client knows) and never on
/// how much of the secret it got right.
fn constant_time_eq(given: &[u8], secret: &[u8]) -> bool {
    if secret.is_empty() {
        return false;
    }
    let mut diff = u8::from(given.len() != secret.len());
    for (i, &g) in given.iter().enumerate() {
        let s = secret.get(i % secret.len()).copied().unwrap_or(0);
        // `black_box` keeps the optimiser from turning the fold into an
        // early exit.
        diff = std::hint::black_box(diff | (g ^ s));
    }
    diff == 0
}

/// 401 with the challenge RFC 6750 asks for.
pub(crate) fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [
            (
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Bearer realm="alerting""#),
            ),
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
        ],
        "unauthorized\n",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &[u8]) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_bytes(value).unwrap(),
        );
        h
    }

    #[test]
    fn only_the_right_token_passes() {
        let token = BearerToken::new("s3cret").unwrap();
        assert!(token.authorizes(&headers(b"Bearer s3cret")));
        assert!(token.authorizes(&headers(b"bearer  s3cret ")));
        for wrong in [
            &b"Bearer s3cre"[..],
            b"Bearer s3cret2",
            b"Bearer S3cret",
            b"Bearer ",
            b"Basic s3cret",
            b"s3cret",
            b"Bearer\xffs3cret",
            b"",
        ] {
            assert!(!token.authorizes(&headers(wrong)), "{wrong:?}");
        }
        assert!(!token.authorizes(&HeaderMap::new()));
    }

    #[test]
    fn comparison_is_exact() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abcabc", b"abc"));
        assert!(!constant_time_eq(b"", b"abc"));
        assert!(!constant_time_eq(b"abd", b"abc"));
        assert!(!constant_time_eq(b"", b""));
    }
}
