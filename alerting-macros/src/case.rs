//! Names: the snake_case text of a variant, and the label name rules.

/// `PairCreated` → `pair_created`, `HTTPError` → `http_error`: a word starts
/// at an uppercase letter that follows a lowercase letter or a digit, or that
/// ends a run of capitals (the `E` of `HTTPError`).
pub(crate) fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev = i.checked_sub(1).and_then(|p| chars.get(p)).copied();
            let next = chars.get(i + 1).copied();
            let starts_word = match prev {
                Some(p) if p.is_lowercase() || p.is_numeric() => true,
                Some(p) if p.is_uppercase() => next.is_some_and(char::is_lowercase),
                _ => false,
            };
            if starts_word {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Why `name` cannot be a label name, if it cannot: the rules the registry
/// checks at run time, checked here at compile time.
pub(crate) fn label_name_problem(name: &str) -> Option<String> {
    let valid = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !valid {
        return Some(format!(
            "`{name}` is not a valid label name: use ASCII letters, digits and `_`, not starting with a digit"
        ));
    }
    if name.starts_with("__") {
        return Some(format!(
            "label name `{name}` is reserved: names starting with `__` are for Prometheus' own use"
        ));
    }
    if name == "le" || name == "quantile" {
        return Some(format!(
            "label name `{name}` is reserved: histograms and summaries write it on their samples"
        ));
    }
    None
}

/// Why `name` cannot be (the end of) a metric name, if it cannot. Only the
/// rules no namespace or metric kind can change: the registry checks the
/// rest (`_total` on counters, base units) when the group is registered.
pub(crate) fn metric_name_problem(name: &str) -> Option<String> {
    let snake = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !name.starts_with('_')
        && !name.ends_with('_')
        && !name.contains("__");
    (!snake).then(|| {
        format!(
            "`{name}` is not a valid metric name: use snake_case (lowercase ASCII letters, digits and single underscores)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake() {
        for (from, to) in [
            ("Swap", "swap"),
            ("PairCreated", "pair_created"),
            ("HTTPError", "http_error"),
            ("HttpError", "http_error"),
            ("RateLimited", "rate_limited"),
            ("V2", "v2"),
            ("Layer2Filter", "layer2_filter"),
            ("ABC", "abc"),
            ("Already_Snake", "already_snake"),
            ("lower", "lower"),
            ("GetHTTP", "get_http"),
            ("Élan", "élan"),
        ] {
            assert_eq!(snake_case(from), to, "{from}");
        }
    }

    #[test]
    fn label_names() {
        for ok in ["a", "_a", "event_type", "A9_b"] {
            assert_eq!(label_name_problem(ok), None, "{ok}");
        }
        for bad in ["", "9a", "a-b", "é", "__a", "__", "le", "quantile"] {
            assert!(label_name_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn metric_names() {
        for ok in ["a", "requests_total", "http2_requests_total", "5xx_total"] {
            assert_eq!(metric_name_problem(ok), None, "{ok}");
        }
        for bad in ["Requests", "a-b", "_a", "a_", "a__b", "é", "a b"] {
            assert!(metric_name_problem(bad).is_some(), "{bad}");
        }
    }
}
