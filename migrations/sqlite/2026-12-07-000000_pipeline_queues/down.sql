DROP TABLE portcullis_queue_item;
