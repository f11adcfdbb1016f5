//! `exec`: run a new process in a running (or created) container, as `runc exec` does. conmon
//! runs every `podman exec` as `exec --pid-file P --process F --detach [--console-socket S]`.
//!
//! The process is described by `--process FILE` (an OCI Process), or by the container's own
//! process config (saved in state.json at create) with the command from the arguments and the
//! overrides from the flags, by runc's rules: --env adds or replaces variables, --user replaces
//! the uid (and the gid when given), --additional-gids and --cap add to what is there.

use super::Global;
use crate::cli::{self, Args};
use crate::container::{Container, Status};
use crate::error::{Context, Error, Result};
use crate::namespaces::{self, JOIN_ORDER};
use crate::process::{self, channel, exec::ExecArgs};
use crate::security::caps;
use oci_spec::runtime::{Capability, LinuxNamespaceType, Process};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

const MAX_PROCESS_BYTES: u64 = 16 << 20;

pub fn run(g: &Global, a: &Args) -> Result<i32> {
    let cmd = cli::command("exec").ok_or_else(|| Error::Usage("exec".into()))?;
    let with_process = a.value("process").is_some();
    // The command may follow a literal `--`.
    let mut positional = a.positional.clone();
    positional.extend(a.rest.iter().cloned());
    let min = if with_process { 1 } else { 2 };
    if positional.len() < min {
        return Err(Error::Usage(format!(
            "exec: \"husk exec\" requires at least {min} argument(s) (the container id{}), got {}; usage: {}",
            if with_process { "" } else { " and a command" },
            positional.len(),
            cmd.usage
        )));
    }
    let id = &positional[0];
    let c = Container::load(&g.root, id)?;
    let process = build_process(&c, a, &positional[1..])?;
    validate(&process, a)?;

    match c.status() {
        Status::Stopped => {
            return Err(Error::Container(format!(
                "cannot exec in a stopped container {id}"
            )))
        }
        Status::Paused if !a.is_set("ignore-paused") => {
            return Err(Error::Container(format!(
                "cannot exec in a paused container {id} (use --ignore-paused to override)"
            )))
        }
        _ => {}
    }

    let detach = a.is_set("detach");
    let terminal = process.terminal() == Some(true);
    let console_socket = a.value("console-socket").map(PathBuf::from);
    let pidfd_sock = a
        .value("pidfd-socket")
        .map(|p| crate::pidfd_socket::connect(std::path::Path::new(p)))
        .transpose()?;
    process::tty::check_terminal(
        process::tty::TerminalFor::Exec,
        terminal,
        console_socket.is_some(),
        !detach,
    )?;
    let preserved_fds = match a.value("preserve-fds") {
        None => 0,
        Some(v) => v.parse::<i32>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            Error::Usage(format!("--preserve-fds {v:?}: not a non-negative number"))
        })?,
    };
    let pid_file = a.value("pid-file").map(PathBuf::from);

    // Everything that can fail without side effects comes first.
    let root = shared_mount_ns_root(&c)?;
    let namespaces = open_namespaces(&c)?;
    let caps = caps::Sets::from_spec(process.capabilities().as_ref());
    let seccomp = match &c.state.seccomp {
        Some(s) => {
            let f = crate::security::seccomp_cache::compile(s, &g.root)?;
            let nnp = process.no_new_privileges() == Some(true);
            crate::security::seccomp_glue::check_calls_after_load(&f, nnp, &caps)?;
            Some(f)
        }
        None => None,
    };
    let env = merge_env(process.env().as_deref().unwrap_or(&[]));
    let manager = crate::container::cgroup::manager(&c);
    let subs = SubCgroups::parse(a.values("cgroup"))?;
    let cgroup_dir = cgroup_target(&c, manager.as_ref(), &subs)?;
    // cgroup v1: the first child moves itself in through these (see process::exec::stage).
    let cgroup_tasks = match &manager {
        Some(m) if m.layout() != crate::cgroups::Layout::V2 => m
            .open_v1_tasks_in(|h| subs.for_controllers(&h.controllers))
            .map_err(|e| match subs.is_empty() {
                true => e,
                false => Error::Usage(format!("--cgroup: {e}")),
            })?,
        _ => Vec::new(),
    };
    // The SELinux label (checked by validate) and oomScoreAdj: the process writes them to its
    // /proc/self files through the runtime's procfs, opened here, never through the
    // container's /proc, which a process in the container could have replaced (CVE-2025-52881).
    let selinux_label = process.selinux_label().as_deref().filter(|l| !l.is_empty());
    let host_proc = if selinux_label.is_some() || process.oom_score_adj().is_some() {
        Some(crate::rootfs::ProcFs::open("/proc")?)
    } else {
        None
    };

    // The terminal: to the caller's socket, or to us for relaying.
    let (console, relay) = match (&console_socket, terminal) {
        (Some(p), _) => (Some(connect(p)?), None),
        (None, true) => {
            let (ours, theirs) = channel::pair()?;
            (Some(theirs), Some(ours))
        }
        (None, false) => (None, None),
    };

    let set = if detach {
        None
    } else {
        Some(process::tty::block_forwarded())
    };

    let (parent_sock, child_sock) = channel::pair()?;
    let args = ExecArgs {
        process: &process,
        namespaces: &namespaces,
        sock: &child_sock,
        console: console.as_ref(),
        relay_tty: relay.is_some(),
        caps: &caps,
        seccomp: seccomp.as_ref(),
        preserved_fds,
        env: &env,
        selinux_label,
        host_proc: host_proc.as_ref(),
        cgroup_tasks: &cgroup_tasks,
        root: root.as_ref(),
    };
    let (child, in_cgroup) = spawn_stage(cgroup_dir.as_ref())?;
    if child == 0 {
        drop(parent_sock);
        process::exec::stage(&args);
    }
    log::debug!("nsexec container setup: exec stage {child} cloned (in its cgroup: {in_cgroup})");
    drop(child_sock);
    drop(console);
    drop(cgroup_tasks);
    // The process forked by the stage inherits its resctrl group.
    if let Some(rec) = crate::intelrdt::recorded(&c.dir) {
        if let Err(e) = crate::intelrdt::join(&rec, child) {
            channel::kill_and_reap(child);
            return Err(e);
        }
    }
    let mut pid = 0;
    let r = drive(
        &c,
        &parent_sock,
        child,
        in_cgroup,
        manager.as_ref(),
        seccomp.as_ref(),
        &mut pid,
    )
    .and_then(|()| match &pid_file {
        Some(p) => super::create::write_pid_file(p, pid),
        None => Ok(()),
    })
    .and_then(|()| match &pidfd_sock {
        Some(s) => crate::pidfd_socket::send(s, pid),
        None => Ok(()),
    });
    let master = match (&r, &relay) {
        (Ok(()), Some(sock)) => channel::recv_fd(sock.as_raw_fd()).map(Some),
        _ => Ok(None),
    };
    let r = r.and(master);
    let master = match r {
        Ok(m) => m,
        Err(e) => {
            for p in [pid, child] {
                channel::kill_and_reap(p);
            }
            return Err(e);
        }
    };
    drop(relay);
    match set {
        None => Ok(0),
        Some(set) => Ok(process::tty::wait(pid, master, &set, false)),
    }
}

/// Clone the first stage, straight into the container's cgroup2 directory (CLONE_INTO_CGROUP);
/// returns its pid (0 in the child) and whether it is in that directory already.
fn spawn_stage(cgroup_dir: Option<&OwnedFd>) -> Result<(i32, bool)> {
    if let Some(fd) = cgroup_dir {
        match process::clone_into(0, Some(fd.as_raw_fd())) {
            Ok(pid) => return Ok((pid, true)),
            Err(e) => {
                log::debug!("exec: CLONE_INTO_CGROUP failed ({e}), joining the cgroup by pid")
            }
        }
    }
    let pid = process::clone(0).ctx(|| "exec: cloning the process".into())?;
    Ok((pid, false))
}

/// The runtime's side of the exec protocol; `pid` is set as soon as the process exists.
fn drive(
    c: &Container,
    sock: &OwnedFd,
    child: i32,
    in_cgroup: bool,
    manager: Option<&crate::cgroups::Manager>,
    seccomp: Option<&crate::security::seccomp_glue::Compiled>,
    pid: &mut i32,
) -> Result<()> {
    // Only when CLONE_INTO_CGROUP was not possible: this write takes the kernel's global
    // migration lock (an RCU grace period, often 10 ms).
    if let Some(m) = manager.filter(|m| !in_cgroup && m.unified_path().is_some()) {
        m.add_process(child)?;
    }
    channel::send(sock, channel::GO, &[])?;
    let mut ready = false;
    // Every wait notices the death of the stage or the process, and gives up on a stall.
    let mut watch = channel::Watch::new(Some(process::setup_limit()));
    watch.add(child);
    let step = "while it joined the container";
    loop {
        let msg = match channel::recv_watched(sock, &watch, step)? {
            Ok(m) => m,
            Err(channel::Silence::Died(_)) => None,
            Err(channel::Silence::Stalled(m)) => return Err(Error::Other(format!("exec: {m}"))),
        };
        match msg {
            Some((channel::PID, p)) if p.len() == 4 && *pid == 0 => {
                *pid = i32::from_ne_bytes([p[0], p[1], p[2], p[3]]);
                // The first stage exits right after reporting: reaped (bounded), and the
                // process watched from now on.
                watch.add(*pid);
                let stage = watch.take(child);
                if channel::reap_within(child, stage.as_ref(), 5_000).is_none() {
                    channel::kill_and_reap(child);
                }
            }
            Some((channel::SECCOMP_FD, p)) if p.len() == 4 && *pid > 0 => {
                let num = i32::from_ne_bytes([p[0], p[1], p[2], p[3]]);
                let filter = seccomp
                    .ok_or_else(|| Error::Other("exec: unexpected seccomp listener".into()))?;
                process::hand_over_listener(filter, *pid, num, &c.hook_state(Status::Running))?;
                channel::send(sock, channel::SECCOMP_DONE, &[])?;
            }
            Some((channel::READY, _)) => ready = true,
            Some((channel::ERROR, p)) => {
                return Err(Error::Other(String::from_utf8_lossy(&p).into_owned()))
            }
            Some((t, _)) => {
                return Err(Error::Other(format!(
                    "exec: unexpected message {:?} from the process",
                    t as char
                )))
            }
            // The channel is close-on-exec: EOF after READY is the execve.
            None if ready && *pid > 0 => return Ok(()),
            None => return Err(Error::Other("exec: the process exited during setup".into())),
        }
    }
}

/// A container without a mount namespace of its own (it shares ours) is only chrooted into its
/// rootfs: joining its mount namespace would give the process the host's root. So the process
/// chroots into init's root instead (opened here; open_namespaces then checks init is alive).
fn shared_mount_ns_root(c: &Container) -> Result<Option<OwnedFd>> {
    let pid = c.state.pid;
    let theirs = std::fs::metadata(format!("/proc/{pid}/ns/mnt"))
        .map_err(|e| Error::io(format!("exec: /proc/{pid}/ns/mnt"), e))?;
    let ours = std::fs::metadata("/proc/self/ns/mnt")
        .map_err(|e| Error::io("exec: /proc/self/ns/mnt", e))?;
    if ours.dev() != theirs.dev() || ours.ino() != theirs.ino() {
        return Ok(None);
    }
    let path = format!("/proc/{pid}/root");
    let fd = nix::fcntl::open(
        Path::new(&path),
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .ctx(|| format!("exec: opening {path}"))?;
    // SAFETY: fresh fd.
    Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// Open the container's namespaces through its init, in join order. Namespaces the runtime
/// already shares are left out (joining one's own user namespace is an error). The init is
/// checked again afterwards, so the fds cannot belong to a process that reused its pid.
fn open_namespaces(c: &Container) -> Result<Vec<(LinuxNamespaceType, OwnedFd)>> {
    let pid = c.state.pid;
    let mut out = Vec::new();
    for t in JOIN_ORDER {
        let name = namespaces::proc_name(t);
        let path = format!("/proc/{pid}/ns/{name}");
        let theirs = match std::fs::metadata(&path) {
            Ok(m) => m,
            // A kernel without this namespace kind.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(format!("exec: {path}"), e)),
        };
        if let Ok(ours) = std::fs::metadata(format!("/proc/self/ns/{name}")) {
            if ours.dev() == theirs.dev() && ours.ino() == theirs.ino() {
                continue;
            }
        }
        let fd = nix::fcntl::open(
            Path::new(&path),
            nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .ctx(|| format!("exec: opening {path}"))?;
        // SAFETY: fresh fd.
        out.push((t, unsafe { OwnedFd::from_raw_fd(fd) }));
    }
    if !c.init_alive() {
        return Err(Error::Container(format!(
            "cannot exec in a stopped container {}",
            c.state.id
        )));
    }
    Ok(out)
}

/// `exec --cgroup` as runc reads it: `PATH` (every hierarchy), or `CONTROLLER[,CONTROLLER]:PATH`
/// (those hierarchies; the flag may repeat), PATH relative to the container's cgroup.
#[derive(Default)]
struct SubCgroups {
    all: Option<PathBuf>,
    by_controller: Vec<(String, PathBuf)>,
}

impl SubCgroups {
    fn parse(args: &[String]) -> Result<SubCgroups> {
        let mut out = SubCgroups::default();
        for arg in args {
            let bad = |why: &str| Error::Usage(format!("--cgroup {arg:?}: {why}"));
            let parts: Vec<&str> = arg.splitn(3, ':').collect();
            let (controllers, path) = match parts[..] {
                [path] if args.len() == 1 => (None, path),
                [_] => {
                    return Err(bad(
                        "needs a CONTROLLER: prefix when --cgroup is given more than once",
                    ))
                }
                [ctrls, path] if !ctrls.is_empty() => (Some(ctrls), path),
                _ => return Err(bad("expected PATH or CONTROLLER[,CONTROLLER]:PATH")),
            };
            let rel = PathBuf::from(path.trim_start_matches('/'));
            if rel.as_os_str().is_empty()
                || rel
                    .components()
                    .any(|c| !matches!(c, std::path::Component::Normal(_)))
            {
                return Err(bad("must be a path inside the container's cgroup"));
            }
            match controllers {
                None => out.all = Some(rel),
                Some(list) => {
                    for ctrl in list.split(',') {
                        out.by_controller.push((ctrl.to_string(), rel.clone()));
                    }
                }
            }
        }
        Ok(out)
    }

    fn is_empty(&self) -> bool {
        self.all.is_none() && self.by_controller.is_empty()
    }

    /// The sub-cgroup for a v1 hierarchy with these controllers (a named one as name=NAME).
    fn for_controllers(&self, controllers: &[String]) -> Option<&Path> {
        self.all.as_deref().or_else(|| {
            self.by_controller
                .iter()
                .find(|(c, _)| controllers.iter().any(|h| h == c))
                .map(|(_, p)| p.as_path())
        })
    }

    /// The sub-cgroup on the cgroup2 hierarchy: the plain PATH, or one given for any
    /// controller (v2 has one hierarchy for all of them).
    fn for_v2(&self) -> Option<&Path> {
        self.all
            .as_deref()
            .or_else(|| self.by_controller.first().map(|(_, p)| p.as_path()))
    }
}

/// The cgroup2 directory to clone into: on cgroup v2 the container's cgroup or the --cgroup
/// sub-cgroup of it; on a hybrid host the container's unified directory, or the sub-cgroup
/// given without a controller when it exists there too.
fn cgroup_target(
    c: &Container,
    m: Option<&crate::cgroups::Manager>,
    subs: &SubCgroups,
) -> Result<Option<OwnedFd>> {
    let Some(m) = m else {
        if !subs.is_empty() {
            return Err(Error::Usage(format!(
                "--cgroup: container {} has no cgroup",
                c.state.id
            )));
        }
        return Ok(None);
    };
    let v2 = m.layout() == crate::cgroups::Layout::V2;
    let sub = if v2 {
        subs.for_v2()
    } else {
        subs.all.as_deref()
    };
    let Some(sub) = sub else {
        return Ok(m.open_dir_fd().ok());
    };
    let Some(base) = m.unified_path() else {
        if v2 {
            return Err(Error::Usage(
                "--cgroup: the container has no cgroup v2 directory".into(),
            ));
        }
        return Ok(None);
    };
    let dir = base.join(sub);
    let open = |dir: &Path| {
        nix::fcntl::open(
            dir,
            nix::fcntl::OFlag::O_PATH
                | nix::fcntl::OFlag::O_DIRECTORY
                | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
    };
    let fd = match open(&dir) {
        Ok(fd) => fd,
        // Hybrid: the unified hierarchy holds no controller the sub-cgroup is meant for.
        Err(nix::errno::Errno::ENOENT) if !v2 => return Ok(m.open_dir_fd().ok()),
        Err(e) => {
            return Err(Error::sys(
                format!("--cgroup {}: {}", sub.display(), dir.display()),
                e,
            ))
        }
    };
    // SAFETY: fresh fd.
    Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// The process to run: --process FILE as given, or the container's process with the flags.
fn build_process(c: &Container, a: &Args, cmd: &[String]) -> Result<Process> {
    if let Some(path) = a.value("process") {
        return read_process(Path::new(path));
    }
    let mut p = c.state.process.clone().ok_or_else(|| {
        Error::Container(format!(
            "container {}: its state has no process config to exec with; use --process",
            c.state.id
        ))
    })?;
    p.set_args(Some(cmd.to_vec()));
    if let Some(cwd) = a.value("cwd").filter(|s| !s.is_empty()) {
        p.set_cwd(PathBuf::from(cwd));
    }
    if let Some(ap) = a.value("apparmor").filter(|s| !s.is_empty()) {
        p.set_apparmor_profile(Some(ap.to_string()));
    }
    if let Some(l) = a.value("process-label").filter(|s| !s.is_empty()) {
        p.set_selinux_label(Some(l.to_string()));
    }
    let added = a.values("cap");
    if !added.is_empty() {
        let mut c = p.capabilities().clone().unwrap_or_default();
        let mut unknown = Vec::new();
        for name in added {
            let Ok(cap) = serde_json::from_value::<Capability>(serde_json::json!(name)) else {
                unknown.push(name.as_str());
                continue;
            };
            let add = |s: &Option<oci_spec::runtime::Capabilities>| {
                let mut s = s.clone().unwrap_or_default();
                s.insert(cap);
                Some(s)
            };
            c.set_bounding(add(c.bounding()));
            c.set_effective(add(c.effective()));
            c.set_permitted(add(c.permitted()));
            // An ambient capability needs an inheritable one: add it only where the config
            // has inheritable capabilities (runc's rule).
            if c.inheritable().is_some() {
                c.set_ambient(add(c.ambient()));
            }
        }
        if !unknown.is_empty() {
            // runc warns and goes on.
            log::warn!(
                "--cap: ignoring unknown or unavailable capabilities: {}",
                unknown.join(", ")
            );
        }
        p.set_capabilities(Some(c));
    }
    let mut env = p.env().clone().unwrap_or_default();
    env.extend(a.values("env").iter().cloned());
    p.set_env(Some(env));
    p.set_terminal(Some(a.is_set("tty")));
    if a.given("no-new-privs") {
        p.set_no_new_privileges(Some(a.is_set("no-new-privs")));
    }
    let mut user = p.user().clone();
    if let Some(u) = a.value("user").filter(|s| !s.is_empty()) {
        let (uid, gid) = match u.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (u, None),
        };
        let num = |s: &str, what: &str| {
            s.parse::<u32>().map_err(|_| {
                Error::Usage(format!(
                    "--user {u:?}: {what} {s:?} is not a number (expected uid[:gid])"
                ))
            })
        };
        user.set_uid(num(uid, "uid")?);
        if let Some(g) = gid {
            user.set_gid(num(g, "gid")?);
        }
    }
    let extra = a.values("additional-gids");
    if !extra.is_empty() {
        let mut gids = user.additional_gids().clone().unwrap_or_default();
        for g in extra {
            gids.push(g.parse::<u32>().map_err(|_| {
                Error::Usage(format!(
                    "--additional-gids {g:?}: must be a non-negative number"
                ))
            })?);
        }
        user.set_additional_gids(Some(gids));
    }
    p.set_user(user);
    Ok(p)
}

fn read_process(path: &Path) -> Result<Process> {
    let what = format!("--process {}", path.display());
    let file = std::fs::File::open(path)
        .map_err(|e| Error::Usage(format!("{what}: {}", crate::spec::io_desc(&e))))?;
    let mut data = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(file, MAX_PROCESS_BYTES), &mut data)
        .map_err(|e| Error::Usage(format!("{what}: {}", crate::spec::io_desc(&e))))?;
    let p = crate::spec::parse_as::<Process>(&data, &what, crate::spec::normalize_process)?;
    crate::spec::fields::check_process(&data, &what)?;
    crate::numa::check_affinity(&p, &format!("{what}: "))?;
    Ok(p)
}

/// runc's checks of the process to exec.
fn validate(p: &Process, a: &Args) -> Result<()> {
    let src = if a.value("process").is_some() {
        "process"
    } else {
        "exec"
    };
    if p.cwd().as_os_str().is_empty() {
        return Err(Error::Config(format!("{src}: cwd must not be empty")));
    }
    if !p.cwd().is_absolute() {
        return Err(Error::Config(format!(
            "{src}: cwd {} must be an absolute path",
            p.cwd().display()
        )));
    }
    let flag_ids = a.value("user").is_some_and(|u| !u.is_empty());
    let extra = a.values("additional-gids").len();
    let configured = p
        .user()
        .additional_gids()
        .as_ref()
        .map_or(0, |g| g.len())
        .saturating_sub(extra);
    crate::spec::check_user_ids(p.user(), &|f| match f {
        "uid" | "gid" if flag_ids => format!("--user {f}"),
        f if f.starts_with("additionalGids[") && src == "exec" => {
            let i: usize = f[15..f.len() - 1].parse().unwrap_or(0);
            match i.checked_sub(configured) {
                Some(_) => "--additional-gids".into(),
                None => format!("process.user.{f}"),
            }
        }
        f if src == "process" => format!("--process: process.user.{f}"),
        f => format!("process.user.{f}"),
    })?;
    let args = p.args().as_deref().unwrap_or(&[]);
    if args.is_empty() || args[0].is_empty() {
        return Err(Error::Config(format!("{src}: args must not be empty")));
    }
    if let Some(l) = p.selinux_label().as_deref().filter(|l| !l.is_empty()) {
        let field = if a.value("process-label").is_some_and(|s| !s.is_empty()) {
            "--process-label"
        } else if src == "process" {
            "--process: process.selinuxLabel"
        } else {
            "process.selinuxLabel"
        };
        crate::security::selinux::check_process_label(field, l)?;
    }
    if let Some(ap) = p.apparmor_profile().as_deref().filter(|s| !s.is_empty()) {
        if apparmor_enabled() {
            return Err(Error::Config(format!(
                "--apparmor {ap:?}: applying AppArmor profiles is not supported yet"
            )));
        }
        log::debug!("--apparmor {ap:?}: AppArmor is not enabled on this host; profile ignored");
    }
    Ok(())
}

fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim() == "Y")
}

/// The environment with later entries replacing earlier ones of the same name (so --env
/// overrides the container's value), each name kept where it first appeared.
fn merge_env(env: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(env.len());
    for e in env {
        let name = e.split_once('=').map(|(n, _)| n).unwrap_or(e);
        match out
            .iter_mut()
            .find(|o| o.split_once('=').map(|(n, _)| n).unwrap_or(o) == name)
        {
            Some(slot) => *slot = e.clone(),
            None => out.push(e.clone()),
        }
    }
    out
}

use super::create::connect;
