//! URLs fit to log.

/// `url` as it may be logged, printed or shown in a health report: without
/// user info, without the query string (`?…`: API keys often travel
/// there), and with every path segment that may be a credential masked
/// (`…`): one with a `:` (Telegram's `bot<id>:<secret>`) or of 20
/// characters or more (the API key in `wss://…/ws/v1/<key>` node URLs).
/// Scheme, host, port and the short segments that say what was called
/// stay.
///
/// ```
/// use alerting_core::logging::redact_url;
///
/// assert_eq!(
///     redact_url("https://api.telegram.org/bot123456:AAH-secret/sendMessage"),
///     "https://api.telegram.org/…/sendMessage",
/// );
/// assert_eq!(
///     redact_url("wss://bsc-mainnet.nodereal.io/ws/v1/0123456789abcdef0123456789abcdef"),
///     "wss://bsc-mainnet.nodereal.io/ws/v1/…",
/// );
/// assert_eq!(
///     redact_url("https://user:pw@prices.example:8443/token/BTC?apikey=k"),
///     "https://prices.example:8443/token/BTC?…",
/// );
/// assert_eq!(redact_url("ws://127.0.0.1:9000"), "ws://127.0.0.1:9000");
/// ```
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let (before_query, query) = match rest.split_once(['?', '#']) {
        Some((head, _)) => (head, true),
        None => (rest, false),
    };
    let (authority, path) = match before_query.find('/') {
        Some(i) => before_query.split_at(i),
        None => (before_query, ""),
    };
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let mut out = String::with_capacity(url.len());
    if let Some(scheme) = scheme {
        out.push_str(scheme);
        out.push_str("://");
    }
    out.push_str(host);
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        let secret = segment.contains(':') || segment.chars().count() >= 20;
        out.push_str(if secret { "…" } else { segment });
    }
    if query {
        out.push_str("?…");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn odd_inputs_keep_no_secret_and_do_not_panic() {
        for (input, expected) in [
            ("", ""),
            ("://", "://"),
            ("no-scheme/abc:def", "no-scheme/…"),
            ("https://h/?q", "https://h/?…"),
            ("https://h#frag", "https://h?…"),
            ("https://a@b@host/x", "https://host/x"),
            ("https://host//x", "https://host//x"),
            ("https://host/é€🙂", "https://host/é€🙂"),
        ] {
            assert_eq!(redact_url(input), expected, "{input}");
        }
    }
}
