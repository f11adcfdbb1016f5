//! husk as a library: every part of the runtime, for the thin `husk` binary (src/main.rs),
//! for a Rust shim that embeds the runtime, and for unit tests that reach the internals.
//!
//! The rooms, from the top down (a module imports only modules below it; `sys` imports
//! nothing of ours). tools/import-graph.sh checks that no import circle comes back.

pub mod cgroups;
pub mod cli;
pub mod commands;
pub mod container;
pub mod error;
pub mod hooks;
pub mod intelrdt;
pub mod logger;
pub mod namespaces;
pub mod netdev;
pub mod numa;
pub mod pidfd_socket;
pub mod process;
pub mod rootfs;
pub mod rootless;
pub mod security;
pub mod spec;
pub mod sys;
