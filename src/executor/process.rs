//! One ansible-playbook process, in its own process group, with its output
//! streamed line by line and everything it started killed on timeout or drop.
//!
//! The process group alone is not enough: ansible-core's workers call
//! `setsid()`, leaving the group. So every process is also tagged with the
//! build's uuid in its environment (which descendants inherit), and killing
//! sweeps /proc for the tag as well, and for the build's own user, which a
//! process that cleared its environment still has.

use std::io;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use futures_util::stream::{self, BoxStream, StreamExt};
use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::time::Instant;

use super::job_output::JobOutput;
use super::limits::Limits;

/// How long a drop waits for the killed leader to become reapable before
/// leaving it to tokio's orphan reaper; SIGKILL normally lands within a few ms.
const REAP_ATTEMPTS: u32 = 2000;

/// How many /proc scans a kill makes at most; a SIGKILLed process leaves
/// /proc's view of its environment within a scan or two.
const SWEEP_ROUNDS: u32 = 100;

/// How long output may keep coming after the build's processes were killed.
const DRAIN_LIMIT: Duration = Duration::from_secs(5);

/// The environment variable that tags every process of a build with its uuid.
pub const BUILD_TAG_VAR: &str = "PORTCULLIS_BUILD_UUID";

/// A child that leads its own process group, tagged with a build's uuid.
///
/// Owns every process the child starts (ansible forks workers, tasks run
/// shells): dropping the guard SIGKILLs the group and every tagged process
/// and reaps the leader, so a cancelled, timed-out or panicking build leaves
/// nothing behind.
pub struct ProcessGroup {
    child: Child,
    pgid: Pid,
    /// `PORTCULLIS_BUILD_UUID=...` as found in /proc/{pid}/environ, and the build's user.
    tag: Tag,
    /// True once everything was killed after the leader was reaped.
    finished: bool,
}

impl ProcessGroup {
    /// Spawns `command` as the leader of a new process group tagged with
    /// `build_uuid` (and whose processes run as `uid`, if given), stdout and
    /// stderr piped.
    pub fn spawn(
        mut command: Command,
        build_uuid: &str,
        uid: Option<u32>,
    ) -> io::Result<ProcessGroup> {
        command
            .env(BUILD_TAG_VAR, build_uuid)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = command.spawn()?;
        let pid = child
            .id()
            .ok_or_else(|| io::Error::other("child exited before it had a pid"))?;
        let pgid = Pid::from_raw(i32::try_from(pid).map_err(io::Error::other)?);
        Ok(ProcessGroup {
            child,
            pgid,
            tag: Tag {
                env: Some(format!("{BUILD_TAG_VAR}={build_uuid}")),
                uid,
            },
            finished: false,
        })
    }

    /// The leader's merged stdout and stderr, line by line (lossy UTF-8).
    pub fn output_lines(&mut self) -> BoxStream<'static, String> {
        let out = self.child.stdout.take().map(lines_of);
        let err = self.child.stderr.take().map(lines_of);
        match (out, err) {
            (Some(out), Some(err)) => stream::select(out, err).boxed(),
            (Some(one), None) | (None, Some(one)) => one,
            (None, None) => stream::empty().boxed(),
        }
    }

    /// Waits for the leader, then kills whatever it left behind.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        let status = self.child.wait().await?;
        self.kill_all();
        self.finished = true;
        Ok(status)
    }

    /// Kills every process of the build and reaps the leader.
    pub async fn kill(&mut self) -> io::Result<ExitStatus> {
        self.kill_all();
        self.wait().await
    }

    fn kill_all(&self) {
        // The group first, so the leader forks no new workers while we sweep.
        // ESRCH (the group is already gone) is the normal case after a clean exit.
        let _ = killpg(self.pgid, Signal::SIGKILL);
        kill_tagged(&self.tag);
    }
}

/// What marks a process as the build's.
#[derive(Debug)]
struct Tag {
    /// The `VAR=uuid` entry of its environment.
    env: Option<String>,
    /// The build's own user, if it has one.
    uid: Option<u32>,
}

impl Tag {
    fn marks(&self, proc_dir: &std::path::Path) -> bool {
        if let Some(uid) = self.uid {
            // The directory of a process belongs to its effective user.
            use std::os::unix::fs::MetadataExt;
            if std::fs::metadata(proc_dir).is_ok_and(|m| m.uid() == uid) {
                return true;
            }
        }
        let Some(env) = &self.env else {
            return false;
        };
        // Unreadable: gone, or not ours. Zombies read as empty.
        std::fs::read(proc_dir.join("environ"))
            .is_ok_and(|environ| environ.split(|b| *b == 0).any(|var| var == env.as_bytes()))
    }
}

/// SIGKILLs every live process `tag` marks, until a scan finds none (a
/// process may fork between a scan and its kill).
fn kill_tagged(tag: &Tag) {
    for _ in 0..SWEEP_ROUNDS {
        let pids = tagged_processes(tag);
        if pids.is_empty() {
            return;
        }
        for pid in pids {
            let _ = kill(pid, Signal::SIGKILL);
        }
    }
    tracing::warn!(
        tag = ?tag,
        "processes of a build survive repeated SIGKILLs"
    );
}

/// SIGKILLs every process running as `uid` (a build user whose build is gone).
pub fn kill_user(uid: u32) {
    kill_tagged(&Tag {
        env: None,
        uid: Some(uid),
    });
}

/// The users of live processes among `uids`, each once.
pub fn users_among(uids: std::ops::Range<u32>) -> std::collections::BTreeSet<u32> {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Default::default();
    };
    let is_process = |e: &std::fs::DirEntry| {
        e.file_name()
            .to_str()
            .is_some_and(|n| n.parse::<i32>().is_ok())
    };
    let owners = entries.flatten().filter(is_process);
    let owners = owners.filter_map(|e| std::fs::metadata(e.path()).ok().map(|m| m.uid()));
    owners.filter(|uid| uids.contains(uid)).collect()
}

fn tagged_processes(tag: &Tag) -> Vec<Pid> {
    // Without /proc (not Linux) only the process group is killed.
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            tag.marks(&entry.path()).then_some(Pid::from_raw(pid))
        })
        .collect()
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        self.kill_all();
        for _ in 0..REAP_ATTEMPTS {
            match self.child.try_wait() {
                Ok(None) => std::thread::sleep(Duration::from_millis(1)),
                Ok(Some(_)) | Err(_) => return,
            }
        }
        tracing::warn!(pgid = %self.pgid, "killed ansible-playbook not yet reaped; left to the runtime");
    }
}

fn lines_of<R: AsyncRead + Unpin + Send + 'static>(reader: R) -> BoxStream<'static, String> {
    // unfold keeps the pending read inside the stream, so polling it from a
    // select! that picks another branch loses no bytes.
    stream::unfold(BufReader::new(reader), |mut reader| async move {
        let mut buf = Vec::new();
        match reader.read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => None,
            Ok(_) => {
                let text = String::from_utf8_lossy(&buf);
                let line = text.trim_end_matches(['\n', '\r']).to_string();
                Some((line, reader))
            }
        }
    })
    .boxed()
}

/// How a playbook process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessEnd {
    /// It exited by itself; true when with status 0.
    Exited(bool),
    /// It ran past its deadline and was killed.
    TimedOut,
    /// The build's dirs grew past the disk limit; it was killed.
    DiskFull,
    /// It printed more than the output limit; it was killed.
    OutputLimit,
}

/// Runs `command`, tagged with `build_uuid` (and running as `uid`), to its
/// end, its `deadline` or a broken limit, relaying each output line to
/// `output` (see [`JobOutput::relay`]).
pub async fn run_to_end(
    command: Command,
    (build_uuid, uid): (&str, Option<u32>),
    deadline: Option<Instant>,
    limits: &Limits,
    output: &JobOutput,
) -> io::Result<ProcessEnd> {
    let mut group = ProcessGroup::spawn(command, build_uuid, uid)?;
    let mut lines = group.output_lines();
    let expired = async {
        match deadline {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(expired);
    let disk_full = limits.disk_exceeded();
    tokio::pin!(disk_full);
    let mut printed = 0u64;
    let mut lines_done = false;
    let killed = loop {
        tokio::select! {
            line = lines.next(), if !lines_done => match line {
                Some(line) => {
                    printed += line.len() as u64 + 1;
                    if printed > limits.output {
                        break ProcessEnd::OutputLimit;
                    }
                    output.relay(&line);
                }
                None => lines_done = true,
            },
            exit = group.wait() => return finish(exit?, lines, lines_done, output).await,
            () = &mut expired => break ProcessEnd::TimedOut,
            () = &mut disk_full => break ProcessEnd::DiskFull,
        }
    };
    group.kill().await?;
    // What it printed past a limit is dropped; the executor says why it ended.
    if killed != ProcessEnd::OutputLimit && !lines_done {
        drain(lines, output).await;
    }
    Ok(killed)
}

async fn finish(
    status: ExitStatus,
    lines: BoxStream<'static, String>,
    lines_done: bool,
    output: &JobOutput,
) -> io::Result<ProcessEnd> {
    if !lines_done {
        drain(lines, output).await;
    }
    Ok(ProcessEnd::Exited(status.success()))
}

/// Writes the lines still in the pipes once every process is dead.
async fn drain(mut lines: BoxStream<'static, String>, output: &JobOutput) {
    // Only a process that escaped both the group and the tag (one that cleared
    // its environment) can keep the pipe open; the build must not wait on it.
    let ends_by = Instant::now() + DRAIN_LIMIT;
    while let Ok(Some(line)) = tokio::time::timeout_at(ends_by, lines.next()).await {
        output.relay(&line);
    }
}
