//! The restart loop: a bash script in its own process group that re-runs
//! kubectl after every exit, with a capped exponential backoff.

use std::process::Stdio;

use nix::sys::prctl;
use nix::sys::signal::Signal;
use nix::unistd::{getpid, getppid, Pid};
use tokio::process::{Child, Command};

use super::spec::{TunnelSettings, TunnelSpec};

/// The environment variable that marks every process of a tunnel.
pub const MARKER_VAR: &str = "PORTCULLIS_TUNNEL";

/// Prefix of the lines the loop itself prints, so the reader can tell runs apart.
pub const LOOP_MARK: &str = "@@portcullis-run";

/// Arguments: initial ms, max ms, settle ms, forwarded-max ms, unforwarded-min
/// ms, setpriv path or "", then kubectl's argv.
///
/// - kubectl's stderr joins stdout so each run's lines reach the actor in the
///   order written, and the run's exit line comes after all of them.
/// - kubectl runs in the background and the loop `wait`s, so a TERM (from a
///   stop, or the parent-death signal) runs the trap at once: it kills and
///   reaps kubectl, so nothing is left for init to reap.
/// - The actor writes `up N` on stdin when run N forwarded the reserved port.
///   Such a run that also lived `settle` ms resets the backoff, so a healthy
///   forward that dies is back after the initial pause. One that died young
///   (an early connection the pod refused) pauses at most forwarded-max ms:
///   the pod and API answer, and someone is about to connect again. A run
///   that never forwarded (pod gone, API down, port taken) pauses at least
///   unforwarded-min ms, doubling to the cap, so a gone pod costs almost no
///   CPU. EOF on stdin means the actor is gone: stop.
const LOOP_SCRIPT: &str = r#"
exec 2>&1
initial=$1 max=$2 settle=$3 quick=$4 floor=$5 wrap=$6
shift 6
delay=$initial run=0 child=
trap 'trap - TERM INT HUP; [ -n "$child" ] && kill -KILL "$child" 2>/dev/null; wait; exit 0' TERM INT HUP
while :; do
  run=$((run + 1))
  started=${EPOCHREALTIME/./}
  if [ -n "$wrap" ]; then
    "$wrap" --pdeathsig KILL -- "$@" </dev/null &
  else
    "$@" </dev/null &
  fi
  child=$!
  echo "@@portcullis-run $run start $child"
  wait "$child"
  status=$?
  child=
  lived=$(( (${EPOCHREALTIME/./} - started) / 1000 ))
  up=no
  while read -r -t 0; do
    read -r ack || exit 0
    [ "$ack" = "up $run" ] && up=yes
  done
  if [ "$up" = no ]; then
    [ "$delay" -lt "$floor" ] && delay=$floor
  elif [ "$lived" -ge "$settle" ]; then
    delay=$initial
  elif [ "$delay" -gt "$quick" ]; then
    delay=$quick
  fi
  echo "@@portcullis-run $run exit $status lived_ms $lived next_ms $delay"
  sleep "$((delay / 1000)).$(printf %03d $((delay % 1000)))" &
  child=$!
  wait "$child"
  child=
  delay=$((delay * 2))
  [ "$delay" -gt "$max" ] && delay=$max
done
"#;

/// kubectl's arguments for one port-forward to the reserved `port`.
pub fn kubectl_args(spec: &TunnelSpec, port: u16) -> Vec<String> {
    vec![
        format!("--kubeconfig={}", spec.kubeconfig.display()),
        format!("--context={}", spec.context),
        "-n".to_string(),
        spec.namespace.clone(),
        "port-forward".to_string(),
        format!("pod/{}", spec.pod),
        // zuul_stream connects to 127.0.0.1 only; one address removes the
        // half-bound [::1] case and any need for IPv6.
        "--address=127.0.0.1".to_string(),
        format!("{port}:{}", spec.remote_port),
    ]
}

/// Starts the loop as the leader of a new process group, all pipes attached.
///
/// Spawn from a long-lived thread (an actix arbiter): the parent-death signal
/// fires when the spawning *thread* exits.
pub fn spawn_loop(
    spec: &TunnelSpec,
    settings: &TunnelSettings,
    port: u16,
) -> std::io::Result<Child> {
    let millis = |d: std::time::Duration| d.as_millis().to_string();
    let mut command = Command::new(&settings.shell);
    command
        .arg("-c")
        .arg(LOOP_SCRIPT)
        .arg("portcullis-tunnel")
        .arg(millis(
            settings
                .initial_backoff
                .max(std::time::Duration::from_millis(1)),
        ))
        .arg(millis(settings.max_backoff))
        .arg(millis(settings.settle))
        .arg(millis(settings.forwarded_max_backoff))
        .arg(millis(settings.unforwarded_min_backoff))
        .arg(
            settings
                .setpriv
                .as_deref()
                .map(|p| p.as_os_str())
                .unwrap_or_default(),
        )
        .arg(&settings.kubectl)
        .args(kubectl_args(spec, port))
        .env(MARKER_VAR, format!("{}/{port}", settings.instance))
        .process_group(0)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(dir) = &spec.cache_dir {
        command.env("KUBECACHEDIR", dir);
    }
    let parent = getpid();
    // SAFETY: the closure runs between fork and exec and only makes
    // async-signal-safe syscalls (prctl, getppid) and allocates nothing.
    unsafe {
        command.pre_exec(move || die_with_parent(parent));
    }
    command.spawn()
}

/// In the forked child: TERM when the server dies (the loop's trap then
/// kills kubectl), and give up at once if it already died before the prctl.
fn die_with_parent(parent: Pid) -> std::io::Result<()> {
    prctl::set_pdeathsig(Signal::SIGTERM)?;
    if getppid() != parent {
        return Err(nix::errno::Errno::ESRCH.into());
    }
    Ok(())
}
