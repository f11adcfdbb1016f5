//! SELinux labels on a host where SELinux is really enabled: process.selinuxLabel is the label
//! the container's program runs with, linux.mountLabel the context of its tmpfs, devpts and
//! mqueue mounts, `exec --process-label` labels the exec'd process, and a label the loaded
//! policy does not define fails before anything exists.
//!
//! This host has no SELinux, so every test here is skipped with a message; `make test-selinux`
//! runs them in a VM booted with `security=selinux` and Debian's default policy loaded in
//! permissive mode (integration/vm/test-selinux.sh). Permissive is enough: the kernel applies
//! and reports labels exactly as when enforcing, it only does not deny.
//!
//! The labels are MCS labels of types every reference-policy-derived policy has (Debian's has
//! no container_t); a policy without them skips the tests, saying which label it refused.

use crate::support::*;
use serde_json::json;
use std::fs;
use std::path::Path;

/// The process label of the tests: a domain with categories, as engines give containers.
const PROCESS_LABEL: &str = "system_u:system_r:unconfined_t:s0:c1,c2";
/// A second one, for exec'd processes, so that they cannot just have inherited the first.
const EXEC_LABEL: &str = "system_u:system_r:unconfined_t:s0:c3,c4";
/// The mount label: the tmpfs file type with the same categories.
const MOUNT_LABEL: &str = "system_u:object_r:tmpfs_t:s0:c1,c2";
/// Well-formed, unknown to any policy.
const BOGUS_LABEL: &str = "husk_test_u:husk_test_r:husk_test_t:s0";

const SELINUXFS: &str = "/sys/fs/selinux";

/// True when SELinux is enabled and the loaded policy defines every label the tests use;
/// otherwise prints why `test` is skipped.
fn selinux_ready(test: &str) -> bool {
    if !Path::new(SELINUXFS).join("enforce").is_file() {
        println!(
            "skipped {test}: SELinux is not enabled on this host ({SELINUXFS}/enforce missing); `make test-selinux` runs it in a VM"
        );
        return false;
    }
    for l in [PROCESS_LABEL, EXEC_LABEL, MOUNT_LABEL] {
        if !valid_in_policy(l) {
            println!("skipped {test}: the loaded SELinux policy does not define {l}");
            return false;
        }
    }
    true
}

/// The kernel's answer to "is this a context of the loaded policy" (selinuxfs `context`).
fn valid_in_policy(label: &str) -> bool {
    fs::OpenOptions::new()
        .write(true)
        .open(Path::new(SELINUXFS).join("context"))
        .and_then(|mut f| std::io::Write::write(&mut f, label.as_bytes()))
        .is_ok()
}

/// A label as /proc/*/attr/* and security.selinux give it: the kernel may end it with a NUL
/// (and some readers with a newline); neither is part of the label.
fn clean(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw)
        .trim_end_matches(['\0', '\n'])
        .to_string()
}

fn attr(pid: i64, name: &str) -> String {
    let p = format!("/proc/{pid}/attr/{name}");
    clean(&fs::read(&p).unwrap_or_else(|e| panic!("reading {p}: {e}")))
}

/// The security.selinux attribute of `path` (on the host, e.g. through /proc/PID/root).
fn file_label(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    let mut buf = vec![0u8; 1024];
    // SAFETY: getxattr into a buffer of the given length, with NUL-terminated names.
    let n = unsafe {
        libc::getxattr(
            c.as_ptr(),
            c"security.selinux".as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    assert!(
        n >= 0,
        "getxattr security.selinux of {}: {}",
        path.display(),
        std::io::Error::last_os_error()
    );
    clean(&buf[..n as usize])
}

fn init_pid(env: &TestEnv, id: &str) -> i64 {
    env.state(id)["pid"].as_i64().expect("state has a pid")
}

fn with_userns(c: &mut serde_json::Value) {
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 0, "size": 65536}]);
    c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 0, "size": 65536}]);
}

/// (a) process.selinuxLabel is the label of the container's program, exactly, as it reads its
/// own /proc/self/attr/current; while the container is created (init waits for `start`) the
/// label is already queued in init's attr/exec (and was used for its session keyring) and init
/// itself still runs with the runtime's label. The same with a user namespace, where init writes through the host's procfs.
#[test]
fn selinux_process_label_is_the_programs_label() {
    if !selinux_ready("selinux_process_label_is_the_programs_label") {
        return;
    }
    let env = TestEnv::new("selproc");
    let runtime_label = attr(std::process::id() as i64, "current");
    for userns in [false, true] {
        let id = env.id(if userns { "userns" } else { "plain" });
        let out = env.share().join(format!("{id}.cur"));
        let script = format!("cat /proc/self/attr/current > {}", out.display());
        let mut c = env.config(&sh(&script, &id));
        c["process"]["selinuxLabel"] = json!(PROCESS_LABEL);
        if userns {
            with_userns(&mut c);
        }
        env.write_config(&c);
        env.create(&id).expect_ok();
        let pid = init_pid(&env, &id);
        assert_eq!(
            attr(pid, "exec"),
            PROCESS_LABEL,
            "userns={userns}: init's attr/exec"
        );
        // Its session keyring was created with the label (the kernel resets keycreate at exec).
        assert_eq!(
            attr(pid, "keycreate"),
            PROCESS_LABEL,
            "userns={userns}: init's attr/keycreate"
        );
        assert_eq!(
            attr(pid, "current"),
            runtime_label,
            "userns={userns}: init before exec runs with the runtime's label"
        );
        env.rt(&["start", &id]).expect_ok();
        env.wait_file(&out);
        env.wait_status(&id, "stopped");
        assert_eq!(
            clean(&fs::read(&out).unwrap()),
            PROCESS_LABEL,
            "userns={userns}: the program's /proc/self/attr/current"
        );
        env.rt(&["delete", &id]).expect_ok();
        env.assert_nothing_left(&id);
    }
}

/// (b) Without a label nothing is written: init's attr/exec and attr/keycreate stay empty and
/// the program keeps the label the runtime runs with (here the test's own, which it inherits).
#[test]
fn selinux_no_label_keeps_the_runtimes_label() {
    if !selinux_ready("selinux_no_label_keeps_the_runtimes_label") {
        return;
    }
    let env = TestEnv::new("selnone");
    let id = env.id("c");
    let out = env.share().join("cur");
    let script = format!("cat /proc/self/attr/current > {}", out.display());
    env.write_config(&env.config(&sh(&script, &id)));
    env.create(&id).expect_ok();
    let pid = init_pid(&env, &id);
    assert_eq!(attr(pid, "exec"), "", "init's attr/exec was written");
    assert_eq!(
        attr(pid, "keycreate"),
        "",
        "init's attr/keycreate was written"
    );
    env.rt(&["start", &id]).expect_ok();
    env.wait_file(&out);
    env.wait_status(&id, "stopped");
    let runtime_label = attr(std::process::id() as i64, "current");
    assert!(!runtime_label.is_empty(), "the test process has no label");
    assert_eq!(clean(&fs::read(&out).unwrap()), runtime_label);
    env.rt(&["delete", &id]).expect_ok();
    env.assert_nothing_left(&id);
}

/// (c) linux.mountLabel is the context of the container's own mounts that take one: the tmpfs
/// mounts show `context="LABEL"` in the container's mountinfo and their root carries the label,
/// as does devpts; mqueue (which refuses context=) gets it as an xattr on its root. proc and
/// sysfs keep the labels the policy gives them. Also with a user namespace, whose mounts the
/// kernel lets take context= only for some filesystems (tmpfs, devpts among them).
#[test]
fn selinux_mount_label_labels_the_container_mounts() {
    if !selinux_ready("selinux_mount_label_labels_the_container_mounts") {
        return;
    }
    let env = TestEnv::new("selmnt");
    for userns in [false, true] {
        let id = env.id(if userns { "userns" } else { "plain" });
        let out = env.share().join(format!("{id}.mountinfo"));
        let script = format!(
            "cat /proc/self/mountinfo > {o}.tmp && mv {o}.tmp {o} && sleep 100000",
            o = out.display()
        );
        let mut c = env.config(&sh(&script, &id));
        c["linux"]["mountLabel"] = json!(MOUNT_LABEL);
        if userns {
            with_userns(&mut c);
        }
        env.write_config(&c);
        env.rt(&["run", "-d", "--bundle", env.bundle.to_str().unwrap(), &id])
            .expect_ok();
        env.wait_file(&out);
        let mountinfo = fs::read_to_string(&out).unwrap();
        let line_of = |target: &str| {
            mountinfo
                .lines()
                .find(|l| l.split(' ').nth(4) == Some(target))
                .unwrap_or_else(|| panic!("userns={userns}: no mount at {target} in:\n{mountinfo}"))
                .to_string()
        };
        // The kernel quotes the context in mount options when it has a comma (the categories).
        let context = format!("context=\"{MOUNT_LABEL}\"");
        for target in ["/dev", "/dev/shm", "/tmp", "/dev/pts"] {
            let line = line_of(target);
            assert!(
                line.contains(&context),
                "userns={userns}: {target}: no {context}: {line}"
            );
        }
        for target in ["/proc", "/sys"] {
            let line = line_of(target);
            assert!(
                !line.contains("context="),
                "userns={userns}: {target} got a context: {line}"
            );
        }
        let root = format!("/proc/{}/root", init_pid(&env, &id));
        for target in ["dev", "dev/shm", "tmp", "dev/pts", "dev/mqueue"] {
            assert_eq!(
                file_label(&Path::new(&root).join(target)),
                MOUNT_LABEL,
                "userns={userns}: label of the container's /{target}"
            );
        }
        env.rt(&["delete", "--force", &id]).expect_ok();
        env.assert_nothing_left(&id);
    }
}

/// (d) A label the loaded policy does not define fails `create` before anything exists, with
/// one line naming the field: the process label and the mount label alike.
#[test]
fn selinux_label_unknown_to_the_policy_fails_create() {
    if !selinux_ready("selinux_label_unknown_to_the_policy_fails_create") {
        return;
    }
    assert!(
        !valid_in_policy(BOGUS_LABEL),
        "the policy defines {BOGUS_LABEL}"
    );
    let env = TestEnv::new("selbad");
    for (field, pointer) in [
        ("process.selinuxLabel", "/process/selinuxLabel"),
        ("linux.mountLabel", "/linux/mountLabel"),
    ] {
        let id = env.id(field.split('.').next_back().unwrap());
        let mut c = env.config(&["true"]);
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        c.pointer_mut(parent).unwrap()[key] = json!(BOGUS_LABEL);
        env.write_config(&c);
        let out = env.create(&id);
        assert_clean_failure(&out, &[field, BOGUS_LABEL]);
        env.assert_nothing_left(&id);
    }
}

/// (e) `exec --process-label` runs the process with that label; without the flag an exec'd
/// process gets the container's process.selinuxLabel (as runc does); a label unknown to the
/// policy fails the exec, naming --process-label, and the container runs on. Also in a user
/// namespace.
#[test]
fn selinux_exec_process_label() {
    if !selinux_ready("selinux_exec_process_label") {
        return;
    }
    let env = TestEnv::new("selexec");
    for userns in [false, true] {
        let id = env.id(if userns { "userns" } else { "plain" });
        let mut c = env.config(&sh("sleep 100000", &id));
        c["process"]["selinuxLabel"] = json!(PROCESS_LABEL);
        if userns {
            with_userns(&mut c);
        }
        env.write_config(&c);
        env.rt(&["run", "-d", "--bundle", env.bundle.to_str().unwrap(), &id])
            .expect_ok();
        env.wait_status(&id, "running");

        let out = env
            .rt(&[
                "exec",
                "--process-label",
                EXEC_LABEL,
                &id,
                "cat",
                "/proc/self/attr/current",
            ])
            .expect_ok();
        assert_eq!(clean(out.stdout.as_bytes()), EXEC_LABEL, "userns={userns}");

        let out = env
            .rt(&["exec", &id, "cat", "/proc/self/attr/current"])
            .expect_ok();
        assert_eq!(
            clean(out.stdout.as_bytes()),
            PROCESS_LABEL,
            "userns={userns}: exec without --process-label"
        );

        let out = env.rt(&["exec", "--process-label", BOGUS_LABEL, &id, "true"]);
        assert_clean_failure(&out, &["--process-label", BOGUS_LABEL]);
        assert_eq!(env.status(&id), "running");

        env.rt(&["delete", "--force", &id]).expect_ok();
        env.assert_nothing_left(&id);
    }
}
