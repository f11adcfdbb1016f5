//! End-to-end tests of the husk binary: each test runs the runtime as an engine would, in its own
//! --root and bundle, and checks what it did and what it left. The runtime is the husk this crate
//! builds, or $HUSK_RUNTIME (e.g. /usr/sbin/runc, the reference these tests are developed against).
//! The busybox rootfs comes from integration/make-bundle.sh ($HUSK_BUNDLE, default
//! target/test-bundle); `make test` builds it and runs the leak check afterwards.

mod bad_input;
mod cgroup_v2;
mod cgroups;
mod cli;
mod compat;
mod crun_suite;
mod docker_config;
mod engine;
mod exec;
mod faults;
mod hooks;
mod lifecycle;
mod run;
mod seccomp;
mod security;
mod selinux;
mod spec13;
mod support;
mod systemd;
