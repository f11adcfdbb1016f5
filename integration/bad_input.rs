//! Bad input: every case must fail with a non-zero status and one line on stderr that names
//! what was wrong (husk; runc is only held to "fails cleanly"), never panic, and leave no state
//! dir, mount, process or cgroup behind.

use crate::support::*;
use serde_json::{json, Value};
use std::fs;

/// Write `config` (a JSON value, or raw text) and expect `create` to fail naming `names`.
fn create_fails(env: &TestEnv, id: &str, names: &[&str]) -> Outcome {
    let out = env.create(id);
    assert_clean_failure(&out, names);
    env.assert_nothing_left(id);
    out
}

fn with_config(name: &str, edit: impl FnOnce(&TestEnv, &mut Value)) -> (TestEnv, String) {
    let env = TestEnv::new(name);
    let id = env.id("c");
    let mut config = env.config(&sh("sleep 100000", &id));
    edit(&env, &mut config);
    env.write_config(&config);
    (env, id)
}

#[test]
fn config_json_missing() {
    let env = TestEnv::new("nocfg");
    let id = env.id("c");
    create_fails(&env, &id, &["config.json"]);
}

#[test]
fn config_json_not_json() {
    let env = TestEnv::new("notjson");
    let id = env.id("c");
    fs::write(env.bundle.join("config.json"), "this is { not json").unwrap();
    create_fails(&env, &id, &["config.json"]);
}

#[test]
fn wrong_type_in_field() {
    let (env, id) = with_config("wrongtype", |_, c| {
        c["process"]["args"] = json!("sh -c true")
    });
    create_fails(&env, &id, &["process.args"]);
}

#[test]
fn root_path_missing() {
    let (env, id) = with_config("noroot", |env, c| {
        c["root"]["path"] = json!(env.dir.join("no-such-rootfs"))
    });
    create_fails(&env, &id, &["root.path"]);
}

#[test]
fn unknown_namespace_type() {
    let (env, id) = with_config("badns", |_, c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "bogusns"}))
    });
    create_fails(&env, &id, &["bogusns"]);
}

#[test]
fn namespace_path_does_not_exist() {
    let (env, id) = with_config("nspath", |env, c| {
        let ns = c["linux"]["namespaces"].as_array_mut().unwrap();
        ns.retain(|n| n["type"] != "network");
        ns.push(json!({"type": "network", "path": env.dir.join("no-such-netns")}));
    });
    create_fails(&env, &id, &["linux.namespaces"]);
}

#[test]
fn process_args_empty() {
    let (env, id) = with_config("noargs", |_, c| c["process"]["args"] = json!([]));
    // runc 1.1 accepts empty args at create and fails only at start; husk refuses up front.
    let out = env.create(&id);
    if is_runc() {
        if out.ok() {
            let start = env.rt(&["start", &id]);
            assert_clean_failure(&start, &[]);
        } else {
            assert_clean_failure(&out, &[]);
        }
        return;
    }
    assert_clean_failure(&out, &["process.args"]);
    env.assert_nothing_left(&id);
}

#[test]
fn bundle_dir_missing() {
    let env = TestEnv::new("nobundle");
    let id = env.id("c");
    let missing = env.dir.join("no-such-bundle");
    let out = env.rt(&["create", "--bundle", missing.to_str().unwrap(), &id]);
    assert_clean_failure(&out, &["no-such-bundle"]);
    env.assert_nothing_left(&id);
}

#[test]
fn unknown_container_id() {
    let env = TestEnv::new("unknownid");
    let id = env.id("nobody");
    for args in [
        vec!["state", &id],
        vec!["start", &id],
        vec!["kill", &id, "KILL"],
        vec!["delete", &id],
    ] {
        let out = env.rt(&args);
        assert_clean_failure(&out, &[&id]);
    }
    env.assert_nothing_left(&id);
}

#[test]
fn duplicate_id_on_create() {
    let env = TestEnv::new("dupid");
    let id = env.id("c");
    env.write_config(&env.config(&sh("sleep 100000", &id)));
    env.create(&id).expect_ok();
    let first = env.state(&id);
    let out = env.create(&id);
    assert_clean_failure(&out, &[&id]);
    // The first container is untouched.
    let again = env.state(&id);
    assert_eq!(again["status"], "created", "{again}");
    assert_eq!(again["pid"], first["pid"], "{again}");
    env.rt(&["delete", "--force", &id]).expect_ok();
    env.assert_nothing_left(&id);
}

#[test]
fn malformed_ids() {
    let env = TestEnv::new("badid");
    let marker = env.id("m");
    env.write_config(&env.config(&sh("sleep 100000", &marker)));
    let outside = format!("../{}-escaped", env.name);
    for id in ["", "a/b", "..", ".", outside.as_str(), "/abs"] {
        env.adopt(id);
        let out = env.create(id);
        assert_clean_failure(&out, &[]);
        // Whatever the id, nothing may be written next to (or above) the root dir.
        assert!(
            !env.root
                .parent()
                .unwrap()
                .join(format!("{}-escaped", env.name))
                .exists(),
            "id {id:?} escaped --root"
        );
        assert!(!env.root.join("a").exists(), "id {id:?} made a directory");
    }
    env.assert_nothing_left(&marker);
}

#[test]
fn bad_signal_name() {
    let env = TestEnv::new("badsig");
    let id = env.id("c");
    env.write_config(&env.config(&sh("sleep 100000", &id)));
    env.create(&id).expect_ok();
    let out = env.rt(&["kill", &id, "FOO"]);
    assert_clean_failure(&out, &["FOO"]);
    for sig in ["SIGFOO", "-1", "99999"] {
        assert_clean_failure(&env.rt(&["kill", &id, sig]), &[sig]);
    }
    assert_eq!(
        env.status(&id),
        "created",
        "a bad signal changed the container"
    );
    env.rt(&["delete", "--force", &id]).expect_ok();
    env.assert_nothing_left(&id);
}

#[test]
fn start_running_and_delete_running() {
    let env = TestEnv::new("wrongstate");
    let id = env.id("c");
    env.write_config(&env.config(&sh("sleep 100000", &id)));
    env.create(&id).expect_ok();
    env.rt(&["start", &id]).expect_ok();
    env.wait_status(&id, "running");
    let pid = env.state(&id)["pid"].clone();

    assert_clean_failure(&env.rt(&["start", &id]), &[&id]);
    assert_clean_failure(&env.rt(&["delete", &id]), &[&id]);
    let st = env.state(&id);
    assert_eq!(st["status"], "running", "{st}");
    assert_eq!(st["pid"], pid, "{st}");

    env.rt(&["delete", "--force", &id]).expect_ok();
    env.assert_nothing_left(&id);
}

#[test]
fn unknown_flag() {
    let env = TestEnv::new("badflag");
    let id = env.id("c");
    env.write_config(&env.config(&sh("sleep 100000", &id)));
    let out = env.rt(&[
        "create",
        "--no-such-flag",
        "--bundle",
        env.bundle.to_str().unwrap(),
        &id,
    ]);
    assert_clean_failure(&out, &["no-such-flag"]);
    assert_clean_failure(&env.rt(&["--no-such-global", "list"]), &["no-such-global"]);
    assert_clean_failure(&env.rt(&["no-such-command"]), &["no-such-command"]);
    env.assert_nothing_left(&id);
}

/// JSON nested far deeper than any config needs must be refused, not overflow the stack.
#[test]
fn hostile_deep_json() {
    let env = TestEnv::new("deepjson");
    let id = env.id("c");
    let depth = 200_000;
    let mut text = env.config(&sh("sleep 100000", &id)).to_string();
    text.pop(); // the closing brace
    text.push_str(",\"annotations\":{\"deep\":");
    text.push_str(&"[".repeat(depth));
    text.push_str(&"]".repeat(depth));
    text.push_str("}}");
    fs::write(env.bundle.join("config.json"), text).unwrap();
    create_fails(&env, &id, &["config.json"]);
}

/// A big (but well-formed) config may be accepted or refused; either way the runtime must not
/// crash and must clean up.
#[test]
fn hostile_huge_json() {
    let env = TestEnv::new("hugejson");
    let id = env.id("c");
    let mut config = env.config(&sh("exit 0", &id));
    let mut annotations = serde_json::Map::new();
    for i in 0..20_000 {
        annotations.insert(format!("husk.test/key-{i}"), json!("x".repeat(200)));
    }
    config["annotations"] = Value::Object(annotations);
    env.write_config(&config);
    let out = env.rt(&["run", "--bundle", env.bundle.to_str().unwrap(), &id]);
    if !out.ok() {
        assert_clean_failure(&out, &[]);
    }
    env.assert_nothing_left(&id);
}

/// A mount destination that climbs out with "..": it must land inside the rootfs (or be
/// refused) and never touch the host.
#[test]
fn hostile_mount_destination() {
    let env = TestEnv::new("escape");
    let id = env.id("c");
    // Relative to the rootfs this is /tmp/<name>-escape, inside the container's /tmp tmpfs; if
    // it were resolved against the host it would be the host's /tmp/<name>-escape.
    let host_target = std::path::PathBuf::from(format!("/tmp/{}-escape", env.name));
    env.adopt(&format!("{}-escape", env.name));
    let dest = format!("../../../../../../../../tmp/{}-escape", env.name);
    let probe = format!(
        "grep -q ' /tmp/{}-escape ' /proc/self/mountinfo && echo inside",
        env.name
    );
    let mut config = env.config(&sh(&probe, &id));
    config["mounts"].as_array_mut().unwrap().push(json!({
        "destination": dest, "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]
    }));
    env.write_config(&config);
    let out = env.rt(&["run", "--bundle", env.bundle.to_str().unwrap(), &id]);
    let host_touched = host_target.exists();
    let _ = fs::remove_dir_all(&host_target);
    assert!(
        !host_touched,
        "the mount escaped the rootfs: {} was created on the host",
        host_target.display()
    );
    if out.ok() {
        assert_eq!(
            out.stdout.trim(),
            "inside",
            "the mount is not where it should be: {out:?}"
        );
    } else {
        assert_clean_failure(&out, &["../"]);
    }
    // The host's /etc was not mounted over either.
    let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains("-escape"), "a mount leaked to the host");
    env.assert_nothing_left(&id);
}

/// Destinations that name the host's /etc or /proc after ".." must stay inside the rootfs: the
/// host's files are not shadowed or modified.
#[test]
fn hostile_mount_over_etc() {
    let env = TestEnv::new("etc");
    let id = env.id("c");
    let before = fs::read_to_string("/etc/hostname").ok();
    let mut config = env.config(&sh("cat /etc/hostname", &id));
    config["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/../../etc", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]
    }));
    env.write_config(&config);
    let out = env.rt(&["run", "--bundle", env.bundle.to_str().unwrap(), &id]);
    if !out.ok() {
        assert_clean_failure(&out, &[]);
    }
    assert_eq!(
        fs::read_to_string("/etc/hostname").ok(),
        before,
        "the host's /etc changed"
    );
    assert!(
        fs::metadata("/etc/passwd").is_ok(),
        "the host's /etc is shadowed"
    );
    let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mounts.lines().any(|l| l.split(' ').nth(4) == Some("/etc")),
        "a mount landed on the host's /etc"
    );
    env.assert_nothing_left(&id);
}

/// Idmapped mounts that cannot be made fail before anything exists, naming the mount.
#[test]
fn idmapped_mount_errors() {
    if is_runc() {
        eprintln!("SKIPPED: runc 1.1 has no idmapped mounts and accepts these");
        return;
    }
    let bad: [(&str, Value, &[&str]); 4] = [
        (
            "idmap-tmpfs",
            json!({"destination": "/mnt", "type": "tmpfs", "source": "tmpfs", "options": ["idmap"],
                   "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
                   "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}),
            &["mounts[8]", "bind mounts only"],
        ),
        (
            "idmap-nomaps",
            json!({"destination": "/mnt", "type": "bind", "source": "/tmp", "options": ["rbind", "idmap"]}),
            &["mounts[8]", "linux.uidMappings"],
        ),
        (
            "idmap-onlyuid",
            json!({"destination": "/mnt", "type": "bind", "source": "/tmp", "options": ["rbind"],
                   "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}),
            &["mounts[8]", "gidMappings"],
        ),
        (
            "idmap-nosrc",
            json!({"destination": "/mnt", "type": "bind", "source": "/nonexistent-husk-test", "options": ["bind", "idmap"],
                   "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
                   "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}),
            &["mounts[8]", "/nonexistent-husk-test"],
        ),
    ];
    for (name, mount, names) in bad {
        let (env, id) = with_config(name, |_, c| {
            c["mounts"].as_array_mut().unwrap().push(mount.clone());
            assert_eq!(c["mounts"].as_array().unwrap().len(), 9);
        });
        create_fails(&env, &id, names);
    }
}
