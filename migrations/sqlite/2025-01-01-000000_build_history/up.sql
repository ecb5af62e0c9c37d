-- One row per queue item run through a pipeline (Zuul's zuul_buildset).
CREATE TABLE zuul_buildset (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL,
    tenant TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    project TEXT NOT NULL,
    branch TEXT,
    "ref" TEXT,
    oldrev TEXT,
    newrev TEXT,
    "change" BIGINT,
    patchset TEXT,
    ref_url TEXT,
    result TEXT,
    message TEXT,
    event_id TEXT,
    event_timestamp TIMESTAMP,
    first_build_start_time TIMESTAMP,
    last_build_end_time TIMESTAMP,
    updated TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX zuul_buildset_uuid_idx ON zuul_buildset (uuid);
CREATE INDEX zuul_buildset_tenant_idx ON zuul_buildset (tenant);
CREATE INDEX zuul_buildset_project_idx ON zuul_buildset (project);
CREATE INDEX zuul_buildset_pipeline_idx ON zuul_buildset (pipeline);
CREATE INDEX zuul_buildset_change_idx ON zuul_buildset ("change");

-- One row per job run of a buildset (Zuul's zuul_build).
CREATE TABLE zuul_build (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    buildset_id BIGINT NOT NULL REFERENCES zuul_buildset (id) ON DELETE CASCADE,
    uuid TEXT NOT NULL,
    job_name TEXT NOT NULL,
    result TEXT,
    start_time TIMESTAMP,
    end_time TIMESTAMP,
    voting BOOLEAN NOT NULL DEFAULT 1,
    log_url TEXT,
    nodeset TEXT,
    error_detail TEXT,
    "final" BOOLEAN NOT NULL DEFAULT 0,
    held BOOLEAN NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX zuul_build_uuid_idx ON zuul_build (uuid);
CREATE INDEX zuul_build_buildset_id_idx ON zuul_build (buildset_id);
CREATE INDEX zuul_build_job_name_idx ON zuul_build (job_name);
