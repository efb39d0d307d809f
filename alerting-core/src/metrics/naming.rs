//! The naming rules checked at registration.

use super::{MetricKind, MetricsError};

/// Non-base units, with the base unit Prometheus names should use instead.
const NON_BASE_UNITS: &[(&str, &str)] = &[
    ("nanoseconds", "seconds"),
    ("nanos", "seconds"),
    ("ns", "seconds"),
    ("microseconds", "seconds"),
    ("micros", "seconds"),
    ("us", "seconds"),
    ("milliseconds", "seconds"),
    ("millis", "seconds"),
    ("ms", "seconds"),
    ("secs", "seconds"),
    ("minutes", "seconds"),
    ("mins", "seconds"),
    ("hours", "seconds"),
    ("days", "seconds"),
    ("kilobytes", "bytes"),
    ("megabytes", "bytes"),
    ("gigabytes", "bytes"),
    ("kb", "bytes"),
    ("mb", "bytes"),
    ("gb", "bytes"),
    ("kib", "bytes"),
    ("mib", "bytes"),
    ("gib", "bytes"),
    ("percent", "ratio"),
    ("percentage", "ratio"),
];

/// Base units that must end the name (before `_total` on a counter).
const BASE_UNITS: &[&str] = &["seconds", "bytes"];

/// Label names the exposition formats or Prometheus itself give a meaning.
const RESERVED_LABELS: &[&str] = &["le", "quantile"];

pub(crate) fn check_metric_name(name: &str, kind: MetricKind) -> Result<(), MetricsError> {
    let snake = name.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !name.ends_with('_')
        && !name.contains("__");
    if !snake {
        return Err(MetricsError::NotSnakeCase {
            name: name.to_owned(),
        });
    }
    let tokens: Vec<&str> = name.split('_').collect();
    for token in &tokens {
        if let Some((unit, base)) = NON_BASE_UNITS.iter().find(|(unit, _)| unit == token) {
            return Err(MetricsError::NonBaseUnit {
                name: name.to_owned(),
                unit: (*unit).to_owned(),
                base,
            });
        }
    }
    for token in &tokens {
        if ["counter", "gauge", "histogram", "summary"].contains(token) {
            return Err(MetricsError::TypeInName {
                name: name.to_owned(),
                word: (*token).to_owned(),
            });
        }
    }
    let is_total = name.ends_with("_total");
    match kind {
        MetricKind::Counter if !is_total => {
            return Err(MetricsError::CounterWithoutTotal {
                name: name.to_owned(),
            });
        }
        MetricKind::Gauge | MetricKind::Histogram if is_total => {
            return Err(MetricsError::TotalOnNonCounter {
                name: name.to_owned(),
                kind,
            });
        }
        _ => {}
    }
    if kind == MetricKind::Histogram {
        for suffix in ["_bucket", "_count", "_sum"] {
            if name.ends_with(suffix) {
                return Err(MetricsError::ReservedSuffix {
                    name: name.to_owned(),
                    suffix,
                });
            }
        }
    }
    // A base unit must be the last word (before `_total`).
    let words = if is_total {
        &tokens[..tokens.len() - 1]
    } else {
        &tokens[..]
    };
    for (i, word) in words.iter().enumerate() {
        if BASE_UNITS.contains(word) && i + 1 != words.len() {
            return Err(MetricsError::UnitNotSuffix {
                name: name.to_owned(),
                unit: (*word).to_owned(),
            });
        }
    }
    Ok(())
}

pub(crate) fn check_help(name: &str, help: &str) -> Result<(), MetricsError> {
    if help.trim().is_empty() {
        return Err(MetricsError::EmptyHelp {
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// Checks a label name's syntax and reservations.
pub(crate) fn check_label_name(metric: &str, label: &str) -> Result<(), MetricsError> {
    let valid = label
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !valid {
        return Err(MetricsError::InvalidLabelName {
            metric: metric.to_owned(),
            label: label.to_owned(),
        });
    }
    if label.starts_with("__") || RESERVED_LABELS.contains(&label) {
        return Err(MetricsError::ReservedLabel {
            metric: metric.to_owned(),
            label: label.to_owned(),
        });
    }
    Ok(())
}

/// Checks a family's labels against each other and the constant labels.
pub(crate) fn check_labels<'a>(
    metric: &str,
    labels: &[&str],
    const_labels: impl Iterator<Item = &'a str> + Clone,
) -> Result<(), MetricsError> {
    for (i, label) in labels.iter().enumerate() {
        check_label_name(metric, label)?;
        if labels[..i].contains(label) || const_labels.clone().any(|c| c == *label) {
            return Err(MetricsError::DuplicateLabel {
                metric: metric.to_owned(),
                label: (*label).to_owned(),
            });
        }
    }
    Ok(())
}

/// The sample names a family writes in the Prometheus text format.
pub(crate) fn sample_names(name: &str, kind: MetricKind) -> Vec<String> {
    match kind {
        MetricKind::Counter | MetricKind::Gauge => vec![name.to_owned()],
        MetricKind::Histogram => ["", "_bucket", "_count", "_sum"]
            .iter()
            .map(|s| format!("{name}{s}"))
            .collect(),
    }
}

/// Splits a checked name into the base name, unit and kind suffix that
/// prometheus-client composes: it appends the unit and `_total` itself.
pub(crate) fn split_for_prometheus_client(
    name: &str,
) -> (&str, Option<prometheus_client::registry::Unit>) {
    use prometheus_client::registry::Unit;
    let base = name.strip_suffix("_total").unwrap_or(name);
    if let Some(b) = base.strip_suffix("_seconds") {
        (b, Some(Unit::Seconds))
    } else if let Some(b) = base.strip_suffix("_bytes") {
        (b, Some(Unit::Bytes))
    } else {
        (base, None)
    }
}
