-- The audit ledger: appends that never wait for each other, sealed afterwards into one
-- Merkle tree whose signed checkpoints live outside the database.
--
-- Until now every event took its project's chain head FOR UPDATE and held it to
-- commit, so the transitions of one project ran one at a time; and a chain kept only in
-- the database proved nothing to whoever can write the database (delete the tail and
-- rewrite the head, or edit an event and recompute every later digest). Now:
--
-- * An append writes its event (its digest over its own content, no predecessor) and a
--   row in `audit_unsealed`, nothing else: appends of one project commit concurrently.
-- * The sealer (one at a time, under an advisory lock) takes committed unsealed events
--   in batches, gives each a position (`audit_ledger.leaf_index`), appends the tree's
--   completed perfect subtrees (`audit_tree_nodes`, level 0 = leaves), and records a
--   checkpoint (tree size, root, time) signed with an Ed25519 key the database does not
--   hold. The checkpoint, with the batch's events, is then written to the object store,
--   write-once (`audit_checkpoint_publications` says which are out).
-- * `workstream audit verify` checks the ledger against the published checkpoints and
--   the key's public half; a task's trail is checked by inclusion proofs against the
--   latest checkpoint (see crates/workstream-store/src/audit/mod.rs).
--
-- Events written before this migration keep their chain fields (their digests cover
-- them) and are sealed first, in the order they were appended.

ALTER TABLE audit_events
    ALTER COLUMN chain_seq DROP NOT NULL;

DROP TABLE audit_chain_heads;

-- Events appended and not yet sealed: the sealer's queue (rows leave it as they are
-- sealed, so it is the one mutable audit table).
CREATE TABLE audit_unsealed (
    event_id uuid PRIMARY KEY REFERENCES audit_events (id)
);
INSERT INTO audit_unsealed (event_id) SELECT id FROM audit_events;

-- Each sealed event's position in the tree.
CREATE TABLE audit_ledger (
    leaf_index bigint PRIMARY KEY CHECK (leaf_index >= 0),
    event_id   uuid NOT NULL UNIQUE REFERENCES audit_events (id),
    sealed_at  timestamptz NOT NULL DEFAULT now()
);
SELECT workstream_make_append_only('audit_ledger');

-- Every perfect subtree of the tree: `2^level` leaves from `index * 2^level`. Level 0
-- holds the leaf hashes, SHA-256(0x00 || event digest).
CREATE TABLE audit_tree_nodes (
    level  smallint NOT NULL CHECK (level BETWEEN 0 AND 62),
    index  bigint NOT NULL CHECK (index >= 0),
    hash   bytea NOT NULL CHECK (octet_length(hash) = 32),
    PRIMARY KEY (level, index)
);
SELECT workstream_make_append_only('audit_tree_nodes');

-- One per sealed batch: the tree's size and root, signed. `key_id` is the hex of the
-- Ed25519 public key; `signature` covers the checkpoint's text (see
-- crates/workstream-store/src/audit/checkpoint.rs).
CREATE TABLE audit_checkpoints (
    tree_size     bigint PRIMARY KEY CHECK (tree_size >= 1),
    previous_size bigint NOT NULL,
    root          bytea NOT NULL CHECK (octet_length(root) = 32),
    signed_at     timestamptz NOT NULL,
    key_id        text NOT NULL CHECK (key_id ~ '^[0-9a-f]{64}$'),
    signature     bytea NOT NULL CHECK (octet_length(signature) = 64),
    object_key    text NOT NULL UNIQUE,
    CONSTRAINT audit_checkpoints_grows CHECK (previous_size >= 0 AND previous_size < tree_size)
);
SELECT workstream_make_append_only('audit_checkpoints');

-- The checkpoints written to the object store.
CREATE TABLE audit_checkpoint_publications (
    tree_size    bigint PRIMARY KEY REFERENCES audit_checkpoints (tree_size),
    published_at timestamptz NOT NULL DEFAULT now()
);
SELECT workstream_make_append_only('audit_checkpoint_publications');
