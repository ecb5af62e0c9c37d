use std::path::Path;

use portcullis_actors::event::ItemRef;
use portcullis_config::nodeset::{Group, Node, Nodeset};
use portcullis_config::FrozenJob;
use serde_json::json;

use super::*;

fn request(nodeset: Nodeset) -> BuildRequest {
    let mut vars = serde_json::Map::new();
    vars.insert("greeting".into(), json!("hello"));
    vars.insert("zuul".into(), json!("a job var cannot shadow zuul"));
    BuildRequest {
        uuid: "b-1".into(),
        buildset_uuid: "bs-1".into(),
        tenant: "example".into(),
        pipeline: "check".into(),
        item: ItemRef {
            connection: "local".into(),
            project: "org/widget".into(),
            ref_name: "refs/tags/v1.0".into(),
            branch: None,
            tag: Some("v1.0".into()),
            oldrev: "0".repeat(40),
            newrev: "a".repeat(40),
            change: None,
        },
        job: FrozenJob {
            name: "unit".into(),
            inheritance: vec!["base".into(), "unit".into()],
            description: None,
            pre_run: vec![],
            run: vec![],
            post_run: vec![],
            nodeset,
            timeout: Some(30),
            voting: false,
            vars,
            ..Default::default()
        },
        state: Default::default(),
        parent_data: serde_json::Value::Null,
        child_jobs: vec!["docs".into()],
        hold: false,
    }
}

#[test]
fn zuul_vars_name_the_project_ref_and_build_as_zuul_does() {
    let req = request(Nodeset::default());
    let paths = BuildPaths::new(Path::new("/state"), "b-1");
    let zuul = zuul_vars(&req, &paths, "exec-1");
    assert_eq!(zuul["project"]["name"], "org/widget");
    assert_eq!(zuul["project"]["short_name"], "widget");
    assert_eq!(zuul["project"]["canonical_name"], "local/org/widget");
    assert_eq!(zuul["project"]["src_dir"], "src/org/widget");
    assert_eq!(zuul["tag"], "v1.0");
    assert!(zuul.get("branch").is_none(), "a tag has no branch");
    assert_eq!(zuul["ref"], "refs/tags/v1.0");
    assert_eq!(zuul["newrev"], "a".repeat(40));
    assert_eq!(zuul["build"], "b-1");
    assert_eq!(zuul["buildset"], "bs-1");
    assert_eq!(zuul["child_jobs"], json!(["docs"]));
    assert_eq!(zuul["voting"], false);
    assert_eq!(zuul["timeout"], 30);
    assert_eq!(zuul["executor"]["hostname"], "exec-1");
    assert_eq!(zuul["executor"]["work_root"], "/state/builds/b-1/work");
    assert_eq!(zuul["executor"]["log_root"], "/state/logs/b-1");
    assert_eq!(
        zuul["executor"]["inventory_file"],
        "/state/builds/b-1/ansible/inventory.yaml"
    );
    assert_eq!(
        zuul["projects"]["local/org/widget"]["commit"],
        "a".repeat(40)
    );
}

#[test]
fn an_empty_nodeset_gives_an_inventory_without_hosts_but_with_vars() {
    let req = request(Nodeset::default());
    let zuul = json!({"job": "unit"});
    let inv = inventory(&req, &zuul);
    assert!(inv["all"].get("hosts").is_none());
    assert_eq!(inv["all"]["vars"]["greeting"], "hello");
    assert_eq!(inv["all"]["vars"]["zuul"], zuul);
}

#[test]
fn every_node_runs_locally_and_groups_list_their_members() {
    let nodeset = Nodeset {
        name: "pair".into(),
        nodes: vec![
            Node {
                name: "web".into(),
                label: "small".into(),
            },
            Node {
                name: "db".into(),
                label: "large".into(),
            },
        ],
        groups: vec![Group {
            name: "servers".into(),
            nodes: vec!["web".into(), "db".into()],
        }],
    };
    let inv = inventory(&request(nodeset), &json!({}));
    assert_eq!(inv["all"]["hosts"]["web"]["ansible_connection"], "local");
    assert_eq!(inv["all"]["hosts"]["db"]["zuul_node"]["label"], "large");
    let members = inv["all"]["children"]["servers"]["hosts"]
        .as_object()
        .unwrap();
    let mut names: Vec<&String> = members.keys().collect();
    names.sort();
    assert_eq!(names, vec!["db", "web"]);
}

#[test]
fn a_provider_node_gets_its_connection_vars_and_local_nodes_stay_local() {
    // Given a nodeset of a pod node and a local node
    let node = |name: &str, label: &str| Node {
        name: name.into(),
        label: label.into(),
    };
    let nodeset = Nodeset {
        nodes: vec![node("pod", "pod-debian"), node("here", "local")],
        ..Nodeset::default()
    };
    let mut inv = inventory(&request(nodeset), &json!({}));
    // When the provider's host vars are put in
    let mut pod = serde_json::Map::new();
    pod.insert(
        "pod".into(),
        json!({"ansible_connection": "kubectl", "zuul_console_port": 4242}),
    );
    with_provider_nodes(&mut inv, pod);
    // Then the pod host speaks kubectl with its tunnel port, without the executor's python
    let hosts = &inv["all"]["hosts"];
    assert_eq!(hosts["pod"]["ansible_connection"], "kubectl");
    assert_eq!(hosts["pod"]["zuul_console_port"], 4242);
    assert!(hosts["pod"].get("ansible_python_interpreter").is_none());
    assert_eq!(hosts["pod"]["zuul_node"]["label"], "pod-debian");
    assert_eq!(hosts["here"]["ansible_connection"], "local");
}
