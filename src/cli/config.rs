//! `portcullis config check` and `portcullis config freeze`: the configuration
//! as the server would load it, checked or frozen, without starting anything.
//!
//! Both read every project's config from its repo the way the layout loader
//! does (default branch, falling back to master and main), but build the
//! layout here so that `check` can list untrusted projects' errors too, which
//! the loader only attaches to a layout it accepts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Subcommand;
use portcullis_config::{
    ConfigError, ConfigFile, FrozenJob, Layout, ServerConfig, TenantConfig, TenantDef,
};

use crate::merger::Merger;

/// The `config` subcommands.
#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Loads the server config, the tenant config and every tenant's layout; lists every error.
    Check {
        /// The server config file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Prints the frozen job graph of one item.
    Freeze {
        /// The server config file.
        #[arg(long, short)]
        config: PathBuf,
        /// Tenant name.
        #[arg(long)]
        tenant: String,
        /// Pipeline name.
        #[arg(long)]
        pipeline: String,
        /// Project name.
        #[arg(long)]
        project: String,
        /// The item's branch.
        #[arg(long)]
        branch: String,
        /// A changed file (repeat for several); without any, file matchers do not filter.
        #[arg(long = "file")]
        files: Vec<String>,
        /// Prints JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

impl ConfigCommand {
    /// Runs the subcommand; an error (or any config error) makes the exit code non-zero.
    pub async fn run(self) -> anyhow::Result<()> {
        match self {
            ConfigCommand::Check { config } => check(&config).await,
            ConfigCommand::Freeze {
                config,
                tenant,
                pipeline,
                project,
                branch,
                files,
                json,
            } => {
                let layout = load_tenant(&config, &tenant).await?;
                let files = (!files.is_empty()).then_some(files.as_slice());
                let jobs = layout
                    .job_graph_for_files(&pipeline, &project, &branch, files)
                    .map_err(|e| anyhow::anyhow!(e.report()))?;
                let text = match json {
                    true => format!("{}\n", serde_json::to_string_pretty(&jobs)?),
                    false => render(&jobs),
                };
                // A closed pipe (`| head`) is not worth a panic.
                let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
                Ok(())
            }
        }
    }
}

async fn check(config: &Path) -> anyhow::Result<()> {
    let (_, tenants, merger) = load(config).await?;
    let mut errors: Vec<ConfigError> = Vec::new();
    for tenant in &tenants.tenants {
        let layout = build_layout(&merger, tenant).await?;
        println!(
            "tenant {}: {} pipelines, {} jobs, {} projects, {} errors",
            tenant.name,
            layout.pipelines.len(),
            layout.jobs.len(),
            layout.projects.len(),
            layout.errors.len()
        );
        errors.extend(layout.errors);
    }
    for error in &errors {
        eprintln!("{}", error.report());
    }
    if !errors.is_empty() {
        bail!("{} configuration error(s)", errors.len());
    }
    Ok(())
}

async fn load_tenant(config: &Path, name: &str) -> anyhow::Result<Layout> {
    let (server, tenants, merger) = load(config).await?;
    let Some(tenant) = tenants.tenant(name) else {
        bail!("no tenant {name} in {}", server.tenant_config.display());
    };
    let layout = build_layout(&merger, tenant).await?;
    for error in &layout.errors {
        eprintln!("warning: {}", error.report());
    }
    Ok(layout)
}

/// The server and tenant configs and a merger over the connections; like
/// `serve` on its first start, it creates the example repos a `seed` folder
/// holds, so the quickstart checks before it has ever been served.
async fn load(config: &Path) -> anyhow::Result<(ServerConfig, TenantConfig, Merger)> {
    let (server, tenants) = crate::server::load_config(config)?;
    crate::server::seed_example_repos(&server, &tenants).await?;
    let merger = Merger::new(server.state_dir.join("git"), server.connections.clone());
    Ok((server, tenants, merger))
}

/// Reads every project's config files (config projects first) and builds the layout.
async fn build_layout(merger: &Merger, tenant: &TenantDef) -> anyhow::Result<Layout> {
    let mut files = Vec::new();
    for project in tenant.projects() {
        let (connection, name) = (project.connection.as_str(), project.name.as_str());
        let head = merger
            .default_branch(connection, name)
            .await
            .with_context(|| format!("project {name}"))?;
        let mut branches: Vec<String> = head.into_iter().collect();
        branches.extend(["master".to_string(), "main".to_string()]);
        for branch in branches {
            let read = merger
                .read_config_files(connection, name, &branch)
                .await
                .with_context(|| format!("project {name}"))?;
            if let Some((commit, read)) = read {
                files.extend(read.into_iter().map(|(path, text)| ConfigFile {
                    connection: connection.to_string(),
                    project: name.to_string(),
                    branch: branch.clone(),
                    commit: commit.clone(),
                    path,
                    trusted: project.trusted,
                    text: text.into(),
                }));
                break;
            }
        }
    }
    let drivers: BTreeMap<String, String> = merger
        .connections()
        .iter()
        .map(|(name, c)| (name.clone(), c.driver().to_string()))
        .collect();
    Ok(Layout::build(tenant, &drivers, &files))
}

/// The job graph as text: one block per job.
fn render(jobs: &[FrozenJob]) -> String {
    if jobs.is_empty() {
        return "no jobs\n".to_string();
    }
    let mut out = String::new();
    for job in jobs {
        out.push_str(&format!("{}\n", job.name));
        out.push_str(&format!(
            "  inheritance: {}\n",
            job.inheritance.join(" -> ")
        ));
        let labels: Vec<String> = job
            .nodeset
            .nodes
            .iter()
            .map(|n| format!("{}:{}", n.name, n.label))
            .collect();
        out.push_str(&format!("  nodes: [{}]\n", labels.join(", ")));
        for (phase, playbooks) in [
            ("pre-run", &job.pre_run),
            ("run", &job.run),
            ("post-run", &job.post_run),
        ] {
            for p in playbooks {
                out.push_str(&format!(
                    "  {phase}: {}:{}@{}\n",
                    p.project, p.path, p.branch
                ));
            }
        }
        if !job.dependencies.is_empty() {
            let deps: Vec<String> = job
                .dependencies
                .iter()
                .map(|d| format!("{}{}", d.name, if d.soft { " (soft)" } else { "" }))
                .collect();
            out.push_str(&format!("  dependencies: {}\n", deps.join(", ")));
        }
        out.push_str(&format!(
            "  voting: {}, timeout: {}, vars: {}\n",
            job.voting,
            job.timeout.map_or("none".to_string(), |t| t.to_string()),
            serde_json::Value::Object(job.vars.clone())
        ));
    }
    out
}
