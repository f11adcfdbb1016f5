//! `exec`: a new process in a running container, with the container's namespaces, cgroup and
//! process config, and the flags engines use (conmon: --process --detach --pid-file
//! --console-socket). Each test also runs against runc (HUSK_RUNTIME=/usr/sbin/runc).

use crate::support::*;
use serde_json::json;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const NS: [&str; 8] = ["cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"];

/// Start `config` detached as `id` (its process sleeps).
fn start(env: &TestEnv, id: &str, config: &serde_json::Value) {
    env.write_config(config);
    env.rt(&["run", "-d", "--bundle", env.bundle.to_str().unwrap(), id])
        .expect_ok();
    env.wait_status(id, "running");
}

fn sleeper(env: &TestEnv, id: &str) -> serde_json::Value {
    env.config(&sh("sleep 100000", id))
}

fn exec(env: &TestEnv, args: &[&str]) -> Outcome {
    let mut full = vec!["exec"];
    full.extend_from_slice(args);
    env.rt(&full)
}

fn init_pid(env: &TestEnv, id: &str) -> i32 {
    env.state(id)["pid"].as_i64().unwrap() as i32
}

/// The namespaces of host pid `pid`, as readlink shows them.
fn host_ns(pid: i32) -> Vec<String> {
    NS.iter()
        .map(|n| {
            std::fs::read_link(format!("/proc/{pid}/ns/{n}"))
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        })
        .collect()
}

fn exec_ns(env: &TestEnv, id: &str) -> Vec<String> {
    let script = format!(
        "for n in {}; do readlink /proc/self/ns/$n || echo; done",
        NS.join(" ")
    );
    let out = exec(env, &[id, "sh", "-c", &script]).expect_ok();
    out.stdout.lines().map(str::to_string).collect()
}

#[test]
fn exec_joins_every_namespace() {
    let env = TestEnv::new("exns");
    let base = |env: &TestEnv, id: &str| sleeper(env, id);
    type Tweak = fn(&mut serde_json::Value);
    let combos: Vec<(&str, Tweak)> = vec![
        ("default", |_| {}),
        ("cgroupns", |c| {
            c["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .push(json!({"type": "cgroup"}))
        }),
        ("hostpid", |c| {
            c["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .retain(|n| n["type"] != "pid")
        }),
        ("userns", |c| {
            c["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .push(json!({"type": "user"}));
            c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 0, "size": 65536}]);
            c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 0, "size": 65536}]);
        }),
    ];
    for (name, tweak) in combos {
        let id = env.id(name);
        let mut config = base(&env, &id);
        tweak(&mut config);
        start(&env, &id, &config);
        let want = host_ns(init_pid(&env, &id));
        let got = exec_ns(&env, &id);
        assert_eq!(got, want, "{name}: exec'd process vs init, in order {NS:?}");
        env.rt(&["delete", "--force", &id]).expect_ok();
    }
    env.assert_nothing_left("");
}

/// The exec'd process is in the container's pid namespace (not just its children) and cgroup.
#[test]
fn exec_pid_namespace_and_cgroup() {
    let env = TestEnv::new("expid");
    let id = env.id("c");
    start(&env, &id, &sleeper(&env, &id));
    let out = exec(
        &env,
        &[
            &id,
            "sh",
            "-c",
            "echo $$; cat /proc/1/cmdline | tr '\\0' ' '",
        ],
    )
    .expect_ok();
    let mut lines = out.stdout.lines();
    let pid: i32 = lines.next().unwrap().trim().parse().unwrap();
    assert!(pid > 1, "{out:?}");
    // pid 1 there is the container's init (the shell exec'd its sleep).
    assert!(lines.next().unwrap().contains("sleep 100000"), "{out:?}");
    // cgroup: the same as init's in every hierarchy.
    let init = init_pid(&env, &id);
    let want = std::fs::read_to_string(format!("/proc/{init}/cgroup")).unwrap();
    let out = exec(&env, &[&id, "cat", "/proc/self/cgroup"]).expect_ok();
    // Inside a cgroup namespace paths differ; this config has none, so they match the host's.
    assert_eq!(out.stdout, want);
}

#[test]
fn exec_overrides_user_cwd_env_caps() {
    let env = TestEnv::new("exover");
    let id = env.id("c");
    start(&env, &id, &sleeper(&env, &id));
    let out = exec(
        &env,
        &[
            "-u",
            "1000:1000",
            "-g",
            "2000",
            "--cwd",
            "/tmp",
            "-e",
            "FOO=bar",
            "-e",
            "TERM=dumb",
            &id,
            "sh",
            "-c",
            "id -u; id -g; id -G; pwd; echo $FOO; echo $TERM; echo $HOME",
        ],
    )
    .expect_ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "1000", "{out:?}");
    assert_eq!(lines[1], "1000", "{out:?}");
    assert!(lines[2].split(' ').any(|g| g == "2000"), "{out:?}");
    assert_eq!(lines[3], "/tmp", "{out:?}");
    assert_eq!(lines[4], "bar", "{out:?}");
    assert_eq!(
        lines[5], "dumb",
        "--env replaces the container's TERM: {out:?}"
    );
    assert_eq!(
        lines[6], "/home/user",
        "HOME from the container's passwd: {out:?}"
    );

    // Defaults come from the container's process: uid 0, cwd /, its env.
    let out = exec(&env, &[&id, "sh", "-c", "id -u; pwd; echo $TERM"]).expect_ok();
    assert_eq!(out.stdout, "0\n/\nxterm\n");

    // --cap adds to the container's capabilities (CAP_NET_ADMIN is bit 12).
    let capeff = |out: &Outcome| {
        let line = out
            .stdout
            .lines()
            .find(|l| l.starts_with("CapEff:"))
            .unwrap()
            .to_string();
        u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
    };
    let plain = exec(&env, &[&id, "cat", "/proc/self/status"]).expect_ok();
    assert_eq!(capeff(&plain) & (1 << 12), 0);
    let with = exec(
        &env,
        &["--cap", "CAP_NET_ADMIN", &id, "cat", "/proc/self/status"],
    )
    .expect_ok();
    assert_eq!(capeff(&with), capeff(&plain) | (1 << 12));
}

#[test]
fn exec_process_json() {
    let env = TestEnv::new("exproc");
    let id = env.id("c");
    start(&env, &id, &sleeper(&env, &id));
    let p = env.dir.join("process.json");
    std::fs::write(
        &p,
        serde_json::to_vec(&json!({
            "terminal": false,
            "user": {"uid": 1000, "gid": 1000},
            "args": ["sh", "-c", "id -u; pwd; echo $X; cat /proc/self/oom_score_adj"],
            "env": ["PATH=/bin", "X=from-json"],
            "cwd": "/tmp",
            "noNewPrivileges": true,
            "oomScoreAdj": 500
        }))
        .unwrap(),
    )
    .unwrap();
    let out = exec(&env, &["--process", p.to_str().unwrap(), &id]).expect_ok();
    assert_eq!(out.stdout, "1000\n/tmp\nfrom-json\n500\n");

    // A type error names the field.
    std::fs::write(
        &p,
        r#"{"args": "sh", "cwd": "/", "user": {"uid": 0, "gid": 0}}"#,
    )
    .unwrap();
    let out = exec(&env, &["--process", p.to_str().unwrap(), &id]);
    assert_clean_failure(&out, &["args"]);
    // runc's checks: an absolute cwd.
    std::fs::write(
        &p,
        r#"{"args": ["true"], "cwd": "tmp", "user": {"uid": 0, "gid": 0}}"#,
    )
    .unwrap();
    let out = exec(&env, &["--process", p.to_str().unwrap(), &id]);
    assert_clean_failure(&out, &["cwd"]);
    let out = exec(&env, &["--process", "/nonexistent-husk-test", &id]);
    assert_clean_failure(&out, &["--process"]);
}

#[test]
fn exec_exit_status() {
    let env = TestEnv::new("exexit");
    let id = env.id("c");
    start(&env, &id, &sleeper(&env, &id));
    assert_eq!(exec(&env, &[&id, "sh", "-c", "exit 3"]).code(), Some(3));
    assert_eq!(
        exec(&env, &[&id, "sh", "-c", "kill -9 $$"]).code(),
        Some(137)
    );
    let out = exec(&env, &[&id, "sh", "-c", "echo out; echo err >&2"]).expect_ok();
    assert_eq!(out.stdout, "out\n");
    assert!(out.stderr.contains("err"));
    let out = exec(&env, &[&id, "no-such-program-husk"]);
    assert_clean_failure(&out, &["no-such-program-husk"]);
    let out = exec(&env, &["--cwd", "/no-such-dir", &id, "true"]);
    assert_clean_failure(&out, &["/no-such-dir"]);
}

#[test]
fn exec_detach_pid_file() {
    let env = TestEnv::new("exdetach");
    let id = env.id("c");
    start(&env, &id, &sleeper(&env, &id));
    let pid_file = env.dir.join("exec.pid");
    exec(
        &env,
        &[
            "--detach",
            "--pid-file",
            pid_file.to_str().unwrap(),
            &id,
            "sh",
            "-c",
            "sleep 100001; true",
            &id,
        ],
    )
    .expect_ok();
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let cmd = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap();
    assert_eq!(cmd, format!("sh\0-c\0sleep 100001; true\0{id}\0"));
    let init = init_pid(&env, &id);
    assert_eq!(host_ns(pid), host_ns(init));
    env.rt(&["delete", "--force", &id]).expect_ok();
    // The exec'd process was in the container's cgroup, so delete --force killed it too.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !processes_naming(&id).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    env.assert_nothing_left(&id);
}

/// Receive one fd over a unix socket (the console-socket protocol).
fn recv_fd(sock: &std::os::unix::net::UnixStream) -> OwnedFd {
    let mut buf = [0u8; 256];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut cmsg = [0u64; 16];
    // SAFETY: msghdr with valid buffers; recvmsg fills them.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cmsg.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&cmsg);
        let n = libc::recvmsg(sock.as_raw_fd(), &mut msg, 0);
        assert!(n > 0, "recvmsg: {}", std::io::Error::last_os_error());
        let c = libc::CMSG_FIRSTHDR(&msg);
        assert!(!c.is_null(), "no fd received");
        assert_eq!((*c).cmsg_type, libc::SCM_RIGHTS);
        let fd = std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const i32);
        OwnedFd::from_raw_fd(fd)
    }
}

/// Read from a pty master until `want` shows up (bounded).
fn read_until(master: &OwnedFd, want: &str) -> String {
    let mut f = std::fs::File::from(master.try_clone().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    let want2 = want.to_string();
    std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match std::io::Read::read(&mut f, &mut buf) {
                Ok(n) if n > 0 => {
                    all.extend_from_slice(&buf[..n]);
                    if String::from_utf8_lossy(&all).contains(&want2) {
                        break;
                    }
                }
                _ => break,
            }
        }
        let _ = tx.send(String::from_utf8_lossy(&all).into_owned());
    });
    rx.recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("{want:?} never came from the terminal"))
}

#[test]
fn exec_console_socket() {
    let env = TestEnv::new("exconsole");
    let id = env.id("c");
    start(&env, &id, &sleeper(&env, &id));
    let sock_path = env.dir.join("console.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock_path).unwrap();
    let pid_file = env.dir.join("exec.pid");
    exec(
        &env,
        &[
            "-d",
            "-t",
            "--console-socket",
            sock_path.to_str().unwrap(),
            "--pid-file",
            pid_file.to_str().unwrap(),
            "-u",
            "1000",
            &id,
            "sh",
        ],
    )
    .expect_ok();
    let (conn, _) = listener.accept().unwrap();
    let master = recv_fd(&conn);
    let mut w = std::fs::File::from(master.try_clone().unwrap());
    std::io::Write::write_all(
        &mut w,
        b"test -t 0 && echo tty-$((40+2)); stat -c owner=%u /proc/self/fd/0; exit 7\n",
    )
    .unwrap();
    let out = read_until(&master, "owner=1000");
    assert!(out.contains("tty-42"), "{out:?}");
}

/// `exec -t` without a console socket: husk relays the terminal itself. `script` gives husk a
/// pty as its stdin, as an interactive shell would.
#[test]
fn exec_tty_relay_and_run_tty() {
    let env = TestEnv::new("extty");
    let id = env.id("c");
    start(&env, &id, &sleeper(&env, &id));
    let rt = runtime();
    let cmd = format!(
        "{} --root {} exec -t {id} sh -c 'test -t 0 && test -t 1 && echo relayed-$((6*7)); exit 6'",
        rt.display(),
        env.root.display()
    );
    let out = script(&cmd);
    assert_eq!(out.status.code(), Some(6), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("relayed-42"),
        "{out:?}"
    );

    env.rt(&["delete", "--force", &id]).expect_ok();

    // `run` with process.terminal and no console socket relays the same way.
    let id2 = env.id("run");
    let mut config = env.config(&sh("test -t 0 && echo run-relayed-$((6*7)); exit 5", &id2));
    config["process"]["terminal"] = json!(true);
    env.write_config(&config);
    let cmd = format!(
        "{} --root {} run --bundle {} {id2}",
        rt.display(),
        env.root.display(),
        env.bundle.display()
    );
    let out = script(&cmd);
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("run-relayed-42"),
        "{out:?}"
    );
    env.assert_nothing_left(&id2);
}

/// Run `cmd` under script(1), which gives it a pty; script -e returns its exit status.
fn script(cmd: &str) -> std::process::Output {
    let mut child = Command::new("script")
        .args(["-qec", cmd, "/dev/null"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script(1) (bsdutils) is needed");
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut { stdout }, &mut v);
        v
    });
    let status = wait_guarded(&mut child, cmd);
    let mut stderr = Vec::new();
    let _ = std::io::Read::read_to_end(child.stderr.as_mut().unwrap(), &mut stderr);
    std::process::Output {
        status,
        stdout: reader.join().unwrap(),
        stderr,
    }
}

#[test]
fn exec_concurrent() {
    let env = TestEnv::new("exconc");
    let id = env.id("c");
    start(&env, &id, &sleeper(&env, &id));
    let root = env.root.clone();
    let results: Vec<(usize, std::process::Output)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let root = root.clone();
                let id = id.clone();
                s.spawn(move || {
                    let out = Command::new(runtime())
                        .arg("--root")
                        .arg(&root)
                        .args(["exec", &id, "sh", "-c", &format!("echo n{i}; exit {i}")])
                        .stdin(Stdio::null())
                        .output()
                        .unwrap();
                    (i, out)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (i, out) in results {
        assert_eq!(out.status.code(), Some(i as i32), "{out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), format!("n{i}\n"));
    }
    assert_eq!(env.status(&id), "running");
}

/// The freezer cgroup of a process (v1 hierarchy), from /proc/PID/cgroup.
fn freezer_state_file(pid: i32) -> Option<std::path::PathBuf> {
    let data = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    for line in data.lines() {
        let mut f = line.splitn(3, ':');
        let (_, ctrl, path) = (f.next()?, f.next()?, f.next()?);
        if ctrl.split(',').any(|c| c == "freezer") {
            return Some(
                Path::new("/sys/fs/cgroup/freezer")
                    .join(path.trim_start_matches('/'))
                    .join("freezer.state"),
            );
        }
        // The root cgroup has no cgroup.freeze of its own: cgroup.controllers says v2.
        if ctrl.is_empty() && Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
            return Some(
                Path::new("/sys/fs/cgroup")
                    .join(path.trim_start_matches('/'))
                    .join("cgroup.freeze"),
            );
        }
    }
    None
}

/// Thaws the container even when the test fails half-way.
struct Thaw(std::path::PathBuf);
impl Drop for Thaw {
    fn drop(&mut self) {
        let v = if self.0.ends_with("cgroup.freeze") {
            "0"
        } else {
            "THAWED"
        };
        let _ = std::fs::write(&self.0, v);
    }
}

#[test]
fn exec_paused_and_stopped() {
    let env = TestEnv::new("expause");
    let id = env.id("c");
    start(&env, &id, &sleeper(&env, &id));
    let file = freezer_state_file(init_pid(&env, &id)).expect("the container's freezer cgroup");
    let thaw = Thaw(file.clone());
    let frozen = if file.ends_with("cgroup.freeze") {
        "1"
    } else {
        "FROZEN"
    };
    std::fs::write(&file, frozen).unwrap();
    env.wait_status(&id, "paused");
    let out = exec(&env, &[&id, "true"]);
    assert_clean_failure(&out, &["paused"]);
    drop(thaw);
    env.wait_status(&id, "running");
    exec(&env, &[&id, "true"]).expect_ok();

    let id2 = env.id("stopped");
    start(&env, &id2, &sleeper(&env, &id2));
    env.rt(&["kill", &id2, "KILL"]).expect_ok();
    env.wait_status(&id2, "stopped");
    let out = exec(&env, &[&id2, "true"]);
    assert_clean_failure(&out, &["stopped"]);
}

/// runc allows exec into a created (not yet started) container; so does husk.
#[test]
fn exec_created_container() {
    let env = TestEnv::new("excreated");
    let id = env.id("c");
    env.write_config(&sleeper(&env, &id));
    env.create(&id).expect_ok();
    let out = exec(&env, &[&id, "sh", "-c", "echo in-created"]).expect_ok();
    assert_eq!(out.stdout, "in-created\n");
    assert_eq!(env.status(&id), "created");
}

/// Nothing the process gets as stdio from the caller is changed: only a pty husk created is
/// chowned to the container's user. /dev/null is the classic victim.
#[test]
fn exec_and_run_leave_host_stdio_alone() {
    let env = TestEnv::new("exdevnull");
    let before = std::fs::metadata("/dev/null").unwrap();
    let id = env.id("c");
    start(&env, &id, &sleeper(&env, &id));
    let devnull = || {
        Stdio::from(
            std::fs::File::options()
                .read(true)
                .write(true)
                .open("/dev/null")
                .unwrap(),
        )
    };
    let status = Command::new(runtime())
        .arg("--root")
        .arg(&env.root)
        .args(["exec", "-u", "1000", &id, "sh", "-c", "cat; echo x"])
        .stdin(devnull())
        .stdout(devnull())
        .stderr(devnull())
        .status()
        .unwrap();
    assert!(status.success());
    let id2 = env.id("run");
    let mut config = env.config(&sh("cat; echo x", &id2));
    config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    env.write_config(&config);
    let status = Command::new(runtime())
        .arg("--root")
        .arg(&env.root)
        .args(["run", "--bundle", env.bundle.to_str().unwrap(), &id2])
        .stdin(devnull())
        .stdout(devnull())
        .stderr(devnull())
        .status()
        .unwrap();
    assert!(status.success());
    let after = std::fs::metadata("/dev/null").unwrap();
    assert_eq!(
        (before.uid(), before.gid(), before.mode()),
        (after.uid(), after.gid(), after.mode()),
        "/dev/null changed"
    );
}

/// Bad flags fail before anything runs.
#[test]
fn exec_bad_flags() {
    let env = TestEnv::new("exbad");
    let id = env.id("c");
    start(&env, &id, &sleeper(&env, &id));
    assert_clean_failure(&exec(&env, &["-u", "abc", &id, "true"]), &["abc"]);
    assert_clean_failure(&exec(&env, &["-t", "-d", &id, "true"]), &["--tty"]);
    assert_clean_failure(
        &exec(
            &env,
            &["--process-label", "system_u:system_r:x", &id, "true"],
        ),
        &["SELinux"],
    );
    assert_clean_failure(
        &exec(&env, &["no-such-container-husk", "true"]),
        &["does not exist"],
    );
    env.adopt("no-such-container-husk");
    if !is_runc() {
        assert_clean_failure(
            &exec(&env, &["--cgroup", "a:b:c", &id, "true"]),
            &["--cgroup"],
        );
        assert_clean_failure(
            &exec(&env, &["--cgroup", "x", "--cgroup", "cpu:y", &id, "true"]),
            &["CONTROLLER"],
        );
        assert_clean_failure(&exec(&env, &[&id]), &["exec"]);
    }
    // An unknown capability is ignored with a warning, as runc does.
    exec(&env, &["--cap", "CAP_NO_SUCH", &id, "true"]).expect_ok();
}

/// The container's seccomp filter applies to exec'd processes too, and --preserve-fds passes
/// the caller's fds 3.. on.
#[test]
fn exec_seccomp_and_preserve_fds() {
    let env = TestEnv::new("exsecc");
    let id = env.id("c");
    let mut config = sleeper(&env, &id);
    config["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
    });
    start(&env, &id, &config);
    let out = exec(&env, &[&id, "mkdir", "/tmp/husk-test-denied"]);
    assert!(!out.ok(), "mkdir should be denied: {out:?}");
    assert!(out.stderr.contains("not permitted"), "{out:?}");
    exec(&env, &[&id, "touch", "/tmp/allowed"]).expect_ok();

    // fd 3 of the caller is a file in the share dir; the process writes through it.
    let target = env.share().join("via-fd3");
    let f = std::fs::File::create(&target).unwrap();
    let mut cmd = Command::new(runtime());
    cmd.arg("--root")
        .arg(&env.root)
        .args([
            "exec",
            "--preserve-fds",
            "1",
            &id,
            "sh",
            "-c",
            "echo through-fd >&3",
        ])
        .stdin(Stdio::null());
    let raw = f.as_raw_fd();
    // SAFETY: dup2 in the child before exec; only async-signal-safe calls.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
            // dup2 onto itself keeps close-on-exec: clear it explicitly.
            if libc::dup2(raw, 3) < 0 || libc::fcntl(3, libc::F_SETFD, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "through-fd\n");
}
