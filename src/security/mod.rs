//! Security settings applied to the container's init just before it runs the user's program.

pub mod seccomp;
