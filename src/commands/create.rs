//! `create`: set the container up and leave its init waiting for `start`.

use super::Global;
use crate::cli::Args;
use crate::container::{self, Container, State, Status};
use crate::error::{Context, Error, Result};
use crate::namespaces::Plan;
use crate::process::{self, init::InitArgs};
use crate::security::caps;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

pub struct Options {
    pub id: String,
    pub bundle: PathBuf,
    pub console_socket: Option<PathBuf>,
    pub pidfd_socket: Option<PathBuf>,
    pub pid_file: Option<PathBuf>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: i32,
    /// `run` in the foreground: init stays our child and we wait for it.
    pub foreground: bool,
}

impl Options {
    pub fn from_args(a: &Args) -> Result<Options> {
        let preserve_fds = match a.value("preserve-fds") {
            None => 0,
            Some(v) => v.parse::<i32>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                Error::Usage(format!("--preserve-fds {v:?}: not a non-negative number"))
            })?,
        };
        Ok(Options {
            id: a.positional[0].clone(),
            bundle: a
                .value("bundle")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(".")),
            console_socket: a.value("console-socket").map(PathBuf::from),
            pidfd_socket: a.value("pidfd-socket").map(PathBuf::from),
            pid_file: a.value("pid-file").map(PathBuf::from),
            no_pivot: a.is_set("no-pivot"),
            no_new_keyring: a.is_set("no-new-keyring"),
            preserve_fds,
            foreground: false,
        })
    }
}

/// Removes the half-made container (state dir, cgroup) unless disarmed.
struct Cleanup<'a> {
    dir: &'a Path,
    cgroup: Option<crate::cgroups::plan::Cgroup>,
    armed: bool,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if self.armed {
            if let Some(cg) = self.cgroup.take() {
                cg.destroy();
            }
            crate::container::remove_state_dir(self.dir);
        }
    }
}

pub fn run(g: &Global, a: &Args) -> Result<i32> {
    crate::cli::expect_args(
        a,
        crate::cli::command("create").unwrap_or(&crate::cli::COMMANDS[0]),
        1,
        1,
    )?;
    let opts = Options::from_args(a)?;
    create(g, &opts)?;
    Ok(0)
}

/// Create the container.
pub fn create(g: &Global, o: &Options) -> Result<Container> {
    create_with_terminal(g, o).map(|(c, _)| c)
}

/// Create the container; with process.terminal in the foreground and no --console-socket,
/// also return the pty master, which husk then relays itself.
pub fn create_with_terminal(g: &Global, o: &Options) -> Result<(Container, Option<OwnedFd>)> {
    container::validate_id(&o.id)?;
    let bundle = crate::spec::load(&o.bundle)?;
    log::debug!("create {}: config loaded", o.id);
    let spec = &bundle.spec;
    spec13_checks(spec)?;
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| Error::Config("process: missing".into()))?;
    let terminal = process.terminal() == Some(true);
    process::tty::check_terminal(
        process::tty::TerminalFor::Create,
        terminal,
        o.console_socket.is_some(),
        o.foreground,
    )?;

    // Everything that can be checked without side effects is checked before the state dir.
    let plan = Plan::from_spec(spec)?;
    crate::rootless::check_config(
        spec,
        plan.new_flags & libc::CLONE_NEWUSER != 0,
        plan.joins(oci_spec::runtime::LinuxNamespaceType::User),
        g.caller(),
    )?;
    crate::namespaces::check_map_tools(spec, g.caller())?;
    crate::rootless::check_root_writable(&g.root, g.caller())?;
    let seccomp = crate::security::seccomp_glue::compile(spec, &g.root)?;
    let cgroup_cfg = crate::cgroups::plan::plan(spec, &o.id, g.systemd_cgroup, g.rootless())?;
    // The terminal goes to the caller's socket, or back to us (a socketpair) for relaying.
    let pidfd_sock = o
        .pidfd_socket
        .as_deref()
        .map(crate::pidfd_socket::connect)
        .transpose()?;
    let (console, relay) = match &o.console_socket {
        Some(p) => (Some(connect(p)?), None),
        None if terminal => {
            let (ours, theirs) = process::channel::pair()?;
            (Some(theirs), Some(ours))
        }
        None => (None, None),
    };
    let caps = caps::Sets::from_spec(process.capabilities().as_ref());
    let labels = crate::security::Labels::from_spec(spec)?;
    // Idmapped mounts can only be made with the host's privileges: before clone (init inherits
    // the fds and attaches them).
    let mut mount_sources = crate::rootfs::idmap::prepare(spec, &bundle.dir)?;

    // The state directory; mkdir is the atomic "does this id exist" check.
    let dir = Container::state_dir(&g.root, &o.id);
    match std::fs::create_dir(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Error::Container(format!(
                "container with id {} already exists",
                o.id
            )))
        }
        Err(e) => {
            return Err(Error::io(
                format!("creating state directory {}", dir.display()),
                e,
            ))
        }
    }
    let mut cleanup = Cleanup {
        dir: &dir,
        cgroup: None,
        armed: true,
    };
    nix::sys::stat::fchmodat(
        None,
        &dir,
        nix::sys::stat::Mode::from_bits_truncate(0o711),
        nix::sys::stat::FchmodatFlags::FollowSymlink,
    )
    .ctx(|| format!("chmod {}", dir.display()))?;

    let fifo_path = dir.join(container::EXEC_FIFO);
    nix::unistd::mkfifo(&fifo_path, nix::sys::stat::Mode::from_bits_truncate(0o622))
        .ctx(|| format!("creating {}", fifo_path.display()))?;
    // mkfifo is subject to umask; the fifo must be writable by a non-root container user.
    nix::sys::stat::fchmodat(
        None,
        &fifo_path,
        nix::sys::stat::Mode::from_bits_truncate(0o622),
        nix::sys::stat::FchmodatFlags::FollowSymlink,
    )
    .ctx(|| format!("chmod {}", fifo_path.display()))?;
    let fifo = open_path(&fifo_path)?;

    // Socket activation: LISTEN_FDS given to us pass on to the container, as with runc.
    let mut extra_env = Vec::new();
    let mut preserved = o.preserve_fds;
    if let Some(n) = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|v| v.parse::<i32>().ok())
        .filter(|n| *n > 0)
    {
        extra_env.push(format!("LISTEN_FDS={n}"));
        extra_env.push("LISTEN_PID=1".to_string());
        preserved += n;
    }

    let hooks = spec.hooks().as_ref();
    let prestart = hooks.and_then(|h| h.prestart().clone()).unwrap_or_default();
    let create_runtime = hooks
        .and_then(|h| h.create_runtime().clone())
        .unwrap_or_default();
    let has_container_side = hooks.is_some_and(|h| {
        h.create_container().as_ref().is_some_and(|v| !v.is_empty())
            || h.start_container().as_ref().is_some_and(|v| !v.is_empty())
    });
    let annotations: std::collections::BTreeMap<String, String> = spec
        .annotations()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();

    let (parent_sock, child_sock) = process::channel::pair()?;
    let cgroup_dirs = cgroup_cfg.as_ref().map(|c| c.dirs()).unwrap_or_default();
    // In a new user namespace, root of the container may not reach a bind source the runtime
    // can: clone those trees now and let init attach them.
    if plan.new_flags & libc::CLONE_NEWUSER != 0 {
        let prepared: Vec<usize> = mount_sources.iter().map(|(i, _)| *i).collect();
        mount_sources.extend(
            crate::rootfs::clone_bind_sources(spec, &bundle.dir)
                .into_iter()
                .filter(|(i, _)| !prepared.contains(i)),
        );
    }
    let args = InitArgs {
        in_user_ns: crate::spec::namespace(spec, oci_spec::runtime::LinuxNamespaceType::User)
            .is_some()
            || g.caller().in_user_ns,
        spec,
        rootfs: &bundle.rootfs,
        bundle: &bundle.dir,
        plan: &plan,
        sock: &child_sock,
        fifo: &fifo,
        console_socket: console.as_ref(),
        relay_tty: relay.is_some(),
        no_pivot: o.no_pivot,
        no_new_keyring: o.no_new_keyring,
        preserved_fds: preserved,
        extra_env: &extra_env,
        has_runtime_hooks: !prestart.is_empty() || !create_runtime.is_empty() || has_container_side,
        caps: &caps,
        seccomp: seccomp.as_ref(),
        labels: &labels,
        cgroup_dirs: &cgroup_dirs,
        host_mountinfo: cgroup_cfg.as_ref().map_or("", |c| c.mountinfo()),
        mount_sources: &mount_sources,
    };

    let annotations2 = annotations.clone();
    let id = o.id.clone();
    let bundle_dir = bundle.dir.clone();
    let mut runtime_hooks = |pid: i32| -> Result<Vec<u8>> {
        let state = container::hook_state(&id, pid, Status::Creating, &bundle_dir, &annotations);
        crate::hooks::run_all("prestart", &prestart, &state)?;
        crate::hooks::run_all("createRuntime", &create_runtime, &state)?;
        // Init gets the state for createContainer (creating) and for startContainer (created).
        let mut both = state;
        both.push(0);
        both.extend(container::hook_state(
            &id,
            pid,
            Status::Created,
            &bundle_dir,
            &annotations,
        ));
        Ok(both)
    };
    // Before any cgroup exists: which cgroups this container may get, so that `delete -f`
    // finds (kills and removes) them whatever instant this runtime is killed at.
    if let Some(cfg) = &cgroup_cfg {
        container::cgroup::record(&dir, &cfg.record())?;
    }
    // On cgroup v2 (pure or hybrid) init is cloned into its cgroup2 directory; the rest is
    // created while init sets up.
    let clone_into = match &cgroup_cfg {
        Some(cfg) => cfg.prepare_clone_into()?,
        None => None,
    };
    cleanup.cgroup = cgroup_cfg.as_ref().map(|c| c.created());
    let mut cgroup_step = |pid: i32| -> Result<Vec<OwnedFd>> {
        match &cgroup_cfg {
            Some(cfg) => cfg.make_for_init(pid),
            None => Ok(Vec::new()),
        }
    };
    let mut limits_step = || -> Result<()> {
        match &cgroup_cfg {
            Some(cfg) => cfg.apply_late(),
            None => Ok(()),
        }
    };
    let state_of =
        |pid: i32| container::hook_state(&o.id, pid, Status::Creating, &bundle.dir, &annotations2);
    log::debug!("create {}: checked; cloning init", o.id);
    let spawned = process::spawn(
        &args,
        parent_sock,
        process::Hooks {
            runtime: &mut runtime_hooks,
            cgroup: &mut cgroup_step,
            limits: &mut limits_step,
            state: &state_of,
            cgroup_fd: clone_into.as_ref().map(std::os::fd::AsRawFd::as_raw_fd),
        },
    );
    let pid = spawned?;
    let sent = pidfd_sock
        .as_ref()
        .map_or(Ok(()), |s| crate::pidfd_socket::send(s, pid));
    if let Err(e) = sent.and_then(|()| crate::intelrdt::apply_for_create(spec, &o.id, pid, &dir)) {
        process::channel::kill_and_reap(pid);
        return Err(e);
    }
    drop(child_sock);
    drop(console);
    let master = match &relay {
        Some(sock) => match process::channel::recv_fd(std::os::fd::AsRawFd::as_raw_fd(sock)) {
            Ok(m) => Some(m),
            Err(e) => {
                process::channel::kill_and_reap(pid);
                return Err(e);
            }
        },
        None => None,
    };

    let (pid_start, _) = container::proc_stat(pid).ok_or_else(|| {
        Error::Other(format!(
            "the container's init (pid {pid}) exited right after setup"
        ))
    })?;
    let c = Container {
        dir: dir.clone(),
        state: State {
            id: o.id.clone(),
            pid,
            pid_start,
            bundle: bundle.dir.clone(),
            rootfs: bundle.rootfs.clone(),
            created: crate::logger::rfc3339_now_go(),
            owner: String::new(),
            annotations: spec
                .annotations()
                .clone()
                .unwrap_or_default()
                .into_iter()
                .collect(),
            poststart: hooks
                .and_then(|h| h.poststart().clone())
                .unwrap_or_default(),
            poststop: hooks.and_then(|h| h.poststop().clone()).unwrap_or_default(),
            cgroup: cleanup.cgroup.as_ref().map(|c| c.state()),
            namespaces: spec
                .linux()
                .as_ref()
                .and_then(|l| l.namespaces().as_ref())
                .map(|ns| {
                    ns.iter()
                        .map(|n| {
                            (
                                n.typ().to_string(),
                                n.path()
                                    .as_ref()
                                    .map(|p| p.display().to_string())
                                    .unwrap_or_default(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
            process: Some(process.clone()),
            seccomp: spec.linux().as_ref().and_then(|l| l.seccomp().clone()),
        },
    };
    let saved = c.save().and_then(|()| match &o.pid_file {
        Some(p) => write_pid_file(p, pid),
        None => Ok(()),
    });
    if let Err(e) = saved {
        process::channel::kill_and_reap(pid);
        return Err(e);
    }
    cleanup.armed = false;
    Ok((c, master))
}

fn open_path(p: &Path) -> Result<OwnedFd> {
    let fd = nix::fcntl::open(
        p,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .ctx(|| format!("opening {}", p.display()))?;
    // SAFETY: fresh fd.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Connect to the --console-socket (create, run and exec).
pub(super) fn connect(p: &Path) -> Result<OwnedFd> {
    let s = std::os::unix::net::UnixStream::connect(p).map_err(|e| {
        Error::Usage(format!(
            "--console-socket {}: {}",
            p.display(),
            crate::spec::io_desc(&e)
        ))
    })?;
    Ok(OwnedFd::from(s))
}

/// Write the pid file atomically, as runc does (engines read it as soon as it appears).
pub fn write_pid_file(p: &Path, pid: i32) -> Result<()> {
    let dir = p
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp",
        p.file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    std::fs::write(&tmp, pid.to_string()).ctx(|| format!("--pid-file {}", p.display()))?;
    std::fs::rename(&tmp, p).ctx(|| format!("--pid-file {}", p.display()))
}

/// The runtime-spec 1.3 fields, checked before anything exists; a 1.3 config's pids.limit 0
/// is a limit (see cgroups::PIDS_ZERO_IS_A_LIMIT).
fn spec13_checks(spec: &oci_spec::runtime::Spec) -> Result<()> {
    crate::netdev::check(spec)?;
    crate::numa::check(spec)?;
    crate::intelrdt::check(spec)?;
    if crate::spec::at_least_1_3(spec.version()) {
        crate::cgroups::PIDS_ZERO_IS_A_LIMIT.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    Ok(())
}
