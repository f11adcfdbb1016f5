//! Behaviour found by running crun's test suite against husk, where runc (the reference)
//! behaves the same way: each test checks what runc does, and passes against runc too.

use crate::support::*;
use serde_json::{json, Value};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

/// A writable copy of the test rootfs under the test's work dir.
fn rootfs_copy(env: &TestEnv) -> PathBuf {
    let dst = env.dir.join("rootfs");
    let st = Command::new("cp")
        .arg("-a")
        .arg(&env.rootfs)
        .arg(&dst)
        .status()
        .expect("cp -a rootfs");
    assert!(st.success(), "copying the rootfs failed");
    dst
}

fn run(env: &TestEnv, id: &str, config: &Value) -> Outcome {
    env.write_config(config);
    env.rt(&["run", "--bundle", env.bundle.to_str().unwrap(), id])
}

/// A process.cwd the image lacks is created (with its parents) before root.readonly makes the
/// rootfs read-only, as runc does; the process starts in it.
#[test]
fn missing_cwd_is_created_even_with_a_readonly_root() {
    let env = TestEnv::new("cwdmake");
    let id = env.id("c");
    let rootfs = rootfs_copy(&env);
    let mut c = env.config(&sh("pwd", &id));
    c["root"] = json!({"path": rootfs, "readonly": true});
    c["process"]["cwd"] = json!("/not/in/the/image");
    let out = run(&env, &id, &c).expect_ok();
    assert_eq!(out.stdout.trim(), "/not/in/the/image", "{out:?}");
    assert!(rootfs.join("not/in/the/image").is_dir());
    env.assert_nothing_left(&id);
}

/// kernel.hostname may not be set as a sysctl, not even with a UTS namespace: the hostname
/// field is for that (runc: "conflicts with the OCI hostname field"). kernel.domainname may.
#[test]
fn sysctl_kernel_hostname_is_refused() {
    let env = TestEnv::new("sysctlhost");
    let id = env.id("c");
    let mut c = env.config(&["true"]);
    c["linux"]["sysctl"] = json!({"kernel.hostname": "other"});
    env.write_config(&c);
    let out = env.create(&id);
    assert_clean_failure(&out, &["linux.sysctl", "kernel.hostname"]);
    env.assert_nothing_left(&id);

    let id2 = env.id("dom");
    let mut c = env.config(&sh("cat /proc/sys/kernel/domainname", &id2));
    c["linux"]["sysctl"] = json!({"kernel.domainname": "husk.example"});
    let out = run(&env, &id2, &c).expect_ok();
    assert_eq!(out.stdout.trim(), "husk.example");
    env.assert_nothing_left(&id2);
}

/// A tmpfs without mode= over a directory of the image takes that directory's mode (also when
/// mounted read-only); on a directory the runtime creates it keeps tmpfs's 1777. An explicit
/// mode= wins in husk; runc 1.1 chmods the tmpfs to the mount point's mode even then.
#[test]
fn tmpfs_without_mode_keeps_the_mode_of_its_mount_point() {
    let env = TestEnv::new("tmpfsmode");
    let id = env.id("c");
    let rootfs = rootfs_copy(&env);
    for d in ["kept", "explicit"] {
        fs::create_dir(rootfs.join(d)).unwrap();
        fs::set_permissions(rootfs.join(d), fs::Permissions::from_mode(0o712)).unwrap();
    }
    let mut c = env.config(&sh("stat -c %a /kept /made /explicit", &id));
    c["root"] = json!({"path": rootfs, "readonly": true});
    let mounts = c["mounts"].as_array_mut().unwrap();
    mounts.push(
        json!({"destination": "/kept", "type": "tmpfs", "source": "tmpfs", "options": ["ro"]}),
    );
    mounts.push(json!({"destination": "/made", "type": "tmpfs", "source": "tmpfs"}));
    mounts.push(
        json!({"destination": "/explicit", "type": "tmpfs", "source": "tmpfs",
                       "options": ["mode=755"]}),
    );
    let out = run(&env, &id, &c).expect_ok();
    let modes: Vec<&str> = out.stdout.split_whitespace().collect();
    assert_eq!(modes[..2], ["712", "1777"], "{out:?}");
    if !is_runc() {
        assert_eq!(modes[2], "755", "{out:?}");
    }
    env.assert_nothing_left(&id);
}

/// A mount destination that is a dangling symlink of the image (relative, absolute, and a
/// chain) is followed inside the rootfs: the missing target is made there (a file for a file
/// source) and mounted, as runc does; the host path the absolute link names gets nothing.
#[test]
fn mount_on_a_dangling_symlink_makes_the_target_inside_the_rootfs() {
    let env = TestEnv::new("mntdangling");
    let id = env.id("c");
    let rootfs = rootfs_copy(&env);
    // Not under /tmp, which the config covers with a tmpfs.
    let host = PathBuf::from(format!("/var/lib/{}-host-side", env.name));
    std::os::unix::fs::symlink("../made/here", rootfs.join("etc/rel-link")).unwrap();
    std::os::unix::fs::symlink(&host, rootfs.join("abs-link")).unwrap();
    std::os::unix::fs::symlink("chain2/x", rootfs.join("chain1")).unwrap();
    std::os::unix::fs::symlink("/deep/er", rootfs.join("chain2")).unwrap();
    let src = env.dir.join("src-file");
    fs::write(&src, "from the host\n").unwrap();
    let mut c = env.config(&sh("cat /etc/rel-link; ls -d /abs-link/d /chain1/d", &id));
    c["root"] = json!({"path": rootfs, "readonly": false});
    let mounts = c["mounts"].as_array_mut().unwrap();
    mounts.push(
        json!({"destination": "/etc/rel-link", "type": "bind", "source": src,
                       "options": ["bind", "ro"]}),
    );
    mounts.push(json!({"destination": "/abs-link/d", "type": "tmpfs", "source": "tmpfs"}));
    mounts.push(json!({"destination": "/chain1/d", "type": "tmpfs", "source": "tmpfs"}));
    let out = run(&env, &id, &c).expect_ok();
    assert_eq!(
        out.stdout.split_whitespace().collect::<Vec<_>>(),
        ["from", "the", "host", "/abs-link/d", "/chain1/d"],
        "{out:?}"
    );
    assert!(rootfs.join("made/here").is_file());
    assert!(rootfs
        .join(host.strip_prefix("/").unwrap())
        .join("d")
        .is_dir());
    assert!(rootfs.join("deep/er/x/d").is_dir());
    assert!(!host.exists(), "made on the host");
    env.assert_nothing_left(&id);
}

/// In a container with its own user namespace (root mapped to an unprivileged host uid), a
/// bind mount whose source sits below a directory of mode 000 is still mounted, its path given
/// directly or through a symlink: as runc does, the source is opened with the runtime's
/// privileges, not the container's.
#[test]
fn userns_bind_source_behind_a_closed_directory_is_mounted() {
    let env = TestEnv::new("usernsbind");
    let closed = env.dir.join("closed");
    fs::create_dir_all(closed.join("m")).unwrap();
    fs::write(closed.join("m/content"), "hello\n").unwrap();
    std::os::unix::fs::symlink(closed.join("m"), closed.join("link")).unwrap();
    fs::set_permissions(&closed, fs::Permissions::from_mode(0o000)).unwrap();
    for src in ["m", "link"] {
        let id = env.id(src);
        let mut c = env.config(&sh("cat /tmp/foo/content", &id));
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "user"}));
        c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/tmp/foo", "type": "bind", "source": closed.join(src),
            "options": ["bind", "ro"]
        }));
        let out = run(&env, &id, &c).expect_ok();
        assert_eq!(out.stdout.trim(), "hello", "{src}: {out:?}");
        env.assert_nothing_left(&id);
    }
}

/// A mount onto "/" itself replaces the rootfs the container sees, and later mounts go on top
/// of it, as runc does: a bind of another tree (its marker file is seen, /proc is mounted in
/// it), and a tmpfs with tmpcopyup (a copy of the image, writable, that the image never sees).
#[test]
fn mount_onto_the_root_itself_becomes_the_containers_root() {
    let env = TestEnv::new("mntroot");
    let rootfs = rootfs_copy(&env);
    let other = env.dir.join("other");
    let st = Command::new("cp")
        .arg("-a")
        .arg(&env.rootfs)
        .arg(&other)
        .status()
        .unwrap();
    assert!(st.success());
    fs::write(other.join("marker"), "other tree\n").unwrap();

    let id = env.id("bind");
    let mut c = env.config(&sh(
        "cat /marker; test -e /proc/self/status && echo proc",
        &id,
    ));
    c["root"] = json!({"path": rootfs, "readonly": false});
    c["mounts"].as_array_mut().unwrap().insert(
        0,
        json!({"destination": "/", "type": "bind", "source": other, "options": ["rbind"]}),
    );
    let out = run(&env, &id, &c).expect_ok();
    assert_eq!(
        out.stdout.lines().collect::<Vec<_>>(),
        ["other tree", "proc"],
        "{out:?}"
    );
    env.assert_nothing_left(&id);

    let id = env.id("tmpfs");
    let mut c = env.config(&sh(
        "test -x /bin/sh && touch /made-in-tmpfs && grep ' / / ' /proc/self/mountinfo",
        &id,
    ));
    c["root"] = json!({"path": rootfs, "readonly": false});
    c["mounts"].as_array_mut().unwrap().insert(
        0,
        json!({"destination": "/", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup"]}),
    );
    let out = run(&env, &id, &c).expect_ok();
    assert!(out.stdout.contains(" - tmpfs "), "{out:?}");
    assert!(
        !rootfs.join("made-in-tmpfs").exists(),
        "written to the image"
    );
    env.assert_nothing_left(&id);
}

/// A filter that would kill init (defaultAction SCMP_ACT_KILL, nothing allowed) makes `run`
/// fail at once, naming linux.seccomp (the runtime sees before clone that execve would be
/// refused), and leaves nothing behind. runc 1.1 waits forever here, so this is husk's promise
/// only.
#[test]
fn init_killed_by_its_seccomp_filter_during_setup_fails_run() {
    if is_runc() {
        return;
    }
    let env = TestEnv::new("seccompkill");
    let id = env.id("c");
    let mut c = env.config(&["true"]);
    c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_KILL", "syscalls": []});
    let out = run(&env, &id, &c);
    assert_clean_failure(&out, &["linux.seccomp", "execve"]);
    env.assert_nothing_left(&id);
}
