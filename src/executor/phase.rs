//! The playbook sequence of a build and how its ends make the build's result,
//! following Zuul's executor: pre-run, run, then post-run whatever happened.

mod secrets;

use std::path::Path;
use std::time::Duration;

use portcullis_actors::BuildResult;
use tokio::process::Command;
use tokio::time::Instant;

use super::console;
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
        let work = &self.workspace.paths.work_root;
        let failed =
            |what: &str, e: std::io::Error| ExecutorError::Workspace(format!("{what}: {e}"));
        console::install_plugins(work)
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
        for (index, playbook) in phases.pre_run.iter().enumerate() {
            let end = self.run_one(Phase::Pre, index, playbook, deadline, None, output);
            match end.await? {
                ProcessEnd::Exited(true) => {}
                // Zuul would retry a build whose pre-run failed; retries do
                // not exist yet, so the build fails.
                ProcessEnd::Exited(false) => result = BuildResult::Failure,
                ProcessEnd::TimedOut => result = BuildResult::TimedOut,
            }
            if result != BuildResult::Success {
                break;
            }
        }
        let pre_ok = result == BuildResult::Success;
        if pre_ok {
            for (index, playbook) in phases.run.iter().enumerate() {
                let end = self.run_one(Phase::Run, index, playbook, deadline, None, output);
                match end.await? {
                    ProcessEnd::Exited(true) => {}
                    ProcessEnd::Exited(false) => result = BuildResult::Failure,
                    ProcessEnd::TimedOut => result = BuildResult::TimedOut,
                }
                if result != BuildResult::Success {
                    break;
                }
            }
        }
        let success = result == BuildResult::Success;
        // Zuul lets a post-run failure override a run FAILURE, but never a
        // pre-run failure or a timeout.
        let post_may_override = pre_ok && result != BuildResult::TimedOut;
        for (index, playbook) in phases.post_run.iter().enumerate() {
            let end = self.run_one(Phase::Post, index, playbook, None, Some(success), output);
            if end.await? != ProcessEnd::Exited(true) && post_may_override {
                result = BuildResult::PostFailure;
            }
        }
        Ok(result)
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
        let secrets = secrets::write(&self.runner.workspace.paths.work_root, playbook).await?;
        let mut command = self.command(phase, index, playbook, success);
        if let Some(file) = &secrets {
            command.arg("-e").arg(format!("@{}", file.display()));
        }
        let end = process::run_to_end(command, self.runner.build_uuid, deadline, output).await;
        // Gone before any later playbook runs: only this one may see them.
        secrets::remove(secrets).await;
        let end = end.map_err(|source| ExecutorError::Spawn {
            program: self.runner.ansible.to_path_buf(),
            source,
        })?;
        let end_name = match end {
            ProcessEnd::Exited(_) => "RESULT_NORMAL",
            ProcessEnd::TimedOut => "RESULT_TIMED_OUT",
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

    fn command(
        &self,
        phase: Phase,
        index: usize,
        playbook: &PreparedPlaybook,
        success: Option<bool>,
    ) -> Command {
        let workspace = self.runner.workspace;
        let paths = &workspace.paths;
        let mut command = Command::new(self.runner.ansible);
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
        command
            .current_dir(&paths.work_root)
            .env("ANSIBLE_CONFIG", &workspace.ansible_cfg)
            .env("ANSIBLE_FORCE_COLOR", "0")
            .env("ANSIBLE_NOCOLOR", "1")
            .env("PYTHONUNBUFFERED", "1");
        command
    }
}
