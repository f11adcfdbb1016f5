//! Behaviour engines rely on (issue 12, items 9-13): the loopback interface of a new network
//! namespace, containers without a mount namespace, spec fields husk does not implement, and
//! errors on values past the kernel's limits.

use crate::support::*;
use serde_json::{json, Value};

fn run(env: &TestEnv, id: &str) -> Outcome {
    env.rt(&["run", "--bundle", env.bundle.to_str().unwrap(), id])
}

fn create_fails(env: &TestEnv, id: &str, names: &[&str]) -> Outcome {
    let out = env.create(id);
    assert_clean_failure(&out, names);
    env.assert_nothing_left(id);
    out
}

/// `podman run --network none` and pods whose containers talk over localhost need `lo` up in
/// the new network namespace (runc and crun bring it up). Checked from inside: the flags
/// ip(8) shows, and a TCP connection to 127.0.0.1 (bounded by busybox timeout, a guard; the
/// listener's stdin stays open a while, as busybox nc stops at EOF on it).
#[test]
fn loopback_is_up_in_a_new_network_namespace() {
    let env = TestEnv::new("lo-up");
    let id = env.id("c");
    let script = "ip link show lo; \
        sleep 3 | timeout 10 nc -l -p 5555 > /tmp/got & \
        for i in 1 2 3 4 5 6 7 8 9 10; do echo hello | nc 127.0.0.1 5555 && break; sleep 0.2; done; \
        wait; echo got=$(cat /tmp/got)";
    env.write_config(&env.config(&sh(script, &id)));
    let out = run(&env, &id);
    assert_eq!(out.code(), Some(0), "{out:?}");
    let first = out.stdout.lines().next().unwrap_or("");
    assert!(
        first.contains("lo:") && first.contains(",UP"),
        "lo is not up: {out:?}"
    );
    assert!(out.stdout.contains("got=hello"), "{out:?}");
    env.assert_nothing_left(&id);
}

/// A config without a mount namespace and without anything that needs one.
fn no_mount_ns_config(env: &TestEnv, args: &[&str]) -> Value {
    let mut c = env.config(args);
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["type"] != "mount");
    c["mounts"] = json!([]);
    c["root"]["readonly"] = json!(false);
    let linux = c["linux"].as_object_mut().unwrap();
    linux.remove("maskedPaths");
    linux.remove("readonlyPaths");
    c
}

/// runc and crun run a container without a mount namespace in the caller's, chrooted into
/// the rootfs (no pivot_root, no mounts). husk did refuse it ("a mount namespace is required").
/// The process and an exec'd one must see the rootfs as "/" and be in the runtime's mount
/// namespace. Skipped on runc 1.1: with nothing mounted its init cannot open /proc/self/fd
/// (it only works there when the config mounts /proc, which runc then mounts on the host).
#[test]
fn no_mount_namespace_runs_chrooted_in_the_callers() {
    if is_runc() {
        eprintln!("SKIPPED: runc 1.1 needs a /proc it mounts on the host");
        return;
    }
    let env = TestEnv::new("no-mntns");
    let id = env.id("c");
    env.write_config(&no_mount_ns_config(&env, &sh("sleep 100000", &id)));
    env.create(&id).expect_ok();
    let pid = env.state(&id)["pid"].as_i64().unwrap();
    let ns = |p: &str| std::fs::read_link(p).unwrap();
    assert_eq!(
        ns(&format!("/proc/{pid}/ns/mnt")),
        ns("/proc/self/ns/mnt"),
        "the container should share the runtime's mount namespace"
    );
    assert_eq!(
        std::fs::canonicalize(format!("/proc/{pid}/root")).unwrap(),
        env.rootfs,
        "the container's root should be its rootfs"
    );
    env.rt(&["start", &id]).expect_ok();
    let out = env
        .rt(&[
            "exec",
            &id,
            "sh",
            "-c",
            "ls -d /bin/busybox; ls -d /tmp/husk-test* 2>&1; true",
        ])
        .expect_ok();
    assert!(out.stdout.starts_with("/bin/busybox"), "{out:?}");
    assert!(
        out.stdout.contains("No such file"),
        "exec must be inside the rootfs, not the host's /: {out:?}"
    );
    env.rt(&["delete", "-f", &id]).expect_ok();
    env.assert_nothing_left(&id);
}

/// What would need a mount is refused without a mount namespace, naming the field (runc
/// refuses masked and read-only paths; the rest it would mount on the host, or skip).
#[test]
fn no_mount_namespace_refuses_what_needs_a_mount() {
    let env = TestEnv::new("no-mntns-refused");
    let base = no_mount_ns_config(&env, &["true"]);
    type Edit = fn(&mut Value);
    let cases: [(&str, Edit); 5] = [
        ("linux.maskedPaths", |c| {
            c["linux"]["maskedPaths"] = json!(["/proc/kcore"])
        }),
        ("linux.readonlyPaths", |c| {
            c["linux"]["readonlyPaths"] = json!(["/proc/sys"])
        }),
        (
            "mounts",
            |c| c["mounts"] = json!([{"destination": "/proc", "type": "proc", "source": "proc"}]),
        ),
        ("root.readonly", |c| c["root"]["readonly"] = json!(true)),
        ("linux.rootfsPropagation", |c| {
            c["linux"]["rootfsPropagation"] = json!("shared")
        }),
    ];
    for (i, (field, edit)) in cases.iter().enumerate() {
        // runc mounts those on the host instead of refusing (and skips root.readonly).
        if is_runc() && !field.contains("Paths") {
            continue;
        }
        let id = env.id(&format!("c{i}"));
        let mut c = base.clone();
        edit(&mut c);
        env.write_config(&c);
        create_fails(&env, &id, &[field, "mount namespace"]);
    }
}

/// Spec fields husk does not implement fail, naming the field, instead of running as if they
/// were absent. runc 1.1 ignores most of them, so the cases are husk's.
#[test]
fn unimplemented_spec_fields_are_refused() {
    if is_runc() {
        eprintln!("SKIPPED: runc 1.1 ignores these fields");
        return;
    }
    let env = TestEnv::new("unimplemented");
    type Edit = fn(&mut Value);
    let cases: [(&str, Edit); 2] = [
        ("linux.personality.flags", |c| {
            c["linux"]["personality"] = json!({"domain": "LINUX", "flags": ["x"]})
        }),
        ("vm", |c| c["vm"] = json!({"kernel": {"path": "/vmlinuz"}})),
    ];
    for (i, (field, edit)) in cases.iter().enumerate() {
        let id = env.id(&format!("c{i}"));
        let mut c = env.config(&["true"]);
        edit(&mut c);
        env.write_config(&c);
        create_fails(&env, &id, &[field]);
    }
    // Empty values ask for nothing, and unknown fields stay ignored (the spec's rule).
    let id = env.id("empty");
    let mut c = env.config(&["true"]);
    c["linux"]["netDevices"] = json!({});
    c["process"]["execCPUAffinity"] = json!({});
    c["linux"]["someFutureField"] = json!({"x": 1});
    env.write_config(&c);
    assert_eq!(run(&env, &id).code(), Some(0));
    env.assert_nothing_left(&id);
}

/// Values past the kernel's limits fail naming the field and quoting the start of the value,
/// not "the container's init exited during setup"; a bad tmpfs option is quoted.
#[test]
fn oversized_values_and_bad_mount_options_name_field_and_value() {
    let env = TestEnv::new("oversized");
    let big = "a".repeat(10 << 20);
    let big_path = format!("/{}", "d".repeat(10 << 20));
    let cases: Vec<(&str, String, Box<dyn Fn(&mut Value)>)> = vec![
        (
            "hostname",
            "\"aaaa".into(),
            Box::new(|c| c["hostname"] = json!(big)),
        ),
        (
            "process.args[3]",
            "\"aaaa".into(),
            Box::new(|c| c["process"]["args"][3] = json!(big)),
        ),
        (
            "process.cwd",
            "/dddd".into(),
            Box::new(|c| c["process"]["cwd"] = json!(big_path)),
        ),
        (
            "mounts[6].destination",
            "/dddd".into(),
            Box::new(|c| c["mounts"][6]["destination"] = json!(big_path)),
        ),
        (
            "mounts[6]",
            "size=abc".into(),
            Box::new(|c| c["mounts"][6]["options"] = json!(["size=abc"])),
        ),
    ];
    for (i, (field, value, edit)) in cases.iter().enumerate() {
        // runc's create succeeds: its execve fails with E2BIG at start.
        if is_runc() && field.starts_with("process.args") {
            continue;
        }
        let id = env.id(&format!("c{i}"));
        let mut c = env.config(&sh("true", &id));
        edit(&mut c);
        env.write_config(&c);
        let out = create_fails(&env, &id, &[field, value]);
        assert!(
            is_runc() || out.stderr.len() < 1024,
            "the message should quote a shortened value: {} bytes",
            out.stderr.len()
        );
    }
}
