//! Security setup of the container process: capabilities, no_new_privs, seccomp, LSM labels.

pub mod caps;
pub mod seccomp;
pub mod seccomp_glue;
