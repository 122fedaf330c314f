-- Late labels: a window's performance is rescored when labels for its
-- predictions arrive after it was computed. labels_through is the newest
-- received_at among the labels a window's performance counts (0: none),
-- and the monitoring job finds the labels that arrived since through the
-- index on received_at instead of scanning the log.
ALTER TABLE monitoring_windows ADD COLUMN labels_through BIGINT NOT NULL DEFAULT 0;
CREATE INDEX prediction_feedback_by_arrival ON prediction_feedback (received_at);
