//! Prometheus metrics of the LLM endpoints, per served model, for `GET
//! /metrics` of `lathe serve --llm`: requests, prompt and generated tokens
//! (their rate is tokens/s), request duration and time to first token as
//! histograms, and the queue depth and running generations as gauges.
//!
//! Time to first token counts from the request's arrival, so it includes the
//! wait for a generation slot: that is what a client sees. Updates are atomic
//! counters; nothing here locks.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of both histograms, in seconds: a tiny model's first token
/// takes milliseconds, a long answer on a CPU minutes.
const BUCKETS: [f64; 14] =
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0];

/// A cumulative histogram of durations.
#[derive(Debug, Default)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

impl Histogram {
    fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_nanos
            .fetch_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, metric: &str, labels: &str) {
        let mut cumulative = 0;
        for (bound, n) in BUCKETS.iter().zip(&self.buckets) {
            cumulative += n.load(Ordering::Relaxed);
            let _ = writeln!(out, "{metric}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{metric}_bucket{{{labels},le=\"+Inf\"}} {count}");
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "{metric}_sum{{{labels}}} {sum}");
        let _ = writeln!(out, "{metric}_count{{{labels}}} {count}");
    }
}

/// The counters of one served language model.
#[derive(Debug, Default)]
pub(crate) struct ModelMetrics {
    requests: AtomicU64,
    errors: AtomicU64,
    prompt_tokens: AtomicU64,
    generated_tokens: AtomicU64,
    duration: Histogram,
    first_token: Histogram,
}

impl ModelMetrics {
    /// The first token of a request's first choice, `since` its arrival.
    pub(crate) fn first_token(&self, since: Duration) {
        self.first_token.observe(since);
    }

    /// A finished request: its tokens and how long it took from arrival.
    pub(crate) fn finished(&self, prompt: usize, generated: usize, took: Duration, error: bool) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if error {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        self.prompt_tokens.fetch_add(prompt as u64, Ordering::Relaxed);
        self.generated_tokens.fetch_add(generated as u64, Ordering::Relaxed);
        self.duration.observe(took);
    }
}

/// Picks one of a model's counters or histograms.
type Field<T> = fn(&ModelMetrics) -> &T;

/// Renders every model's metrics and the two gauges in Prometheus' text format.
pub(crate) fn render(models: &[(&str, &ModelMetrics)], queued: usize, running: usize) -> String {
    let mut out = String::new();
    let head = |out: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
    };
    head(&mut out, "lathe_llm_queue_depth", "gauge", "Generation requests waiting for a slot.");
    let _ = writeln!(out, "lathe_llm_queue_depth {queued}");
    head(&mut out, "lathe_llm_running_generations", "gauge", "Generation requests running now.");
    let _ = writeln!(out, "lathe_llm_running_generations {running}");
    let counters: [(&str, &str, Field<AtomicU64>); 4] = [
        ("lathe_llm_requests_total", "Generation requests finished, per model.", |m| &m.requests),
        (
            "lathe_llm_request_errors_total",
            "Generation requests that failed once running, per model.",
            |m| &m.errors,
        ),
        ("lathe_llm_prompt_tokens_total", "Prompt tokens processed, per model.", |m| {
            &m.prompt_tokens
        }),
        (
            "lathe_llm_generated_tokens_total",
            "Tokens generated, per model (its rate is the generation throughput in tokens/s).",
            |m| &m.generated_tokens,
        ),
    ];
    for (name, help, field) in counters {
        head(&mut out, name, "counter", help);
        for (model, m) in models {
            let _ = writeln!(
                out,
                "{name}{{model=\"{}\"}} {}",
                escape(model),
                field(m).load(Ordering::Relaxed)
            );
        }
    }
    let histograms: [(&str, &str, Field<Histogram>); 2] = [
        (
            "lathe_llm_request_duration_seconds",
            "Time from a generation request's arrival to its last token, per model.",
            |m| &m.duration,
        ),
        (
            "lathe_llm_time_to_first_token_seconds",
            "Time from a generation request's arrival (queueing included) to its first token, per model.",
            |m| &m.first_token,
        ),
    ];
    for (name, help, field) in histograms {
        head(&mut out, name, "histogram", help);
        for (model, m) in models {
            field(m).render(&mut out, name, &format!("model=\"{}\"", escape(model)));
        }
    }
    out
}

/// A label value as Prometheus' text format needs it.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_tokens_and_buckets_cumulatively() {
        let m = ModelMetrics::default();
        m.first_token(Duration::from_millis(3));
        m.finished(10, 4, Duration::from_millis(40), false);
        m.first_token(Duration::from_secs(3));
        m.finished(7, 0, Duration::from_secs(200), true);
        let text = render(&[("a\"b", &m)], 2, 1);
        for line in [
            "lathe_llm_queue_depth 2\n",
            "lathe_llm_running_generations 1\n",
            "lathe_llm_requests_total{model=\"a\\\"b\"} 2\n",
            "lathe_llm_request_errors_total{model=\"a\\\"b\"} 1\n",
            "lathe_llm_prompt_tokens_total{model=\"a\\\"b\"} 17\n",
            "lathe_llm_generated_tokens_total{model=\"a\\\"b\"} 4\n",
            "lathe_llm_time_to_first_token_seconds_bucket{model=\"a\\\"b\",le=\"0.005\"} 1\n",
            "lathe_llm_time_to_first_token_seconds_bucket{model=\"a\\\"b\",le=\"5\"} 2\n",
            "lathe_llm_request_duration_seconds_bucket{model=\"a\\\"b\",le=\"0.05\"} 1\n",
            "lathe_llm_request_duration_seconds_bucket{model=\"a\\\"b\",le=\"120\"} 1\n",
            "lathe_llm_request_duration_seconds_bucket{model=\"a\\\"b\",le=\"+Inf\"} 2\n",
            "lathe_llm_request_duration_seconds_count{model=\"a\\\"b\"} 2\n",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
    }
}
