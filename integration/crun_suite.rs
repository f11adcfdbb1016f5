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
