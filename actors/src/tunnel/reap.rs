//! Finding tunnel processes through /proc: leftovers of a crashed server, and
//! the live members of a process group being stopped.

use std::fs;

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;

use super::script::MARKER_VAR;

/// Ends every process whose environment carries `PORTCULLIS_TUNNEL=<state_marker>/…`
/// (loops and the kubectl runs they started) and returns how many it signalled.
///
/// Call it at server start, before opening tunnels: a previous run with the same
/// marker that crashed may have left loops behind that hold ports and spin.
pub fn reap_leftover_tunnels(state_marker: &str) -> usize {
    let own = std::process::id();
    let leftovers = tunnel_processes(state_marker)
        .into_iter()
        .filter(|pid| *pid != own);
    let mut ended = 0;
    for pid in leftovers {
        let Ok(raw) = i32::try_from(pid) else {
            continue;
        };
        // The loop leads its group: killing the group takes a pause or a
        // kubectl started since the scan along with it.
        if stat_of(pid).is_some_and(|stat| stat.pgrp == raw) {
            let _ = killpg(Pid::from_raw(raw), Signal::SIGKILL);
        }
        if kill(Pid::from_raw(raw), Signal::SIGKILL).is_ok() {
            ended += 1;
        }
    }
    if ended > 0 {
        tracing::warn!(
            state_marker,
            ended,
            "ended tunnel processes left by a previous run"
        );
    }
    ended
}

/// Processes in group `pgid` that are still running (zombies left out).
pub fn live_group_members(pgid: i32) -> Vec<u32> {
    process_ids()
        .filter(|pid| stat_of(*pid).is_some_and(|stat| stat.pgrp == pgid && stat.state != 'Z'))
        .collect()
}

/// Pids of the tunnel processes of a server: those whose environment holds
/// `MARKER_VAR=<state_marker>/<port>`, for any port.
pub fn tunnel_processes(state_marker: &str) -> Vec<u32> {
    let wanted = format!("{MARKER_VAR}={state_marker}/");
    process_ids()
        .filter(|pid| environ_any(*pid, |entry| entry.starts_with(wanted.as_bytes())))
        .collect()
}

/// Pids of processes whose environment holds `MARKER_VAR=<marker>`, exactly.
pub fn marked_processes(marker: &str) -> Vec<u32> {
    let wanted = format!("{MARKER_VAR}={marker}");
    process_ids()
        .filter(|pid| environ_any(*pid, |entry| entry == wanted.as_bytes()))
        .collect()
}

fn process_ids() -> impl Iterator<Item = u32> {
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
}

/// Whether an entry of the process's environment passes `test`; a zombie's
/// or an inaccessible environment reads as empty.
fn environ_any(pid: u32, test: impl Fn(&[u8]) -> bool) -> bool {
    fs::read(format!("/proc/{pid}/environ"))
        .is_ok_and(|environ| environ.split(|b| *b == 0).any(test))
}

struct Stat {
    state: char,
    pgrp: i32,
}

/// Reads `/proc/PID/stat`: `pid (comm) state ppid pgrp …`, comm may hold anything.
fn stat_of(pid: u32) -> Option<Stat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, after) = text.rsplit_once(')')?;
    let mut fields = after.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let _ppid = fields.next()?;
    let pgrp = fields.next()?.parse().ok()?;
    Some(Stat { state, pgrp })
}
