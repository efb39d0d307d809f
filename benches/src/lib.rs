//! Helpers shared by the benchmarks: running an operation on one or two
//! threads, and criterion's test mode.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::BenchmarkGroup;
use criterion::measurement::WallTime;

/// `cargo test --benches` (or `-- --test`) runs each benchmark once, as
/// criterion does; the encoding benches then use fewer series so that the
/// unoptimised test build stays quick.
pub fn test_mode() -> bool {
    let args: Vec<String> = std::env::args().collect();
    !args.iter().any(|a| a == "--bench") || args.iter().any(|a| a == "--test")
}

/// Runs `op(thread)` `iters` times on each of two threads started together
/// (`thread` is 0 or 1); returns the slower thread's elapsed time (see the
/// module docs).
///
/// The threads meet at a spinning barrier rather than [`std::sync::Barrier`]:
/// waking a thread parked on a futex takes tens of microseconds on this VM,
/// long enough for the other thread to do a large part of a short sample
/// alone, uncontended.
pub fn on_two_threads(iters: u64, op: impl Fn(usize) + Sync) -> Duration {
    let arrived = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..2)
            .map(|thread| {
                let (arrived, op) = (&arrived, &op);
                s.spawn(move || {
                    arrived.fetch_add(1, Ordering::AcqRel);
                    while arrived.load(Ordering::Acquire) < 2 {
                        std::hint::spin_loop();
                    }
                    let start = Instant::now();
                    for _ in 0..iters {
                        op(thread);
                    }
                    start.elapsed()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("benchmark thread panicked"))
            .max()
            .unwrap_or_default()
    })
}

/// Benchmarks `op` on one thread, or on two with [`on_two_threads`] (both
/// threads running the same `op`).
pub fn bench_op(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    threads: usize,
    op: impl Fn() + Sync,
) {
    if threads == 1 {
        group.bench_function(name, |b| b.iter(&op));
    } else {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| on_two_threads(iters, |_| op()))
        });
    }
}

/// Sets a group's timing. Two-thread samples are fewer and longer (the
/// shortest about 10 ms), so that thread start-up is negligible in each.
pub fn timing(group: &mut BenchmarkGroup<'_, WallTime>, threads: usize) {
    group.warm_up_time(Duration::from_millis(700));
    if threads == 1 {
        group.measurement_time(Duration::from_secs(2));
    } else {
        group
            .sample_size(30)
            .measurement_time(Duration::from_secs(5));
    }
}
