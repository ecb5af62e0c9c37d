//! Tenant config scenarios: what is read, and where problems are reported.

use super::*;

const MAIN: &str = "\
- tenant:
    name: example
    source:
      local:
        config-projects:
          - config
        untrusted-projects:
          - demo
          - other: {}
";

#[test]
fn tenants_list_their_projects_config_projects_first() {
    let config = TenantConfig::parse("main.yaml", MAIN).unwrap();
    let tenant = config.tenant("example").unwrap();
    let names: Vec<_> = tenant
        .projects()
        .into_iter()
        .map(|p| (p.name, p.trusted))
        .collect();
    let expected = [("config", true), ("demo", false), ("other", false)];
    assert_eq!(names, expected.map(|(n, t)| (n.to_string(), t)));
    assert!(tenant.project("local", "demo").is_some());
    assert!(config.tenant("nope").is_none());
}

#[test]
fn an_unknown_key_is_named_with_file_and_line() {
    let text = MAIN.replace("untrusted-projects", "untrusted-project");
    let err = TenantConfig::parse("main.yaml", &text).unwrap_err();
    assert_eq!((err.file.as_str(), err.line), ("main.yaml", 7));
    assert!(err.message.contains("`untrusted-project`"), "{err}");
}

#[test]
fn a_wrong_type_is_an_error_at_its_line() {
    let text = MAIN.replace("name: example", "name: [example]");
    let err = TenantConfig::parse("main.yaml", &text).unwrap_err();
    assert_eq!(err.line, 2, "{err}");
}

#[test]
fn project_options_and_groups_are_kept_per_project() {
    let text = MAIN.replace(
            "other: {}",
            "other: {include: [job], shadow: demo, extra-config-paths: [ci/zuul.yaml]}\n          - projects: [g1, g2]\n            exclude: [project]",
        );
    let config = TenantConfig::parse("main.yaml", &text).unwrap();
    let tenant = config.tenant("example").unwrap();
    let other = tenant.project_options("local", "other");
    assert!(other.loads("job") && !other.loads("project"));
    assert_eq!(
        (other.shadow.clone(), other.extra_config_paths.clone()),
        (vec!["demo".to_string()], vec!["ci/zuul.yaml".to_string()])
    );
    assert!(!tenant.project_options("local", "g2").loads("project"));
    assert!(tenant.project("local", "g1").is_some());
    let bad = MAIN.replace("other: {}", "other: {include: [jobs]}");
    let err = TenantConfig::parse("main.yaml", &bad).unwrap_err();
    assert!(
        err.message.contains("`jobs` is not an object kind"),
        "{err}"
    );
}

#[test]
fn tenant_attributes_take_zuuls_defaults() {
    let text = MAIN.replace("name: example", "name: example\n    max-job-timeout: 60\n    default-parent: root\n    admin-rules: [admins]");
    let config = TenantConfig::parse("main.yaml", &text).unwrap();
    let options = &config.tenants[0].options;
    assert_eq!((options.max_timeout(), options.max_nodes()), (60, 5));
    assert_eq!(options.default_parent.as_deref(), Some("root"));
    assert_eq!(options.admin_rules, ["admins"]);
    assert!(options.anonymous_read_access);
}

#[test]
fn a_duplicate_tenant_name_is_an_error_at_the_second() {
    let text = format!("{MAIN}{MAIN}");
    let err = TenantConfig::parse("main.yaml", &text).unwrap_err();
    assert_eq!(err.line, 10, "{err}");
    assert!(err.message.contains("defined twice"), "{err}");
}

#[test]
fn a_project_listed_twice_is_an_error() {
    let text = MAIN.replace("- demo", "- demo\n          - config");
    let err = TenantConfig::parse("main.yaml", &text).unwrap_err();
    assert!(err.message.contains("listed twice"), "{err}");
}

#[test]
fn rules_and_global_semaphores_are_kept() {
    let text = format!("{MAIN}- admin-rule: {{name: admins, conditions: [{{username: alice}}]}}\n- global-semaphore: {{name: s, max: 2}}\n");
    let config = TenantConfig::parse("main.yaml", &text).unwrap();
    assert!(matches!(&config.items[0], TopLevel::Rule { name, .. } if name == "admins"));
    assert!(matches!(&config.items[1], TopLevel::GlobalSemaphore(s) if s.max == 2));
    let err = TenantConfig::parse("main.yaml", "- bogus: {name: x}\n").unwrap_err();
    assert!(err.message.contains("unknown item `bogus`"), "{err}");
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    let inputs = [
        "[",
        "- tenant:",
        "- tenant: {name: a, source: {local: 3}}",
        "- {}",
        "- 7",
        "a: b",
        "- tenant: {name: a}\n  - x",
    ];
    for text in inputs {
        assert!(TenantConfig::parse("main.yaml", text).is_err(), "{text}");
    }
}
