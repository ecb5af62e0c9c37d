//! Folding variants into one job, as Zuul's `applyVariant` does: pre-run
//! playbooks accumulate parents' first, post-run and cleanup children's
//! first, `run` and plain attributes take the last value set, vars merge
//! deeply, tags/provides/requires/semaphores accumulate, required projects
//! merge by name; `final`, `protected` and `intermediate` guard the fold.

use std::collections::BTreeMap;

use super::{merge_vars, FrozenJob, PlaybookRef};
use crate::job::{JobVariant, NodesetRef, PlaybookDef, Source, Vars};
use crate::semaphore::Secret;
use crate::ConfigError;

/// The job as folded so far.
pub struct Fold<'a> {
    /// The job under construction.
    pub job: FrozenJob,
    /// The nodeset last set, and where.
    pub nodeset: Option<(&'a NodesetRef, &'a Source)>,
    /// Whether any variant set `run`.
    pub run_set: bool,
    /// The job is abstract after the last variant.
    pub is_abstract: bool,
    /// The layout's secrets, which the variants' secret uses name.
    secrets: &'a BTreeMap<String, Secret>,
    last_job: Option<&'a str>,
    is_final: bool,
    intermediate: bool,
    protected_origin: Option<&'a str>,
}

impl<'a> Fold<'a> {
    /// An empty fold for job `name`, with Zuul's defaults; `secrets` are the layout's.
    pub fn new(name: &str, secrets: &'a BTreeMap<String, Secret>) -> Fold<'a> {
        Fold {
            job: FrozenJob::named(name),
            nodeset: None,
            run_set: false,
            is_abstract: false,
            secrets,
            last_job: None,
            is_final: false,
            intermediate: false,
            protected_origin: None,
        }
    }

    /// Applies one variant on top of what is folded.
    pub fn apply(&mut self, v: &'a JobVariant) -> Result<(), ConfigError> {
        self.guard(v)?;
        let same_job = self.last_job == Some(v.name.as_str());
        let set_abstract = v.is_abstract.unwrap_or(false);
        self.is_abstract = set_abstract || (same_job && self.is_abstract);
        let set_intermediate = v.intermediate.unwrap_or(false);
        self.intermediate = set_intermediate || (same_job && self.intermediate);
        self.is_final |= v.is_final.unwrap_or(false);
        if v.protected == Some(true) && self.protected_origin.is_none() {
            self.protected_origin = Some(&v.source.project);
        }
        if !same_job {
            self.last_job = Some(&v.name);
            if !self.job.inheritance.contains(&v.name) {
                self.job.inheritance.push(v.name.clone());
            }
        }
        self.pass_secrets_to_parents(v);
        self.playbooks(v);
        if let Some(nodeset) = &v.nodeset {
            self.nodeset = Some((nodeset, &v.source));
        }
        self.scalars(v);
        self.collections(v);
        Ok(())
    }

    /// Zuul's final, protected and intermediate rules.
    fn guard(&self, v: &JobVariant) -> Result<(), ConfigError> {
        let at = |m: String| Err(ConfigError::at(&v.source, m));
        let set = execution_attributes_set(v);
        if let (true, Some(attr)) = (self.is_final, set.first()) {
            let job = self.last_job.unwrap_or_default();
            return at(format!(
                "unable to modify final job {job} attribute {attr} with variant {}",
                v.name
            ));
        }
        if let Some(origin) = self.protected_origin {
            if !set.is_empty() && origin != v.source.project {
                let job = self.last_job.unwrap_or_default();
                return at(format!(
                    "job {job}, defined in {origin}, is protected and cannot be inherited from other projects"
                ));
            }
            if v.protected == Some(false) {
                return at(format!(
                    "job {}: unable to reset protected attribute",
                    v.name
                ));
            }
        }
        if self.intermediate && !v.is_abstract.unwrap_or(false) {
            let job = self.last_job.unwrap_or_default();
            return at(format!(
                "intermediate job {job} may only be inherited by another abstract job, not by {}",
                v.name
            ));
        }
        Ok(())
    }

    /// The variant's secrets as variables: the secret's data under the use's name.
    fn secret_vars(&self, v: &JobVariant, only_passed: bool) -> Vars {
        let uses = v.secrets.iter().flatten();
        let uses = uses.filter(|u| !only_passed || u.pass_to_parent);
        // An undefined secret is already an error of the layout's reference check.
        uses.filter_map(|u| Some((u.name.clone(), self.secrets.get(&u.secret)?.data.clone())))
            .collect()
    }

    /// As in Zuul: a pass-to-parent secret reaches the playbooks folded so far
    /// (the parents'); one of them untrusted makes the job post-review.
    fn pass_secrets_to_parents(&mut self, v: &JobVariant) {
        let passed = self.secret_vars(v, true);
        if passed.is_empty() {
            return;
        }
        let j = &mut self.job;
        let all = j.pre_run.iter_mut().chain(j.run.iter_mut());
        let all = all.chain(j.post_run.iter_mut().chain(j.cleanup_run.iter_mut()));
        for playbook in all {
            playbook.secrets.extend(passed.clone());
            j.post_review |= !playbook.trusted;
        }
    }

    fn playbooks(&mut self, v: &'a JobVariant) {
        let own = self.secret_vars(v, false);
        let refs = |defs: &Option<Vec<PlaybookDef>>| -> Vec<PlaybookRef> {
            let defs = defs.iter().flatten();
            let with_secrets = |d| PlaybookRef {
                secrets: own.clone(),
                ..PlaybookRef::of(&v.source, d)
            };
            defs.map(with_secrets).collect()
        };
        self.job.pre_run.extend(refs(&v.pre_run));
        prepend(&mut self.job.post_run, refs(&v.post_run));
        prepend(&mut self.job.cleanup_run, refs(&v.cleanup_run));
        if v.run.is_some() {
            self.job.run = refs(&v.run);
            self.run_set = true;
        }
    }

    fn scalars(&mut self, v: &JobVariant) {
        let j = &mut self.job;
        set(&mut j.description, &v.description);
        set(&mut j.timeout, &v.timeout);
        set(&mut j.pre_timeout, &v.pre_timeout);
        set(&mut j.post_timeout, &v.post_timeout);
        set(&mut j.success_message, &v.success_message);
        set(&mut j.failure_message, &v.failure_message);
        set(&mut j.override_checkout, &v.override_checkout);
        set(&mut j.ansible_version, &v.ansible_version);
        j.voting = v.voting.unwrap_or(j.voting);
        j.attempts = v.attempts.unwrap_or(j.attempts);
        j.hold_following_changes = v.hold_following_changes.unwrap_or(j.hold_following_changes);
        j.post_review = v.post_review.unwrap_or(j.post_review);
        j.match_on_config_updates = v
            .match_on_config_updates
            .unwrap_or(j.match_on_config_updates);
        if let Some(scheme) = &v.workspace_scheme {
            j.workspace_scheme = scheme.clone();
        }
        if let Some(dedup) = v.deduplicate {
            j.deduplicate = dedup;
        }
        if let Some(deps) = &v.dependencies {
            j.dependencies = deps.clone();
        }
        if let Some(files) = &v.files {
            j.files = files.clone();
        }
        if let Some(files) = &v.irrelevant_files {
            j.irrelevant_files = files.clone();
        }
        if let Some(allowed) = &v.allowed_projects {
            j.allowed_projects = Some(allowed.clone());
        }
    }

    fn collections(&mut self, v: &JobVariant) {
        let j = &mut self.job;
        for (mine, theirs) in [
            (&mut j.vars, &v.vars),
            (&mut j.extra_vars, &v.extra_vars),
            (&mut j.host_vars, &v.host_vars),
            (&mut j.group_vars, &v.group_vars),
        ] {
            if let Some(theirs) = theirs {
                merge_vars(mine, theirs);
            }
        }
        for (mine, theirs) in [
            (&mut j.tags, &v.tags),
            (&mut j.provides, &v.provides),
            (&mut j.requires, &v.requires),
            (&mut j.semaphores, &v.semaphores),
        ] {
            mine.extend(theirs.iter().flatten().cloned());
            mine.sort();
            mine.dedup();
        }
        for role in v.roles.iter().flatten() {
            if !j.roles.contains(role) {
                j.roles.push(role.clone());
            }
        }
        for required in v.required_projects.iter().flatten() {
            match j
                .required_projects
                .iter_mut()
                .find(|r| r.name == required.name)
            {
                Some(existing) => *existing = required.clone(),
                None => j.required_projects.push(required.clone()),
            }
        }
        j.secrets.extend(v.secrets.iter().flatten().cloned());
        // As in Zuul: an untrusted job with secrets must not run on unreviewed
        // code, nor for other projects (which could reach the secret through
        // Depends-On), so it is allowed only for the variant's own project.
        if !v.source.trusted && v.secrets.as_ref().is_some_and(|s| !s.is_empty()) {
            let own = v.source.project.clone();
            if !j.post_review {
                j.allowed_projects = Some(match j.allowed_projects.take() {
                    Some(allowed) => allowed.into_iter().filter(|p| *p == own).collect(),
                    None => vec![own],
                });
            }
            j.post_review = true;
        }
    }
}

fn set<T: Clone>(mine: &mut Option<T>, theirs: &Option<T>) {
    if theirs.is_some() {
        mine.clone_from(theirs);
    }
}

fn prepend(list: &mut Vec<PlaybookRef>, mut front: Vec<PlaybookRef>) {
    front.append(list);
    *list = front;
}

/// The execution attributes a variant sets, which `final` and `protected` forbid changing.
fn execution_attributes_set(v: &JobVariant) -> Vec<&'static str> {
    let set = [
        ("parent", v.parent.is_some()),
        ("timeout", v.timeout.is_some()),
        ("pre-timeout", v.pre_timeout.is_some()),
        ("post-timeout", v.post_timeout.is_some()),
        ("vars", v.vars.is_some()),
        ("extra-vars", v.extra_vars.is_some()),
        ("host-vars", v.host_vars.is_some()),
        ("group-vars", v.group_vars.is_some()),
        ("nodeset", v.nodeset.is_some()),
        ("pre-run", v.pre_run.is_some()),
        ("run", v.run.is_some()),
        ("post-run", v.post_run.is_some()),
        ("cleanup-run", v.cleanup_run.is_some()),
        ("semaphores", v.semaphores.is_some()),
        ("attempts", v.attempts.is_some()),
        ("roles", v.roles.is_some()),
        ("required-projects", v.required_projects.is_some()),
        ("allowed-projects", v.allowed_projects.is_some()),
        ("override-checkout", v.override_checkout.is_some()),
        ("post-review", v.post_review.is_some()),
        ("workspace-scheme", v.workspace_scheme.is_some()),
        ("ansible-version", v.ansible_version.is_some()),
    ];
    set.into_iter()
        .filter(|(_, s)| *s)
        .map(|(n, _)| n)
        .collect()
}
