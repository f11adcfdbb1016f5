//! The runtime-spec version husk implements: reported in state.json, in the state given to
//! hooks and to a seccomp agent, and by `husk --version`.

pub const OCI_VERSION: &str = "1.2.1";
