//! A simulated Kubernetes cluster for tests.
//!
//! [`KubeSim::start`] serves a mock API server over plain http on
//! 127.0.0.1: discovery, namespaces and pods (create, get, list, watch,
//! delete), and the streaming subresources the real kubectl and the kube
//! crate use: port-forward over SPDY/3.1 and over SPDY-in-WebSocket, and exec
//! over the v5 WebSocket channel protocol. Every pod is a Linux network
//! namespace (tests run as root), so each pod has its own 127.0.0.1:19885.
//!
//! Modules:
//! - `sim`: [`KubeSim`] and [`PodHandle`], the API tests use
//! - `api`: the HTTP server, routes, REST handlers, watches, upgrades
//! - `cluster`: state, resource versions, event history, selectors
//! - `object`: the JSON of pods, namespaces, lists and `Status` errors
//! - `kubelet`: pods run once their network namespace exists
//! - `netns`: network namespaces, dialing and listening inside them
//! - `spdy`: SPDY/3.1 frames, header compression, the server session
//! - `portforward`: the kubelet's port-forward over a SPDY session
//! - `exec`: commands over the WebSocket channel protocol
//! - `kubeconfig`: a kubeconfig pointing at the simulation

mod api;
mod cluster;
mod error;
mod exec;
mod kubeconfig;
mod kubelet;
mod netns;
mod object;
mod portforward;
mod sim;
pub mod spdy;

pub use api::RequestRecord;
pub use error::SimError;
pub use object::HOLD_PENDING;
pub use sim::{KubeSim, PodHandle};
