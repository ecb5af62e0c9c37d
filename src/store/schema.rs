//! Diesel's view of the tables the migrations create.

diesel::table! {
    /// One row per queue item run through a pipeline.
    zuul_buildset (id) {
        id -> BigInt,
        uuid -> Text,
        tenant -> Text,
        pipeline -> Text,
        project -> Text,
        branch -> Nullable<Text>,
        #[sql_name = "ref"]
        ref_ -> Nullable<Text>,
        oldrev -> Nullable<Text>,
        newrev -> Nullable<Text>,
        change -> Nullable<BigInt>,
        patchset -> Nullable<Text>,
        ref_url -> Nullable<Text>,
        result -> Nullable<Text>,
        message -> Nullable<Text>,
        event_id -> Nullable<Text>,
        event_timestamp -> Nullable<Timestamp>,
        first_build_start_time -> Nullable<Timestamp>,
        last_build_end_time -> Nullable<Timestamp>,
        updated -> Timestamp,
    }
}

diesel::table! {
    /// One row per job run of a buildset.
    zuul_build (id) {
        id -> BigInt,
        buildset_id -> BigInt,
        uuid -> Text,
        job_name -> Text,
        result -> Nullable<Text>,
        start_time -> Nullable<Timestamp>,
        end_time -> Nullable<Timestamp>,
        voting -> Bool,
        log_url -> Nullable<Text>,
        nodeset -> Nullable<Text>,
        error_detail -> Nullable<Text>,
        #[sql_name = "final"]
        final_ -> Bool,
        held -> Bool,
    }
}

diesel::joinable!(zuul_build -> zuul_buildset (buildset_id));
diesel::allow_tables_to_appear_in_same_query!(zuul_build, zuul_buildset);

diesel::table! {
    /// The live items of each pipeline, in queue order: what a restart restores.
    portcullis_queue_item (id) {
        id -> BigInt,
        tenant -> Text,
        pipeline -> Text,
        position -> BigInt,
        event -> Text,
    }
}
