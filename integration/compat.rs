//! Behaviour where husk once differed from runc, found by running runc's own integration
//! suite against husk. Each test states the runc behaviour it checks. Against Debian's runc
//! 1.1.5 (HUSK_RUNTIME=/usr/sbin/runc) the checks of what only newer runc does are skipped
//! (`newer_runc_only`).

use crate::support::*;
use serde_json::json;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

/// What runc does since after 1.1.5 (the suite's reference is newer): skipped against runc.
fn newer_runc_only() -> bool {
    is_runc()
}

/// A detached container running `sleep`, started.
fn run_detached(env: &TestEnv, id: &str, config: &serde_json::Value) {
    env.write_config(config);
    env.rt(&["run", "-d", "--bundle", env.bundle.to_str().unwrap(), id])
        .expect_ok();
}

fn run_fg(env: &TestEnv, id: &str, config: &serde_json::Value) -> Outcome {
    env.write_config(config);
    env.rt(&["run", "--bundle", env.bundle.to_str().unwrap(), id])
}

#[test]
fn help_and_version_layout() {
    let env = TestEnv::new("help");
    let name = runtime()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let v = env.rt(&["-v"]).expect_ok();
    let lines: Vec<&str> = v.stdout.lines().collect();
    assert!(
        lines[0].starts_with(&format!("{name} version ")),
        "{lines:?}"
    );
    assert!(lines[1].starts_with("commit:"), "{lines:?}");
    assert!(lines[2].starts_with("spec: "), "{lines:?}");

    let h = env.rt(&["--help"]).expect_ok();
    let lines: Vec<&str> = h.stdout.lines().collect();
    assert_eq!(lines[0], "NAME:", "{lines:?}");
    assert!(
        lines[1].starts_with(&format!("   {name} - Open Container Initiative runtime")),
        "{lines:?}"
    );
    for cmd in [
        "delete",
        "exec",
        "kill",
        "list",
        "run",
        "spec",
        "update",
        "checkpoint",
    ] {
        let h = env.rt(&[cmd, "-h"]).expect_ok();
        let lines: Vec<&str> = h.stdout.lines().collect();
        assert_eq!(lines[0], "NAME:", "{cmd}: {lines:?}");
        assert!(
            lines[1].starts_with(&format!("   {name} {cmd}")),
            "{cmd}: {lines:?}"
        );
    }
    let bad = env.rt(&["foo", "-h"]);
    assert!(!bad.ok(), "{bad:?}");
    assert!(bad.stderr.contains("No help topic for 'foo'"), "{bad:?}");
    if !is_runc() {
        let c = env.rt(&["checkpoint", "x"]);
        assert!(!c.ok() && c.stderr.contains("not supported yet"), "{c:?}");
    }
}

#[test]
fn exec_errors_exit_255() {
    let env = TestEnv::new("exec255");
    let id = env.id("c");
    run_detached(&env, &id, &env.config(&["sleep", "1000"]));
    assert_eq!(
        env.rt(&["exec", &id, "sh", "-c", "exit 42"]).code(),
        Some(42)
    );
    assert_eq!(env.rt(&["exec", &id, "no-such-binary"]).code(), Some(255));
    assert_eq!(
        env.rt(&["exec", "--pid-file", "/non-existent/dir/pid", &id, "true"])
            .code(),
        Some(255)
    );
    let other = format!("{}-none", env.name);
    env.adopt(&other);
    assert_eq!(env.rt(&["exec", &other, "true"]).code(), Some(255));
    env.rt(&["delete", "-f", &id]).expect_ok();
    env.assert_nothing_left(&id);
}

/// A non-root user with CAP_DAC_OVERRIDE may run a file that has no exec bit for it (the
/// lookup of args[0] uses the process's capabilities, as execve does).
#[test]
fn dac_override_runs_file_without_exec_bit() {
    let env = TestEnv::new("dacovr");
    // busybox runs the applet its argv[0] names.
    let prog = env.share().join("true");
    fs::copy(rootfs().join("bin/busybox"), &prog).unwrap();
    fs::set_permissions(&prog, fs::Permissions::from_mode(0o744)).unwrap();
    let mut c = env.config(&[prog.to_str().unwrap()]);
    c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    let id = env.id("no");
    let out = run_fg(&env, &id, &c);
    assert!(!out.ok(), "ran without CAP_DAC_OVERRIDE: {out:?}");
    for set in [
        "bounding",
        "effective",
        "permitted",
        "inheritable",
        "ambient",
    ] {
        c["process"]["capabilities"][set] = json!(["CAP_DAC_OVERRIDE"]);
    }
    let id = env.id("yes");
    run_fg(&env, &id, &c).expect_ok();
    env.assert_nothing_left(&id);
}

/// The cwd is entered as root first: a directory only root may enter works for another user
/// (runc tries again as the user only when root was denied).
#[test]
fn cwd_only_root_may_enter() {
    let env = TestEnv::new("cwdroot");
    let mut c = env.config(&["sh", "-c", "pwd; echo $HOME"]);
    c["process"]["cwd"] = json!("/root");
    c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    let id = env.id("c");
    let out = run_fg(&env, &id, &c).expect_ok();
    assert_eq!(out.stdout.lines().next(), Some("/root"), "{out:?}");
    assert_eq!(out.stdout.lines().nth(1), Some("/home/user"), "{out:?}");
}

/// A variable given twice keeps its last value, once; an empty HOME becomes the user's.
#[test]
fn env_deduplicated_and_empty_home_replaced() {
    let env = TestEnv::new("envdup");
    let mut c = env.config(&["env"]);
    c["process"]["env"] = json!(["ONE=two", "HOME=", "ONE=", "PATH=/usr/bin:/bin"]);
    let id = env.id("c");
    let out = run_fg(&env, &id, &c).expect_ok();
    let mut lines: Vec<&str> = out.stdout.lines().collect();
    lines.sort_unstable();
    assert_eq!(
        lines,
        ["HOME=/root", "ONE=", "PATH=/usr/bin:/bin"],
        "{out:?}"
    );

    let id = env.id("exec");
    run_detached(&env, &id, &env.config(&["sleep", "1000"]));
    let out = env
        .rt(&["exec", "-e", "A=1", "-e", "A=2", "-e", "HOME=", &id, "env"])
        .expect_ok();
    let a: Vec<&str> = out.stdout.lines().filter(|l| l.starts_with("A=")).collect();
    assert_eq!(a, ["A=2"], "{out:?}");
    assert!(out.stdout.lines().any(|l| l == "HOME=/root"), "{out:?}");
    env.rt(&["delete", "-f", &id]).expect_ok();
}

/// An execve failure after the program was found reads "exec PATH: ERROR", one line.
#[test]
fn execve_error_wording() {
    let env = TestEnv::new("execve");
    let script = env.share().join("bad.sh");
    fs::write(&script, "#!/mmnnttbb foo\nsh\n").unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let id = env.id("c");
    let out = run_fg(&env, &id, &env.config(&[script.to_str().unwrap()]));
    assert!(!out.ok(), "{out:?}");
    let want = format!("exec {}: no such file or directory", script.display());
    assert!(out.stderr.contains(&want), "{out:?}");
    assert_eq!(out.stderr.trim().lines().count(), 1, "{out:?}");

    let id = env.id("ex");
    run_detached(&env, &id, &env.config(&["sleep", "1000"]));
    let out = env.rt(&["exec", &id, script.to_str().unwrap()]);
    assert!(!out.ok() && out.stderr.contains(&want), "{out:?}");
    env.rt(&["delete", "-f", &id]).expect_ok();
}

/// With a terminal relayed by the runtime itself (no --console-socket), "\n" stays "\n"
/// (ONLCR is off on the container's pty).
#[test]
fn relayed_terminal_has_no_onlcr() {
    let env = TestEnv::new("onlcr");
    let mut c = env.config(&["echo", "hi"]);
    c["process"]["terminal"] = json!(true);
    env.write_config(&c);
    let id = env.id("c");
    let out_file = env.dir.join("tty.out");
    let cmd = format!(
        "{} --root {} run --bundle {} {} > {}",
        runtime().display(),
        env.root.display(),
        env.bundle.display(),
        id,
        out_file.display()
    );
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("script(1) (bsdutils) is needed");
    assert!(wait_guarded(&mut child, &cmd).success());
    let out = fs::read(&out_file).unwrap();
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("hi\n") && !text.contains('\r'), "{text:?}");
}

/// startContainer hooks without env get the process's environment, and a failing one is
/// reported by start (or run) with what the hook said.
#[test]
fn start_container_hook_env_and_failure() {
    let env = TestEnv::new("schook");
    let check = env.share().join("check-env.sh");
    fs::write(
        &check,
        "#!/bin/sh -ue\ntest $ONE = two\ntest -n \"$HOME\"\n",
    )
    .unwrap();
    fs::set_permissions(&check, fs::Permissions::from_mode(0o755)).unwrap();
    let mut c = env.config(&["true"]);
    c["process"]["env"] = json!(["ONE=two", "PATH=/bin"]);
    c["hooks"] = json!({"startContainer": [{"path": check}]});
    let id = env.id("ok");
    run_fg(&env, &id, &c).expect_ok();

    c["hooks"] =
        json!({"startContainer": [{"path": "/bin/busybox", "args": ["cat", "/nosuchfile"]}]});
    let id = env.id("bad");
    let out = run_fg(&env, &id, &c);
    assert!(!out.ok(), "{out:?}");
    let want = if newer_runc_only() {
        "hook #0"
    } else {
        "error running startContainer hook #0"
    };
    assert!(out.stderr.contains(want), "{out:?}");
    assert!(
        out.stderr.contains("can't open") && out.stderr.contains("/nosuchfile"),
        "{out:?}"
    );
    env.rt(&["delete", "-f", &id]);
    env.assert_nothing_left(&id);
}

#[test]
fn hook_error_wording() {
    let env = TestEnv::new("hookerr");
    for kind in ["prestart", "createRuntime"] {
        let mut c = env.config(&["true"]);
        c["hooks"] = json!({ kind: [{"path": "/bin/true"}, {"path": "/bin/false"}] });
        env.write_config(&c);
        let id = env.id(kind);
        let out = env.create(&id);
        assert!(!out.ok(), "{out:?}");
        let want = if newer_runc_only() {
            "hook #1".to_string()
        } else {
            format!("error running {kind} hook #1:")
        };
        assert!(out.stderr.contains(&want), "{out:?}");
        env.rt(&["delete", "-f", &id]);
        env.assert_nothing_left(&id);
    }
}

fn host_pidns_config(env: &TestEnv) -> serde_json::Value {
    let mut c = env.config(&["sleep", "1000"]);
    c["linux"]["namespaces"] = json!([
        {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}
    ]);
    c["linux"]["cgroupsPath"] = json!(format!("/{}", env.name));
    c
}

fn alive(pids: &[i32]) -> Vec<i32> {
    pids.iter()
        .copied()
        .filter(|&p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .map(|s| !s.rsplit(')').next().unwrap_or("").trim().starts_with('Z'))
                .unwrap_or(false)
        })
        .collect()
}

fn wait_gone(pids: &[i32]) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !alive(pids).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "still running: {:?}",
            alive(pids)
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Without a pid namespace of its own, killing init leaves the container's other processes
/// running: `kill KILL` signals all of them (init gone or not), and `delete` kills what is
/// left, so the cgroup can be removed.
#[test]
fn host_pidns_kill_and_delete_kill_everything() {
    for (what, kill_init, via_kill) in [
        ("kill", false, true),
        ("killgone", true, true),
        ("delete", true, false),
    ] {
        // runc 1.1.5 only kills the rest on delete (newer runc does all three).
        if newer_runc_only() && via_kill {
            continue;
        }
        let env = TestEnv::new(&format!("hostpid{what}"));
        let id = env.id("c");
        run_detached(&env, &id, &host_pidns_config(&env));
        let init = env.state(&id)["pid"].as_i64().unwrap() as i32;
        let mut pids = vec![init];
        for n in 0..3 {
            let pf = env.dir.join(format!("p{n}"));
            env.rt(&[
                "exec",
                "-d",
                "--pid-file",
                pf.to_str().unwrap(),
                &id,
                "sleep",
                "1000",
            ])
            .expect_ok();
            pids.push(fs::read_to_string(&pf).unwrap().trim().parse().unwrap());
        }
        if kill_init {
            unsafe { libc::kill(init, libc::SIGKILL) };
            wait_gone(&[init]);
            env.wait_status(&id, "stopped");
        }
        assert_eq!(alive(&pids[1..]).len(), 3, "{what}");
        if via_kill {
            env.rt(&["kill", &id, "KILL"]).expect_ok();
            wait_gone(&pids);
            env.wait_status(&id, "stopped");
        }
        env.rt(&["delete", &id]).expect_ok();
        wait_gone(&pids);
        env.assert_nothing_left(&id);
        assert!(cgroups_named(&env.name).is_empty(), "{what}");
    }
}

/// `kill` of a stopped container fails with "container not running", but not with --all.
#[test]
fn kill_stopped_container() {
    let env = TestEnv::new("killstop");
    let id = env.id("c");
    run_detached(&env, &id, &env.config(&["sleep", "1000"]));
    env.rt(&["kill", &id, "KILL"]).expect_ok();
    env.wait_status(&id, "stopped");
    let out = env.rt(&["kill", &id, "0"]);
    assert!(
        !out.ok() && out.stderr.contains("container not running"),
        "{out:?}"
    );
    env.rt(&["kill", "-a", &id, "0"]).expect_ok();
    env.rt(&["delete", &id]).expect_ok();
}

/// A device of linux.devices is created but gets no cgroup rule of its own: with
/// linux.resources.devices denying everything, it cannot be opened.
#[test]
fn linux_devices_need_a_cgroup_rule() {
    let env = TestEnv::new("devdeny");
    let mut c = env.config(&["sh", "-c", "head -c 1 /dev/kmsg"]);
    c["linux"]["devices"] = json!([{"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11}]);
    for set in ["bounding", "effective", "permitted"] {
        c["process"]["capabilities"][set] = json!(["CAP_SYSLOG"]);
    }
    let id = env.id("c");
    let out = run_fg(&env, &id, &c);
    assert!(!out.ok(), "{out:?}");
    assert!(out.stderr.contains("Operation not permitted"), "{out:?}");
    env.assert_nothing_left(&id);
}

/// The cgroup v1 freezer hierarchy, when the host has one.
fn v1_freezer() -> Option<std::path::PathBuf> {
    let p = std::path::PathBuf::from("/sys/fs/cgroup/freezer");
    p.join("tasks").exists().then_some(p)
}

/// create refuses a cgroup that already holds processes, or that is frozen.
#[test]
fn create_refuses_busy_or_frozen_cgroup() {
    if newer_runc_only() {
        return;
    }
    let env = TestEnv::new("cgbusy");
    let mut c = env.config(&["sleep", "1000"]);
    c["linux"]["cgroupsPath"] = json!(format!("/{}", env.name));
    let id = env.id("a");
    run_detached(&env, &id, &c);
    let id2 = env.id("b");
    let out = env.create(&id2);
    assert!(!out.ok(), "{out:?}");
    assert!(
        out.stderr.contains("container's cgroup is not empty"),
        "{out:?}"
    );
    env.rt(&["delete", "-f", &id]).expect_ok();
    env.rt(&["delete", "-f", &id2]);
    env.assert_nothing_left(&id);

    // A frozen cgroup made beforehand (v1 freezer here; the v2 suite covers cgroup.freeze).
    let Some(freezer) = v1_freezer() else { return };
    let dir = freezer.join(&env.name);
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("freezer.state"), "FROZEN").unwrap();
    let id3 = env.id("c");
    let out = env.create(&id3);
    let _ = fs::write(dir.join("freezer.state"), "THAWED");
    env.rt(&["delete", "-f", &id3]);
    let _ = fs::remove_dir(&dir);
    assert!(!out.ok(), "{out:?}");
    assert!(
        out.stderr
            .contains("container's cgroup unexpectedly frozen"),
        "{out:?}"
    );
    assert!(cgroups_named(&env.name).is_empty());
}

/// While created, init holds no fd of the runtime or of its caller: only stdio, the exec
/// fifo and the runtime's socket.
#[test]
fn created_init_holds_no_stray_fds() {
    if newer_runc_only() {
        return;
    }
    let env = TestEnv::new("fdleak");
    env.write_config(&env.config(&["true"]));
    let id = env.id("c");
    let extra = fs::File::create(env.dir.join("extra")).unwrap();
    let mut cmd = Command::new(runtime());
    cmd.args(["--root", env.root.to_str().unwrap(), "create", "--bundle"])
        .arg(&env.bundle)
        .arg(&id)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // The caller's fd 5 (not close-on-exec) must not reach init.
    let raw = std::os::fd::AsRawFd::as_raw_fd(&extra);
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
            if libc::dup2(raw, 5) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    assert!(wait_guarded(&mut child, "create").success());
    let pid = env.state(&id)["pid"].as_i64().unwrap();
    let mut bad = Vec::new();
    for e in fs::read_dir(format!("/proc/{pid}/fd")).unwrap().flatten() {
        let n: i32 = e.file_name().to_string_lossy().parse().unwrap();
        let target = fs::read_link(e.path()).unwrap_or_default();
        let t = target.to_string_lossy();
        let ok = n <= 2
            || t.ends_with("/exec.fifo")
            || t.starts_with("socket:[")
            || t.starts_with("pipe:[");
        if !ok {
            bad.push(format!("{n} -> {t}"));
        }
    }
    assert!(bad.is_empty(), "stray fds in init: {bad:?}");
    env.rt(&["delete", "-f", &id]).expect_ok();
    env.assert_nothing_left(&id);
}

/// A filter that makes openat2 and close_range fail with ENOSYS, loaded without
/// no_new_privs (so before the user switch): the container still starts, with no stray fd.
#[test]
fn seccomp_enosys_for_openat2_and_close_range() {
    let env = TestEnv::new("secenosys");
    let mut c = env.config(&["sh", "-c", "ls /proc/self/fd | wc -l"]);
    c["process"]["noNewPrivileges"] = json!(false);
    c["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_AARCH64"],
        "syscalls": [{"names": ["close_range", "openat2", "fsopen", "fsconfig", "fspick",
                                "open_tree", "move_mount", "mount_setattr"],
                      "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]
    });
    let id = env.id("c");
    let out = run_fg(&env, &id, &c).expect_ok();
    // stdio plus the fd ls opens for the directory.
    assert_eq!(out.stdout.trim(), "4", "{out:?}");
    env.assert_nothing_left(&id);
}

/// husk compiles a profile once and keeps the filter under --root: the next container with
/// the same profile gets it from the cache, and a damaged entry is not used (the profile is
/// compiled again and the entry written anew). The filter must act the same every time.
#[test]
fn seccomp_cache_hit_and_damaged_entry_act_the_same() {
    let env = TestEnv::new("seccache");
    let mut c = env.config(&[
        "sh",
        "-c",
        "mkdir /tmp/d 2>/dev/null; echo mkdir=$?; echo ok",
    ]);
    c["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]
    });
    let run = |n: u32| {
        let id = env.id(&format!("c{n}"));
        let out = run_fg(&env, &id, &c).expect_ok();
        assert_eq!(out.stdout.trim(), "mkdir=1\nok", "run {n}: {out:?}");
        env.assert_nothing_left(&id);
    };
    run(1);
    if is_runc() {
        return; // runc has no cache
    }
    let dir = env.root.join("@seccomp-cache");
    let entries = || -> Vec<std::path::PathBuf> {
        fs::read_dir(&dir)
            .expect("cache dir")
            .flatten()
            .map(|e| e.path())
            .collect()
    };
    let first = entries();
    assert_eq!(first.len(), 1, "{first:?}");
    let stored = fs::read(&first[0]).unwrap();
    run(2); // a hit
    assert_eq!(entries(), first);
    let mut bad = stored.clone();
    let at = bad.len() - 20; // inside the program
    bad[at] ^= 0xff;
    fs::write(&first[0], &bad).unwrap();
    run(3); // refused, compiled again
    assert_eq!(fs::read(&first[0]).unwrap(), stored, "entry not rewritten");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
    run(4); // a directory others can write is not used at all
    assert_eq!(fs::read(&first[0]).unwrap(), stored);
}

/// `ps ID ARGS...`: what follows the id goes to ps(1).
#[test]
fn ps_args_after_id() {
    let env = TestEnv::new("psargs");
    let id = env.id("c");
    run_detached(&env, &id, &env.config(&["sleep", "1000"]));
    let out = env.rt(&["ps", &id, "-e", "-x"]).expect_ok();
    let head = out.stdout.lines().next().unwrap_or_default();
    for col in ["PID", "TTY", "STAT", "TIME", "COMMAND"] {
        assert!(head.contains(col), "{out:?}");
    }
    if !newer_runc_only() {
        env.rt(&["ps", &id, "--", "-f"]).expect_ok();
    }
    env.rt(&["delete", "-f", &id]).expect_ok();
}

/// Capabilities this build does not know are ignored (runc warns), not an error.
#[test]
fn unknown_capabilities_ignored() {
    let env = TestEnv::new("unkcap");
    let mut c = env.config(&["true"]);
    c["process"]["capabilities"]["bounding"] = json!(["CAP_UNKNOWN", "UNKNOWN_CAP", "CAP_KILL"]);
    let id = env.id("c");
    run_fg(&env, &id, &c).expect_ok();
}

/// `exec --process` with a process object that has no `user` runs as uid 0 (Go's zero value).
#[test]
fn exec_process_without_user() {
    let env = TestEnv::new("procnouser");
    let id = env.id("c");
    run_detached(&env, &id, &env.config(&["sleep", "1000"]));
    let p = env.dir.join("process.json");
    fs::write(
        &p,
        r#"{"args": ["id", "-u"], "cwd": "/", "env": ["PATH=/bin"], "terminal": false}"#,
    )
    .unwrap();
    let out = env
        .rt(&["exec", "--process", p.to_str().unwrap(), &id])
        .expect_ok();
    assert_eq!(out.stdout.trim(), "0", "{out:?}");
    env.rt(&["delete", "-f", &id]).expect_ok();
}

/// A tmpfs over an existing directory gets that directory's mode unless mode= is given.
#[test]
fn tmpfs_inherits_directory_mode() {
    if newer_runc_only() {
        return;
    }
    let env = TestEnv::new("tmpfsmode");
    let dir = env.share().join("t");
    fs::create_dir(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o2710)).unwrap();
    let mut c = env.config(&["stat", "-c", "%a", dir.to_str().unwrap()]);
    c["mounts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"destination": dir, "type": "tmpfs", "source": "tmpfs"}));
    let id = env.id("c");
    let out = run_fg(&env, &id, &c).expect_ok();
    assert_eq!(out.stdout.trim(), "2710", "{out:?}");
    env.assert_nothing_left(&id);
}

/// A read-only /dev tmpfs is made read-only after its devices, links and console are set up.
#[test]
fn read_only_dev() {
    let env = TestEnv::new("rodev");
    let mut c = env.config(&["grep", "^tmpfs /dev ", "/proc/mounts"]);
    for m in c["mounts"].as_array_mut().unwrap() {
        if m["destination"] == "/dev" {
            m["options"].as_array_mut().unwrap().push(json!("ro"));
        }
    }
    let id = env.id("c");
    let out = run_fg(&env, &id, &c).expect_ok();
    assert!(out.stdout.contains(" ro,"), "{out:?}");
}

/// A bind-mount destination that is a dangling symlink gets its target created (inside the
/// root); a destination written with the rootfs's host path prefix is the path below it.
#[test]
fn mount_destinations_through_symlink_and_rootfs_prefix() {
    let env = TestEnv::new("mntdest");
    let link = env.share().join("hosts");
    std::os::unix::fs::symlink("/tmp/x/y/hosts", &link).unwrap();
    let src = env.dir.join("src-file");
    fs::write(&src, "hello\n").unwrap();
    let prefixed = !newer_runc_only();
    let script = if prefixed {
        "cat /tmp/x/y/hosts; grep -c ' /tmp/sub ' /proc/mounts"
    } else {
        "cat /tmp/x/y/hosts"
    };
    let mut c = env.config(&["sh", "-c", script]);
    let mounts = c["mounts"].as_array_mut().unwrap();
    mounts.push(json!({"destination": link, "type": "bind", "source": src, "options": ["bind"]}));
    if prefixed {
        let dest = rootfs().join("tmp/sub");
        mounts.push(json!({"destination": dest, "type": "tmpfs", "source": "tmpfs"}));
    }
    let id = env.id("c");
    let out = run_fg(&env, &id, &c).expect_ok();
    let want = if prefixed { "hello\n1\n" } else { "hello\n" };
    assert_eq!(out.stdout, want, "{out:?}");
    env.assert_nothing_left(&id);
}

/// With --no-pivot the host's procfs stays in the mount namespace: it must not let the
/// container mount a fresh, unmasked procfs from a user namespace of its own.
#[test]
fn no_pivot_hides_host_proc() {
    let env = TestEnv::new("nopivot");
    let mut c = env.config(&[
        "unshare",
        "-mrpf",
        "sh",
        "-euc",
        "mount -t proc none /proc && echo exposed",
    ]);
    for set in ["bounding", "permitted", "effective"] {
        c["process"]["capabilities"][set]
            .as_array_mut()
            .unwrap()
            .push(json!("CAP_SETFCAP"));
    }
    c["process"]["noNewPrivileges"] = json!(false);
    c["root"]["readonly"] = json!(false);
    env.write_config(&c);
    let id = env.id("c");
    let out = env.rt(&[
        "run",
        "--no-pivot",
        "--bundle",
        env.bundle.to_str().unwrap(),
        &id,
    ]);
    assert!(!out.stdout.contains("exposed"), "{out:?}");
    assert!(out.stderr.contains("mount: permission denied"), "{out:?}");
    env.assert_nothing_left(&id);
    assert!(fs::metadata("/proc/self/status").is_ok(), "host /proc");
}

/// `--debug` names the setup stages as runc does, for tools that look for them.
#[test]
fn debug_names_setup_stages() {
    let env = TestEnv::new("debugstages");
    env.write_config(&env.config(&["true"]));
    let id = env.id("c");
    let out = env
        .rt(&[
            "--debug",
            "run",
            "--bundle",
            env.bundle.to_str().unwrap(),
            &id,
        ])
        .expect_ok();
    for s in [
        "nsexec container setup",
        "child process in init()",
        "init: closing the pipe to signal completion",
    ] {
        assert!(out.stderr.contains(s), "{s}: {out:?}");
    }
    let id = env.id("e");
    run_detached(&env, &id, &env.config(&["sleep", "1000"]));
    let out = env.rt(&["--debug", "exec", &id, "true"]).expect_ok();
    for s in [
        "nsexec container setup",
        "child process in init()",
        "setns_init: about to exec",
    ] {
        assert!(out.stderr.contains(s), "{s}: {out:?}");
    }
    env.rt(&["delete", "-f", &id]).expect_ok();
}

/// A network namespace the container creates has `lo` up, as runc's (its "loopback" network):
/// 127.0.0.1 answers even with no other network.
#[test]
fn new_network_namespace_has_loopback_up() {
    let env = TestEnv::new("loup");
    env.write_config(&env.config(&["cat", "/sys/class/net/lo/flags"]));
    let id = env.id("c");
    let out = env
        .rt(&["run", "--bundle", env.bundle.to_str().unwrap(), &id])
        .expect_ok();
    let flags = u32::from_str_radix(out.stdout.trim().trim_start_matches("0x"), 16)
        .unwrap_or_else(|e| panic!("lo flags {:?}: {e}", out.stdout));
    assert_eq!(flags & 1, 1, "IFF_UP not set on lo: {flags:#x}");
    env.assert_nothing_left(&id);
}

/// `--debug` says how a container's init ended: a program that dies at once without a word
/// (systemd with no console) otherwise shows only an exit code, which cannot tell `exit 139`
/// from SIGSEGV. `run` waits for init and names its status; `start` names an init that ended
/// before it returned (husk only: runc logs neither).
#[test]
fn debug_names_how_init_ended() {
    if is_runc() {
        eprintln!("SKIPPED: husk's --debug lines");
        return;
    }
    let env = TestEnv::new("dbgexit");
    let bundle = env.bundle.to_str().unwrap().to_string();
    for (script, code, want) in [
        ("exit 255", 255, "exited with status 255"),
        ("kill -SEGV $$", 139, "was killed by signal 11 (SIGSEGV"),
    ] {
        let mut cfg = env.config(&["sh", "-c", script]);
        // Not pid 1 of its own namespace, which ignores the signals it has no handler for.
        cfg["linux"]["namespaces"] = json!([{"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]);
        env.write_config(&cfg);
        let id = env.id("r");
        let out = env.rt(&["--debug", "run", "--bundle", &bundle, &id]);
        assert_eq!(out.code(), Some(code), "{out:?}");
        assert!(out.stderr.contains(want), "{want}: {out:?}");
        env.assert_nothing_left(&id);
    }
    // A poststart hook that returns only once init has ended (bounded): start sees it gone.
    let mut cfg = env.config(&["sh", "-c", "exit 3"]);
    let wait_init = r#"pid=$(grep -o '"pid": *[0-9]*' | grep -o '[0-9]*$'); i=0;
        while [ $i -lt 200 ] && [ -e /proc/$pid ] && [ "$(cut -d' ' -f3 /proc/$pid/stat)" != Z ];
        do sleep 0.05; i=$((i+1)); done"#;
    cfg["hooks"] = json!({"poststart": [{"path": "/bin/sh", "args": ["sh", "-c", wait_init]}]});
    env.write_config(&cfg);
    let id = env.id("s");
    env.create(&id).expect_ok();
    let out = env.rt(&["--debug", "start", &id]).expect_ok();
    assert!(
        out.stderr.contains("before start returned"),
        "start did not name the ended init: {out:?}"
    );
    env.rt(&["delete", "-f", &id]).expect_ok();
    env.assert_nothing_left(&id);
}

/// `spec` adds a cgroup namespace only on a pure cgroup v2 host, as runc (a config that adds
/// one on a v1 or hybrid host must not list it twice).
#[test]
fn spec_cgroup_namespace_only_on_v2() {
    let env = TestEnv::new("speccgns");
    let dir = env.dir.join("spec");
    fs::create_dir(&dir).unwrap();
    env.rt(&["spec", "--bundle", dir.to_str().unwrap()])
        .expect_ok();
    let v: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("config.json")).unwrap()).unwrap();
    let has = v["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["type"] == "cgroup");
    let v2 = Command::new("stat")
        .args(["-f", "-c", "%T", "/sys/fs/cgroup"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "cgroup2fs")
        .unwrap_or(false);
    assert_eq!(has, v2, "{v}");
}

/// Unmounts (recursively) a test volume when dropped, whatever the test did.
struct Volume(std::path::PathBuf);

impl Drop for Volume {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(&self.0.join("sub"), nix::mount::MntFlags::MNT_DETACH);
        let _ = nix::mount::umount2(&self.0, nix::mount::MntFlags::MNT_DETACH);
    }
}

/// rro (and the other recursive attributes) apply to the bind mount and every mount below it;
/// plain ro only to the top one.
#[test]
fn recursive_mount_attributes() {
    let env = TestEnv::new("rro");
    let vol = env.dir.join("vol");
    fs::create_dir(&vol).unwrap();
    let tmpfs = |p: &std::path::Path| {
        nix::mount::mount(
            Some("tmpfs"),
            p,
            Some("tmpfs"),
            nix::mount::MsFlags::empty(),
            None::<&str>,
        )
        .unwrap()
    };
    tmpfs(&vol);
    let guard = Volume(vol.clone());
    fs::create_dir(vol.join("sub")).unwrap();
    tmpfs(&vol.join("sub"));
    let script = "touch /tmp/vol/a 2>/dev/null && echo top-rw || echo top-ro; \
                  touch /tmp/vol/sub/b 2>/dev/null && echo sub-rw || echo sub-ro; \
                  grep ' /tmp/vol/sub ' /proc/mounts";
    for (opts, want) in [
        (json!(["rbind", "ro"]), "top-ro\nsub-rw\n"),
        (json!(["rbind", "rro"]), "top-ro\nsub-ro\n"),
        (json!(["rbind", "rro", "rnoatime"]), "top-ro\nsub-ro\n"),
    ] {
        let mut c = env.config(&["sh", "-c", script]);
        c["mounts"].as_array_mut().unwrap().push(
            json!({"destination": "/tmp/vol", "type": "bind", "source": vol, "options": opts}),
        );
        let id = env.id(&format!("c{}", opts.as_array().unwrap().len()));
        let out = run_fg(&env, &id, &c).expect_ok();
        assert!(out.stdout.starts_with(want), "{opts}: {out:?}");
        if opts.to_string().contains("rnoatime") {
            assert!(out.stdout.contains("noatime"), "{out:?}");
        }
        assert!(processes_naming(&id).is_empty() && cgroups_named(&id).is_empty());
    }
    drop(guard);
    env.assert_nothing_left("");
}

/// In a new user namespace, a bind source whose parent the container's root may not enter
/// still mounts: the runtime clones the tree before init enters the namespace (as runc).
#[test]
fn userns_bind_source_behind_inaccessible_dir() {
    let env = TestEnv::new("usernsbind");
    let secret = env.dir.join("secret");
    fs::create_dir_all(secret.join("dir")).unwrap();
    fs::write(secret.join("dir/foo"), "foo\n").unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o700)).unwrap();
    fs::set_permissions(secret.join("dir"), fs::Permissions::from_mode(0o755)).unwrap();
    let mut c = env.config(&["cat", "/tmp/sec/foo"]);
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    // The share dir and its bind are not needed here (and /sys comes from the host's).
    c["mounts"] = json!(c["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["type"] != "bind" && m["type"] != "sysfs" && m["type"] != "mqueue")
        .cloned()
        .collect::<Vec<_>>());
    c["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/tmp/sec", "type": "bind", "source": secret.join("dir"), "options": ["bind"]
    }));
    let id = env.id("c");
    let out = run_fg(&env, &id, &c).expect_ok();
    assert_eq!(out.stdout, "foo\n", "{out:?}");
    env.assert_nothing_left(&id);
}

/// An ambient capability that cannot be raised (not inheritable) is a warning in runc's words,
/// which reaches the caller from init (also with --log).
#[test]
fn ambient_capability_warning() {
    if newer_runc_only() {
        return;
    }
    let env = TestEnv::new("ambwarn");
    let mut c = env.config(&["true"]);
    for set in ["bounding", "effective", "permitted", "ambient"] {
        c["process"]["capabilities"][set] = json!(["CAP_CHOWN"]);
    }
    let id = env.id("c");
    let out = run_fg(&env, &id, &c).expect_ok();
    assert!(
        out.stderr
            .contains("can't raise ambient capability CAP_CHOWN: "),
        "{out:?}"
    );
    let log = env.dir.join("log");
    let id = env.id("l");
    env.rt(&[
        "--log",
        log.to_str().unwrap(),
        "run",
        "--bundle",
        env.bundle.to_str().unwrap(),
        &id,
    ])
    .expect_ok();
    let text = fs::read_to_string(&log).unwrap_or_default();
    assert!(text.contains("can't raise ambient capability"), "{text}");
}

/// A hook killed by a signal is reported with the signal's name, as runc ("bad system call").
#[test]
fn hook_killed_by_signal_wording() {
    if newer_runc_only() {
        return;
    }
    let env = TestEnv::new("hooksig");
    let mut c = env.config(&["true"]);
    c["hooks"] = json!({"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", "kill -SYS $$"]}]});
    env.write_config(&c);
    let id = env.id("c");
    let out = env.create(&id);
    assert!(
        !out.ok() && out.stderr.contains("bad system call"),
        "{out:?}"
    );
    env.rt(&["delete", "-f", &id]);
    env.assert_nothing_left(&id);
}
