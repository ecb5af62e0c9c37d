//! The inventory and the `zuul` variables of a build, as Zuul names them
//! (doc/source/job-content.rst). Pure: builds values, writes nothing.

use std::path::{Path, PathBuf};

use portcullis_actors::BuildRequest;
use serde_json::{json, Map, Value};

/// The folders of one build, as the job sees them in `zuul.executor`.
#[derive(Debug, Clone)]
pub struct BuildPaths {
    /// `{state}/builds/{uuid}`: everything of the build but its logs.
    pub build_dir: PathBuf,
    /// `{build}/work`: the one folder of the build its playbooks may write.
    pub work_root: PathBuf,
    /// `{build}/ansible`: ansible.cfg, inventory, vars and plugins, which
    /// playbooks read and may not change (a later, trusted one reads them too).
    pub ansible_dir: PathBuf,
    /// `{state}/logs/{uuid}`: the log dir the web serves.
    pub log_root: PathBuf,
    /// `{work}/src`: where the item's project is checked out.
    pub src_root: PathBuf,
    /// `{build}/ansible/inventory.yaml`.
    pub inventory_file: PathBuf,
}

impl BuildPaths {
    /// The folders of build `uuid` under `state_dir`.
    pub fn new(state_dir: &Path, uuid: &str) -> BuildPaths {
        let build_dir = state_dir.join("builds").join(uuid);
        let work_root = build_dir.join("work");
        let ansible_dir = build_dir.join("ansible");
        BuildPaths {
            log_root: state_dir.join("logs").join(uuid),
            src_root: work_root.join("src"),
            inventory_file: ansible_dir.join("inventory.yaml"),
            work_root,
            ansible_dir,
            build_dir,
        }
    }
}

/// Where the item's project is checked out, relative to the work dir.
pub fn src_dir(project: &str) -> String {
    format!("src/{project}")
}

/// The `zuul` variable of a build run on the executor host `hostname`.
pub fn zuul_vars(request: &BuildRequest, paths: &BuildPaths, hostname: &str) -> Value {
    let item = &request.item;
    let project = project_vars(&item.connection, &item.project);
    let mut item_vars = Map::new();
    item_vars.insert("project".into(), project.clone());
    if let Some(branch) = &item.branch {
        item_vars.insert("branch".into(), json!(branch));
    }
    if let Some(tag) = &item.tag {
        item_vars.insert("tag".into(), json!(tag));
    }
    item_vars.insert("ref".into(), json!(item.ref_name));
    item_vars.insert("oldrev".into(), json!(item.oldrev));
    item_vars.insert("newrev".into(), json!(item.newrev));
    item_vars.insert("commit_id".into(), json!(item.newrev));
    if let Some(change) = &item.change {
        // Zuul gives both as strings; on plain git the patchset is the review branch's head.
        item_vars.insert("change".into(), json!(change.number.to_string()));
        item_vars.insert("patchset".into(), json!(change.patchset));
    }

    let mut checked_out = project.clone();
    if let Some(fields) = checked_out.as_object_mut() {
        fields.insert("required".into(), json!(false));
        fields.insert(
            "checkout".into(),
            json!(item.branch.as_deref().unwrap_or(&item.ref_name)),
        );
        fields.insert("commit".into(), json!(item.newrev));
    }
    let canonical = format!("{}/{}", item.connection, item.project);

    let mut zuul = item_vars.clone();
    zuul.extend([
        ("items".into(), json!([Value::Object(item_vars)])),
        ("projects".into(), json!({ canonical: checked_out })),
        ("tenant".into(), json!(request.tenant)),
        ("pipeline".into(), json!(request.pipeline)),
        ("job".into(), json!(request.job.name)),
        ("build".into(), json!(request.uuid)),
        ("buildset".into(), json!(request.buildset_uuid)),
        ("child_jobs".into(), json!(request.child_jobs)),
        ("voting".into(), json!(request.job.voting)),
        ("timeout".into(), json!(request.job.timeout)),
        ("jobtags".into(), json!([])),
        // Retries do not exist yet: every build is its own first and last attempt.
        ("attempts".into(), json!(1)),
        ("max_attempts".into(), json!(1)),
        ("executor".into(), executor_vars(paths, hostname)),
    ]);
    Value::Object(zuul)
}

/// Name fields of a project; the connection name stands for its canonical hostname.
fn project_vars(connection: &str, name: &str) -> Value {
    let short_name = name.rsplit('/').next().unwrap_or(name);
    json!({
        "name": name,
        "short_name": short_name,
        "canonical_hostname": connection,
        "canonical_name": format!("{connection}/{name}"),
        "src_dir": src_dir(name),
    })
}

fn executor_vars(paths: &BuildPaths, hostname: &str) -> Value {
    json!({
        "hostname": hostname,
        "work_root": paths.work_root,
        "log_root": paths.log_root,
        "src_root": paths.src_root,
        "inventory_file": paths.inventory_file,
    })
}

/// The YAML inventory: every node (run locally), the groups, and `all.vars`
/// with the job's variables and `zuul` (which a job variable cannot shadow).
pub fn inventory(request: &BuildRequest, zuul: &Value) -> Value {
    let nodeset = &request.job.nodeset;
    // Parents' returned data is the weakest: any job variable of its name wins.
    let mut vars = super::zuul_return::parent_vars(&request.parent_data);
    vars.extend(request.job.vars.clone());
    vars.insert("zuul".into(), zuul.clone());
    let mut all = Map::new();
    if !nodeset.nodes.is_empty() {
        let hosts: Map<String, Value> = nodeset
            .nodes
            .iter()
            .map(|node| {
                let host = json!({
                    "ansible_connection": "local",
                    "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                    "zuul_node": { "label": node.label },
                });
                (node.name.clone(), host)
            })
            .collect();
        all.insert("hosts".into(), Value::Object(hosts));
    }
    if !nodeset.groups.is_empty() {
        let children: Map<String, Value> = nodeset
            .groups
            .iter()
            .map(|group| {
                let hosts: Map<String, Value> = group
                    .nodes
                    .iter()
                    .map(|n| (n.clone(), Value::Null))
                    .collect();
                (group.name.clone(), json!({ "hosts": hosts }))
            })
            .collect();
        all.insert("children".into(), Value::Object(children));
    }
    all.insert("vars".into(), Value::Object(vars));
    json!({ "all": all })
}

/// Replaces the hosts of the inventory at `path` given by providers with
/// their `host_vars` (by node name).
pub async fn add_provider_nodes(path: &Path, host_vars: Map<String, Value>) -> std::io::Result<()> {
    if host_vars.is_empty() {
        return Ok(());
    }
    let text = tokio::fs::read_to_string(path).await?;
    let mut inventory: Value = serde_yaml::from_str(&text).map_err(std::io::Error::other)?;
    with_provider_nodes(&mut inventory, host_vars);
    let text = serde_yaml::to_string(&inventory).map_err(std::io::Error::other)?;
    tokio::fs::write(path, text).await
}

/// Puts each provider host's vars into `all.hosts`, over the local defaults.
pub fn with_provider_nodes(inventory: &mut Value, host_vars: Map<String, Value>) {
    let Some(hosts) = inventory
        .pointer_mut("/all/hosts")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for (node, vars) in host_vars {
        let Some(Value::Object(host)) = hosts.get_mut(&node) else {
            continue;
        };
        // A pod runs its own python; the executor's interpreter path is meaningless there.
        host.remove("ansible_python_interpreter");
        if let Value::Object(vars) = vars {
            for (key, value) in vars {
                host.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests;
