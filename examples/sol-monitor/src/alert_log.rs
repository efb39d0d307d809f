//! The alert log's writer: alerts hand their row over a bounded channel
//! and return; one task writes the rows in batches (one transaction per
//! `store.alert_log_batch` rows, or every `store.alert_log_flush_secs`).
//! While the store refuses writes, rows wait, at most
//! `store.alert_log_queue` of them; past that the oldest are dropped and
//! counted in `sol_store_alert_log_dropped_total`, never silently. At
//! shutdown, after every connection and alert has finished, a closer
//! stops the writer, which writes what is left.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::metrics::SolMetrics;
use crate::store::{AlertRow, Store};

/// Where alerts put their log row.
#[derive(Clone, Debug)]
pub struct AlertLog {
    tx: mpsc::Sender<AlertRow>,
    metrics: SolMetrics,
}

/// The writer task, to stop at shutdown.
#[derive(Debug)]
pub struct AlertLogWriter {
    stop: CancellationToken,
    task: JoinHandle<()>,
}

/// The writer's settings.
#[derive(Clone, Copy, Debug)]
pub struct WriterSettings {
    /// Rows per transaction, at most.
    pub batch: usize,
    /// Longest wait before rows are written.
    pub flush: Duration,
    /// Rows that may wait.
    pub queue: usize,
}

impl AlertLog {
    /// Starts the writer on `store`.
    pub fn start(
        store: Store,
        settings: WriterSettings,
        metrics: &SolMetrics,
    ) -> (Self, AlertLogWriter) {
        let (tx, rx) = mpsc::channel(settings.queue.max(1));
        let stop = CancellationToken::new();
        let task = tokio::spawn(write_loop(
            store,
            rx,
            settings,
            metrics.clone(),
            stop.clone(),
        ));
        (
            Self {
                tx,
                metrics: metrics.clone(),
            },
            AlertLogWriter { stop, task },
        )
    }

    /// Queues `row`; never waits. A full queue drops the row and counts
    /// it.
    pub fn record(&self, row: AlertRow) {
        match self.tx.try_send(row) {
            Ok(()) => {
                self.metrics.sol_store_alert_log_pending.inc();
            }
            Err(e) => {
                self.metrics.sol_store_alert_log_dropped_total.inc();
                tracing::error!(error = %e, "alert log full: row dropped");
            }
        }
    }
}

impl AlertLogWriter {
    /// Stops the writer once it has written what was queued (one last
    /// attempt; rows the store still refuses are counted as dropped).
    pub async fn finish(self) {
        self.stop.cancel();
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "alert log writer failed");
        }
    }
}

async fn flush(
    store: &Store,
    pending: &mut VecDeque<AlertRow>,
    batch: usize,
    metrics: &SolMetrics,
) -> bool {
    while !pending.is_empty() {
        let n = pending.len().min(batch.max(1));
        let rows: Vec<AlertRow> = pending.iter().take(n).cloned().collect();
        match store.insert_alerts(&rows).await {
            Ok(()) => {
                pending.drain(..n);
                metrics.sol_store_alert_log_written_total.inc_by(n as u64);
                metrics.sol_store_alert_log_pending.dec_by(n as i64);
            }
            Err(e) => {
                tracing::warn!(error = %e, waiting = pending.len(), "alert log: store refused the rows, retrying");
                return false;
            }
        }
    }
    true
}

async fn write_loop(
    store: Store,
    mut rx: mpsc::Receiver<AlertRow>,
    settings: WriterSettings,
    metrics: SolMetrics,
    stop: CancellationToken,
) {
    let mut pending: VecDeque<AlertRow> = VecDeque::new();
    let mut tick = tokio::time::interval(settings.flush);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let keep = |pending: &mut VecDeque<AlertRow>| {
        while pending.len() > settings.queue {
            pending.pop_front();
            metrics.sol_store_alert_log_dropped_total.inc();
            metrics.sol_store_alert_log_pending.dec();
        }
    };
    loop {
        tokio::select! {
            biased;
            _ = stop.cancelled() => break,
            row = rx.recv() => match row {
                Some(row) => {
                    pending.push_back(row);
                    keep(&mut pending);
                    if pending.len() >= settings.batch {
                        flush(&store, &mut pending, settings.batch, &metrics).await;
                    }
                }
                None => break,
            },
            _ = tick.tick() => {
                flush(&store, &mut pending, settings.batch, &metrics).await;
            }
        }
    }
    rx.close();
    while let Ok(row) = rx.try_recv() {
        pending.push_back(row);
    }
    keep(&mut pending);
    if !flush(&store, &mut pending, settings.batch, &metrics).await {
        let lost = pending.len() as u64;
        metrics.sol_store_alert_log_dropped_total.inc_by(lost);
        metrics.sol_store_alert_log_pending.dec_by(lost as i64);
        tracing::error!(lost, "alert log: rows not written at shutdown");
    }
}
