//! Exemplars: one sampled observation per histogram bucket (or per
//! counter) that names where it came from, a trace id or a transaction
//! hash, so that a slow bucket on a dashboard leads to its request.
//!
//! [`Histogram`](super::Histogram), [`StripedHistogram`](super::StripedHistogram),
//! [`StripedCounter`](super::StripedCounter) and
//! [`ExemplarCounter`](super::ExemplarCounter) (the compact counter that
//! takes exemplars; [`Counter`](super::Counter) does not) take an exemplar with
//! `observe_with_exemplar` / `inc_with_exemplar`; `#[instrumented]` attaches
//! one to its duration histogram (see [`instrument`](crate::instrument#exemplars)).
//!
//! - **Where they appear.** Only in the OpenMetrics exposition
//!   ([`Format::OpenMetrics`](super::Format::OpenMetrics), which Prometheus
//!   asks for): the Prometheus text format has no exemplars, and its output
//!   is the same with or without them.
//! - **What is kept.** One exemplar per bucket (per counter): its labels
//!   (at most [`MAX_EXEMPLAR_CHARS`] characters of names and values, as
//!   OpenMetrics allows), the value observed (the increment, for a
//!   counter) and the wall-clock time it was taken.
//! - **Sampling.** A bucket's exemplar is replaced at most once between two
//!   scrapes: the first exemplar offered to a bucket after a scrape read it
//!   replaces it, later ones are dropped until the next scrape. Each scrape
//!   so shows one recent observation per bucket that had any, and storing
//!   costs at most one write per bucket per scrape, whatever the call
//!   rate. Offering an exemplar to a bucket that already holds one not yet
//!   scraped costs one relaxed load. Until a scrape, the first exemplar of
//!   each bucket stays.
//! - **Cost when none is offered.** Nothing: `observe` and `inc` do not look
//!   at exemplars, and a series that was never offered one allocates no
//!   exemplar storage.
//! - **Memory.** A series that was never offered an exemplar keeps an
//!   empty pointer for them. The first exemplar allocates one slot per
//!   bucket (one for a counter), about 64 bytes each, plus each kept
//!   exemplar's label text.
//! - **Concurrency.** A writer never waits: it gives up when a scrape (or
//!   another writer) holds the bucket's exemplar. A scrape copies each
//!   exemplar under a lock held for the copy of at most a few hundred bytes.
//!
//! ```
//! use alerting_core::metrics::{Buckets, Format, Histogram, Registry, MetricOptions};
//!
//! let registry = Registry::new();
//! let latency: Histogram = registry.register_with(
//!     "request_duration_seconds",
//!     "Time to answer a request",
//!     MetricOptions::new().buckets(Buckets::new([0.1, 1.0])?),
//! )?;
//! latency.observe_with_exemplar(0.42, &[("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736")])?;
//!
//! let open_metrics = registry.encode_to_string(Format::OpenMetrics)?;
//! assert!(open_metrics.contains(
//!     r#"request_duration_seconds_bucket{le="1.0"} 1 # {trace_id="4bf92f3577b34da6a3ce929d0e0e4736"} 0.42 "#
//! ), "{open_metrics}");
//! // The Prometheus text format has no exemplars.
//! let text = registry.encode_to_string(Format::Prometheus)?;
//! assert!(!text.contains("trace_id"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError, TryLockError};
use std::time::{SystemTime, UNIX_EPOCH};

use prometheus_client::encoding::{EncodeLabelSet, LabelSetEncoder, MetricEncoder, NoLabelSet};

use super::labels::encode_label;

/// Most characters (Unicode code points) of an exemplar's label names and
/// values together, as OpenMetrics allows.
pub const MAX_EXEMPLAR_CHARS: usize = 128;

/// Why an exemplar was refused. The observation itself is recorded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExemplarError {
    /// A label name that is not `[a-zA-Z_][a-zA-Z0-9_]*`.
    #[error("exemplar label `{label}` is not a valid label name")]
    InvalidLabelName {
        /// The label name.
        label: String,
    },
    /// Label names and values longer than [`MAX_EXEMPLAR_CHARS`] together.
    #[error(
        "exemplar labels `{labels}` are {chars} characters long; OpenMetrics allows {MAX_EXEMPLAR_CHARS}"
    )]
    TooLong {
        /// The label names, comma-separated.
        labels: String,
        /// Characters of names and values.
        chars: usize,
    },
}

/// Checks an exemplar's labels: valid names, at most
/// [`MAX_EXEMPLAR_CHARS`] characters in all.
pub(crate) fn check(labels: &[(&str, &str)]) -> Result<(), ExemplarError> {
    let mut bytes = 0;
    for (name, value) in labels {
        if !valid_label_name(name) {
            return Err(ExemplarError::InvalidLabelName {
                label: (*name).to_owned(),
            });
        }
        bytes += name.len() + value.len();
    }
    // Bytes bound characters from above: count them only when it matters.
    if bytes > MAX_EXEMPLAR_CHARS {
        let chars: usize = labels
            .iter()
            .map(|(n, v)| n.chars().count() + v.chars().count())
            .sum();
        if chars > MAX_EXEMPLAR_CHARS {
            return Err(ExemplarError::TooLong {
                labels: labels.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(","),
                chars,
            });
        }
    }
    Ok(())
}

pub(crate) fn valid_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

const EMPTY: u8 = 0;
/// Stored and not yet read by a scrape: offers are dropped.
const FRESH: u8 = 1;
/// Read by a scrape: the next offer replaces it.
const SEEN: u8 = 2;

/// One exemplar, as the exposition writes it.
#[derive(Clone, Debug, Default)]
struct Sample {
    /// `name="value",…`, escaped for the exposition.
    labels: String,
    value: f64,
    /// Seconds since the Unix epoch.
    timestamp: f64,
    /// False after an attempt that found nothing to attach (no trace
    /// context, a value too long): the slot is then "taken" until the next
    /// scrape without writing anything.
    present: bool,
}

#[derive(Debug, Default)]
struct Slot {
    state: AtomicU8,
    sample: Mutex<Sample>,
}

/// The exemplar slots of one series: one per bucket (one for a counter),
/// allocated when the first exemplar is offered.
#[derive(Debug)]
pub(crate) struct Exemplars {
    len: usize,
    slots: OnceLock<Box<[Slot]>>,
}

/// Writes one exemplar's labels into its slot, escaping values, and
/// refuses more than [`MAX_EXEMPLAR_CHARS`] characters.
#[doc(hidden)]
#[derive(Debug)]
pub struct ExemplarWriter<'a> {
    out: &'a mut String,
    chars: usize,
}

impl ExemplarWriter<'_> {
    /// Adds `name="value"`. `name` must be a valid label name. Returns
    /// false (and the exemplar is dropped) past the length limit.
    pub fn label(&mut self, name: &str, value: impl fmt::Display) -> bool {
        if !self.out.is_empty() {
            self.out.push(',');
        }
        self.out.push_str(name);
        self.out.push_str("=\"");
        self.chars += name.chars().count();
        let mut escaper = Escaper {
            out: &mut *self.out,
            chars: 0,
        };
        let written = write!(escaper, "{value}").is_ok();
        self.chars += escaper.chars;
        self.out.push('"');
        written && self.chars <= MAX_EXEMPLAR_CHARS
    }
}

/// Escapes a label value as the text formats want, counting characters.
struct Escaper<'a> {
    out: &'a mut String,
    chars: usize,
}

impl fmt::Write for Escaper<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.chars += s.chars().count();
        // Stop early on absurdly long values: they are refused anyway.
        if self.chars > MAX_EXEMPLAR_CHARS {
            return Err(fmt::Error);
        }
        for c in s.chars() {
            match c {
                '\\' => self.out.push_str("\\\\"),
                '"' => self.out.push_str("\\\""),
                '\n' => self.out.push_str("\\n"),
                c => self.out.push(c),
            }
        }
        Ok(())
    }
}

impl Exemplars {
    /// Slots for `len` buckets (1 for a counter); allocates nothing yet.
    pub(crate) const fn new(len: usize) -> Self {
        Self {
            len,
            slots: OnceLock::new(),
        }
    }

    /// Whether an exemplar offered to slot `i` would be kept: one relaxed
    /// load once the slot is taken.
    #[inline]
    pub(crate) fn due(&self, i: usize) -> bool {
        match self.slots.get() {
            Some(slots) => slots
                .get(i)
                .is_some_and(|s| s.state.load(Ordering::Relaxed) != FRESH),
            None => true,
        }
    }

    /// Stores an exemplar in slot `i` unless it holds one not yet scraped
    /// or is busy; `write` adds the labels and returns false to store
    /// nothing (the slot still counts as taken until the next scrape).
    #[cold]
    #[inline(never)]
    pub(crate) fn offer(
        &self,
        i: usize,
        value: f64,
        write: impl FnOnce(&mut ExemplarWriter<'_>) -> bool,
    ) {
        let slots = self
            .slots
            .get_or_init(|| (0..self.len).map(|_| Slot::default()).collect());
        let Some(slot) = slots.get(i) else {
            return;
        };
        let mut sample = match slot.sample.try_lock() {
            Ok(sample) => sample,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return,
        };
        if slot.state.load(Ordering::Relaxed) == FRESH {
            return;
        }
        sample.labels.clear();
        let mut writer = ExemplarWriter {
            out: &mut sample.labels,
            chars: 0,
        };
        sample.present = write(&mut writer) && value.is_finite();
        if sample.present {
            sample.value = value;
            sample.timestamp = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
        } else {
            sample.labels.clear();
        }
        slot.state.store(FRESH, Ordering::Relaxed);
    }

    /// Stores `labels` (checked by [`check`]) in slot `i` if it is due.
    #[inline]
    pub(crate) fn offer_labels(&self, i: usize, value: f64, labels: &[(&str, &str)]) {
        if value.is_finite() && self.due(i) {
            self.offer(i, value, |w| labels.iter().all(|(n, v)| w.label(n, v)));
        }
    }

    /// The slots' samples for the exposition being written on this thread,
    /// if it is an OpenMetrics one and any slot holds an exemplar: a
    /// marker to add to the series' labels. Marks the slots as scraped.
    pub(crate) fn marker(&self, counter: bool) -> Option<Marker> {
        let slots = self.slots.get()?;
        PASS.with(|pass| {
            let mut pass = pass.borrow_mut();
            let pending = pass.as_mut()?;
            let mut any = false;
            let samples: Vec<Option<Sample>> = slots
                .iter()
                .map(|slot| {
                    if slot.state.load(Ordering::Relaxed) == EMPTY {
                        return None;
                    }
                    let sample = slot.sample.lock().unwrap_or_else(PoisonError::into_inner);
                    slot.state.store(SEEN, Ordering::Relaxed);
                    any |= sample.present;
                    sample.present.then(|| sample.clone())
                })
                .collect();
            if !any {
                return None;
            }
            pending.push(Pending { counter, samples });
            Some(Marker(pending.len() as u64 - 1))
        })
    }
}

/// The exemplars of one series of the exposition being written.
struct Pending {
    counter: bool,
    /// By bucket (one for a counter).
    samples: Vec<Option<Sample>>,
}

thread_local! {
    /// The exemplars of the OpenMetrics exposition this thread is writing
    /// (`None` outside [`with_exemplars`]).
    static PASS: RefCell<Option<Vec<Pending>>> = const { RefCell::new(None) };
}

/// The label a series with exemplars carries while the exposition is
/// written, numbering its entry in the pass: removed again, and replaced
/// by the exemplars, before anyone sees the text. Registration rejects
/// label names starting with `__`, so no real label has this name.
const MARKER_LABEL: &str = "__alerting_exemplar";

/// A series' entry in the exemplars of the exposition being written.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Marker(u64);

impl EncodeLabelSet for Marker {
    fn encode(&self, encoder: &mut LabelSetEncoder<'_>) -> Result<(), fmt::Error> {
        encode_label(encoder, MARKER_LABEL, &self.0)
    }
}

/// A series' labels followed by its [`Marker`] (always last, right before
/// the closing brace, where [`splice`] looks for it).
pub(crate) struct Marked<'a, S>(pub(crate) &'a S, pub(crate) Marker);

impl<S: EncodeLabelSet> EncodeLabelSet for Marked<'_, S> {
    fn encode(&self, encoder: &mut LabelSetEncoder<'_>) -> Result<(), fmt::Error> {
        self.0.encode(encoder)?;
        self.1.encode(encoder)
    }
}

/// Writes a counter of one exemplar slot, unlabelled (`labels` is `None`)
/// or in a family, with its [`Marker`] when the slot holds an exemplar:
/// the one encoding of [`StripedCounter`](super::StripedCounter) and
/// [`ExemplarCounter`](super::ExemplarCounter).
pub(crate) fn encode_counter<S: EncodeLabelSet>(
    encoder: &mut MetricEncoder<'_>,
    exemplars: &Exemplars,
    labels: Option<&S>,
    value: u64,
) -> Result<(), fmt::Error> {
    match (exemplars.marker(true), labels) {
        (Some(marker), Some(labels)) => encoder
            .encode_family(&Marked(labels, marker))?
            .encode_counter::<NoLabelSet, _, u64>(&value, None),
        (Some(marker), None) => encoder
            .encode_family(&marker)?
            .encode_counter::<NoLabelSet, _, u64>(&value, None),
        (None, Some(labels)) => encoder
            .encode_family(labels)?
            .encode_counter::<NoLabelSet, _, u64>(&value, None),
        (None, None) => encoder.encode_counter::<NoLabelSet, _, u64>(&value, None),
    }
}

/// Writes an OpenMetrics exposition with `encode`, then adds the exemplars
/// its series collected.
///
/// prometheus-client writes exemplars only from its own exemplar types
/// (its `Exemplar` has no public constructor), so the series write a
/// [`Marker`] label instead, and the exemplars are spliced in here: each
/// marker is removed, and the bucket (or `_total`) line it is on gets its
/// exemplar. Without any exemplar this is one thread-local check.
pub(crate) fn with_exemplars(
    buf: &mut String,
    encode: impl FnOnce(&mut String) -> fmt::Result,
) -> fmt::Result {
    let previous = PASS.with(|pass| pass.borrow_mut().replace(Vec::new()));
    let result = encode(buf);
    let pending = PASS.with(|pass| std::mem::replace(&mut *pass.borrow_mut(), previous));
    result?;
    if let Some(pending) = pending
        && !pending.is_empty()
    {
        splice(buf, &pending)?;
    }
    Ok(())
}

fn splice(buf: &mut String, pending: &[Pending]) -> fmt::Result {
    const PREFIX: &str = "__alerting_exemplar=\"";
    let mut out = String::with_capacity(buf.len() + pending.len() * 160);
    let mut buckets_seen = vec![0usize; pending.len()];
    let mut rest = buf.as_str();
    while let Some(at) = rest.find(PREFIX) {
        // Only on sample lines, never in a `# HELP` text.
        let in_comment = match rest[..at].rfind('\n') {
            Some(i) => rest[i + 1..].starts_with('#'),
            None => {
                let written = &out[out.rfind('\n').map_or(0, |i| i + 1)..];
                if written.is_empty() {
                    rest.starts_with('#')
                } else {
                    written.starts_with('#')
                }
            }
        };
        if in_comment {
            out.push_str(&rest[..at + PREFIX.len()]);
            rest = &rest[at + PREFIX.len()..];
            continue;
        }
        let after = &rest[at + PREFIX.len()..];
        let Some(close) = after.find('"') else { break };
        let Ok(id) = after[..close].parse::<usize>() else {
            break;
        };
        let mut tail = &after[close + 1..];
        let before = &rest[..at];
        // The marker is the last label: `,marker}` or `{marker}`.
        if let Some(kept) = before.strip_suffix(',') {
            out.push_str(kept);
        } else if let (Some(kept), Some(after_close)) =
            (before.strip_suffix('{'), tail.strip_prefix('}'))
        {
            out.push_str(kept);
            tail = after_close;
        } else {
            return Err(fmt::Error);
        }
        let line_start = out.rfind('\n').map_or(0, |i| i + 1);
        let name = out[line_start..].split('{').next().unwrap_or_default();
        let (total, bucket) = (name.ends_with("_total"), name.ends_with("_bucket"));
        let end = tail.find('\n').unwrap_or(tail.len());
        out.push_str(&tail[..end]);
        let entry = pending.get(id).ok_or(fmt::Error)?;
        let index = if entry.counter {
            total.then_some(0)
        } else if bucket {
            let i = buckets_seen[id];
            buckets_seen[id] += 1;
            Some(i)
        } else {
            None
        };
        if let Some(Some(sample)) = index.and_then(|i| entry.samples.get(i)) {
            write!(
                out,
                " # {{{}}} {:?} {:?}",
                sample.labels, sample.value, sample.timestamp
            )?;
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    *buf = out;
    Ok(())
}
