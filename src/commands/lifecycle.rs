//! `start`, `state`, `kill`, `delete`, `run`, `list`: the lifecycle after create.

use super::create::{self, Options};
use super::Global;
use crate::cli::{self, Args};
use crate::container::{self, Container, Status};
use crate::error::{Error, Result};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

fn one_id<'a>(a: &'a Args, name: &str) -> Result<&'a str> {
    let cmd = cli::command(name).ok_or_else(|| Error::Usage(name.to_string()))?;
    cli::expect_args(a, cmd, 1, 1)?;
    Ok(&a.positional[0])
}

pub fn start(g: &Global, a: &Args) -> Result<i32> {
    let id = one_id(a, "start")?;
    let c = Container::load(&g.root, id)?;
    start_container(&c)?;
    Ok(0)
}

/// Release a created container's init from the exec fifo, then run the poststart hooks.
fn start_container(c: &Container) -> Result<()> {
    match c.status() {
        Status::Created => {}
        Status::Stopped => {
            return Err(Error::Container(format!(
                "cannot start container {}: it has stopped",
                c.state.id
            )))
        }
        s => {
            return Err(Error::Container(format!(
                "cannot start container {}: it is already {}",
                c.state.id,
                s.as_str()
            )))
        }
    }
    // The pidfd first: once the fifo is open, init may exec and exit (and be reaped) at once.
    let pidfd = crate::sys::pidfd::pidfd_open(c.state.pid).map_err(|e| {
        Error::Container(format!(
            "cannot start container {}: {}",
            c.state.id,
            crate::error::errno_text(e)
        ))
    })?;
    let fifo_path = c.fifo_path();
    let fifo = nix::fcntl::open(
        &fifo_path,
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_NONBLOCK | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| {
        Error::Container(format!(
            "cannot start container {}: exec fifo: {}",
            c.state.id,
            crate::error::errno_text(e)
        ))
    })?;
    // SAFETY: fresh fd.
    let fifo = unsafe { OwnedFd::from_raw_fd(fifo) };

    // Wait for init's byte, or for init to die: whichever comes first.
    let mut fds = [
        libc::pollfd {
            fd: fifo.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: pidfd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    loop {
        // SAFETY: two valid pollfds.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if r < 0 {
            if nix::errno::Errno::last() == nix::errno::Errno::EINTR {
                continue;
            }
            return Err(Error::sys(
                "waiting for the container's init",
                nix::errno::Errno::last(),
            ));
        }
        if fds[0].revents & libc::POLLIN != 0 {
            let mut b = [0u8; 1];
            if nix::unistd::read(fifo.as_raw_fd(), &mut b) == Ok(1) {
                if b[0] == b'1' {
                    // Init failed after start (a startContainer hook): the message follows,
                    // written at once.
                    let mut msg = vec![0u8; 4096];
                    let n = nix::unistd::read(fifo.as_raw_fd(), &mut msg).unwrap_or(0);
                    let _ = std::fs::remove_file(&fifo_path);
                    return Err(Error::Other(format!(
                        "cannot start container {}: {}",
                        c.state.id,
                        String::from_utf8_lossy(&msg[..n])
                    )));
                }
                break;
            }
        }
        if fds[1].revents != 0 {
            return Err(Error::Container(format!(
                "cannot start container {}: its init exited before it could start",
                c.state.id
            )));
        }
        if fds[0].revents & libc::POLLHUP != 0 {
            // A writer came and went without a byte: someone else started it.
            return Err(Error::Container(format!(
                "cannot start container {}: it was started by another caller",
                c.state.id
            )));
        }
    }
    let _ = std::fs::remove_file(&fifo_path);
    if !c.state.poststart.is_empty() {
        // poststart runs after the program is exec'd: init holds the fifo open until execve
        // closes it, so wait for EOF (or init's death).
        let mut b = [0u8; 1];
        let mut p = libc::pollfd {
            fd: fifo.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        loop {
            // SAFETY: one valid pollfd.
            unsafe { libc::poll(&mut p, 1, -1) };
            match nix::unistd::read(fifo.as_raw_fd(), &mut b) {
                Err(nix::errno::Errno::EAGAIN) | Err(nix::errno::Errno::EINTR) => continue,
                _ => break,
            }
        }
        crate::hooks::run_all_warn(
            "poststart",
            &c.state.poststart,
            &c.hook_state(Status::Running),
        );
    }
    report_early_exit(c, &pidfd);
    Ok(())
}

/// With --debug: a program that ended before `start` returned (an init that exits at once,
/// often without a word) is named with its wait status while its parent has not reaped it.
fn report_early_exit(c: &Container, pidfd: &OwnedFd) {
    if !log::log_enabled!(log::Level::Debug) {
        return;
    }
    let mut p = libc::pollfd {
        fd: pidfd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no wait.
    if unsafe { libc::poll(&mut p, 1, 0) } != 1 {
        return;
    }
    let how = exit_status_of_zombie(c.state.pid)
        .map(crate::process::tty::describe_status)
        .unwrap_or_else(|| "has exited (its parent reaped it: status unknown here)".into());
    log::debug!(
        "start {}: init {} {how}, before start returned",
        c.state.id,
        c.state.pid
    );
}

/// The wait status of a process that has exited and is not reaped yet (the `exit_code` field of
/// /proc/PID/stat, Linux 3.5+).
fn exit_status_of_zombie(pid: i32) -> Option<libc::c_int> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Field 3 (state) is fields[0]; exit_code is field 52.
    if fields.first() != Some(&"Z") {
        return None;
    }
    fields.get(49)?.parse().ok()
}

pub fn state(g: &Global, a: &Args) -> Result<i32> {
    let id = one_id(a, "state")?;
    let c = Container::load(&g.root, id)?;
    let s = c.oci_state(c.status());
    println!("{}", serde_json::to_string_pretty(&s).unwrap_or_default());
    Ok(0)
}

/// Signal by name (with or without SIG, any case) or number, as runc accepts them.
pub fn parse_signal(s: &str) -> Result<i32> {
    if let Ok(n) = s.parse::<i32>() {
        // 0 is accepted, as by runc and kill(2): it only checks that the container runs.
        if (0..=64).contains(&n) {
            return Ok(n);
        }
        return Err(Error::Usage(format!(
            "signal {s:?}: not a valid signal number"
        )));
    }
    let up = s.to_ascii_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    let n = match name {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "ILL" => 4,
        "TRAP" => 5,
        "ABRT" | "IOT" => 6,
        "BUS" => 7,
        "FPE" => 8,
        "KILL" => 9,
        "USR1" => 10,
        "SEGV" => 11,
        "USR2" => 12,
        "PIPE" => 13,
        "ALRM" => 14,
        "TERM" => 15,
        "STKFLT" => 16,
        "CHLD" | "CLD" => 17,
        "CONT" => 18,
        "STOP" => 19,
        "TSTP" => 20,
        "TTIN" => 21,
        "TTOU" => 22,
        "URG" => 23,
        "XCPU" => 24,
        "XFSZ" => 25,
        "VTALRM" => 26,
        "PROF" => 27,
        "WINCH" => 28,
        "IO" | "POLL" => 29,
        "PWR" => 30,
        "SYS" => 31,
        _ => {
            let rt = name
                .strip_prefix("RTMIN")
                .map(|r| (34, r))
                .or_else(|| name.strip_prefix("RTMAX").map(|r| (64, r)));
            match rt {
                Some((base, "")) => base,
                Some((34, r)) if r.starts_with('+') => r[1..]
                    .parse::<i32>()
                    .ok()
                    .map(|n| 34 + n)
                    .filter(|n| *n <= 64)
                    .ok_or_else(|| bad_signal(s))?,
                Some((64, r)) if r.starts_with('-') => r[1..]
                    .parse::<i32>()
                    .ok()
                    .map(|n| 64 - n)
                    .filter(|n| *n >= 34)
                    .ok_or_else(|| bad_signal(s))?,
                _ => return Err(bad_signal(s)),
            }
        }
    };
    Ok(n)
}

fn bad_signal(s: &str) -> Error {
    Error::Usage(format!("signal {s:?}: unknown signal name"))
}

pub fn kill(g: &Global, a: &Args) -> Result<i32> {
    let cmd = cli::command("kill").ok_or_else(|| Error::Usage("kill".into()))?;
    cli::expect_args(a, cmd, 1, 2)?;
    let sig = parse_signal(a.positional.get(1).map(|s| s.as_str()).unwrap_or("SIGTERM"))?;
    let c = Container::load(&g.root, &a.positional[0])?;
    // As runc: without a pid namespace of its own, killing init does not kill the rest, so
    // SIGKILL goes to every process in the container's cgroup, whether init is still there
    // or not (a container whose init is gone is stopped, but its other processes run on).
    // Init is in the cgroup too, so it got its SIGKILL with the others: nothing is left to
    // signal (and no second look at the status, which init's death may change meanwhile).
    if sig == libc::SIGKILL && !c.has_own_pid_ns() {
        crate::container::cgroup::kill_all(&c, sig)?;
        return Ok(0);
    }
    let status = c.status();
    if status == Status::Stopped {
        // --all (kept for old callers) makes signalling a stopped container no error.
        if a.is_set("all") {
            return Ok(0);
        }
        return Err(Error::Container(format!(
            "cannot kill container {}: container not running",
            c.state.id
        )));
    }
    if a.is_set("all") {
        crate::container::cgroup::kill_all(&c, sig)?;
    }
    // SAFETY: kill with a pid we verified by start time just above.
    if unsafe { libc::kill(c.state.pid, sig) } != 0 {
        let e = nix::errno::Errno::last();
        if e != nix::errno::Errno::ESRCH {
            return Err(Error::sys(
                format!("cannot kill container {}", c.state.id),
                e,
            ));
        }
    }
    Ok(0)
}

pub fn delete(g: &Global, a: &Args) -> Result<i32> {
    let id = one_id(a, "delete")?;
    let force = a.is_set("force");
    let c = match Container::load(&g.root, id) {
        Ok(c) => c,
        Err(Error::Container(m)) if m.ends_with("does not exist") => {
            let dir = Container::state_dir(&g.root, id);
            if dir.is_dir() {
                return delete_half_created(id, &dir, force).map(|()| 0);
            }
            if force {
                return Ok(0);
            }
            return Err(Error::Container(m));
        }
        Err(e) => return Err(e),
    };
    match c.status() {
        // Init is gone; without a pid namespace of its own the container's other processes
        // may still run: kill them, or the cgroup could not be removed.
        Status::Stopped if !c.has_own_pid_ns() => {
            let _ = crate::container::cgroup::kill_all(&c, libc::SIGKILL);
        }
        Status::Stopped => {}
        Status::Created => kill_and_wait(&c)?,
        s if force => {
            if s == Status::Paused {
                crate::container::cgroup::thaw(&c);
            }
            kill_and_wait(&c)?
        }
        s => {
            return Err(Error::Container(format!(
                "cannot delete container {} that is not stopped: {} (use --force)",
                c.state.id,
                s.as_str()
            )))
        }
    }
    destroy(&c);
    Ok(0)
}

/// A state directory without state.json: a create still at work, or one killed half-way
/// (whatever instant it died at). Its processes are in the cgroups it recorded before making
/// any (init is cloned into its cgroup2 directory, and joins the v1 ones before it drops its
/// parent-death signal); with --force they are killed, then the cgroups and the directory go.
/// Without --force, a create whose processes still run is refused.
fn delete_half_created(id: &str, dir: &std::path::Path, force: bool) -> Result<()> {
    let manager = match container::cgroup::recorded(dir) {
        Some(st) => Some(crate::cgroups::Manager::from_state(&st)),
        // No record: no cgroup was made, unless an older husk made the directory; the
        // default path rule (no cgroupsPath) finds that one.
        None => crate::cgroups::Manager::new_with_mountinfo(None, id)
            .ok()
            .map(|(m, _)| m),
    };
    if let Some(m) = &manager {
        if !force && !crate::container::cgroup::processes_in(m).is_empty() {
            return Err(Error::Container(format!(
                "cannot delete container {id}: it is being created (use --force)"
            )));
        }
        crate::container::cgroup::kill_everything(m)?;
        if let Err(e) = m.destroy() {
            log::warn!("removing the cgroup of {id}: {e}");
        }
    }
    container::remove_state_dir(dir);
    Ok(())
}

/// SIGKILL the container (every process, through its cgroup when it has one) and wait for init.
fn kill_and_wait(c: &Container) -> Result<()> {
    let pidfd = crate::sys::pidfd::pidfd_open(c.state.pid).ok();
    // In its own pid namespace, killing init kills every process of the container (the
    // kernel does it); otherwise signal the whole cgroup (freeze, kill, thaw).
    if !c.has_own_pid_ns() {
        let _ = crate::container::cgroup::kill_all(c, libc::SIGKILL);
    }
    // SAFETY: kill a pid verified by start time.
    unsafe { libc::kill(c.state.pid, libc::SIGKILL) };
    if let Some(fd) = pidfd {
        // Bounded: a process stuck in the kernel (D state) must not hang delete forever.
        crate::sys::pidfd::wait_exit(&fd, 10_000);
    }
    Ok(())
}

/// Remove what a stopped container holds: poststop hooks, cgroup, state directory.
fn destroy(c: &Container) {
    if !c.state.poststop.is_empty() {
        crate::hooks::run_all_warn(
            "poststop",
            &c.state.poststop,
            &c.hook_state(Status::Stopped),
        );
    }
    crate::container::cgroup::destroy(c);
    container::remove_state_dir(&c.dir);
}

pub fn run(g: &Global, a: &Args) -> Result<i32> {
    let cmd = cli::command("run").ok_or_else(|| Error::Usage("run".into()))?;
    cli::expect_args(a, cmd, 1, 1)?;
    let mut o = Options::from_args(a)?;
    let detach = a.is_set("detach");
    o.foreground = !detach;
    if detach {
        let c = create::create(g, &o)?;
        if let Err(e) = start_container(&c) {
            let _ = kill_and_wait(&c);
            destroy(&c);
            return Err(e);
        }
        return Ok(0);
    }
    // Signals for the container are blocked here and read from a signalfd once it runs; init
    // unblocks them for itself before exec.
    let set = crate::process::tty::block_forwarded();
    if !a.is_set("no-subreaper") {
        // Processes that the container leaves behind in a shared pid namespace come to us.
        // SAFETY: prctl with integer arguments.
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    }
    let (c, master) = create::create_with_terminal(g, &o)?;
    if let Err(e) = start_container(&c) {
        let _ = kill_and_wait(&c);
        destroy(&c);
        return Err(e);
    }
    log::debug!("run {}: started", c.state.id);
    // Wait for init (our child), forwarding signals and relaying its terminal if husk owns it.
    let code = crate::process::tty::wait(c.state.pid, master, &set, true);
    log::debug!("run {}: init exited ({code})", c.state.id);
    if !a.is_set("keep") {
        // Init is gone; only a shared pid namespace can leave processes behind.
        if !c.has_own_pid_ns() {
            let _ = crate::container::cgroup::kill_all(&c, libc::SIGKILL);
        }
        destroy(&c);
    }
    Ok(code)
}

pub fn list(g: &Global, a: &Args) -> Result<i32> {
    let cmd = cli::command("list").ok_or_else(|| Error::Usage("list".into()))?;
    cli::expect_args(a, cmd, 0, 0)?;
    let containers = container::list(&g.root)?;
    let format = a.value("format").unwrap_or("table");
    if a.is_set("quiet") {
        for c in &containers {
            println!("{}", c.state.id);
        }
        return Ok(0);
    }
    let owner = |c: &Container| {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(&c.dir)
            .map(|m| container::user_name(m.uid()))
            .unwrap_or_default()
    };
    match format {
        "json" => {
            let items: Vec<serde_json::Value> = containers
                .iter()
                .map(|c| {
                    let st = c.status();
                    let mut v = c.oci_state(st);
                    v["owner"] = serde_json::Value::String(owner(c));
                    v
                })
                .collect();
            if items.is_empty() {
                println!("null");
            } else {
                println!("{}", serde_json::Value::Array(items));
            }
        }
        "table" => {
            let mut rows = vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
                .map(String::from)
                .to_vec()];
            for c in &containers {
                let st = c.status();
                let pid = if st == Status::Stopped {
                    0
                } else {
                    c.state.pid
                };
                rows.push(vec![
                    c.state.id.clone(),
                    pid.to_string(),
                    st.as_str().to_string(),
                    c.state.bundle.display().to_string(),
                    c.state.created.clone(),
                    owner(c),
                ]);
            }
            print!("{}", tabulate(&rows));
        }
        other => {
            return Err(Error::Usage(format!(
                "--format {other:?}: invalid format (expected table or json)"
            )))
        }
    }
    Ok(0)
}

/// Columns as Go's tabwriter lays them out for runc (min width 12, padding 3).
fn tabulate(rows: &[Vec<String>]) -> String {
    let cols = rows.first().map(|r| r.len()).unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].len() + 3)
                .max()
                .unwrap_or(0)
                .max(12)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        for (i, cell) in r.iter().enumerate() {
            if i + 1 == cols {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}", w = widths[i]));
            }
        }
        out.push('\n');
    }
    out
}
