//! Engine scenario tests with deterministic fakes of the ports.
