//! URLs fit to log.

/// `url` as it may be logged, printed or shown in a health report: without
/// user info, without the query string (`?…`: API keys often travel
/// there), and with every path segment that may be a credential masked
/// (`…`): one with a `:` (Telegram's `bot<id>:<secret>`) or of 20
/// characters or more (the API key in `wss://…/ws/v1/<key>` node URLs).
/// Scheme, host, port and the short segments that say what was called
/// stay. When an `@` follows the host (a raw password holding a `/`, or
/// an `@` in the path), only the scheme is kept.
///
/// It is a heuristic for the URL shapes of node providers, price APIs and
/// webhooks: a key shorter than 20 characters, without a `:`, in the path
/// is not recognised. Keep such keys in a header or the query.
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
    let mut out = String::with_capacity(url.len());
    if let Some(scheme) = scheme {
        out.push_str(scheme);
        out.push_str("://");
    }
    let end_of_authority = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end_of_authority);
    if tail.contains('@') {
        // An `@` after the authority: a path or query holding one, or user
        // info with a raw `/`, `?` or `#` in its password. The two cannot
        // be told apart, so nothing after the scheme is shown.
        out.push('…');
        return out;
    }
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    out.push_str(host);
    let (path, query) = match tail.split_once(['?', '#']) {
        Some((path, _)) => (path, true),
        None => (tail, false),
    };
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
            // Raw passwords with delimiters: nothing past the scheme.
            ("https://user:pa/ss@host/x", "https://…"),
            ("https://user:p#ss@host/x", "https://…"),
            ("https://user:p?ss@host/x", "https://…"),
            ("https://host/users/a@b", "https://…"),
            ("https://host//x", "https://host//x"),
            ("https://host/é€🙂", "https://host/é€🙂"),
        ] {
            assert_eq!(redact_url(input), expected, "{input}");
        }
    }
}
