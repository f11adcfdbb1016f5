//! OCI hooks: run a hook's program with its args and env, the container state JSON on stdin,
//! and its timeout. Which hooks run where (runtime or container namespace) is decided by the
//! caller; this only runs them.

use crate::error::{Error, Result};
use crate::sys::pidfd::pidfd_open;
use oci_spec::runtime::Hook;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

/// Run every hook of one kind in order; the first failure stops the list. The message is
/// runc's ("error running prestart hook #1: ...", hooks counted from 0) and names the program.
pub fn run_all(kind: &str, hooks: &[Hook], state: &[u8]) -> Result<()> {
    run_all_env(kind, hooks, state, None)
}

/// run_all, with the environment a hook without `env` gets: by default the runtime's own, as
/// runc's hooks inherit runc's (an `env` given, even empty, is the whole environment);
/// startContainer hooks get the container process's, createContainer hooks an empty one (runc
/// runs both from its init, whose environment is the process's or nearly empty).
pub fn run_all_env(
    kind: &str,
    hooks: &[Hook],
    state: &[u8],
    default_env: Option<&[String]>,
) -> Result<()> {
    for (i, h) in hooks.iter().enumerate() {
        run(h, state, default_env).map_err(|e| {
            Error::Other(format!(
                "error running {kind} hook #{i}: {}: {e}",
                h.path().display()
            ))
        })?;
    }
    Ok(())
}

/// Run hooks whose failure must not stop the lifecycle (poststart, poststop): log and go on.
pub fn run_all_warn(kind: &str, hooks: &[Hook], state: &[u8]) {
    for (i, h) in hooks.iter().enumerate() {
        if let Err(e) = run(h, state, None) {
            log::warn!(
                "error running {kind} hook #{i}: {}: {e}",
                h.path().display()
            );
        }
    }
}

fn run(h: &Hook, state: &[u8], default_env: Option<&[String]>) -> std::result::Result<(), String> {
    let mut cmd = Command::new(h.path());
    let args = h.args().as_deref().unwrap_or(&[]);
    if let Some(a0) = args.first() {
        cmd.arg0(a0);
    }
    if args.len() > 1 {
        cmd.args(&args[1..]);
    }
    if let Some(env) = h.env().as_deref().or(default_env) {
        cmd.env_clear();
        for kv in env {
            if let Some((k, v)) = kv.split_once('=') {
                cmd.env(k, v);
            }
        }
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run: {}", crate::spec::io_desc(&e)))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is fine: ignore EPIPE.
        let _ = stdin.write_all(state);
    }
    let timeout = h.timeout().map(|t| t as i32);
    let status = match wait_timeout(child.id() as i32, timeout) {
        Ok(Some(())) => child.wait().map_err(|e| e.to_string())?,
        Ok(None) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("timed out after {}s", timeout.unwrap_or(0)));
        }
        Err(e) => return Err(e),
    };
    if status.success() {
        return Ok(());
    }
    let mut err = String::new();
    if let Some(mut s) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut s, &mut err);
    }
    let err = err.trim();
    let how = match (
        status.code(),
        std::os::unix::process::ExitStatusExt::signal(&status),
    ) {
        (Some(c), _) => format!("exited with status {c}"),
        (_, Some(s)) => format!("killed by signal {s} ({})", signal_text(s)),
        _ => "failed".to_string(),
    };
    if err.is_empty() {
        Err(how)
    } else {
        Err(format!("{how}: {err}"))
    }
}

/// The description of a signal in lower case, as Go prints it ("bad system call").
fn signal_text(sig: i32) -> String {
    // SAFETY: strsignal returns a pointer to a static or thread-local string.
    let p = unsafe { libc::strsignal(sig) };
    if p.is_null() {
        return format!("signal {sig}");
    }
    // SAFETY: a NUL-terminated string from libc.
    let s = unsafe { std::ffi::CStr::from_ptr(p) }.to_string_lossy();
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Wait until pid exits (Some) or `secs` pass (None), without reaping it.
pub fn wait_timeout(pid: i32, secs: Option<i32>) -> std::result::Result<Option<()>, String> {
    let fd = pidfd_open(pid).map_err(|e| format!("pidfd_open: {}", crate::error::errno_text(e)))?;
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = secs.map(|s| s.saturating_mul(1000)).unwrap_or(-1);
    loop {
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut pfd, 1, ms) };
        if r < 0 && nix::errno::Errno::last() == nix::errno::Errno::EINTR {
            continue;
        }
        return match r {
            0 => Ok(None),
            r if r > 0 => Ok(Some(())),
            _ => Err(format!(
                "poll: {}",
                crate::error::errno_text(nix::errno::Errno::last())
            )),
        };
    }
}
