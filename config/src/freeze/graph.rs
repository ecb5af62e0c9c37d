//! The job graph of one item: which listed jobs run, and their dependencies.
//!
//! As in Zuul, a job that its file matchers leave out still runs when a job
//! that runs needs it through hard dependencies; a hard dependency on a job
//! not in the graph is an error, a soft one is dropped; cycles are errors.

use std::collections::{BTreeMap, BTreeSet};

use super::config_update::{config_paths, updates_job};
use super::fold::Fold;
use super::walk::{add_overrides, Overrides, Stop, Walk};
use super::{merge_vars, FrozenJob};
use crate::job::{JobVariant, NodesetRef, Source};
use crate::layout::{Layout, ProjectPipelineConfig};
use crate::nodeset::Nodeset;
use crate::ConfigError;

/// The built-in job every tenant has without defining it: it runs nothing,
/// needs no node and always succeeds (Zuul's `noop`).
pub const NOOP_JOB: &str = "noop";

/// A job of the graph before the graph is settled.
struct Candidate<'a> {
    job: FrozenJob,
    matches_files: bool,
    /// The config files of the item's project that define variants of the job.
    config_paths: Vec<String>,
    /// Why it may not run, reported only if it ends up in the graph.
    pending: Option<ConfigError>,
    referrer: &'a Source,
}

/// Freezes the job graph of `project` on `branch` in `pipeline`; `files`, when known,
/// are the changed files the jobs' file matchers look at.
pub fn freeze_job_graph_for_files(
    layout: &Layout,
    pipeline: &str,
    project: &str,
    branch: &str,
    files: Option<&[String]>,
) -> Result<Vec<FrozenJob>, ConfigError> {
    let Some(pipe) = layout.pipeline(pipeline) else {
        return Ok(Vec::new());
    };
    let ppc = layout.project_pipeline_config(project, pipeline, branch);
    let mut candidates = Vec::new();
    for (name, locals) in &ppc.jobs {
        if let Some(mut c) = freeze_one(layout, &ppc, name, locals, branch)? {
            c.matches_files = c.job.files.0.is_empty() || c.job.files.any_file(files);
            c.matches_files &= !c.job.irrelevant_files.all_files(files);
            c.matches_files |= c.job.match_on_config_updates
                && updates_job(&c.job, &c.config_paths, project, files);
            if c.pending.is_none() && c.job.post_review && !pipe.post_review {
                c.pending = Some(ConfigError::at(
                    c.referrer,
                    format!("pre-review pipeline {pipeline} does not allow post-review job {name}"),
                ));
            }
            candidates.push(c);
        }
    }
    settle(layout, candidates)
}

/// Freezes one listed job; `None` when no variant (or parent variant) matches the branch.
fn freeze_one<'a>(
    layout: &'a Layout,
    ppc: &ProjectPipelineConfig<'a>,
    name: &str,
    locals: &[&'a JobVariant],
    branch: &str,
) -> Result<Option<Candidate<'a>>, ConfigError> {
    let matching: Vec<&JobVariant> = locals
        .iter()
        .copied()
        .filter(|v| layout.variant_applies(v, branch))
        .collect();
    let Some(first_local) = matching.first() else {
        return Ok(None);
    };
    let referrer = &first_local.source;
    if name == NOOP_JOB && !layout.jobs.contains_key(NOOP_JOB) {
        return builtin_noop(layout, &matching, referrer).map(Some);
    }
    let mut overrides = Overrides::new();
    matching
        .iter()
        .for_each(|v| add_overrides(&mut overrides, v));
    let mut walk = Walk {
        layout,
        branch,
        path: Vec::new(),
        chain: Vec::new(),
    };
    match walk.collect(name, referrer, &[], &overrides) {
        Ok(()) => {}
        Err(Stop::NoMatch) => return Ok(None),
        Err(Stop::Error(e)) => return Err(e),
    }
    let mut fold = Fold::new(name, &layout.secrets);
    for variant in &walk.chain {
        fold.apply(variant)?;
    }
    let mut vars = ppc.vars.clone();
    merge_vars(&mut vars, &fold.job.vars);
    fold.job.vars = vars;
    for variant in &matching {
        fold.apply(variant)?;
    }
    fold.job.name = name.to_string();
    let pending = pending_error(&fold, name, walk.chain[0], referrer, &ppc.project);
    let (nodeset, alternatives) = match fold.nodeset {
        None => (Nodeset::default(), Vec::new()),
        Some((nodeset, source)) => resolve_nodeset(layout, name, nodeset, source)?,
    };
    let limit = limit_problem(layout, &fold.job, &nodeset);
    fold.job.nodeset = nodeset;
    fold.job.nodeset_alternatives = alternatives;
    check_semaphores(&fold.job, referrer)?;
    let pending = pending.or(limit.map(|m| ConfigError::at(referrer, m)));
    let variants = walk.chain.iter().chain(&matching);
    Ok(Some(Candidate {
        job: fold.job,
        matches_files: true,
        config_paths: config_paths(variants, &ppc.project),
        pending,
        referrer,
    }))
}

/// The built-in `noop` with the project's local variants applied (they may
/// set `voting`, file matchers, dependencies); it has no parent, playbook or node.
fn builtin_noop<'a>(
    layout: &'a Layout,
    matching: &[&'a JobVariant],
    referrer: &'a Source,
) -> Result<Candidate<'a>, ConfigError> {
    let mut fold = Fold::new(NOOP_JOB, &layout.secrets);
    for variant in matching {
        fold.apply(variant)?;
    }
    fold.job.name = NOOP_JOB.to_string();
    fold.job.nodeset = Nodeset::default();
    Ok(Candidate {
        job: fold.job,
        matches_files: true,
        config_paths: config_paths(matching.iter(), &referrer.project),
        pending: None,
        referrer,
    })
}

/// Problems that only matter if the job runs.
fn pending_error(
    fold: &Fold<'_>,
    name: &str,
    first: &JobVariant,
    referrer: &Source,
    project: &str,
) -> Option<ConfigError> {
    let job = &fold.job;
    let problem = if fold.is_abstract {
        (
            referrer,
            format!("job {name} is abstract and may not be run directly"),
        )
    } else if !fold.run_set || job.run.is_empty() {
        (&first.source, format!("job {name} has no run playbook"))
    } else if !referrer.trusted
        && job
            .allowed_projects
            .as_ref()
            .is_some_and(|a| !a.iter().any(|p| p == project))
    {
        (
            referrer,
            format!("project {project} is not allowed to run job {name}"),
        )
    } else {
        return None;
    };
    Some(ConfigError::at(problem.0, problem.1))
}

/// A job's nodeset and, when it names alternatives, all of them in order.
fn resolve_nodeset(
    layout: &Layout,
    name: &str,
    nodeset: &NodesetRef,
    source: &Source,
) -> Result<(Nodeset, Vec<Nodeset>), ConfigError> {
    let mut all = Vec::new();
    layout
        .flatten_nodeset(nodeset, &mut all, 0)
        .map_err(|m| ConfigError::at(source, format!("job {name}: {m}")))?;
    let alternatives = matches!(nodeset, NodesetRef::Alternatives(_))
        || matches!(nodeset, NodesetRef::Named(n) if layout.nodeset_alternatives.contains_key(n));
    let first = all.first().cloned().unwrap_or_default();
    Ok((first, if alternatives { all } else { Vec::new() }))
}

/// The tenant's limits on nodes and timeouts; a default layout (no tenant) has none.
fn limit_problem(layout: &Layout, job: &FrozenJob, nodeset: &Nodeset) -> Option<String> {
    let (max_nodes, max_timeout) = (layout.max_nodes_per_job, layout.max_job_timeout);
    if max_nodes > 0 && nodeset.nodes.len() > max_nodes as usize {
        return Some(format!(
            "job {} uses {} nodes, more than the tenant's max-nodes-per-job {max_nodes}",
            job.name,
            nodeset.nodes.len()
        ));
    }
    let timeout = job
        .timeout
        .filter(|t| max_timeout > 0 && *t > max_timeout)?;
    Some(format!(
        "job {} timeout {timeout} exceeds the tenant's max-job-timeout {max_timeout}",
        job.name
    ))
}

fn check_semaphores(job: &FrozenJob, referrer: &Source) -> Result<(), ConfigError> {
    let playbooks = job.pre_run.iter().chain(&job.run).chain(&job.post_run);
    let on_playbooks: BTreeSet<&String> = playbooks
        .chain(&job.cleanup_run)
        .flat_map(|p| &p.semaphores)
        .collect();
    match job.semaphores.iter().find(|s| on_playbooks.contains(s)) {
        Some(both) => Err(ConfigError::at(
            referrer,
            format!(
                "job {}: semaphore {both} is given to both the job and a playbook; it may only be used for one",
                job.name
            ),
        )),
        None => Ok(()),
    }
}

/// Settles dependencies and file matchers into the final graph, in listing order.
fn settle(layout: &Layout, candidates: Vec<Candidate<'_>>) -> Result<Vec<FrozenJob>, ConfigError> {
    let index: BTreeMap<&str, usize> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| (c.job.name.as_str(), i))
        .collect();
    let mut edges: Vec<Vec<(usize, bool)>> = Vec::new();
    for c in &candidates {
        let mut mine = Vec::new();
        for dep in &c.job.dependencies {
            match index.get(dep.name.as_str()) {
                Some(&i) => mine.push((i, dep.soft)),
                None if !layout.jobs.contains_key(&dep.name) && dep.name != NOOP_JOB => {
                    let message = format!(
                        "job {} depends on {}, which is not defined",
                        c.job.name, dep.name
                    );
                    return Err(ConfigError::at(c.referrer, message));
                }
                None if dep.soft => {}
                None => {
                    let message = format!(
                        "job {} depends on {}, which was not run",
                        c.job.name, dep.name
                    );
                    return Err(ConfigError::at(c.referrer, message));
                }
            }
        }
        edges.push(mine);
    }
    if let Some(i) = find_cycle(&edges) {
        let c = &candidates[i];
        let message = format!("dependency cycle detected in job {}", c.job.name);
        return Err(ConfigError::at(c.referrer, message));
    }
    let runs = running(&candidates, &edges);
    let mut out = Vec::new();
    for (i, mut c) in candidates.into_iter().enumerate() {
        if !runs[i] {
            continue;
        }
        if let Some(e) = c.pending {
            return Err(e);
        }
        let kept: Vec<bool> = edges[i].iter().map(|(j, _)| runs[*j]).collect();
        let mut kept = kept.into_iter();
        c.job.dependencies.retain(|_| kept.next().unwrap_or(false));
        out.push(c.job);
    }
    Ok(out)
}

/// Which candidates run: those their file matchers take, and every hard ancestor of those.
fn running(candidates: &[Candidate<'_>], edges: &[Vec<(usize, bool)>]) -> Vec<bool> {
    let mut runs: Vec<bool> = candidates.iter().map(|c| c.matches_files).collect();
    let mut todo: Vec<usize> = (0..runs.len()).filter(|i| runs[*i]).collect();
    while let Some(i) = todo.pop() {
        for &(j, soft) in &edges[i] {
            if !soft && !runs[j] {
                runs[j] = true;
                todo.push(j);
            }
        }
    }
    runs
}

/// A node on a dependency cycle, if there is one (hard and soft edges alike).
fn find_cycle(edges: &[Vec<(usize, bool)>]) -> Option<usize> {
    // 0: unvisited, 1: on the current path, 2: done.
    let mut state = vec![0u8; edges.len()];
    for start in 0..edges.len() {
        if state[start] != 0 {
            continue;
        }
        let mut stack = vec![(start, 0usize)];
        state[start] = 1;
        while let Some((node, next)) = stack.pop() {
            match edges[node].get(next) {
                Some(&(child, _)) => {
                    stack.push((node, next + 1));
                    match state[child] {
                        1 => return Some(child),
                        0 => {
                            state[child] = 1;
                            stack.push((child, 0));
                        }
                        _ => {}
                    }
                }
                None => state[node] = 2,
            }
        }
    }
    None
}
