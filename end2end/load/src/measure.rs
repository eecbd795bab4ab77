//! What a run measured: latency percentiles, and the server process's CPU
//! and memory, read from `/proc`.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Latencies in microseconds, from 1 µs to a minute.
#[derive(Clone)]
pub struct Latencies(Histogram<u64>);

impl Default for Latencies {
    fn default() -> Self {
        Self(Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds"))
    }
}

impl Latencies {
    pub fn record(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.0.saturating_record(micros.max(1));
    }

    pub fn add(&mut self, other: &Self) {
        // Same bounds on both sides: adding cannot fail.
        let _ = self.0.add(&other.0);
    }

    pub fn count(&self) -> u64 {
        self.0.len()
    }

    pub fn summary(&self) -> Percentiles {
        let ms = |micros: u64| {
            #[expect(
                clippy::cast_precision_loss,
                reason = "latencies are far below 2^52 µs"
            )]
            let ms = micros as f64 / 1000.0;
            (ms * 100.0).round() / 100.0
        };
        Percentiles {
            p50: ms(self.0.value_at_quantile(0.50)),
            p90: ms(self.0.value_at_quantile(0.90)),
            p99: ms(self.0.value_at_quantile(0.99)),
            max: ms(self.0.max()),
        }
    }
}

/// Milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl std::fmt::Display for Percentiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "p50 {} / p90 {} / p99 {} / max {} ms",
            self.p50, self.p90, self.p99, self.max
        )
    }
}

/// A process's CPU time so far and its resident memory now.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessSample {
    /// User + system CPU, in clock ticks (1/100 s on Linux).
    pub cpu_ticks: u64,
    pub rss_kib: u64,
}

const TICKS_PER_SECOND: u64 = 100;

impl ProcessSample {
    /// Reads `/proc/<pid>`; zeros when it cannot (the process is gone).
    pub fn of(pid: u32) -> Self {
        let cpu_ticks = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| {
                // The command name may hold spaces: fields count from after ")".
                let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
                let user: u64 = fields.get(11)?.parse().ok()?;
                let system: u64 = fields.get(12)?.parse().ok()?;
                Some(user + system)
            })
            .unwrap_or(0);
        let rss_kib = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find_map(|line| line.strip_prefix("VmRSS:"))
                    .and_then(|value| value.split_whitespace().next()?.parse().ok())
            })
            .unwrap_or(0);
        Self { cpu_ticks, rss_kib }
    }

    /// CPU seconds spent between `self` and `later`.
    pub fn cpu_seconds_until(self, later: Self) -> f64 {
        #[expect(clippy::cast_precision_loss, reason = "tick counts are small")]
        let ticks = later.cpu_ticks.saturating_sub(self.cpu_ticks) as f64;
        #[expect(clippy::cast_precision_loss, reason = "a constant")]
        let per_second = TICKS_PER_SECOND as f64;
        ticks / per_second
    }

    pub fn rss_mib(self) -> f64 {
        #[expect(clippy::cast_precision_loss, reason = "memory sizes are small")]
        let kib = self.rss_kib as f64;
        (kib / 1024.0 * 10.0).round() / 10.0
    }
}

/// The machine's load averages (1, 5, 15 minutes), as `/proc/loadavg` says.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// Samples a process's memory every `every` until dropped; the peak seen.
pub struct PeakRss {
    peak: std::sync::Arc<std::sync::atomic::AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl PeakRss {
    pub fn watch(pid: u32, every: Duration) -> Self {
        let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let seen = std::sync::Arc::clone(&peak);
        let task = tokio::spawn(async move {
            loop {
                let rss = ProcessSample::of(pid).rss_kib;
                seen.fetch_max(rss, std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(every).await;
            }
        });
        Self { peak, task }
    }

    /// The highest resident memory seen, in MiB.
    pub fn peak_mib(&self) -> f64 {
        ProcessSample {
            cpu_ticks: 0,
            rss_kib: self.peak.load(std::sync::atomic::Ordering::Relaxed),
        }
        .rss_mib()
    }
}

impl Drop for PeakRss {
    fn drop(&mut self) {
        self.task.abort();
    }
}
