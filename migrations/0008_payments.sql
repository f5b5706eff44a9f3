-- 0008_payments.sql
--
-- Workstream schema: award delivery through adapters (R43). 0005_outcomes.sql holds the awards,
-- receipts, projections and the delivery outbox; this adds what delivering through an adapter
-- leaves behind (docs/architecture.md, "Payment adapters are a port").
--
-- Error codes: see the header of 0001_foundation.sql.

-- The reference an adapter answered a delivery with (its own id for the award event),
-- kept on the outbox row once acknowledged, for reconciliation.
ALTER TABLE award_delivery_outbox
    ADD COLUMN adapter_reference text,
    ADD CONSTRAINT award_delivery_outbox_adapter_reference_length
        CHECK (char_length(adapter_reference) BETWEEN 1 AND 500),
    ADD CONSTRAINT award_delivery_outbox_adapter_reference_shape
        CHECK (adapter_reference IS NULL OR state = 'acknowledged');

-- The ledger of the built-in local adapter (route keys `local`, `local.*`, `local:*`): one
-- row per delivery it accepted, keyed by the delivery (the outbox row), so a delivery
-- repeated after a crash between the adapter's answer and the worker's commit is recorded
-- once and answered with the same reference. A real provider keeps such a ledger on its
-- side; the local one keeps it here. [I].
CREATE TABLE local_adapter_deliveries (
    delivery_id           uuid PRIMARY KEY REFERENCES award_delivery_outbox (id),
    compensation_award_id uuid NOT NULL REFERENCES compensation_awards (id),
    route_key             text NOT NULL,
    payload               jsonb NOT NULL,
    adapter_reference     text NOT NULL,
    received_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT local_adapter_deliveries_payload_object CHECK (jsonb_typeof(payload) = 'object'),
    CONSTRAINT local_adapter_deliveries_reference_length CHECK (char_length(adapter_reference) BETWEEN 1 AND 500),
    CONSTRAINT local_adapter_deliveries_reference_key UNIQUE (adapter_reference)
);
SELECT workstream_make_append_only('local_adapter_deliveries');

CREATE INDEX local_adapter_deliveries_award_idx ON local_adapter_deliveries (compensation_award_id);
