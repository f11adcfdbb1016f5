//! `run`: create + start + wait + delete in one command, and `run --detach`.

use crate::support::*;

fn run(env: &TestEnv, id: &str) -> Outcome {
    env.rt(&["run", "--bundle", env.bundle.to_str().unwrap(), id])
}

#[test]
fn run_passes_exit_status_through() {
    let env = TestEnv::new("runexit");
    let id = env.id("c");
    env.write_config(&env.config(&sh("echo out; echo err >&2; exit 3", &id)));
    let out = run(&env, &id);
    assert_eq!(out.code(), Some(3), "{out:?}");
    // The container's stdio is run's stdio.
    assert_eq!(out.stdout.trim(), "out", "{out:?}");
    assert!(out.stderr.contains("err"), "{out:?}");
    assert!(
        !env.rt(&["state", &id]).ok(),
        "the container outlived `run`"
    );
    assert!(!env.rt(&["list", "-q"]).expect_ok().stdout.contains(&id));
    env.assert_nothing_left(&id);

    let id0 = env.id("zero");
    env.write_config(&env.config(&sh("true", &id0)));
    assert_eq!(run(&env, &id0).code(), Some(0));
    env.assert_nothing_left(&id0);
}

/// A process killed by signal N makes `run` exit 128+N, like a shell. pid 1 of a pid namespace
/// cannot SIGKILL itself, so this container shares the host's pid namespace.
#[test]
fn run_killed_by_signal_is_128_plus_n() {
    let env = TestEnv::new("runsig");
    let id = env.id("c");
    let mut config = env.config(&sh("kill -9 $$; sleep 100000", &id));
    let ns = config["linux"]["namespaces"].as_array_mut().unwrap();
    ns.retain(|n| n["type"] != "pid");
    env.write_config(&config);
    let out = run(&env, &id);
    assert_eq!(out.code(), Some(137), "{out:?}");
    env.assert_nothing_left(&id);
}

/// Killed from outside (the usual way): `kill ID KILL` while `run` waits.
#[test]
fn run_killed_from_outside() {
    let env = TestEnv::new("runkill");
    let id = env.id("c");
    let mark = env.share().join("up");
    let script = format!("echo up > {}; sleep 100000", mark.display());
    env.write_config(&env.config(&sh(&script, &id)));
    let mut run = std::process::Command::new(runtime())
        .arg("--root")
        .arg(&env.root)
        .args(["run", "--bundle", env.bundle.to_str().unwrap(), &id])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn run");
    // Until the container is up; a `run` that gives up early fails the test at once.
    while !mark.exists() {
        if let Some(status) = run.try_wait().unwrap() {
            panic!("`run` ended ({status:?}) before its process started");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    env.wait_status(&id, "running");
    env.rt(&["kill", &id, "KILL"]).expect_ok();
    let status = wait_guarded(&mut run, "run (killed from outside)");
    assert_eq!(status.code(), Some(137), "{status:?}");
    env.assert_nothing_left(&id);
}

#[test]
fn run_detach() {
    let env = TestEnv::new("rundetach");
    let id = env.id("c");
    let mark = env.share().join("up");
    let script = format!("echo up > {}; sleep 100000", mark.display());
    env.write_config(&env.config(&sh(&script, &id)));
    let pid_file = env.dir.join("pid");
    env.rt(&[
        "run",
        "--detach",
        "--pid-file",
        pid_file.to_str().unwrap(),
        "--bundle",
        env.bundle.to_str().unwrap(),
        &id,
    ])
    .expect_ok();
    env.wait_file(&mark);
    let st = env.state(&id);
    assert_eq!(st["status"], "running", "{st}");
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    assert_eq!(pid.trim().parse::<i64>().ok(), st["pid"].as_i64());
    env.rt(&["kill", &id, "KILL"]).expect_ok();
    env.wait_status(&id, "stopped");
    env.rt(&["delete", &id]).expect_ok();
    env.assert_nothing_left(&id);
}

/// `-d` is the short form.
#[test]
fn run_detach_short_flag() {
    let env = TestEnv::new("rund");
    let id = env.id("c");
    env.write_config(&env.config(&sh("sleep 100000", &id)));
    env.rt(&["run", "-d", "-b", env.bundle.to_str().unwrap(), &id])
        .expect_ok();
    assert_eq!(env.status(&id), "running");
    env.rt(&["delete", "--force", &id]).expect_ok();
    env.assert_nothing_left(&id);
}
