-- The live items of each pipeline, in queue order: what a restart restores.
-- Each row holds the trigger event the item was enqueued from, as JSON.
CREATE TABLE portcullis_queue_item (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    position BIGINT NOT NULL,
    event TEXT NOT NULL
);
CREATE INDEX portcullis_queue_item_pipeline_idx ON portcullis_queue_item (tenant, pipeline);
