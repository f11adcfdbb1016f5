//! The log file format engines parse, `spec` and `features`.

use crate::support::*;
use serde_json::{json, Value};
use std::fs;

/// `--log F --log-format json`: a failing command writes exactly one JSON line with level,
/// msg and time (containerd and CRI-O read this line to report the runtime's error).
#[test]
fn log_json_one_error_line() {
    let env = TestEnv::new("logjson");
    let id = env.id("nobody");
    let log = env.dir.join("log.json");
    let root = env.root.to_str().unwrap();
    let out = env.rt_raw(&[
        "--root",
        root,
        "--log",
        log.to_str().unwrap(),
        "--log-format",
        "json",
        "state",
        &id,
    ]);
    assert!(!out.ok(), "state of an unknown container succeeded");
    assert!(!out.stderr.contains("panicked"), "{out:?}");
    let text = fs::read_to_string(&log).expect("the log file was not written");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "expected one log line: {text:?}");
    let entry: Value =
        serde_json::from_str(lines[0]).unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", lines[0]));
    let obj = entry
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {entry}"));
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["level", "msg", "time"], "{entry}");
    assert_eq!(entry["level"], "error", "{entry}");
    assert!(
        entry["msg"].as_str().is_some_and(|m| !m.trim().is_empty()),
        "{entry}"
    );
    assert!(entry["time"].as_str().is_some_and(is_rfc3339), "{entry}");
    env.assert_nothing_left(&id);
}

/// Text format (the default) in a log file: runc's logfmt `time="..." level=error msg="..."`.
#[test]
fn log_text_error_line() {
    let env = TestEnv::new("logtext");
    let id = env.id("nobody");
    let log = env.dir.join("log.txt");
    let root = env.root.to_str().unwrap();
    let out = env.rt_raw(&["--root", root, "--log", log.to_str().unwrap(), "state", &id]);
    assert!(!out.ok());
    let text = fs::read_to_string(&log).expect("the log file was not written");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "expected one log line: {text:?}");
    assert!(lines[0].starts_with("time=\""), "{text:?}");
    assert!(lines[0].contains(" level=error msg="), "{text:?}");
}

/// `spec` writes a config `run` can use once root points at a rootfs; it will not overwrite.
#[test]
fn spec_then_run() {
    let env = TestEnv::new("spec");
    let id = env.id("c");
    let dir = env.bundle.to_str().unwrap();
    env.rt(&["spec", "--bundle", dir]).expect_ok();
    let path = env.bundle.join("config.json");
    let text = fs::read_to_string(&path).expect("spec wrote no config.json");
    let mut config: Value = serde_json::from_str(&text).expect("spec wrote invalid JSON");
    assert!(config["ociVersion"].is_string(), "{config}");
    assert_eq!(config["root"]["path"], "rootfs", "{config}");
    assert!(config["process"]["args"].is_array(), "{config}");
    assert!(config["linux"]["namespaces"].is_array(), "{config}");

    // A second spec must refuse and leave the (edited) file alone.
    config["root"]["path"] = json!(env.rootfs);
    config["process"]["terminal"] = json!(false);
    config["process"]["args"] = json!(sh("echo ran from spec", &id));
    env.write_config(&config);
    let edited = fs::read(&path).unwrap();
    let again = env.rt(&["spec", "--bundle", dir]);
    assert_clean_failure(&again, &["config.json"]);
    assert_eq!(
        fs::read(&path).unwrap(),
        edited,
        "spec overwrote config.json"
    );

    let out = env.rt(&["run", "--bundle", dir, &id]).expect_ok();
    assert_eq!(out.stdout.trim(), "ran from spec", "{out:?}");
    env.assert_nothing_left(&id);
}

/// Without --bundle, spec writes into the current directory.
#[test]
fn spec_in_current_dir() {
    let env = TestEnv::new("speccwd");
    // rt runs in env.dir.
    env.rt(&["spec"]).expect_ok();
    let config: Value =
        serde_json::from_str(&fs::read_to_string(env.dir.join("config.json")).unwrap()).unwrap();
    assert!(config["process"].is_object(), "{config}");
}

#[test]
fn features_json() {
    let env = TestEnv::new("features");
    let f = env.rt(&["features"]).expect_ok().json();
    for key in ["ociVersionMin", "ociVersionMax"] {
        let v = f[key].as_str().unwrap_or_else(|| panic!("no {key}: {f}"));
        assert!(v.starts_with("1."), "{key} = {v}");
    }
    let strings = |v: &Value, what: &str| -> Vec<String> {
        v.as_array()
            .unwrap_or_else(|| panic!("{what} is not an array: {f}"))
            .iter()
            .map(|s| {
                s.as_str()
                    .unwrap_or_else(|| panic!("{what} holds a non-string"))
                    .to_string()
            })
            .collect()
    };
    let hooks = strings(&f["hooks"], "hooks");
    for kind in [
        "prestart",
        "createRuntime",
        "createContainer",
        "startContainer",
        "poststart",
        "poststop",
    ] {
        assert!(
            hooks.iter().any(|h| h == kind),
            "hooks lacks {kind}: {hooks:?}"
        );
    }
    let opts = strings(&f["mountOptions"], "mountOptions");
    for o in ["bind", "rbind", "ro", "rw", "nosuid", "nodev", "noexec"] {
        assert!(
            opts.iter().any(|x| x == o),
            "mountOptions lacks {o}: {opts:?}"
        );
    }
    let mut unique = opts.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        opts.len(),
        "mountOptions repeats names: {opts:?}"
    );
    let ns = strings(&f["linux"]["namespaces"], "linux.namespaces");
    for n in ["cgroup", "ipc", "mount", "network", "pid", "user", "uts"] {
        assert!(
            ns.iter().any(|x| x == n),
            "linux.namespaces lacks {n}: {ns:?}"
        );
    }
    let caps = strings(&f["linux"]["capabilities"], "linux.capabilities");
    for c in [
        "CAP_CHOWN",
        "CAP_SYS_ADMIN",
        "CAP_NET_BIND_SERVICE",
        "CAP_KILL",
    ] {
        assert!(
            caps.iter().any(|x| x == c),
            "linux.capabilities lacks {c}: {caps:?}"
        );
    }
}

#[test]
fn version_flag() {
    let env = TestEnv::new("version");
    let out = env.rt_raw(&["--version"]).expect_ok();
    assert!(out.stdout.contains("version"), "{out:?}");
    assert!(out.stdout.contains("spec: 1."), "{out:?}");
}
