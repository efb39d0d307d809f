//! What a shutdown did: the report.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::secs;

/// What began a shutdown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Trigger {
    /// `SIGTERM` (what Kubernetes, Docker and systemd send).
    Sigterm,
    /// `SIGINT` (Ctrl-C in a terminal).
    Sigint,
    /// Ctrl-C where there are no Unix signals.
    CtrlC,
    /// [`Shutdown::trigger`](super::Shutdown::trigger), with its reason.
    Requested(Cow<'static, str>),
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trigger::Sigterm => f.write_str("SIGTERM"),
            Trigger::Sigint => f.write_str("SIGINT"),
            Trigger::CtrlC => f.write_str("Ctrl-C"),
            Trigger::Requested(reason) => write!(f, "requested: {reason}"),
        }
    }
}

/// How the wait for in-flight work ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DrainOutcome {
    /// Every accepted unit of work finished.
    Drained,
    /// The deadline passed with work still running.
    DeadlineReached,
    /// A second signal (or [`Shutdown::force`](super::Shutdown::force))
    /// ended the wait.
    Forced,
}

impl fmt::Display for DrainOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DrainOutcome::Drained => "drained",
            DrainOutcome::DeadlineReached => "deadline reached",
            DrainOutcome::Forced => "forced",
        })
    }
}

/// One kind of work during the drain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WorkReport {
    /// The name given to [`Shutdown::work_kind`](super::Shutdown::work_kind).
    pub name: String,
    /// Units in flight when shutdown began.
    pub in_flight_at_trigger: u64,
    /// Units that finished between the trigger and the end of the drain
    /// (those accepted after the trigger included).
    pub drained: u64,
    /// Units still running when the drain ended (at the deadline, or when
    /// forced): no longer waited for. Each is either
    /// [`finished_late`](Self::finished_late) or
    /// [`abandoned`](Self::abandoned).
    pub still_running: u64,
    /// Of [`still_running`](Self::still_running), the units that finished
    /// after the drain ended but before the report was written (while the
    /// closers ran).
    #[serde(default)]
    pub finished_late: u64,
    /// Of [`still_running`](Self::still_running), the units still running
    /// when the report was written: left to run until the process exits
    /// (nothing cancels them).
    #[serde(default)]
    pub abandoned: u64,
}

/// How a closer ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
#[non_exhaustive]
pub enum CloserOutcome {
    /// It returned `Ok` (or `()`).
    Ok,
    /// It returned an error.
    Failed {
        /// The error, as text.
        error: String,
    },
    /// It did not finish within its timeout and was cancelled.
    TimedOut,
    /// It panicked.
    Panicked {
        /// The panic message.
        message: String,
    },
}

impl CloserOutcome {
    /// Whether the closer finished without error.
    pub fn is_ok(&self) -> bool {
        matches!(self, CloserOutcome::Ok)
    }
}

/// One closer's run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CloserReport {
    /// The name it was registered with.
    pub name: String,
    /// How it ended.
    #[serde(flatten)]
    pub outcome: CloserOutcome,
    /// How long it ran.
    #[serde(rename = "duration_secs", with = "secs")]
    pub duration: Duration,
    /// The timeout it had.
    #[serde(rename = "timeout_secs", with = "secs")]
    pub timeout: Duration,
}

/// How long each phase took.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Phases {
    /// Readiness down until intake was told to stop (the readiness delay,
    /// or less when forced).
    #[serde(rename = "readiness_secs", with = "secs")]
    pub readiness: Duration,
    /// Telling intake to stop.
    #[serde(rename = "stop_intake_secs", with = "secs")]
    pub stop_intake: Duration,
    /// Waiting for in-flight work.
    #[serde(rename = "drain_secs", with = "secs")]
    pub drain: Duration,
    /// Running the closers.
    #[serde(rename = "closers_secs", with = "secs")]
    pub closers: Duration,
    /// From the trigger to the report.
    #[serde(rename = "total_secs", with = "secs")]
    pub total: Duration,
}

/// What a shutdown did, returned by [`Shutdown::run`](super::Shutdown::run).
///
/// It is serde-serializable (durations are seconds, as in the
/// configuration) and its `Display` is a short human summary:
///
/// ```text
/// shutdown (SIGTERM) finished in 1.103 s: deadline reached
///   readiness down 0.000 s, intake stopped 0.000 s, drain 1.001 s, closers 0.102 s
///   work: 10006 in flight at the trigger, 10000 drained, 6 still running at the end of the drain (2 finished late, 4 abandoned)
///   finished late (after the drain ended, before this report):
///     http_request ×2
///   abandoned (still running, left to the process exit):
///     http_request ×4
///   closers (in the order they ran):
///     http_server  ok         0.000 s
///     db_pool      failed     0.001 s: pool already closed
///     ws_pool      timed out  0.100 s
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// What began the shutdown.
    pub trigger: Trigger,
    /// How the drain ended.
    pub drain: DrainOutcome,
    /// Whether a second signal (or [`Shutdown::force`](super::Shutdown::force))
    /// cut the shutdown short.
    pub forced: bool,
    /// The drain deadline in force.
    #[serde(rename = "deadline_secs", with = "secs")]
    pub deadline: Duration,
    /// Every kind of work, by name.
    pub work: Vec<WorkReport>,
    /// The closers, in the order they ran (reverse registration order).
    pub closers: Vec<CloserReport>,
    /// How long each phase took.
    pub phases: Phases,
}

impl ShutdownReport {
    /// Units in flight when shutdown began, all kinds.
    pub fn in_flight_at_trigger(&self) -> u64 {
        self.work.iter().map(|w| w.in_flight_at_trigger).sum()
    }

    /// Units that finished during the shutdown, all kinds.
    pub fn drained(&self) -> u64 {
        self.work.iter().map(|w| w.drained).sum()
    }

    /// Units still running when the drain ended, all kinds.
    pub fn still_running(&self) -> u64 {
        self.work.iter().map(|w| w.still_running).sum()
    }

    /// Units still running at the end of the drain that finished before
    /// the report was written, all kinds.
    pub fn finished_late(&self) -> u64 {
        self.work.iter().map(|w| w.finished_late).sum()
    }

    /// Units still running when the report was written (left to the
    /// process exit), all kinds.
    pub fn abandoned(&self) -> u64 {
        self.work.iter().map(|w| w.abandoned).sum()
    }

    /// The kinds of work with units still running at the end of the drain,
    /// as `(name, count)`.
    pub fn still_running_by_name(&self) -> impl Iterator<Item = (&str, u64)> {
        by_name(&self.work, |w| w.still_running)
    }

    /// The kinds of work with units that finished late, as `(name, count)`.
    pub fn finished_late_by_name(&self) -> impl Iterator<Item = (&str, u64)> {
        by_name(&self.work, |w| w.finished_late)
    }

    /// The kinds of work with units abandoned, as `(name, count)`.
    pub fn abandoned_by_name(&self) -> impl Iterator<Item = (&str, u64)> {
        by_name(&self.work, |w| w.abandoned)
    }

    /// Whether everything drained and every closer succeeded.
    pub fn is_clean(&self) -> bool {
        self.still_running() == 0 && self.closers.iter().all(|c| c.outcome.is_ok())
    }
}

fn by_name(
    work: &[WorkReport],
    count: impl Fn(&WorkReport) -> u64,
) -> impl Iterator<Item = (&str, u64)> {
    work.iter()
        .map(move |w| (w.name.as_str(), count(w)))
        .filter(|(_, n)| *n > 0)
}

struct Secs(Duration);

impl fmt::Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3} s", self.0.as_secs_f64())
    }
}

impl fmt::Display for ShutdownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.phases;
        write!(
            f,
            "shutdown ({}) finished in {}: {}",
            self.trigger,
            Secs(p.total),
            self.drain
        )?;
        if self.forced && self.drain != DrainOutcome::Forced {
            f.write_str(" (forced)")?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "  readiness down {}, intake stopped {}, drain {}, closers {}",
            Secs(p.readiness),
            Secs(p.stop_intake),
            Secs(p.drain),
            Secs(p.closers)
        )?;
        write!(
            f,
            "  work: {} in flight at the trigger, {} drained, {} still running",
            self.in_flight_at_trigger(),
            self.drained(),
            self.still_running()
        )?;
        if self.still_running() > 0 {
            write!(
                f,
                " at the end of the drain ({} finished late, {} abandoned)",
                self.finished_late(),
                self.abandoned()
            )?;
        }
        writeln!(f)?;
        let mut late = self.finished_late_by_name().peekable();
        if late.peek().is_some() {
            writeln!(
                f,
                "  finished late (after the drain ended, before this report):"
            )?;
            for (name, count) in late {
                writeln!(f, "    {name} ×{count}")?;
            }
        }
        let mut abandoned = self.abandoned_by_name().peekable();
        if abandoned.peek().is_some() {
            writeln!(f, "  abandoned (still running, left to the process exit):")?;
            for (name, count) in abandoned {
                writeln!(f, "    {name} ×{count}")?;
            }
        }
        if self.closers.is_empty() {
            write!(f, "  closers: none")?;
        } else {
            write!(f, "  closers (in the order they ran):")?;
            let width = self.closers.iter().map(|c| c.name.len()).max().unwrap_or(0);
            for c in &self.closers {
                write!(f, "\n    {:<width$}  ", c.name)?;
                match &c.outcome {
                    CloserOutcome::Ok => write!(f, "ok         {}", Secs(c.duration))?,
                    CloserOutcome::Failed { error } => {
                        write!(f, "failed     {}: {error}", Secs(c.duration))?
                    }
                    CloserOutcome::TimedOut => write!(f, "timed out  {}", Secs(c.duration))?,
                    CloserOutcome::Panicked { message } => {
                        write!(f, "panicked   {}: {message}", Secs(c.duration))?
                    }
                }
            }
        }
        Ok(())
    }
}
