//! Freezing: from a layout, the fully inherited jobs one item runs.
//!
//! For each job a project lists in a pipeline, we gather the variants that
//! apply, parents' before children's (each job's own variants in definition
//! order, each preceded by its parent's chain), fold them in that order, and
//! put the project's local variants on top. Folding follows Zuul: pre-run
//! playbooks accumulate parents' first, post-run children's first, `run` and
//! plain attributes take the last value set, vars merge deeply.

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use serde::Serialize;

use crate::job::{JobVariant, NodesetRef, Source};
use crate::layout::Layout;
use crate::nodeset::Nodeset;
use crate::ConfigError;

/// A playbook to run, and where its file comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlaybookRef {
    /// Connection of the project.
    pub connection: String,
    /// Project whose repo holds the playbook.
    pub project: String,
    /// Branch the defining config was read from.
    pub branch: String,
    /// Commit the defining config was read at.
    pub commit: String,
    /// Path of the playbook in that repo.
    pub path: String,
    /// True when defined in a config project.
    pub trusted: bool,
}

/// A job with inheritance and variants applied: everything a build needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrozenJob {
    /// Job name.
    pub name: String,
    /// The inheritance path, base first, this job last.
    pub inheritance: Vec<String>,
    /// Free text.
    pub description: Option<String>,
    /// Pre-run playbooks, parents' first.
    pub pre_run: Vec<PlaybookRef>,
    /// Run playbooks.
    pub run: Vec<PlaybookRef>,
    /// Post-run playbooks, children's first.
    pub post_run: Vec<PlaybookRef>,
    /// Nodes to run on.
    pub nodeset: Nodeset,
    /// Seconds the run phase may take; `None`: no limit.
    pub timeout: Option<u64>,
    /// Whether the result counts.
    pub voting: bool,
    /// Merged job variables.
    pub vars: serde_json::Map<String, serde_json::Value>,
}

/// Freezes the job graph of `project` on `branch` in `pipeline`.
/// An unknown pipeline or project has no jobs; an unknown job is an error.
pub fn freeze_job_graph(
    layout: &Layout,
    pipeline: &str,
    project: &str,
    branch: &str,
) -> Result<Vec<FrozenJob>, ConfigError> {
    if layout.pipeline(pipeline).is_none() {
        return Ok(Vec::new());
    }
    let Some(stanzas) = layout.projects.get(project) else {
        return Ok(Vec::new());
    };
    // A job listed by several stanzas runs once, with every stanza's local variant.
    let mut listed: Vec<(&str, Vec<&JobVariant>)> = Vec::new();
    let applying = stanzas
        .iter()
        .filter(|s| applies(layout, &s.source, branch));
    for entry in applying.filter_map(|s| s.pipelines.get(pipeline)) {
        for local in &entry.jobs {
            match listed.iter_mut().find(|(name, _)| *name == local.name) {
                Some((_, locals)) => locals.push(local),
                None => listed.push((&local.name, vec![local])),
            }
        }
    }
    let mut frozen = Vec::new();
    for (name, locals) in listed {
        if let Some(job) = freeze_job(layout, name, &locals, branch)? {
            frozen.push(job);
        }
    }
    Ok(frozen)
}

/// Whether an object defined at `source` applies to items on `branch`. As in
/// Zuul, an untrusted project's objects carry an implied matcher for their own
/// branch, but only when config was read from more than one of its branches.
fn applies(layout: &Layout, source: &Source, branch: &str) -> bool {
    source.trusted
        || source.branch == branch
        || layout
            .branches
            .get(&source.project)
            .is_none_or(|branches| branches.len() <= 1)
}

fn variants<'a>(layout: &'a Layout, name: &str, branch: &str) -> Vec<&'a JobVariant> {
    let all = layout.jobs.get(name).into_iter().flatten();
    all.filter(|v| applies(layout, &v.source, branch)).collect()
}

/// Freezes one job; `None` when no variant of it (or of a parent) applies to the branch.
fn freeze_job(
    layout: &Layout,
    name: &str,
    locals: &[&JobVariant],
    branch: &str,
) -> Result<Option<FrozenJob>, ConfigError> {
    let referrer = &locals[0].source;
    if !layout.jobs.contains_key(name) {
        return Err(ConfigError::at(
            referrer,
            format!("job {name} is not defined"),
        ));
    }
    let mut chain = Vec::new();
    let mut walk = Walk {
        layout,
        branch,
        stack: Vec::new(),
        done: BTreeSet::new(),
    };
    if !walk.collect(name, referrer, &mut chain)? {
        return Ok(None);
    }
    let mut fold = Fold::default();
    for variant in chain.iter().chain(locals) {
        fold.apply(variant);
    }
    fold.finish(layout, name, chain[0], referrer).map(Some)
}

/// The walk up a job's parents, gathering variants parents first.
struct Walk<'a> {
    layout: &'a Layout,
    branch: &'a str,
    /// Jobs being collected, to catch cycles.
    stack: Vec<String>,
    /// Jobs already collected, so a parent shared by two variants is applied once.
    done: BTreeSet<String>,
}

impl<'a> Walk<'a> {
    /// Adds the variants of `name` (after their parents') to `chain`; false when
    /// no variant of it applies to the branch.
    fn collect(
        &mut self,
        name: &str,
        referrer: &Source,
        chain: &mut Vec<&'a JobVariant>,
    ) -> Result<bool, ConfigError> {
        if !self.layout.jobs.contains_key(name) {
            return Err(ConfigError::at(
                referrer,
                format!("parent job {name} is not defined"),
            ));
        }
        let own = variants(self.layout, name, self.branch);
        if own.is_empty() {
            return Ok(false);
        }
        self.stack.push(name.to_string());
        for variant in own {
            if let Some(parent) = variant.parent_name() {
                if self.stack.iter().any(|s| s == parent) {
                    let path = format!("{} -> {parent}", self.stack.join(" -> "));
                    let message = format!("job {}: parent cycle {path}", variant.name);
                    return Err(ConfigError::at(&variant.source, message));
                }
                if !self.done.contains(parent) && !self.collect(parent, &variant.source, chain)? {
                    return Ok(false);
                }
            }
            chain.push(variant);
        }
        self.stack.pop();
        self.done.insert(name.to_string());
        Ok(true)
    }
}

/// The job as folded so far.
#[derive(Default)]
struct Fold<'a> {
    inheritance: Vec<String>,
    last_job: Option<&'a str>,
    description: Option<&'a str>,
    pre_run: Vec<PlaybookRef>,
    run: Option<(Vec<PlaybookRef>, &'a Source)>,
    post_run: Vec<PlaybookRef>,
    nodeset: Option<(&'a NodesetRef, &'a Source)>,
    timeout: Option<u64>,
    voting: Option<bool>,
    vars: serde_json::Map<String, serde_json::Value>,
    is_abstract: bool,
}

impl<'a> Fold<'a> {
    fn apply(&mut self, v: &'a JobVariant) {
        let set_here = v.is_abstract.unwrap_or(false);
        if self.last_job == Some(v.name.as_str()) {
            // Once abstract, other variants of the same job cannot undo it.
            self.is_abstract |= set_here;
        } else {
            self.is_abstract = set_here;
            self.last_job = Some(&v.name);
            if !self.inheritance.contains(&v.name) {
                self.inheritance.push(v.name.clone());
            }
        }
        let refs = |paths: &Option<Vec<String>>| -> Vec<PlaybookRef> {
            let paths = paths.iter().flatten();
            paths.map(|path| PlaybookRef::at(&v.source, path)).collect()
        };
        self.pre_run.extend(refs(&v.pre_run));
        let mut post = refs(&v.post_run);
        post.append(&mut self.post_run);
        self.post_run = post;
        if v.run.is_some() {
            self.run = Some((refs(&v.run), &v.source));
        }
        if let Some(nodeset) = &v.nodeset {
            self.nodeset = Some((nodeset, &v.source));
        }
        self.description = v.description.as_deref().or(self.description);
        self.timeout = v.timeout.or(self.timeout);
        self.voting = v.voting.or(self.voting);
        if let Some(vars) = &v.vars {
            merge_vars(&mut self.vars, vars);
        }
    }

    fn finish(
        self,
        layout: &Layout,
        name: &str,
        first: &JobVariant,
        referrer: &Source,
    ) -> Result<FrozenJob, ConfigError> {
        if self.is_abstract {
            let message = format!("job {name} is abstract and may not be run directly");
            return Err(ConfigError::at(referrer, message));
        }
        let Some((run, _)) = self.run.filter(|(run, _)| !run.is_empty()) else {
            let message = format!("job {name} has no run playbook");
            return Err(ConfigError::at(&first.source, message));
        };
        let nodeset = match self.nodeset {
            None => Nodeset::default(),
            Some((NodesetRef::Inline(nodeset), _)) => nodeset.clone(),
            Some((NodesetRef::Named(named), source)) => match layout.nodesets.get(named) {
                Some(nodeset) => nodeset.clone(),
                None => {
                    let message = format!("job {name}: nodeset {named} is not defined");
                    return Err(ConfigError::at(source, message));
                }
            },
        };
        Ok(FrozenJob {
            name: name.to_string(),
            inheritance: self.inheritance,
            description: self.description.map(str::to_string),
            pre_run: self.pre_run,
            run,
            post_run: self.post_run,
            nodeset,
            timeout: self.timeout,
            voting: self.voting.unwrap_or(true),
            vars: self.vars,
        })
    }
}

impl PlaybookRef {
    /// The playbook at `path` in the repo (and commit) of `source`.
    pub fn at(source: &Source, path: &str) -> PlaybookRef {
        PlaybookRef {
            connection: source.connection.clone(),
            project: source.project.clone(),
            branch: source.branch.clone(),
            commit: source.commit.clone(),
            path: path.to_string(),
            trusted: source.trusted,
        }
    }
}

/// Merges `child` into `base`: mappings merge key by key, anything else the child replaces.
pub fn merge_vars(
    base: &mut serde_json::Map<String, serde_json::Value>,
    child: &serde_json::Map<String, serde_json::Value>,
) {
    for (key, value) in child {
        match (base.get_mut(key), value) {
            (Some(serde_json::Value::Object(mine)), serde_json::Value::Object(theirs)) => {
                merge_vars(mine, theirs)
            }
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}
