//! Live console output from the nodes: the Ansible plugins the executor ships
//! with every build, and the build's console port on the executor's machine.
//!
//! A command's output reaches job-output.txt line by line while the command
//! runs, in the spirit of Zuul's zuul_console and zuul_stream (and speaking
//! their console protocol, see `plugins/module_utils/portcullis_console.py`):
//!
//! - the `command` module (`plugins/library/command.py`, which `shell` runs
//!   too) writes each line the command prints to `/tmp/console-<log id>.log`
//!   on the node as it is printed, and first starts the node's console server
//!   if none listens. No pre-run task is needed; a `zuul_console` module
//!   exists for base jobs written for Zuul;
//! - the action plugin (`plugins/action/command.py`) names the log after the
//!   task and host and tells the module where the server listens;
//! - the stdout callback (`plugins/callback/portcullis_stream.py`) follows
//!   each host's log through its server from the moment the task starts,
//!   retrying until the server listens, and prints every line as
//!   `<time> | <host> | <line>`, which [`super::process`] passes on to
//!   job-output.txt and the live log unchanged.
//!
//! Where the server listens comes from the host's `zuul_console_port`
//! (default 19885), and its logs are in `/tmp`. A host run on the executor's
//! own machine (a local node, the implicit localhost) listens on 127.0.0.1 at
//! a port chosen per build ([`free_local_port`]), so builds on one machine
//! never share a server, keeps its logs in the build's work dir
//! ([`local_log_dir`]), and its server ends with the playbook that started
//! it (the server watches the playbook's pid, and the executor kills every
//! process tagged with the build when a playbook ends).

use std::io;
use std::path::{Path, PathBuf};

/// The extra var giving the build's console port for hosts on the executor's machine.
pub const LOCAL_PORT_VAR: &str = "portcullis_console_local_port";

/// The extra var giving the folder of their console logs.
pub const LOCAL_DIR_VAR: &str = "portcullis_console_local_dir";

/// The plugin files, by path under the plugin dir: the console plugins and
/// the `kubectl` connection plugin.
const PLUGINS: &[(&str, &str)] = &[
    (
        "module_utils/portcullis_console.py",
        include_str!("plugins/module_utils/portcullis_console.py"),
    ),
    (
        "library/command.py",
        include_str!("plugins/library/command.py"),
    ),
    (
        "library/zuul_console.py",
        include_str!("plugins/library/zuul_console.py"),
    ),
    (
        "action/command.py",
        include_str!("plugins/action/command.py"),
    ),
    (
        "callback/portcullis_stream.py",
        include_str!("plugins/callback/portcullis_stream.py"),
    ),
    // Not console code, but shipped the same way: the connection to pod
    // nodes (`ansible_connection: kubectl`), which ansible-core lacks, and
    // the `local` connection that keeps untrusted playbooks off the executor.
    (
        "connection/kubectl.py",
        include_str!("plugins/connection/kubectl.py"),
    ),
    (
        "connection/local.py",
        include_str!("plugins/connection/local.py"),
    ),
];

/// Where a build's plugins are written: `{ansible dir}/plugins`, read-only
/// to its playbooks.
pub fn plugin_dir(ansible_dir: &Path) -> PathBuf {
    ansible_dir.join("plugins")
}

/// Where the console logs of hosts on the executor's machine go:
/// `{work}/console-logs`, so they go when the work dir does, however the
/// build ended.
pub fn local_log_dir(work_root: &Path) -> PathBuf {
    work_root.join("console-logs")
}

/// Writes the plugins into the build's ansible dir.
pub async fn install_plugins(ansible_dir: &Path) -> io::Result<()> {
    let dir = plugin_dir(ansible_dir);
    for (path, text) in PLUGINS {
        let file = dir.join(path);
        if let Some(parent) = file.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        tokio::fs::write(&file, text).await?;
    }
    Ok(())
}

/// The `[defaults]` lines of ansible.cfg that enable the plugins, then
/// the system-wide plugin folders. Ansible's home (the root of its default
/// plugin, role and collection paths) is a read-only folder of the build:
/// under `~`, the work dir, an untrusted playbook could leave a plugin that
/// a later trusted playbook would load.
pub fn ansible_cfg_lines(ansible_dir: &Path) -> String {
    let dir = plugin_dir(ansible_dir);
    let dir = dir.display();
    let home = ansible_dir.join("home");
    let home = home.display();
    let system = "/usr/share/ansible/plugins";
    format!(
        "home = {home}\n\
         stdout_callback = portcullis_stream\n\
         callback_plugins = {dir}/callback:{system}/callback\n\
         action_plugins = {dir}/action:{system}/action\n\
         connection_plugins = {dir}/connection:{system}/connection\n\
         library = {dir}/library:{system}/modules\n\
         module_utils = {dir}/module_utils:{system}/module_utils\n"
    )
}

/// A port on 127.0.0.1 that nothing listens on now, for one build's console.
///
/// The port is free again once this returns; the server binds it a moment
/// later. Should another build's server take it first, that server streams
/// this build's logs just as well (logs are found by task and host), and
/// the next command task of this build starts a server of its own.
pub fn free_local_port() -> io::Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}

#[cfg(test)]
mod tests;
