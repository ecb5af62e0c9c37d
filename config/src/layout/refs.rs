//! Checks of what jobs and project stanzas name: dependencies, semaphores,
//! secrets and templates must exist (and a secret must be the job's project's).

use std::collections::BTreeSet;

use super::Layout;
use crate::job::JobVariant;
use crate::ConfigError;

impl Layout {
    pub(super) fn check_job_names(&mut self) {
        let mut errors = Vec::new();
        let mut defined: BTreeSet<String> = self.jobs.keys().cloned().collect();
        defined.insert(crate::freeze::NOOP_JOB.to_string());
        let mut jobs = std::mem::take(&mut self.jobs);
        for variants in jobs.values_mut() {
            variants.retain(|v| match self.name_problem(v, &defined) {
                Some(message) => {
                    errors.push(ConfigError::at(&v.source, message));
                    false
                }
                None => true,
            });
        }
        jobs.retain(|_, variants| !variants.is_empty());
        self.jobs = jobs;
        let mut projects = std::mem::take(&mut self.projects);
        for stanzas in projects.values_mut() {
            stanzas.retain(|stanza| {
                let local = stanza.pipelines.values().flat_map(|p| &p.jobs);
                let problem = stanza
                    .templates
                    .iter()
                    .find(|t| !self.templates.contains_key(*t))
                    .map(|t| format!("project template {t} is not defined"))
                    .or_else(|| {
                        local
                            .into_iter()
                            .find_map(|v| self.name_problem(v, &defined))
                    });
                match problem {
                    Some(message) => {
                        errors.push(ConfigError::at(&stanza.source, message));
                        false
                    }
                    None => true,
                }
            });
        }
        projects.retain(|_, stanzas| !stanzas.is_empty());
        self.projects = projects;
        self.errors.extend(errors);
    }

    fn name_problem(&self, v: &JobVariant, defined: &BTreeSet<String>) -> Option<String> {
        let name = &v.name;
        if let Some(dep) = v
            .dependencies
            .iter()
            .flatten()
            .find(|d| !defined.contains(&d.name))
        {
            return Some(format!(
                "job {name} depends on {}, which is not defined",
                dep.name
            ));
        }
        let playbooks = [&v.pre_run, &v.run, &v.post_run, &v.cleanup_run];
        let on_playbooks = playbooks.into_iter().flatten().flatten();
        let semaphores = v.semaphores.iter().flatten();
        if let Some(s) = semaphores
            .chain(on_playbooks.flat_map(|p| &p.semaphores))
            .find(|s| !self.semaphores.contains_key(*s))
        {
            return Some(format!("job {name}: semaphore {s} is not defined"));
        }
        for use_ in v.secrets.iter().flatten() {
            match self.secrets.get(&use_.secret) {
                None => return Some(format!("job {name}: secret {} is not defined", use_.secret)),
                Some(secret) if secret.source.project != v.source.project => {
                    return Some(format!(
                        "job {name}: secret {} is defined in project {}; only jobs of that project may use it",
                        use_.secret, secret.source.project
                    ))
                }
                Some(_) => {}
            }
        }
        None
    }
}
