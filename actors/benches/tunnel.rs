//! Tunnel benchmark (filled in below).

fn main() {}
