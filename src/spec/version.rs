//! The runtime-spec version husk implements: reported in state.json, in the state given to
//! hooks and to a seccomp agent, and by `husk --version`.

pub const OCI_VERSION: &str = "1.3.0";

/// ociVersion 1.3.0 or later (pre-releases of 1.3.0 count: they carry its guidance).
pub fn at_least_1_3(v: &str) -> bool {
    let mut n = v
        .split(['.', '-', '+'])
        .map(|p| p.parse::<u64>().unwrap_or(0));
    let (major, minor) = (n.next().unwrap_or(0), n.next().unwrap_or(0));
    (major, minor) >= (1, 3)
}
