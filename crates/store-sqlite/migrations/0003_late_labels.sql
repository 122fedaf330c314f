-- Late labels: a window's performance is rescored when labels for its
-- predictions arrive after it was computed. labels_through is the newest
-- received_at among the labels a window's performance counts (0: none).
-- The monitoring job asks for one version's labels that arrived since a
-- cursor, so each label carries its prediction's model and version, and an
-- index on (model, version, arrival) answers without scanning the log.
ALTER TABLE monitoring_windows ADD COLUMN labels_through INTEGER NOT NULL DEFAULT 0;
ALTER TABLE prediction_feedback ADD COLUMN model_name TEXT NOT NULL DEFAULT '';
ALTER TABLE prediction_feedback ADD COLUMN model_version INTEGER NOT NULL DEFAULT 0;
UPDATE prediction_feedback SET
    model_name = (SELECT p.model_name FROM predictions p
                  WHERE p.prediction_id = prediction_feedback.prediction_id),
    model_version = (SELECT p.model_version FROM predictions p
                     WHERE p.prediction_id = prediction_feedback.prediction_id);
CREATE INDEX prediction_feedback_by_arrival
    ON prediction_feedback (model_name, model_version, received_at);
