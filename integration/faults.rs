//! Fault injection: the runtime killed (SIGKILL) at many points of `create`, and an init that
//! stalls during setup. Whatever instant the runtime dies at, `delete -f` must leave no
//! process, mount, cgroup or state of the container, and the id must be usable again; a
//! stalled init must make `create` fail (naming the step), not wait for ever.

use crate::support::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// `--debug` lines of husk's create, in the order they are printed: each marks a setup step
/// (the runtime's own, or init's: init shares the runtime's stderr). runc prints other lines;
/// against runc the kills by time remain.
const STEPS: &[&str] = &[
    "config loaded",
    "checked; cloning init",
    "nsexec container setup: cloned",
    "child process in init()",
    "cgroup created with its limits",
    "init: mounts and devices set up",
    "init: in the container's cgroup",
    "init: in the container's root",
    "init: paths, limits and terminal set up",
    "init: closing the pipe",
    "is set up and waits for start",
];

/// Kill delays after the runtime started, in microseconds: a spread over the whole create
/// (a few ms on an idle machine, more under load).
const DELAYS_US: &[u64] = &[300, 700, 1_500, 2_500, 4_000, 6_000, 9_000, 13_000, 20_000];

enum KillAt {
    /// When this `--debug` line appears (or the create ends without it).
    Line(&'static str),
    /// This long after the runtime started.
    After(Duration),
}

/// Run `create` with --debug and SIGKILL it at `at`; returns once the runtime is reaped.
fn create_and_kill(env: &TestEnv, id: &str, at: &KillAt) {
    let mut child = Command::new(runtime())
        .arg("--root")
        .arg(&env.root)
        .args(["--debug", "create", "--bundle"])
        .arg(&env.bundle)
        .arg(id)
        .current_dir(&env.dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the runtime");
    let stderr = child.stderr.take().unwrap();
    // The reader ends when the last holder of the pipe (the runtime, or an init that outlives
    // it until delete) closes it; it never blocks the test.
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    match at {
        KillAt::Line(want) => {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                match rx.recv_timeout(Duration::from_millis(20)) {
                    Ok(line) if line.contains(want) => break,
                    Ok(_) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        if child.try_wait().unwrap().is_some() || Instant::now() > deadline {
                            break;
                        }
                    }
                }
            }
        }
        KillAt::After(d) => std::thread::sleep(*d),
    }
    if matches!(at, KillAt::Line(_)) {
        // Stopped at this step, the runtime leaves init to go on alone (to READY, and the
        // wait for `start`) before it dies: the instant after init dropped its parent-death
        // signal and before state.json, too.
        unsafe { libc::kill(child.id() as i32, libc::SIGSTOP) };
        std::thread::sleep(Duration::from_millis(15));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Nothing of the container is left. runc 1.1 may leave the cgroups of a create killed before
/// its state.json existed (its delete removes only the directory), with its `runc init` alive
/// in them when killed late: for runc these are noted, killed and removed here (the test
/// cleans up after the reference too); the rest is asserted as for husk.
#[track_caller]
fn assert_nothing_left_after_kill(env: &TestEnv, id: &str, what: &str) {
    if is_runc() {
        let mut left = cgroups_named(id);
        left.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
        for cg in left {
            let procs = std::fs::read_to_string(cg.join("cgroup.procs")).unwrap_or_default();
            for pid in procs
                .split_whitespace()
                .filter_map(|p| p.parse::<i32>().ok())
            {
                eprintln!("{what}: runc left process {pid} in {}", cg.display());
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            while std::fs::remove_dir(&cg).is_err() && cg.exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    env.assert_nothing_left(id);
}

/// After a kill: `delete -f` succeeds and leaves nothing; the id can be created again.
#[track_caller]
fn check_recovery(env: &TestEnv, id: &str, what: &str) {
    let out = env.rt(&["delete", "--force", id]);
    assert!(
        out.ok(),
        "{what}: delete -f failed: {}\n{}",
        out.stderr,
        out.stdout
    );
    assert_nothing_left_after_kill(env, id, what);
    let out = env.create(id);
    assert!(
        out.ok(),
        "{what}: the id cannot be created again: {}",
        out.stderr
    );
    env.rt(&["delete", "--force", id]).expect_ok();
    env.assert_nothing_left(id);
}

fn fault_config(env: &TestEnv, id: &str, extra_ns: Option<&str>) -> Value {
    let mut c = env.config(&sh("exit 0", id));
    if let Some(ns) = extra_ns {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": ns}));
    }
    c
}

fn kill_at_every_point(name: &str, extra_ns: Option<&str>) {
    let env = TestEnv::new(name);
    let id = env.id("c");
    env.write_config(&fault_config(&env, &id, extra_ns));
    let mut points: Vec<KillAt> = STEPS.iter().map(|s| KillAt::Line(s)).collect();
    points.extend(
        DELAYS_US
            .iter()
            .map(|us| KillAt::After(Duration::from_micros(*us))),
    );
    for at in &points {
        let what = match at {
            KillAt::Line(l) => format!("killed at {l:?}"),
            KillAt::After(d) => format!("killed after {d:?}"),
        };
        create_and_kill(&env, &id, at);
        check_recovery(&env, &id, &what);
    }
    // And the id still runs a container to its end.
    env.create(&id).expect_ok();
    env.rt(&["start", &id]).expect_ok();
    env.wait_status(&id, "stopped");
    env.rt(&["delete", &id]).expect_ok();
    env.assert_nothing_left(&id);
}

/// One clone straight into init (the common path).
#[test]
fn create_killed_at_any_point_leaves_nothing_after_delete_force() {
    kill_at_every_point("fault1", None);
}

/// Two stages (a new time namespace is made by a first stage that forks init).
#[test]
fn create_killed_at_any_point_two_stages_leaves_nothing() {
    // runc 1.1 has no time namespace.
    if is_runc() || !std::path::Path::new("/proc/self/ns/time").exists() {
        return;
    }
    kill_at_every_point("fault2", Some("time"));
}

/// A half-created container (state dir, cgroups, no state.json) is removed by `delete -f`,
/// cgroups included, and a live init in it is killed; made here deterministically by a
/// createRuntime hook that kills the runtime itself while init waits for the hooks.
#[test]
fn delete_force_of_a_half_created_container_kills_and_removes_everything() {
    let env = TestEnv::new("halfmade");
    let id = env.id("c");
    let mut c = fault_config(&env, &id, None);
    // The hook's parent is the runtime: it dies there (SIGKILL, no cleanup), after it made
    // the cgroups and before state.json.
    c["hooks"] = json!({"createRuntime": [{
        "path": "/bin/sh",
        "args": ["sh", "-c", "kill -KILL $PPID"]
    }]});
    env.write_config(&c);
    let out = env.create(&id);
    assert!(!out.ok(), "create should have been killed by its hook");
    let dir = env.root.join(&id);
    assert!(dir.is_dir(), "the half-made state dir should be there");
    assert!(
        !dir.join("state.json").exists(),
        "state.json should not exist yet"
    );
    let out = env.rt(&["delete", "--force", &id]);
    assert!(out.ok(), "delete -f failed: {}", out.stderr);
    assert_nothing_left_after_kill(&env, &id, "killed by its hook");
    // The id is free again (no "cgroup is not empty").
    let mut c = fault_config(&env, &id, None);
    c["hooks"] = json!({});
    env.write_config(&c);
    env.create(&id).expect_ok();
    env.rt(&["delete", "--force", &id]).expect_ok();
    env.assert_nothing_left(&id);
}

/// An init that stops answering during setup (stopped here by a createRuntime hook) makes
/// `create` fail with an error that names the step, and leaves nothing; it never waits for
/// ever. HUSK_SETUP_TIMEOUT shortens the limit for the test. runc waits for ever here.
#[test]
fn create_fails_when_init_stalls_during_setup() {
    if is_runc() {
        return;
    }
    let env = TestEnv::new("stall");
    let id = env.id("c");
    let mut c = fault_config(&env, &id, None);
    c["hooks"] = json!({"createRuntime": [{
        "path": "/bin/sh",
        "args": ["sh", "-c", "pid=$(sed -n 's/.*\"pid\": *\\([0-9]*\\).*/\\1/p'); kill -STOP $pid"]
    }]});
    env.write_config(&c);
    let mut child = Command::new(runtime())
        .arg("--root")
        .arg(&env.root)
        .args(["create", "--bundle"])
        .arg(&env.bundle)
        .arg(&id)
        .env("HUSK_SETUP_TIMEOUT", "2")
        .current_dir(&env.dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the runtime");
    let status = wait_guarded(&mut child, "create with a stalled init");
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(!status.success(), "create should fail");
    assert!(
        err.contains("did not answer") && err.contains("stopped"),
        "the error should say init stalled, and how: {err}"
    );
    assert!(
        err.contains("createContainer hooks"),
        "the error should name the step: {err}"
    );
    env.assert_nothing_left(&id);
}
