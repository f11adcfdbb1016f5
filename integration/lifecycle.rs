//! create -> start -> kill -> delete, and what `state`, `list` and `--pid-file` say on the way.

use crate::support::*;
use std::fs;

/// A container that waits until killed; pid 1 of a pid namespace ignores signals it has no
/// handler for, so TERM gets a trap that leaves evidence and exits. Once the trap is set the
/// shell writes `trapped-ID` (a TERM sent before that would be dropped).
fn sleeper(env: &TestEnv, id: &str) {
    let script = format!(
        "trap 'echo term > {0}/term-$0; exit 0' TERM; echo up > {0}/trapped-$0; sleep 100000 & wait",
        env.share().display()
    );
    env.write_config(&env.config(&sh(&script, id)));
}

#[test]
fn create_start_kill_delete() {
    let env = TestEnv::new("lifecycle");
    let id = env.id("c");
    sleeper(&env, &id);
    let pid_file = env.dir.join("pid");

    env.rt(&[
        "create",
        "--bundle",
        env.bundle.to_str().unwrap(),
        "--pid-file",
        pid_file.to_str().unwrap(),
        &id,
    ])
    .expect_ok();

    let st = env.state(&id);
    assert_eq!(st["status"], "created", "{st}");
    assert_eq!(st["id"], id.as_str(), "{st}");
    let pid = st["pid"]
        .as_i64()
        .unwrap_or_else(|| panic!("state has no pid: {st}"));
    assert!(pid > 0, "{st}");
    assert_eq!(st["bundle"], env.bundle.to_str().unwrap(), "{st}");
    assert_eq!(st["rootfs"], env.rootfs.to_str().unwrap(), "{st}");
    assert!(
        st["ociVersion"].as_str().is_some_and(|v| !v.is_empty()),
        "{st}"
    );
    let created = st["created"].as_str().unwrap_or_default();
    assert!(is_rfc3339(created), "created is not RFC 3339: {created:?}");
    // The init process exists and is not yet the user's process.
    assert!(
        fs::metadata(format!("/proc/{pid}")).is_ok(),
        "init pid {pid} is not running"
    );

    let pid_text = fs::read_to_string(&pid_file).expect("--pid-file was not written");
    assert_eq!(
        pid_text.trim().parse::<i64>().ok(),
        Some(pid),
        "--pid-file {pid_text:?} vs state pid {pid}"
    );

    env.rt(&["start", &id]).expect_ok();
    env.wait_status(&id, "running");
    let st = env.state(&id);
    assert_eq!(
        st["pid"].as_i64(),
        Some(pid),
        "pid changed across start: {st}"
    );

    // Default signal is SIGTERM: the trap leaves its mark and the container stops.
    env.wait_line(&env.share().join(format!("trapped-{id}")));
    env.rt(&["kill", &id]).expect_ok();
    env.wait_status(&id, "stopped");
    let mark = env.share().join(format!("term-{id}"));
    assert!(mark.exists(), "SIGTERM did not reach the container's trap");

    env.rt(&["delete", &id]).expect_ok();
    let gone = env.rt(&["state", &id]);
    assert_clean_failure(&gone, &[&id]);
    env.assert_nothing_left(&id);
}

/// SIGKILL spelled three ways; each stops a running container.
#[test]
fn kill_signal_spellings() {
    let env = TestEnv::new("killsig");
    for (n, sig) in ["KILL", "SIGKILL", "9"].iter().enumerate() {
        let id = env.id(&format!("k{n}"));
        sleeper(&env, &id);
        env.create(&id).expect_ok();
        env.rt(&["start", &id]).expect_ok();
        env.wait_status(&id, "running");
        env.rt(&["kill", &id, sig]).expect_ok();
        env.wait_status(&id, "stopped");
        assert!(
            !env.share().join(format!("term-{id}")).exists(),
            "kill {sig} sent SIGTERM"
        );
        env.rt(&["delete", &id]).expect_ok();
    }
    env.assert_nothing_left("");
}

/// `create` must not run the user's process: that is `start`'s job.
#[test]
fn create_waits_for_start() {
    let env = TestEnv::new("waits");
    let id = env.id("c");
    let mark = env.share().join("started");
    let script = format!("echo started > {}; sleep 100000", mark.display());
    env.write_config(&env.config(&sh(&script, &id)));

    env.create(&id).expect_ok();
    assert_eq!(env.status(&id), "created");
    assert!(!mark.exists(), "the process ran before `start`");

    env.rt(&["start", &id]).expect_ok();
    assert_eq!(env.wait_line(&mark).trim(), "started");
    assert_eq!(env.status(&id), "running");

    env.rt(&["kill", &id, "KILL"]).expect_ok();
    env.wait_status(&id, "stopped");
    env.rt(&["delete", &id]).expect_ok();
    env.assert_nothing_left(&id);
}

/// A created container can be killed and deleted without ever being started.
#[test]
fn delete_force_created_container() {
    let env = TestEnv::new("delcreated");
    let id = env.id("c");
    sleeper(&env, &id);
    env.create(&id).expect_ok();
    env.rt(&["delete", "--force", &id]).expect_ok();
    assert!(
        !env.rt(&["state", &id]).ok(),
        "state still works after delete --force"
    );
    env.assert_nothing_left(&id);
}

#[test]
fn list_formats() {
    let env = TestEnv::new("list");
    let a = env.id("a");
    let b = env.id("b");
    sleeper(&env, &a);
    env.create(&a).expect_ok();
    sleeper(&env, &b);
    env.create(&b).expect_ok();
    env.rt(&["start", &b]).expect_ok();
    env.wait_status(&b, "running");

    let table = env.rt(&["list"]).expect_ok().stdout;
    let mut lines = table.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"],
        "{table}"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows.len(), 2, "{table}");
    let row = |id: &str| {
        rows.iter()
            .find(|r| r.first() == Some(&id))
            .unwrap_or_else(|| panic!("{id} not listed: {table}"))
    };
    assert_eq!(row(&a)[2], "created", "{table}");
    assert_eq!(row(&b)[2], "running", "{table}");
    assert_eq!(row(&a)[3], env.bundle.to_str().unwrap(), "{table}");
    assert!(is_rfc3339(row(&b)[4]), "{table}");
    assert_eq!(row(&b)[5], "root", "{table}");
    let pid_b = env.state(&b)["pid"].as_i64().unwrap();
    assert_eq!(row(&b)[1], pid_b.to_string(), "{table}");

    let quiet = env.rt(&["list", "-q"]).expect_ok().stdout;
    let mut ids: Vec<&str> = quiet.lines().collect();
    ids.sort();
    let mut want = vec![a.as_str(), b.as_str()];
    want.sort();
    assert_eq!(ids, want, "list -q: {quiet}");

    let json = env.rt(&["list", "--format", "json"]).expect_ok().json();
    let arr = json
        .as_array()
        .unwrap_or_else(|| panic!("list --format json is not an array: {json}"));
    assert_eq!(arr.len(), 2, "{json}");
    for c in arr {
        let id = c["id"].as_str().unwrap();
        let want = if id == a { "created" } else { "running" };
        assert!(id == a || id == b, "{json}");
        assert_eq!(c["status"], want, "{json}");
        assert!(c["pid"].as_i64().is_some_and(|p| p > 0), "{json}");
        assert_eq!(c["bundle"], env.bundle.to_str().unwrap(), "{json}");
        assert!(c["created"].as_str().is_some_and(is_rfc3339), "{json}");
    }

    // An empty root lists nothing (-q) and `null` (json), as runc does.
    env.rt(&["delete", "--force", &a]).expect_ok();
    env.rt(&["delete", "--force", &b]).expect_ok();
    assert_eq!(env.rt(&["list", "-q"]).expect_ok().stdout.trim(), "");
    let empty = env.rt(&["list", "--format", "json"]).expect_ok().stdout;
    // runc prints `null` (a Go nil slice) for no containers; husk prints the same.
    assert_eq!(empty.trim(), "null");
    env.assert_nothing_left(&a);
    env.assert_nothing_left(&b);
}
