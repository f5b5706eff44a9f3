-- 0006_rate_limits.sql
--
-- Workstream schema, part 6: durable API rate limits (docs/security.md, "Rate limits";
-- `api_rate_control_counters`).
--
-- Fixed windows counted in the database, so that every server process shares one
-- budget and a restart does not reset it. The subject is never stored in clear: it is
-- an HMAC-SHA256 keyed with WORKSTREAM_API_RATE_LIMIT_KEY_SECRET. Counters are
-- operational state, not evidence: rows of past windows are deleted when the same
-- subject opens a new window.

CREATE TABLE api_rate_control_counters (
    bucket          text NOT NULL,
    subject_digest  text NOT NULL,
    window_start    timestamptz NOT NULL,
    hits            integer NOT NULL,
    CONSTRAINT api_rate_control_counters_pkey PRIMARY KEY (bucket, subject_digest, window_start),
    CONSTRAINT api_rate_control_counters_bucket_valid
        CHECK (bucket IN ('first_access', 'admin_mutation')),
    CONSTRAINT api_rate_control_counters_digest_format CHECK (subject_digest ~ '^[0-9a-f]{64}$'),
    CONSTRAINT api_rate_control_counters_hits_positive CHECK (hits >= 1)
);
