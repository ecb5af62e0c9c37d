//! Scenarios against the simulated cluster, driven by the real, pinned
//! kubectl binaries and by plain HTTP as the kube crate would send it.

mod scenarios {
    pub mod support;

    mod api;
    mod exec;
    mod lifecycle;
    mod port_forward;
}
