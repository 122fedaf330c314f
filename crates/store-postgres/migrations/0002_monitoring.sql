-- lathe production monitoring schema for postgres: the prediction log written
-- by `lathe serve`, ground-truth feedback, monitoring windows and alerts.
-- Times are milliseconds since the epoch (BIGINT).
-- JSON values (inputs, outputs, labels, drift, performance) are kept as text.
CREATE TABLE predictions (
    seq BIGSERIAL PRIMARY KEY,
    prediction_id TEXT NOT NULL UNIQUE,
    model_name TEXT NOT NULL,
    model_version BIGINT NOT NULL,
    timestamp BIGINT NOT NULL,
    inputs TEXT NOT NULL,
    outputs TEXT NOT NULL,
    latency_us BIGINT NOT NULL
);
-- Count windows read a version's log after a seq; time windows by time.
CREATE INDEX predictions_by_version ON predictions (model_name, model_version, seq);
CREATE INDEX predictions_by_time ON predictions (model_name, model_version, timestamp);
-- One label per prediction: the first stands unless a writer overwrites it.
CREATE TABLE prediction_feedback (
    prediction_id TEXT PRIMARY KEY REFERENCES predictions(prediction_id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    received_at BIGINT NOT NULL
);
-- A window is computed once: its key is the primary key.
CREATE TABLE monitoring_windows (
    model_name TEXT NOT NULL,
    model_version BIGINT NOT NULL,
    window_kind TEXT NOT NULL,
    window_index BIGINT NOT NULL,
    start_time BIGINT NOT NULL,
    end_time BIGINT NOT NULL,
    first_seq BIGINT NOT NULL,
    last_seq BIGINT NOT NULL,
    row_count BIGINT NOT NULL,
    labeled_rows BIGINT NOT NULL,
    status TEXT NOT NULL,
    drift TEXT NOT NULL,
    performance TEXT NOT NULL,
    computed_at BIGINT NOT NULL,
    PRIMARY KEY (model_name, model_version, window_kind, window_index)
);
CREATE TABLE alert_episodes (
    episode_id TEXT PRIMARY KEY,
    rule TEXT NOT NULL,
    model_name TEXT NOT NULL,
    state TEXT NOT NULL,
    fired_at BIGINT NOT NULL,
    resolved_at BIGINT,
    detail TEXT NOT NULL
);
-- At most one firing episode per rule and model: an alert fires once per episode.
CREATE UNIQUE INDEX alert_episodes_one_firing ON alert_episodes (rule, model_name)
    WHERE state = 'firing';
CREATE INDEX alert_episodes_by_model ON alert_episodes (model_name, fired_at);
CREATE TABLE alert_deliveries (
    delivery_seq BIGSERIAL PRIMARY KEY,
    episode_id TEXT NOT NULL REFERENCES alert_episodes(episode_id) ON DELETE CASCADE,
    event TEXT NOT NULL,
    target TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    status TEXT NOT NULL,
    error TEXT NOT NULL,
    delivered_at BIGINT NOT NULL
);
CREATE INDEX alert_deliveries_by_episode ON alert_deliveries (episode_id, delivery_seq);
