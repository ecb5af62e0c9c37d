//! `match-on-config-updates`: a change that alters a job's configuration or
//! one of its playbooks runs the job whatever its file matchers say, so that
//! jobs with file matchers test changes to themselves.
//!
//! Portcullis does not yet build layouts from proposed config, so "alters the
//! job's configuration" is taken as "changes a config file of the item's
//! project that defines a variant of the job": it may run a job whose stanza
//! the change left alone (in the same file), never skip one it changed.

use crate::job::JobVariant;
use crate::FrozenJob;

/// The paths of config files in `project` that the variants were read from.
pub fn config_paths<'a>(
    variants: impl Iterator<Item = &'a &'a JobVariant>,
    project: &str,
) -> Vec<String> {
    let mut paths: Vec<String> = Vec::new();
    for variant in variants {
        let source = &variant.source;
        if source.project == project && !paths.contains(&source.path) {
            paths.push(source.path.clone());
        }
    }
    paths
}

/// True when a change to `files` of `project` alters the job: a config file
/// defining it (`config_paths`) or one of its playbooks in that project.
pub fn updates_job(
    job: &FrozenJob,
    config_paths: &[String],
    project: &str,
    files: Option<&[String]>,
) -> bool {
    let Some(files) = files else {
        return false;
    };
    let playbooks = [&job.pre_run, &job.run, &job.post_run, &job.cleanup_run];
    let own: Vec<&str> = (playbooks.into_iter().flatten())
        .filter(|p| p.project == project)
        .map(|p| p.path.as_str())
        .collect();
    files
        .iter()
        .any(|file| config_paths.contains(file) || own.contains(&file.as_str()))
}
