//! Job configs and playbooks the scenarios push to the demo project.

/// A `.zuul.yaml` running one job `name` with playbook `playbooks/{name}.yaml` in `post`.
pub fn one_job(name: &str, extra: &str) -> String {
    format!(
        "- job:\n    name: {name}\n    run: playbooks/{name}.yaml\n{extra}\
         - project:\n    post:\n      jobs: [{name}]\n"
    )
}

/// A playbook on the base job's node with the given tasks (YAML, indented by 4).
pub fn playbook(tasks: &str) -> String {
    format!("- hosts: all\n  gather_facts: false\n  tasks:\n{tasks}")
}

/// A playbook that greets with the project and commit from the zuul vars.
pub fn greeting() -> String {
    playbook(
        "    - name: Greet\n      ansible.builtin.debug:\n        msg: \"hello from {{ zuul.project.name }} at {{ zuul.newrev }}\"\n",
    )
}

/// A playbook that prints, waits for `release` to exist, then prints again.
pub fn held_until(release: &std::path::Path) -> String {
    playbook(&format!(
        "    - ansible.builtin.debug: {{msg: before the wait}}\n\
         \x20   - ansible.builtin.wait_for: {{path: \"{}\", timeout: 170}}\n\
         \x20   - ansible.builtin.debug: {{msg: after the wait}}\n",
        release.display()
    ))
}
