//! A kubeconfig that points kubectl (or the kube crate) at the simulation.

use std::path::Path;

/// The kubeconfig text for `server`, selecting `context` and `namespace`.
/// There are no credentials: over plain http kubectl sends none anyway.
pub fn render(server: &str, context: &str, namespace: &str) -> String {
    let q = |s: &str| serde_json::Value::from(s).to_string();
    format!(
        "apiVersion: v1\n\
         kind: Config\n\
         clusters:\n\
         - name: kube-sim\n  cluster:\n    server: {server}\n\
         users:\n\
         - name: kube-sim\n  user: {{}}\n\
         contexts:\n\
         - name: {context}\n  context:\n    cluster: kube-sim\n    user: kube-sim\n    namespace: {namespace}\n\
         current-context: {context}\n",
        server = q(server),
        context = q(context),
        namespace = q(namespace),
    )
}

/// Writes [`render`]'s text to `path`.
pub fn write(path: &Path, server: &str, context: &str, namespace: &str) -> std::io::Result<()> {
    std::fs::write(path, render(server, context, namespace))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_yaml_specials_are_quoted() {
        // given a Zuul-style context name with a colon and a slash
        let text = render("http://127.0.0.1:1", "ns:zuul-worker/kube-sim", "ns");
        // then it appears as a quoted scalar, so YAML reads it back whole
        assert!(
            text.contains("- name: \"ns:zuul-worker/kube-sim\""),
            "{text}"
        );
        assert!(text.contains("current-context: \"ns:zuul-worker/kube-sim\""));
    }
}
