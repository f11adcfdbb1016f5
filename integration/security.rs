//! Security: LSM labels, and the container-escape CVEs of runc, each carried out against the
//! runtime and shown to fail. Every attack that could touch the host aims at a copy (of the
//! runtime binary, of the rootfs, of a directory under the test's work dir), and the host files
//! a successful attack would change are checked unchanged afterwards.

use crate::support::*;
use serde_json::{json, Value};
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Helpers

/// A writable copy of the test rootfs under the test's work dir, to make hostile.
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

/// A config on `rootfs` (writable, so mount targets can be made in it).
fn config_on(env: &TestEnv, rootfs: &Path, args: &[&str]) -> Value {
    let mut c = env.config(args);
    c["root"] = json!({"path": rootfs, "readonly": false});
    c
}

fn drop_mounts(c: &mut Value, keep: impl Fn(&str) -> bool) {
    c["mounts"]
        .as_array_mut()
        .unwrap()
        .retain(|m| keep(m["destination"].as_str().unwrap_or("")));
}

fn add_mount(c: &mut Value, m: Value) {
    c["mounts"].as_array_mut().unwrap().push(m);
}

/// Host mounts (this test process's mount namespace, i.e. the host's) whose line names `needle`.
fn host_mounts_naming(needle: &str) -> Vec<String> {
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.contains(needle))
        .map(String::from)
        .collect()
}

/// Entries of a host directory (empty when it does not exist).
fn entries(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn run(env: &TestEnv, id: &str) -> Outcome {
    env.rt(&["run", "--bundle", env.bundle.to_str().unwrap(), id])
}

/// Restores a host file's content on drop if a failed defence changed it.
struct Restore {
    path: &'static str,
    content: Vec<u8>,
}

impl Restore {
    fn new(path: &'static str) -> Restore {
        Restore {
            path,
            content: fs::read(path).unwrap_or_default(),
        }
    }
    fn unchanged(&self) -> bool {
        fs::read(self.path).unwrap_or_default() == self.content
    }
}

impl Drop for Restore {
    fn drop(&mut self) {
        if !self.unchanged() {
            let _ = fs::write(self.path, &self.content);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// LSM labels

/// Without a label in the config the process keeps the label the runtime runs with: inside, its
/// /proc/self/attr/current reads exactly as the runtime's own does on the host (on a host with
/// no LSM that exposes it, the read fails the same way).
#[test]
fn no_label_when_none_is_asked() {
    let env = TestEnv::new("nolabel");
    let id = env.id("c");
    let share = env.share();
    let script = format!(
        "if cat /proc/self/attr/current > {s}/cur 2>/dev/null; then echo ok; else echo err; fi > {s}/rc",
        s = share.display()
    );
    env.write_config(&env.config(&sh(&script, &id)));
    run(&env, &id).expect_ok();
    let rc = fs::read_to_string(share.join("rc")).unwrap();
    match fs::read("/proc/self/attr/current") {
        Err(_) => assert_eq!(
            rc.trim(),
            "err",
            "the host has no label, the container has one"
        ),
        Ok(host) => {
            assert_eq!(rc.trim(), "ok");
            assert_eq!(fs::read(share.join("cur")).unwrap(), host, "label changed");
        }
    }
    env.assert_nothing_left(&id);
}

fn selinux_enabled() -> bool {
    Path::new("/sys/fs/selinux/enforce").exists()
}

fn apparmor_enabled() -> bool {
    fs::read("/sys/module/apparmor/parameters/enabled").is_ok_and(|b| b.first() == Some(&b'Y'))
}

/// A process label on a host without SELinux cannot be honoured: `create` fails (runc refuses
/// the same config) with a message naming the field, and leaves nothing behind.
#[test]
fn selinux_label_without_selinux_fails_create() {
    if selinux_enabled() {
        eprintln!("skipped: SELinux is enabled on this host");
        return;
    }
    let env = TestEnv::new("selabel");
    let id = env.id("c");
    let mut c = env.config(&["true"]);
    c["process"]["selinuxLabel"] = json!("system_u:system_r:container_t:s0:c1,c2");
    env.write_config(&c);
    let out = env.create(&id);
    assert_clean_failure(&out, &["process.selinuxLabel", "SELinux is not enabled"]);
    env.assert_nothing_left(&id);
}

/// An AppArmor profile on a host without AppArmor: runc 1.1 and crun both fail `create`
/// ("apparmor failed to apply profile", "AppArmor is not initialized correctly"); husk fails
/// too, before anything exists, saying why.
#[test]
fn apparmor_profile_without_apparmor_fails_create() {
    if apparmor_enabled() {
        eprintln!("skipped: AppArmor is enabled on this host");
        return;
    }
    let env = TestEnv::new("aaprof");
    let id = env.id("c");
    let mut c = env.config(&["true"]);
    c["process"]["apparmorProfile"] = json!("husk-test-profile");
    env.write_config(&c);
    let out = env.create(&id);
    assert_clean_failure(
        &out,
        &["process.apparmorProfile", "AppArmor is not enabled"],
    );
    env.assert_nothing_left(&id);
}

/// linux.mountLabel on a host without SELinux is ignored (as crun does; engines always send
/// one): the container runs and no mount carries a context= option. runc 1.1 passes the label
/// to the kernel anyway and fails, so this is husk's promise only.
#[test]
fn mount_label_is_ignored_without_selinux() {
    if selinux_enabled() || is_runc() {
        eprintln!("skipped: SELinux is enabled, or the runtime is runc (which fails here)");
        return;
    }
    let env = TestEnv::new("mntlabel");
    let id = env.id("c");
    let mut c = env.config(&sh("cat /proc/self/mountinfo", &id));
    c["linux"]["mountLabel"] = json!("system_u:object_r:container_file_t:s0:c1,c2");
    env.write_config(&c);
    let out = run(&env, &id).expect_ok();
    assert!(out.stdout.contains(" /dev/shm "), "{}", out.stdout);
    assert!(!out.stdout.contains("context="), "{}", out.stdout);
    env.assert_nothing_left(&id);
}

// ---------------------------------------------------------------------------------------------
// CVE-2019-5736: overwriting the runtime binary through /proc/<pid>/exe

/// The runtime under test copied to the test's work dir: the attacks aim at this copy, so a
/// failed defence damages nothing else. Returns (copy, pristine bytes).
fn runtime_copy(env: &TestEnv) -> (PathBuf, Vec<u8>) {
    let dir = env.dir.join("bin");
    fs::create_dir_all(&dir).unwrap();
    let name = if is_runc() { "runc-copy" } else { "husk-copy" };
    let copy = dir.join(name);
    fs::copy(runtime(), &copy).expect("copy the runtime");
    (copy.clone(), fs::read(&copy).unwrap())
}

/// Run the copied runtime with the test's --root.
fn rt_copy(env: &TestEnv, copy: &Path, args: &[&str]) -> Outcome {
    let mut full = vec!["--root", env.root.to_str().unwrap()];
    full.extend_from_slice(args);
    let err = env.dir.join("out/copy.stderr");
    let mut child = Command::new(copy)
        .args(&full)
        .current_dir(&env.dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(&err).unwrap())
        .spawn()
        .expect("run the runtime copy");
    let what = format!("{} {}", copy.display(), full.join(" "));
    let status = wait_guarded(&mut child, &what);
    Outcome {
        status,
        stdout: String::new(),
        stderr: fs::read_to_string(&err).unwrap_or_default(),
        what,
    }
}

/// The attacker, in busybox sh: open `target` (a /proc/<pid>/exe that is the runtime at that
/// moment: the open is synchronous) and record whether that worked; if it did, a background
/// subshell keeps the fd and keeps trying to write through it until the runtime no longer runs
/// (ETXTBSY only lasts while it runs), as the original exploit did. Leaves `open`
/// (opened/denied) and `write` (written/still-busy/never-opened) in `share`.
fn attacker(share: &Path, target: &str) -> String {
    format!(
        r#"S={s}
if ( exec 3<{t} ) 2>/dev/null; then
  exec 3<{t}
  echo opened > $S/open
  ( i=0
    while [ $i -lt 200 ]; do
      if ( echo '#!/bin/sh' > /proc/self/fd/3 ) 2>/dev/null; then echo written > $S/write; exit 0; fi
      i=$((i+1)); sleep 0.05
    done
    echo still-busy > $S/write ) >/dev/null 2>&1 &
  exec 3<&-
else
  echo denied > $S/open; echo never-opened > $S/write
fi"#,
        s = share.display(),
        t = target
    )
}

fn wait_for(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(s) = fs::read_to_string(path) {
            if !s.is_empty() {
                return s.trim().to_string();
            }
        }
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A startContainer hook runs in the container (its path is the image's /bin/sh) while pid 1
/// is still the runtime, before the user's program is exec'd. It tries to open /proc/1/exe
/// and to write the runtime binary through it once the runtime is gone. Proves: the open is
/// refused (husk makes itself non-dumpable) and the binary is unchanged, for create + start
/// and for run --detach.
#[test]
fn runtime_binary_cannot_be_overwritten_via_proc_exe_from_hook() {
    for mode in ["create-start", "run"] {
        let env = TestEnv::new("cve5736hook");
        let id = env.id("c");
        let (copy, pristine) = runtime_copy(&env);
        let share = env.share();
        let script = attacker(&share, "/proc/1/exe");
        let mut c = env.config(&sh(
            &format!(
                "while [ ! -e {}/write ]; do sleep 0.05; done",
                share.display()
            ),
            &id,
        ));
        c["hooks"] = json!({"startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", script]}]});
        env.write_config(&c);
        let b = env.bundle.to_str().unwrap();
        if mode == "run" {
            rt_copy(&env, &copy, &["run", "-d", "--bundle", b, &id]).expect_ok();
        } else {
            rt_copy(&env, &copy, &["create", "--bundle", b, &id]).expect_ok();
            rt_copy(&env, &copy, &["start", &id]).expect_ok();
        }
        let opened = wait_for(&share.join("open"));
        let wrote = wait_for(&share.join("write"));
        assert_eq!(
            fs::read(&copy).unwrap(),
            pristine,
            "{mode}: the runtime binary was overwritten (open: {opened}, write: {wrote})"
        );
        if !is_runc() {
            // runc's /proc/1/exe is a sealed memfd copy: opening it is harmless there.
            assert_eq!(
                opened, "denied",
                "{mode}: /proc/1/exe of init could be opened"
            );
        }
        rt_copy(&env, &copy, &["delete", "--force", &id]);
        env.assert_nothing_left(&id);
    }
}

/// A container that shares its pid namespace with a second one sees the second one's init
/// while it is created and waits for `start` (still the runtime). The first container tries
/// to open that process's /proc/<pid>/exe and write through it after `start`. Proves the open
/// is refused and the runtime binary is unchanged.
#[test]
fn runtime_binary_cannot_be_overwritten_from_a_shared_pid_namespace() {
    let env = TestEnv::new("cve5736pidns");
    let (copy, pristine) = runtime_copy(&env);
    let share = env.share();
    let b = env.bundle.to_str().unwrap().to_string();

    // The attacker waits for the test to name its target.
    let a = env.id("attacker");
    let script = format!(
        "while [ ! -e {s}/target ]; do sleep 0.05; done; T=$(cat {s}/target); {}; wait; exec sleep 100000",
        attacker(&share, "/proc/$T/exe"),
        s = share.display()
    );
    env.write_config(&env.config(&sh(&script, &a)));
    rt_copy(&env, &copy, &["run", "-d", "--bundle", &b, &a]).expect_ok();
    let a_pid = env.state(&a)["pid"].as_i64().unwrap();

    let victim = env.id("victim");
    let mut c = env.config(&sh("sleep 1000", &victim));
    for n in c["linux"]["namespaces"].as_array_mut().unwrap() {
        if n["type"] == "pid" {
            n["path"] = json!(format!("/proc/{a_pid}/ns/pid"));
        }
    }
    env.write_config(&c);
    rt_copy(&env, &copy, &["create", "--bundle", &b, &victim]).expect_ok();
    let v_pid = env.state(&victim)["pid"].as_i64().unwrap();
    // The victim's init as the attacker sees it: the last NSpid field.
    let status = fs::read_to_string(format!("/proc/{v_pid}/status")).unwrap();
    let ns_pid = status
        .lines()
        .find_map(|l| l.strip_prefix("NSpid:"))
        .and_then(|l| l.split_whitespace().last())
        .unwrap()
        .to_string();
    fs::write(share.join("target"), &ns_pid).unwrap();
    let opened = wait_for(&share.join("open"));
    rt_copy(&env, &copy, &["start", &victim]).expect_ok();
    let wrote = wait_for(&share.join("write"));
    assert_eq!(
        fs::read(&copy).unwrap(),
        pristine,
        "the runtime binary was overwritten (open: {opened}, write: {wrote})"
    );
    if !is_runc() {
        assert_eq!(
            opened, "denied",
            "/proc/{ns_pid}/exe of the created container's init could be opened"
        );
    }
    rt_copy(&env, &copy, &["delete", "--force", &victim]);
    rt_copy(&env, &copy, &["delete", "--force", &a]);
    env.assert_nothing_left("");
}

/// `exec` puts a runtime process into a running container's pid namespace until it execs the
/// command. A process of the container watches for it (by its comm, the copy's name) and tries
/// to open its /proc/<pid>/exe. Proves no open succeeds and the binary is unchanged; how often
/// the short window was seen is printed (the race is not always won). Skipped while `exec` is
/// not implemented.
#[test]
fn runtime_binary_cannot_be_overwritten_during_exec() {
    let env = TestEnv::new("cve5736exec");
    let (copy, pristine) = runtime_copy(&env);
    let share = env.share();
    let b = env.bundle.to_str().unwrap().to_string();
    let id = env.id("c");
    let comm = copy.file_name().unwrap().to_str().unwrap().to_string();
    let script = format!(
        r#"S={s}
while [ ! -e $S/stop ]; do
  for d in /proc/[0-9]*; do
    if [ "$(cat $d/comm 2>/dev/null)" = "{comm}" ]; then
      # What the open gave, if anything: the process may have exec'd the command between the
      # comm check and the open (a window a slow machine widens), and then it is the command.
      got=$( (exec 3<$d/exe && readlink /proc/self/fd/3) 2>/dev/null)
      case $got in
      '') echo denied >> $S/log ;;
      *{comm}*) echo opened >> $S/log ;;
      *) echo "late: the process had exec'd $got" >> $S/log ;;
      esac
    fi
  done
done
echo done > $S/done"#,
        s = share.display()
    );
    env.write_config(&env.config(&sh(&script, &id)));
    rt_copy(&env, &copy, &["run", "-d", "--bundle", &b, &id]).expect_ok();
    let mut unsupported = None;
    for _ in 0..20 {
        let out = rt_copy(&env, &copy, &["exec", &id, "true"]);
        if !out.ok() && out.stderr.contains("not supported") {
            unsupported = Some(out.stderr);
            break;
        }
        out.expect_ok();
    }
    fs::write(share.join("stop"), "").unwrap();
    if unsupported.is_none() {
        wait_for(&share.join("done"));
    }
    rt_copy(&env, &copy, &["delete", "--force", &id]);
    env.assert_nothing_left(&id);
    if let Some(msg) = unsupported {
        eprintln!("skipped: `exec` is not implemented yet: {}", msg.trim());
        return;
    }
    let log = fs::read_to_string(share.join("log")).unwrap_or_default();
    assert_eq!(
        fs::read(&copy).unwrap(),
        pristine,
        "the runtime binary changed"
    );
    if !is_runc() {
        assert!(
            !log.contains("opened"),
            "an exec'ing runtime's exe was opened: {log}"
        );
    }
    eprintln!(
        "exec attack: the runtime process was seen {} times, never opened",
        log.lines().count()
    );
}

// ---------------------------------------------------------------------------------------------
// CVE-2024-21626: leaked fds and a cwd through /proc/self/fd

/// Runs the runtime with extra open fds: 3 and 4 to preserve (--preserve-fds 2), 5 as a
/// LISTEN_FDS socket-activation fd, and 6, an fd of the caller nobody asked to pass on.
fn run_with_fds(env: &TestEnv, id: &str, listen: bool) -> Outcome {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let files: Vec<fs::File> = (0..4)
        .map(|i| fs::File::create(env.dir.join(format!("fd{i}"))).unwrap())
        .collect();
    let raw: Vec<i32> = files.iter().map(|f| f.as_raw_fd()).collect();
    let out_path = env.dir.join(format!("out/{id}.stdout"));
    let err_path = env.dir.join(format!("out/{id}.stderr"));
    // Through sh, so LISTEN_PID can name the runtime's own pid (systemd's rule, which runc
    // follows: LISTEN_FDS counts only for the process LISTEN_PID names).
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", "LISTEN_PID=$$ exec \"$0\" \"$@\""])
        .arg(runtime())
        .args([
            "--root",
            env.root.to_str().unwrap(),
            "run",
            "--preserve-fds",
            "2",
        ])
        .args(["--bundle", env.bundle.to_str().unwrap(), id])
        .current_dir(&env.dir)
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out_path).unwrap())
        .stderr(fs::File::create(&err_path).unwrap());
    if listen {
        cmd.env("LISTEN_FDS", "1");
    } else {
        cmd.env_remove("LISTEN_FDS");
    }
    // SAFETY: only dup2 between fds, async-signal-safe, in the child before exec.
    unsafe {
        cmd.pre_exec(move || {
            for (i, fd) in raw.iter().enumerate() {
                // Through high numbers first so the sources are not overwritten.
                libc::dup2(*fd, 100 + i as i32);
            }
            for i in 0..4 {
                libc::dup2(100 + i, 3 + i);
                libc::close(100 + i);
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("spawn run");
    let status = wait_guarded(&mut child, "run with extra fds");
    drop(files);
    Outcome {
        status,
        stdout: fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: fs::read_to_string(&err_path).unwrap_or_default(),
        what: format!("run --preserve-fds 2 (LISTEN_FDS: {listen})"),
    }
}

/// The container's process has exactly stdio plus the fds asked for: with --preserve-fds 2,
/// fds 3 and 4; with LISTEN_FDS=1 as well, 3, 4 and 5. No fd of the runtime (state dir, fifo,
/// sockets, cgroup or procfs handles) and no other fd of the caller reaches it.
#[test]
fn only_stdio_and_preserved_fds_reach_the_process() {
    for (listen, want) in [(false, "0 1 2 3 4"), (true, "0 1 2 3 4 5")] {
        let env = TestEnv::new("fdleak");
        let id = env.id("c");
        // The shell's own fds, listed by a child (ls) so the listing itself adds none (and
        // without a pipeline, whose pipes the shell would hold meanwhile).
        // `; true` keeps the shell from exec'ing ls in its place.
        let c = env.config(&sh("ls -l /proc/$$/fd; true", &id));
        env.write_config(&c);
        let out = run_with_fds(&env, &id, listen);
        let out = out.expect_ok();
        let mut fds: Vec<u32> = out
            .stdout
            .lines()
            .filter(|l| l.contains(" -> "))
            .filter_map(|l| {
                l.split(" -> ")
                    .next()?
                    .split_whitespace()
                    .last()?
                    .parse()
                    .ok()
            })
            .collect();
        fds.sort();
        let got = fds.iter().map(u32::to_string).collect::<Vec<_>>().join(" ");
        assert_eq!(got, want, "LISTEN_FDS: {listen}: {}", out.stdout);
        env.assert_nothing_left(&id);
    }
}

/// process.cwd as /proc/self/fd/N names whatever fd N of init is at the time of the chdir; if
/// that is a runtime fd to a host directory, the process would start outside its root. Proves:
/// for every small N, `create` refuses (husk), or (runc) the process's cwd is inside the
/// container.
#[test]
fn cwd_through_proc_self_fd_cannot_escape() {
    for n in 3..=9 {
        let env = TestEnv::new("cwdfd");
        let id = env.id("c");
        let mut c = env.config(&sh("readlink /proc/self/cwd", &id));
        c["process"]["cwd"] = json!(format!("/proc/self/fd/{n}"));
        env.write_config(&c);
        let out = run(&env, &id);
        if is_runc() {
            if out.ok() {
                let cwd = out.stdout.trim();
                assert!(
                    cwd.starts_with('/') && !cwd.contains("unreachable"),
                    "fd {n}: cwd outside the container: {cwd:?}"
                );
            }
        } else {
            assert_clean_failure(&out, &["process.cwd", &format!("/proc/self/fd/{n}")]);
        }
        env.assert_nothing_left(&id);
    }
}

/// A mount whose destination goes through /proc/self/fd (a magic link to whatever init has
/// open) must not resolve to the host: husk refuses it; nothing is mounted on the host.
#[test]
fn mount_destination_through_proc_self_fd_is_refused() {
    for dest in [
        "/proc/self/fd/3",
        "/proc/self/cwd/husk-test-x",
        "/proc/1/root/tmp",
    ] {
        let env = TestEnv::new("mntfd");
        let id = env.id("c");
        let mut c = env.config(&["true"]);
        add_mount(
            &mut c,
            json!({"destination": dest, "type": "tmpfs", "source": "husk-test-escape"}),
        );
        env.write_config(&c);
        let out = run(&env, &id);
        if !is_runc() {
            assert_clean_failure(&out, &["mounts[8]"]);
        }
        assert!(host_mounts_naming("husk-test-escape").is_empty());
        env.assert_nothing_left(&id);
    }
}

// ---------------------------------------------------------------------------------------------
// CVE-2019-16884, CVE-2019-19921, CVE-2021-30465: mount targets through symlinks

/// A hostile rootfs has symlinks to a host directory, absolute and by climbing with "..", and
/// the config mounts tmpfs below them. The same path also exists inside the rootfs. Proves:
/// the mounts land on the rootfs's copy of the path (the process writes through them), and
/// the host directory stays empty with nothing mounted on it.
#[test]
fn mount_destinations_through_symlinks_stay_in_the_rootfs() {
    let env = TestEnv::new("mntlink");
    let id = env.id("c");
    let rootfs = rootfs_copy(&env);
    let escape = env.dir.join("escape");
    fs::create_dir_all(&escape).unwrap();
    let inside = rootfs.join(escape.strip_prefix("/").unwrap());
    fs::create_dir_all(&inside).unwrap();
    symlink(&escape, rootfs.join("abs")).unwrap();
    symlink(climb_to(&escape), rootfs.join("rel")).unwrap();
    let mut c = config_on(
        &env,
        &rootfs,
        &sh(
            "echo a > /abs/ma/x && echo r > /rel/mr/x && cat /abs/ma/x /rel/mr/x",
            &id,
        ),
    );
    // No tmpfs on /tmp: the rootfs's own /tmp/... is where the links must lead.
    drop_mounts(&mut c, |d| d != "/tmp");
    for d in ["/abs/ma", "/rel/mr"] {
        add_mount(
            &mut c,
            json!({"destination": d, "type": "tmpfs", "source": "tmpfs"}),
        );
    }
    env.write_config(&c);
    let out = run(&env, &id);
    assert!(
        entries(&escape).is_empty(),
        "created on the host: {:?}",
        entries(&escape)
    );
    assert!(host_mounts_naming(escape.to_str().unwrap()).is_empty());
    if !is_runc() {
        let out = out.expect_ok();
        assert_eq!(
            out.stdout.split_whitespace().collect::<Vec<_>>(),
            ["a", "r"]
        );
        let mut made = entries(&inside);
        made.sort();
        assert_eq!(made, ["ma", "mr"], "the targets were made in the rootfs");
    }
    env.assert_nothing_left(&id);
}

/// The same with links that dangle inside the rootfs (their target exists only on the host).
/// Proves: the target is created inside the rootfs (as runc does; the link resolves inside the
/// root), and the host directory gets nothing.
#[test]
fn mount_destinations_through_dangling_symlinks_never_reach_the_host() {
    for how in ["abs", "rel"] {
        let env = TestEnv::new("mntdangle");
        let id = env.id("c");
        let rootfs = rootfs_copy(&env);
        let escape = env.dir.join("escape");
        fs::create_dir_all(&escape).unwrap();
        let link = if how == "abs" {
            escape.clone()
        } else {
            climb_to(&escape)
        };
        symlink(&link, rootfs.join("link")).unwrap();
        let mut c = config_on(&env, &rootfs, &["true"]);
        drop_mounts(&mut c, |d| d != "/tmp");
        add_mount(
            &mut c,
            json!({"destination": "/link/m", "type": "tmpfs", "source": "tmpfs"}),
        );
        env.write_config(&c);
        let out = run(&env, &id);
        assert!(
            entries(&escape).is_empty(),
            "{how}: created on the host: {:?}",
            entries(&escape)
        );
        assert!(host_mounts_naming(escape.to_str().unwrap()).is_empty());
        assert!(out.ok(), "{how}: {out:?}");
        assert!(
            rootfs
                .join(link.strip_prefix("/").unwrap_or(&link))
                .join("m")
                .is_dir()
                || how == "rel",
            "{how}: the target was not created inside the rootfs"
        );
        env.assert_nothing_left(&id);
    }
}

/// A relative symlink target that climbs far above any root and then down to `dir`.
fn climb_to(dir: &Path) -> PathBuf {
    PathBuf::from(format!(
        "{}{}",
        "../".repeat(12),
        dir.display().to_string().trim_start_matches('/')
    ))
}

/// /proc and /sys of a hostile rootfs are symlinks to a host directory. Proves: the runtime
/// refuses (husk: "must be mounted on a plain directory") or mounts inside; the host directory
/// gets nothing.
#[test]
fn proc_and_sys_on_symlinks_are_refused() {
    for dir in ["proc", "sys"] {
        let env = TestEnv::new("proclink");
        let id = env.id("c");
        let rootfs = rootfs_copy(&env);
        let escape = env.dir.join("escape");
        fs::create_dir_all(&escape).unwrap();
        fs::remove_dir(rootfs.join(dir)).unwrap();
        symlink(&escape, rootfs.join(dir)).unwrap();
        env.write_config(&config_on(&env, &rootfs, &["true"]));
        let out = run(&env, &id);
        if !is_runc() {
            assert_clean_failure(&out, &[&format!("/{dir}"), "plain directory"]);
        }
        assert!(entries(&escape).is_empty(), "{dir}: {:?}", entries(&escape));
        assert!(
            host_mounts_naming(escape.to_str().unwrap()).is_empty(),
            "{dir}"
        );
        env.assert_nothing_left(&id);
    }
}

/// The race of CVE-2021-30465: a second container shares a volume with the victim and keeps
/// flipping a directory in it between a real directory and symlinks to a host directory
/// (absolute and climbing) while the victim mounts tmpfs below that path. Proves, over many
/// runs: each run either mounts inside the victim's rootfs or fails cleanly, and nothing is
/// ever created or mounted in the host directory.
#[test]
fn symlink_swap_race_on_mount_targets() {
    let env = TestEnv::new("mntrace");
    let rootfs = rootfs_copy(&env);
    let escape = env.dir.join("escape");
    fs::create_dir_all(&escape).unwrap();
    let vol = env.dir.join("vol");
    fs::create_dir_all(&vol).unwrap();
    let b = env.bundle.to_str().unwrap().to_string();
    let climb = climb_to(&escape);

    let flipper = env.id("flipper");
    let script = format!(
        r#"cd /vol; while [ ! -e /vol/stop ]; do
  rm -rf flip; mkdir flip; mkdir flip/m1 2>/dev/null
  rm -rf flip; ln -s {esc} flip
  rm -f flip; ln -s {climb} flip
  rm -f flip; mkdir flip
done"#,
        esc = escape.display(),
        climb = climb.display()
    );
    let mut c = env.config(&sh(&script, &flipper));
    add_mount(
        &mut c,
        json!({"destination": "/vol", "type": "bind", "source": vol, "options": ["rbind", "rw"]}),
    );
    env.write_config(&c);
    env.rt(&["run", "-d", "--bundle", &b, &flipper]).expect_ok();

    let mut mounted = 0;
    for i in 0..15 {
        let id = env.id(&format!("v{i}"));
        let mut c = config_on(&env, &rootfs, &sh("true", &id));
        add_mount(
            &mut c,
            json!({"destination": "/vol", "type": "bind", "source": vol, "options": ["rbind", "rw"]}),
        );
        for m in 1..=4 {
            add_mount(
                &mut c,
                json!({"destination": format!("/vol/flip/m{m}"), "type": "tmpfs", "source": "tmpfs"}),
            );
        }
        env.write_config(&c);
        let out = run(&env, &id);
        if out.ok() {
            mounted += 1;
        } else if !is_runc() {
            assert_clean_failure(&out, &["mounts["]);
        }
        assert!(
            entries(&escape).is_empty(),
            "run {i}: created on the host: {:?}",
            entries(&escape)
        );
        assert!(
            host_mounts_naming(escape.to_str().unwrap()).is_empty(),
            "run {i}"
        );
        // The flipper still runs: only this run's state and processes must be gone.
        assert!(!env.root.join(&id).exists(), "run {i}: state left");
        assert!(
            processes_naming(&format!("{id} ")).is_empty(),
            "run {i}: processes left"
        );
    }
    fs::write(vol.join("stop"), "").unwrap();
    env.rt(&["delete", "--force", &flipper]).expect_ok();
    env.assert_nothing_left("");
    eprintln!("symlink race: {mounted} of 15 runs mounted (inside the rootfs), the rest refused");
}

// ---------------------------------------------------------------------------------------------
// CVE-2025-31133, CVE-2025-52565, CVE-2025-52881: hostile /dev and /proc

/// The rootfs's /dev (no tmpfs on /dev in the config) has /dev/null as a symlink to
/// /proc/sys/kernel/core_pattern, or as a regular file. Masking binds /dev/null over masked
/// files; a runtime that followed the link would bind the host's core_pattern, writable, over
/// /proc/timer_list. The process tries the payoff without changing anything: it reads the
/// masked file and writes the same bytes back. Proves: the masked file is the null device
/// (reads empty, char 1,3), and the host's core_pattern is unchanged, also in a user namespace
/// (where /dev/null is bound from the host instead of created). Not run against runc: Debian's
/// runc 1.1.5 is vulnerable, and a run changed this host's core_pattern (restored by the guard).
#[test]
fn hostile_dev_null_cannot_redirect_masked_paths() {
    if is_runc() {
        eprintln!("skipped: the reference runc (1.1.5) is vulnerable to CVE-2025-31133");
        return;
    }
    let guard = Restore::new("/proc/sys/kernel/core_pattern");
    for kind in ["symlink", "file", "symlink-userns"] {
        let env = TestEnv::new("devnull");
        let id = env.id("c");
        let rootfs = rootfs_copy(&env);
        let null = rootfs.join("dev/null");
        let _ = fs::remove_file(&null);
        if kind.starts_with("symlink") {
            symlink("/proc/sys/kernel/core_pattern", &null).unwrap();
        } else {
            fs::write(&null, "not the null device").unwrap();
        }
        let script = "cat /proc/timer_list > /tmp/seen; \
                      if cat /tmp/seen > /proc/timer_list; then echo writable; else echo refused; fi; \
                      stat -c '%F %t,%T' /proc/timer_list; wc -c < /tmp/seen";
        let mut c = config_on(&env, &rootfs, &sh(script, &id));
        drop_mounts(&mut c, |d| !d.starts_with("/dev"));
        if kind.ends_with("userns") {
            let ns = c["linux"]["namespaces"].as_array_mut().unwrap();
            ns.push(json!({"type": "user"}));
            let map = json!([{"containerID": 0, "hostID": 0, "size": 65536}]);
            c["linux"]["uidMappings"] = map.clone();
            c["linux"]["gidMappings"] = map;
        }
        env.write_config(&c);
        let out = run(&env, &id);
        assert!(
            guard.unchanged(),
            "{kind}: the host's core_pattern was changed"
        );
        let out = out.expect_ok();
        let lines: Vec<&str> = out.stdout.lines().map(str::trim).collect();
        assert_eq!(
            lines,
            ["writable", "character special file 1,3", "0"],
            "{kind}: /proc/timer_list is not masked by the null device"
        );
        env.assert_nothing_left(&id);
    }
}

/// A rootfs with no proc mount in the config and a fake /proc directory holding the sysctl
/// file: a runtime that wrote sysctls through it would write into the image (or, through a
/// symlink there, anywhere). Proves husk refuses with a message naming linux.sysctl, and the
/// host's sysctl is unchanged either way.
#[test]
fn sysctl_through_a_fake_proc_is_refused() {
    let guard = Restore::new("/proc/sys/kernel/core_pattern");
    let host_fwd = Restore::new("/proc/sys/net/ipv4/ip_forward");
    let env = TestEnv::new("fakeproc");
    let id = env.id("c");
    let rootfs = rootfs_copy(&env);
    let fake = rootfs.join("proc/sys/net/ipv4");
    fs::create_dir_all(&fake).unwrap();
    fs::write(fake.join("ip_forward"), "fake\n").unwrap();
    // A symlinked sysctl, the other trick: to the host's core_pattern by absolute path.
    fs::create_dir_all(rootfs.join("proc/sys/net/core")).unwrap();
    symlink(
        "/proc/sys/kernel/core_pattern",
        rootfs.join("proc/sys/net/core/somaxconn"),
    )
    .unwrap();
    let mut c = config_on(&env, &rootfs, &["true"]);
    drop_mounts(&mut c, |d| d != "/proc");
    c["linux"]["maskedPaths"] = json!([]);
    c["linux"]["readonlyPaths"] = json!([]);
    c["linux"]["sysctl"] =
        json!({"net.ipv4.ip_forward": "1", "net.core.somaxconn": "|/bin/husk-test-pwned"});
    env.write_config(&c);
    let out = run(&env, &id);
    assert!(guard.unchanged(), "the host's core_pattern was changed");
    assert!(host_fwd.unchanged(), "the host's ip_forward was changed");
    if !is_runc() {
        assert_clean_failure(&out, &["linux.sysctl", "procfs"]);
        assert_eq!(
            fs::read_to_string(fake.join("ip_forward")).unwrap(),
            "fake\n"
        );
    }
    env.assert_nothing_left(&id);
}

/// sysctls still work on a sane config (the defence above must not break them): with its own
/// network namespace the container sets net.ipv4.ip_forward and reads it back.
#[test]
fn sysctl_is_set_through_the_containers_proc() {
    let env = TestEnv::new("sysctl");
    let id = env.id("c");
    let mut c = env.config(&sh("cat /proc/sys/net/ipv4/ip_forward", &id));
    c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
    env.write_config(&c);
    let out = run(&env, &id).expect_ok();
    assert_eq!(out.stdout.trim(), "1");
    env.assert_nothing_left(&id);
}

/// Accept one connection on a console socket and receive the pty master sent over it.
fn console_receiver(path: &Path) -> std::thread::JoinHandle<Option<std::os::fd::OwnedFd>> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let listener = std::os::unix::net::UnixListener::bind(path).expect("bind console socket");
    std::thread::spawn(move || {
        let (conn, _) = listener.accept().ok()?;
        let mut data = [0u8; 4096];
        let mut iov = libc::iovec {
            iov_base: data.as_mut_ptr().cast(),
            iov_len: data.len(),
        };
        let mut cbuf = [0u64; 16];
        // SAFETY: a zeroed msghdr pointing at buffers that outlive the call.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&cbuf);
        // SAFETY: recvmsg on a connected socket with a valid msghdr.
        if unsafe { libc::recvmsg(conn.as_raw_fd(), &mut msg, 0) } < 0 {
            return None;
        }
        // SAFETY: walking the control messages the kernel wrote into cbuf.
        unsafe {
            let c = libc::CMSG_FIRSTHDR(&msg);
            if c.is_null() || (*c).cmsg_type != libc::SCM_RIGHTS {
                return None;
            }
            let fd = std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const i32);
            Some(OwnedFd::from_raw_fd(fd))
        }
    })
}

/// The rootfs's /dev (no tmpfs on /dev in the config) has /dev/console as a symlink to
/// /proc/sys/kernel/core_pattern. With a terminal, the pty is bound onto /dev/console; a
/// runtime following the link would put the pty over core_pattern (or, resolved on the host,
/// over the host's file). Proves: inside, /dev/console is the pty (a character device, not a
/// link), core_pattern is still the kernel's file, and the host's core_pattern is unchanged.
#[test]
fn hostile_dev_console_symlink_is_replaced() {
    let guard = Restore::new("/proc/sys/kernel/core_pattern");
    let env = TestEnv::new("console");
    let id = env.id("c");
    let rootfs = rootfs_copy(&env);
    let _ = fs::remove_file(rootfs.join("dev/console"));
    symlink("/proc/sys/kernel/core_pattern", rootfs.join("dev/console")).unwrap();
    let share = env.share();
    // Only stat: reading core_pattern would block if a pty covered it.
    let script = format!(
        "S={s}; if [ -L /dev/console ]; then echo link; else echo notlink; fi > $S/kind; \
         stat -L -c %F /dev/console > $S/type; stat -c %F /proc/sys/kernel/core_pattern > $S/cp; \
         echo done > $S/done",
        s = share.display()
    );
    let mut c = config_on(&env, &rootfs, &sh(&script, &id));
    drop_mounts(&mut c, |d| !d.starts_with("/dev") || d == "/dev/pts");
    c["process"]["terminal"] = json!(true);
    env.write_config(&c);
    let sock = env.dir.join("console.sock");
    let receiver = console_receiver(&sock);
    let out = env.rt(&[
        "run",
        "-d",
        "--console-socket",
        sock.to_str().unwrap(),
        "--bundle",
        env.bundle.to_str().unwrap(),
        &id,
    ]);
    let master = receiver.join().unwrap();
    // runc 1.1.5 follows the link and covers the container's core_pattern with the pty: the
    // strict checks are husk's.
    if !is_runc() {
        let out = out.expect_ok();
        assert!(master.is_some(), "no pty master was sent: {out:?}");
        wait_for(&share.join("done"));
        assert_eq!(wait_for(&share.join("kind")), "notlink");
        assert_eq!(wait_for(&share.join("type")), "character special file");
        assert_eq!(
            wait_for(&share.join("cp")),
            "regular empty file",
            "core_pattern was covered"
        );
    }
    assert!(guard.unchanged(), "the host's core_pattern was changed");
    env.rt(&["delete", "--force", &id]);
    drop(master);
    env.assert_nothing_left(&id);
}

/// A shell script that climbs far above its cwd and says ESCAPED if it finds `marker` there,
/// a file only the host has (in the test's own directory, which the container does not see).
fn climb_and_look(marker: &Path) -> String {
    format!(
        "cd ../../../../../../../../../..; test -e .{} && echo ESCAPED; readlink /proc/self/cwd",
        marker.display()
    )
}

/// `exec --cwd /proc/self/fd/N` (and `exec --process` with that cwd) names whatever fd N of
/// the exec'd process is while it enters its cwd; a runtime fd to a host directory (its
/// cgroup directory, say) would leave the process on the host (CVE-2024-21626 on the exec
/// path). For every N from 3 to 64: husk refuses with one line naming the cwd; under runc the
/// process never reaches the host.
#[test]
fn exec_cwd_through_proc_self_fd_cannot_escape() {
    let env = TestEnv::new("execcwdfd");
    let id = env.id("c");
    let marker = env.dir.join("host-only-marker");
    fs::write(&marker, "host").unwrap();
    env.write_config(&env.config(&sh("sleep 1000", &id)));
    env.rt(&["run", "-d", "--bundle", env.bundle.to_str().unwrap(), &id])
        .expect_ok();
    let script = climb_and_look(&marker);
    let mut process = env.config(&["sh", "-c", &script])["process"].clone();
    for n in 3..=64 {
        let cwd = format!("/proc/self/fd/{n}");
        process["cwd"] = json!(cwd);
        let pfile = env.dir.join("process.json");
        fs::write(&pfile, serde_json::to_vec(&process).unwrap()).unwrap();
        let outs = [
            env.rt(&["exec", "--cwd", &cwd, &id, "sh", "-c", &script]),
            env.rt(&["exec", "--process", pfile.to_str().unwrap(), &id]),
        ];
        for out in outs {
            assert!(!out.stdout.contains("ESCAPED"), "fd {n}: {out:?}");
            if !is_runc() {
                assert_clean_failure(&out, &["cwd", &cwd]);
            }
        }
    }
    env.rt(&["delete", "-f", &id]).expect_ok();
    env.assert_nothing_left(&id);
}

/// The same through process.cwd at create: every N from 3 to 64, never the host.
#[test]
fn create_cwd_through_proc_self_fd_never_reaches_the_host() {
    let env = TestEnv::new("createcwdfd");
    let marker = env.dir.join("host-only-marker");
    fs::write(&marker, "host").unwrap();
    for n in 3..=64 {
        let id = env.id(&format!("c{n}"));
        let mut c = env.config(&["sh", "-c", &climb_and_look(&marker), &id]);
        c["process"]["cwd"] = json!(format!("/proc/self/fd/{n}"));
        env.write_config(&c);
        let out = run(&env, &id);
        assert!(!out.stdout.contains("ESCAPED"), "fd {n}: {out:?}");
        if !is_runc() {
            assert_clean_failure(&out, &["process.cwd", &format!("/proc/self/fd/{n}")]);
        }
        env.rt(&["delete", "-f", &id]);
        env.assert_nothing_left(&id);
    }
}

/// (uid_t)-1 means "unchanged" to setresuid: uid or gid 4294967295 would leave the process
/// root. Refused, as runc refuses ids above 2147483647, for process.user.uid, gid and
/// additionalGids at create, and for `exec --user`, `--additional-gids` and `--process`,
/// with one line naming the field; nothing runs.
#[test]
fn ids_outside_the_valid_range_are_refused() {
    let env = TestEnv::new("badids");
    for (field, value) in [
        ("uid", json!(4294967295u32)),
        ("gid", json!(4294967295u32)),
        ("additionalGids", json!([5, 4294967295u32])),
        ("uid", json!(2147483648u32)),
    ] {
        let id = env.id("c");
        let mut c = env.config(&["id"]);
        c["process"]["user"][field] = value;
        env.write_config(&c);
        let out = run(&env, &id);
        assert!(
            !out.stdout.contains("uid=0"),
            "{field}: ran as root: {out:?}"
        );
        assert_clean_failure(&out, &[&format!("process.user.{field}")]);
        env.rt(&["delete", "-f", &id]);
        env.assert_nothing_left(&id);
    }

    let id = env.id("e");
    env.write_config(&env.config(&sh("sleep 1000", &id)));
    env.rt(&["run", "-d", "--bundle", env.bundle.to_str().unwrap(), &id])
        .expect_ok();
    let cases: [(&[&str], &str); 3] = [
        (&["--user", "4294967295:4294967295"], "uid"),
        (&["--user", "1000:4294967295"], "gid"),
        (&["--additional-gids", "4294967295"], "--additional-gids"),
    ];
    for (flags, name) in cases {
        let mut args = vec!["exec"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&[&id, "id"]);
        let out = env.rt(&args);
        assert!(
            !out.stdout.contains("uid=0"),
            "{flags:?}: ran as root: {out:?}"
        );
        assert_clean_failure(&out, &[name]);
    }
    for (field, value) in [
        ("uid", json!(4294967295u32)),
        ("gid", json!(4294967295u32)),
        ("additionalGids", json!([4294967295u32])),
    ] {
        let mut p = env.config(&["id"])["process"].clone();
        p["user"][field] = value;
        let pfile = env.dir.join("process.json");
        fs::write(&pfile, serde_json::to_vec(&p).unwrap()).unwrap();
        let out = env.rt(&["exec", "--process", pfile.to_str().unwrap(), &id]);
        assert!(
            !out.stdout.contains("uid=0"),
            "{field}: ran as root: {out:?}"
        );
        assert_clean_failure(&out, &[&format!("process.user.{field}")]);
    }
    env.rt(&["delete", "-f", &id]).expect_ok();
    env.assert_nothing_left(&id);
}
