-- lathe production monitoring schema for sqlite: the prediction log written
-- by `lathe serve`, ground-truth feedback, monitoring windows and alerts.
-- Integer columns are INTEGER (64-bit); times are milliseconds since the epoch.
-- JSON values (inputs, outputs, labels, drift, performance) are kept as text.
CREATE TABLE predictions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    prediction_id TEXT NOT NULL UNIQUE,
    model_name TEXT NOT NULL,
    model_version INTEGER NOT NULL,
    timestamp INTEGER NOT NULL,
    inputs TEXT NOT NULL,
    outputs TEXT NOT NULL,
    latency_us INTEGER NOT NULL
);
-- Count windows read a version's log after a seq; time windows by time.
CREATE INDEX predictions_by_version ON predictions (model_name, model_version, seq);
CREATE INDEX predictions_by_time ON predictions (model_name, model_version, timestamp);
-- One label per prediction: the first stands unless a writer overwrites it.
CREATE TABLE prediction_feedback (
    prediction_id TEXT PRIMARY KEY REFERENCES predictions(prediction_id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    received_at INTEGER NOT NULL
);
-- A window is computed once: its key is the primary key.
CREATE TABLE monitoring_windows (
    model_name TEXT NOT NULL,
    model_version INTEGER NOT NULL,
    window_kind TEXT NOT NULL,
    window_index INTEGER NOT NULL,
    start_time INTEGER NOT NULL,
    end_time INTEGER NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    row_count INTEGER NOT NULL,
    labeled_rows INTEGER NOT NULL,
    status TEXT NOT NULL,
    drift TEXT NOT NULL,
    performance TEXT NOT NULL,
    computed_at INTEGER NOT NULL,
    PRIMARY KEY (model_name, model_version, window_kind, window_index)
);
CREATE TABLE alert_episodes (
    episode_id TEXT PRIMARY KEY,
    rule TEXT NOT NULL,
    model_name TEXT NOT NULL,
    state TEXT NOT NULL,
    fired_at INTEGER NOT NULL,
    resolved_at INTEGER,
    detail TEXT NOT NULL
);
-- At most one firing episode per rule and model: an alert fires once per episode.
CREATE UNIQUE INDEX alert_episodes_one_firing ON alert_episodes (rule, model_name)
    WHERE state = 'firing';
CREATE INDEX alert_episodes_by_model ON alert_episodes (model_name, fired_at);
CREATE TABLE alert_deliveries (
    delivery_seq INTEGER PRIMARY KEY AUTOINCREMENT,
    episode_id TEXT NOT NULL REFERENCES alert_episodes(episode_id) ON DELETE CASCADE,
    event TEXT NOT NULL,
    target TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    status TEXT NOT NULL,
    error TEXT NOT NULL,
    delivered_at INTEGER NOT NULL
);
CREATE INDEX alert_deliveries_by_episode ON alert_deliveries (episode_id, delivery_seq);
