//! The playbook sequence of a build and how its ends make the build's result,
//! following Zuul's executor: pre-run, run, then post-run whatever happened.

mod secrets;

use std::path::Path;
use std::time::Duration;

use portcullis_actors::BuildResult;
use tokio::process::Command;
use tokio::time::Instant;

use super::console;
use super::containment::Containment;
use super::job_output::JobOutput;
use super::process::{self, ProcessEnd};
use super::workspace::{PreparedPlaybook, Workspace};
use super::ExecutorError;

/// A build phase, named as in Zuul's banners and `zuul_execution_phase`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Pre-run playbooks.
    Pre,
    /// Run playbooks.
    Run,
    /// Post-run playbooks.
    Post,
}

impl Phase {
    fn var(self) -> &'static str {
        match self {
            Phase::Pre => "pre",
            Phase::Run => "run",
            Phase::Post => "post",
        }
    }

    fn banner(self) -> &'static str {
        match self {
            Phase::Pre => "PRE-RUN",
            Phase::Run => "RUN",
            Phase::Post => "POST-RUN",
        }
    }
}

/// Runs the playbooks of one prepared workspace.
pub struct Runner<'a> {
    /// The ansible-playbook executable.
    pub ansible: &'a Path,
    /// The prepared work dir.
    pub workspace: &'a Workspace,
    /// Tags every process of the build (see [`process::BUILD_TAG_VAR`]).
    pub build_uuid: &'a str,
    /// Seconds pre-run and run may take together; `None`: unbounded.
    pub timeout: Option<u64>,
    /// The build's user, sandbox and limits.
    pub containment: &'a Containment,
    /// The nodes run on the executor's machine, comma-separated: the only
    /// hosts but the executor's own an untrusted playbook runs code on locally.
    pub local_nodes: String,
}

impl Runner<'_> {
    /// Runs every phase and tells the build's result.
    pub async fn run_all(&self, output: &JobOutput) -> Result<BuildResult, ExecutorError> {
        let console_port = self.prepare_console().await?;
        let runs = Runs {
            runner: self,
            console_port,
        };
        runs.run_all(output).await
    }

    /// Writes the console plugins and picks the build's local console port.
    async fn prepare_console(&self) -> Result<u16, ExecutorError> {
        let paths = &self.workspace.paths;
        let failed =
            |what: &str, e: std::io::Error| ExecutorError::Workspace(format!("{what}: {e}"));
        console::install_plugins(&paths.ansible_dir)
            .await
            .map_err(|e| failed("installing the console plugins", e))?;
        console::free_local_port().map_err(|e| failed("choosing a console port", e))
    }
}

/// The playbook runs of one build, sharing its console port.
struct Runs<'r, 'a> {
    runner: &'r Runner<'a>,
    /// The console port of the hosts run on the executor's machine.
    console_port: u16,
}

impl Runs<'_, '_> {
    async fn run_all(&self, output: &JobOutput) -> Result<BuildResult, ExecutorError> {
        // As in Zuul, the timeout counts from the first pre-run playbook and
        // covers pre-run and run; post-run is not bounded by it, since that is
        // where logs of a timed-out job get collected.
        let deadline = self
            .runner
            .timeout
            .map(|secs| Instant::now() + Duration::from_secs(secs));
        let phases = &self.runner.workspace.phases;
        let mut result = BuildResult::Success;
        let mut pre_ok = true;
        // Zuul would retry a build whose pre-run failed; retries do not exist
        // yet, so the build fails.
        'phases: for (phase, playbooks) in
            [(Phase::Pre, &phases.pre_run), (Phase::Run, &phases.run)]
        {
            for (index, playbook) in playbooks.iter().enumerate() {
                let end = self.run_one(phase, index, playbook, deadline, None, output);
                result = match end.await? {
                    ProcessEnd::Exited(true) => continue,
                    ProcessEnd::Exited(false) => BuildResult::Failure,
                    ProcessEnd::TimedOut => BuildResult::TimedOut,
                    // A build over a limit is a runaway: nothing more of it runs.
                    limit => return Ok(self.over_limit(limit, output)),
                };
                pre_ok = phase != Phase::Pre;
                break 'phases;
            }
        }
        let success = result == BuildResult::Success;
        // Zuul lets a post-run failure override a run FAILURE, but never a
        // pre-run failure or a timeout.
        let post_may_override = pre_ok && result != BuildResult::TimedOut;
        for (index, playbook) in phases.post_run.iter().enumerate() {
            let end = self.run_one(Phase::Post, index, playbook, None, Some(success), output);
            match end.await? {
                ProcessEnd::Exited(true) => {}
                limit @ (ProcessEnd::DiskFull | ProcessEnd::OutputLimit) => {
                    return Ok(self.over_limit(limit, output))
                }
                _ if post_may_override => result = BuildResult::PostFailure,
                _ => {}
            }
        }
        Ok(result)
    }

    /// The result of a build ended by a limit, told in its log.
    fn over_limit(&self, end: ProcessEnd, output: &JobOutput) -> BuildResult {
        let limits = &self.runner.containment.limits;
        if end == ProcessEnd::DiskFull {
            output.line(&format!(
                "ERROR: the build's dirs hold more than its disk limit of {} MiB; it was ended",
                limits.disk >> 20
            ));
            BuildResult::DiskFull
        } else {
            output.line(&format!(
                "ERROR: a playbook printed more than the output limit of {} MiB; the build was ended",
                limits.output >> 20
            ));
            BuildResult::Error
        }
    }

    async fn run_one(
        &self,
        phase: Phase,
        index: usize,
        playbook: &PreparedPlaybook,
        deadline: Option<Instant>,
        success: Option<bool>,
        output: &JobOutput,
    ) -> Result<ProcessEnd, ExecutorError> {
        let name = phase.banner();
        output.line(&format!("{name} START: [{}]", playbook.banner));
        let runner = self.runner;
        let uid = runner.containment.user.uid;
        let secrets = secrets::write(&runner.workspace.paths.build_dir, playbook, uid).await?;
        let command = self.command(phase, index, playbook, success, secrets.as_deref())?;
        let tag = (runner.build_uuid, Some(uid));
        let limits = &runner.containment.limits;
        let end = process::run_to_end(command, tag, deadline, limits, output).await;
        // Gone before any later playbook runs: only this one may see them.
        secrets::remove(secrets).await;
        let end = end.map_err(|source| ExecutorError::Spawn {
            program: self.runner.ansible.to_path_buf(),
            source,
        })?;
        let end_name = match end {
            ProcessEnd::Exited(_) => "RESULT_NORMAL",
            ProcessEnd::TimedOut => "RESULT_TIMED_OUT",
            ProcessEnd::DiskFull => "RESULT_DISK_FULL",
            ProcessEnd::OutputLimit => "RESULT_OUTPUT_LIMIT",
        };
        output.line(&format!("{name} END {end_name}: [{}]", playbook.banner));
        Ok(end)
    }

    /// The build's local console settings as extra vars (JSON, so any path
    /// passes whole).
    fn console_vars(&self) -> String {
        let work = &self.runner.workspace.paths.work_root;
        serde_json::json!({
            console::LOCAL_PORT_VAR: self.console_port,
            console::LOCAL_DIR_VAR: console::local_log_dir(work),
        })
        .to_string()
    }

    /// The contained ansible-playbook run of `playbook`.
    fn command(
        &self,
        phase: Phase,
        index: usize,
        playbook: &PreparedPlaybook,
        success: Option<bool>,
        secrets: Option<&Path>,
    ) -> Result<Command, ExecutorError> {
        let workspace = self.runner.workspace;
        let paths = &workspace.paths;
        let mut command = Command::new(self.runner.ansible);
        // First: it starts the environment afresh.
        self.runner.containment.contain(
            &mut command,
            playbook.trusted,
            secrets,
            &self.runner.local_nodes,
        )?;
        command
            .arg("-v")
            .arg(&playbook.path)
            .arg("-e")
            .arg(format!("@{}", workspace.zuul_vars_file.display()))
            .arg("-e")
            .arg(self.console_vars())
            .arg("-e")
            .arg(format!("zuul_execution_phase={}", phase.var()))
            .arg("-e")
            .arg(format!("zuul_execution_phase_index={index}"));
        if let Some(success) = success {
            // Python spelling, so `zuul_success | bool` reads it as Zuul's does.
            let value = if success { "True" } else { "False" };
            command.arg("-e").arg(format!("zuul_success={value}"));
        }
        if let Some(file) = secrets {
            command.arg("-e").arg(format!("@{}", file.display()));
        }
        command
            .current_dir(&paths.work_root)
            .env("ANSIBLE_CONFIG", &workspace.ansible_cfg)
            .env("ANSIBLE_FORCE_COLOR", "0")
            .env("ANSIBLE_NOCOLOR", "1")
            .env("PYTHONUNBUFFERED", "1");
        Ok(command)
    }
}
