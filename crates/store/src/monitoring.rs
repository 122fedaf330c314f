//! What production monitoring keeps in the store: the prediction log that
//! `lathe serve` writes, ground-truth feedback joined to it, the computed
//! monitoring windows, and alert episodes with their webhook deliveries.
//!
//! Inputs, outputs, labels, drift and performance travel as JSON text: the
//! store keeps them verbatim and never interprets them, so the serving and
//! monitoring crates own their shape.

/// One logged prediction, as `lathe serve` hands it to the store.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PredictionRecord {
    /// The id sent back to the client (`x-prediction-id`).
    pub prediction_id: String,
    /// Registered model name.
    pub model_name: String,
    /// Version that answered.
    pub model_version: i64,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    /// The input row, a JSON object `{column: value}`.
    pub inputs: String,
    /// The output, JSON (`{"prediction": …, "probabilities": […]}`).
    pub outputs: String,
    /// Time spent answering the request, in microseconds.
    pub latency_us: i64,
}

/// A logged prediction read back, with its label when one arrived.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LoggedPrediction {
    /// Increasing position in the log: the cursor of incremental windows.
    pub seq: i64,
    /// The prediction as logged.
    pub record: PredictionRecord,
    /// The ground-truth label (JSON), if any.
    pub label: Option<String>,
    /// When the label arrived (milliseconds since the epoch).
    pub label_received_at: Option<i64>,
}

/// Which part of one model version's log to read.
#[derive(Debug, Clone, Default)]
pub struct PredictionQuery {
    /// Registered model name.
    pub model_name: String,
    /// Version.
    pub model_version: i64,
    /// Only predictions with a larger `seq` (0 for all).
    pub after_seq: i64,
    /// Only predictions at or after this time.
    pub from_time: Option<i64>,
    /// Only predictions strictly before this time.
    pub to_time: Option<i64>,
    /// At most this many, in `seq` order.
    pub limit: i64,
}

/// How much of the log one model version has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PredictionLogSummary {
    /// Registered model name.
    pub model_name: String,
    /// Version.
    pub model_version: i64,
    /// Logged predictions.
    pub rows: i64,
    /// Of which labeled.
    pub labeled: i64,
    /// Earliest prediction time.
    pub first_time: i64,
    /// Latest prediction time.
    pub last_time: i64,
    /// Largest `seq`.
    pub last_seq: i64,
}

/// A ground-truth label for one prediction.
#[derive(Debug, Clone, PartialEq)]
pub struct Feedback {
    /// The prediction it labels.
    pub prediction_id: String,
    /// The label, JSON.
    pub label: String,
    /// When it arrived (milliseconds since the epoch).
    pub received_at: i64,
}

/// What happened to a batch of feedback.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedbackOutcome {
    /// Labels written (new, or overwritten on request).
    pub stored: Vec<String>,
    /// Prediction ids the log does not know: nothing stored for them.
    pub unknown: Vec<String>,
    /// Ids that already had a label, which stands (no overwrite asked).
    pub kept_first: Vec<String>,
}

/// A label that arrived, located in the log: what the monitoring job needs
/// to find the windows whose performance a late label changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelArrival {
    /// `seq` of the labeled prediction (locates it in a count window).
    pub seq: i64,
    /// Time of the labeled prediction (locates it in a time window).
    pub timestamp: i64,
    /// When the label arrived.
    pub received_at: i64,
}

/// Which labels of one model version to read, oldest arrival first.
#[derive(Debug, Clone, Default)]
pub struct LabelQuery {
    /// Registered model name.
    pub model_name: String,
    /// Version.
    pub model_version: i64,
    /// Only labels whose `(received_at, seq)` comes after
    /// `(received_after, after_seq)`: pass `i64::MAX` as `after_seq` for
    /// "arrived after `received_after`", and the last arrival read to page on.
    pub received_after: i64,
    /// The tie-breaker of the cursor (see `received_after`).
    pub after_seq: i64,
    /// At most this many, by `(received_at, seq)`.
    pub limit: i64,
}

/// One computed monitoring window of one model version. Its drift is
/// written once; its performance is rescored when labels arrive late.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MonitoringWindow {
    /// Registered model name.
    pub model_name: String,
    /// Version.
    pub model_version: i64,
    /// How windows are cut, e.g. `count:500` or `time:3600000`.
    pub kind: String,
    /// Position of the window in its series (0, 1, …).
    pub index: i64,
    /// Earliest prediction time covered (or the window's start for time windows).
    pub start_time: i64,
    /// Latest prediction time covered (or the window's end).
    pub end_time: i64,
    /// `seq` of the first prediction in it.
    pub first_seq: i64,
    /// `seq` of the last prediction in it: the next window starts after it.
    pub last_seq: i64,
    /// Predictions in the window.
    pub rows: i64,
    /// Of which labeled when the window was last scored.
    pub labeled_rows: i64,
    /// `ok` or `insufficient_data`.
    pub status: String,
    /// Drift results, JSON.
    pub drift: String,
    /// Performance from labels, JSON.
    pub performance: String,
    /// When it was computed (its drift; a rescore keeps this time).
    pub computed_at: i64,
    /// The newest `received_at` among the labels its performance counts
    /// (0 when none): a label that arrives later is a late label.
    pub labels_through: i64,
}

/// One episode of an alert rule: it fires once and resolves once.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlertEpisode {
    /// Unique id.
    pub episode_id: String,
    /// The rule as written in the config, e.g. `feature_drift(age)`.
    pub rule: String,
    /// The model it watches.
    pub model_name: String,
    /// `firing` or `resolved`.
    pub state: String,
    /// When it fired.
    pub fired_at: i64,
    /// When it resolved.
    pub resolved_at: Option<i64>,
    /// Why it fired (JSON).
    pub detail: String,
}

/// One delivery of an alert event to one webhook.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlertDelivery {
    /// The episode delivered.
    pub episode_id: String,
    /// `fired` or `resolved`.
    pub event: String,
    /// The webhook URL.
    pub target: String,
    /// How many attempts were made.
    pub attempts: i64,
    /// `delivered` or `failed`.
    pub status: String,
    /// The last error, empty when delivered.
    pub error: String,
    /// When the last attempt ended.
    pub at: i64,
}
