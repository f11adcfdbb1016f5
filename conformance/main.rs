//! Spec-conformance cases: run the checker inside a container and compare what it sees with
//! what config.json asked for.
//!
//! Runtime under test: $HUSK_RUNTIME, or this crate's husk binary. Rootfs: $HUSK_BUNDLE/rootfs
//! (default target/test-bundle/rootfs, made by conformance/dev-bundle.sh when missing).
//! Every case passes with runc 1.1 except those marked "known runc difference", which runc
//! < 1.2 does not implement: they print a SKIPPED note there and assert fully elsewhere.

mod harness;

mod devices;
mod mounts;
mod namespaces;
mod process;
mod security;
mod spec13;
