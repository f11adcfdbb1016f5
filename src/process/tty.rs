//! Waiting for a foreground process (`run`, `exec`): forward signals to it, pass its exit
//! status through (128+n for a signal), and, when husk owns its terminal (`-t` or
//! process.terminal without --console-socket), relay that terminal as `runc run -t` does:
//! husk's own tty goes raw, the window size follows it, stdin is copied to the pty master and
//! the master to stdout until the process exits and its output is drained.
//!
//! Without a terminal nothing is copied: the process has husk's stdio itself.
//! [`check_terminal`] holds runc's rules on who receives the terminal, for create and exec.

use crate::error::{Error, Result};
use nix::sys::signal::SigSet;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// The command that asks for a terminal: the errors name what its user wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TerminalFor {
    /// create and run: the terminal is process.terminal of the config.
    Create,
    /// exec: --tty or process.terminal of the --process file.
    Exec,
}

/// runc's rules for a terminal, checked before anything is created: the pty master goes to
/// --console-socket, or to husk itself when it stays in the foreground to relay it (run, exec
/// without --detach); a --console-socket without a terminal has nothing to receive.
pub fn check_terminal(
    cmd: TerminalFor,
    terminal: bool,
    console_socket: bool,
    foreground: bool,
) -> Result<()> {
    let msg = match (terminal, console_socket, cmd) {
        (true, false, _) if foreground => return Ok(()),
        (true, false, TerminalFor::Create) => {
            "process.terminal is true: --console-socket is required to receive the terminal"
        }
        (true, false, TerminalFor::Exec) => {
            "--tty: cannot allocate a terminal when detaching without --console-socket"
        }
        (false, true, TerminalFor::Create) => {
            "--console-socket: cannot be used when process.terminal is false"
        }
        (false, true, TerminalFor::Exec) => {
            "--console-socket: cannot be used without a terminal (--tty or process.terminal)"
        }
        _ => return Ok(()),
    };
    Err(Error::Usage(msg.into()))
}

/// The signals a foreground husk passes on to its process.
pub const FORWARDED: [i32; 8] = [
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGTERM,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGWINCH,
    libc::SIGCONT,
];

/// Block the forwarded signals and SIGCHLD, before the process is started (so none is lost):
/// they are read from a signalfd while waiting. The process unblocks them for itself.
pub fn block_forwarded() -> SigSet {
    let mut set = SigSet::empty();
    for s in FORWARDED.iter().chain([libc::SIGCHLD].iter()) {
        if let Ok(sig) = nix::sys::signal::Signal::try_from(*s) {
            set.add(sig);
        }
    }
    let _ = set.thread_block();
    set
}

/// Puts husk's terminal back as it was, however the wait ends.
struct RawMode {
    fd: RawFd,
    saved: libc::termios,
}

impl RawMode {
    fn enter(fd: RawFd) -> Option<RawMode> {
        // SAFETY: termios is plain data; tcgetattr fills it.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: tcgetattr/tcsetattr on an fd with a valid struct.
        unsafe {
            if libc::isatty(fd) != 1 || libc::tcgetattr(fd, &mut saved) != 0 {
                return None;
            }
            let mut raw = saved;
            libc::cfmakeraw(&mut raw);
            if libc::tcsetattr(fd, libc::TCSANOW, &raw) != 0 {
                return None;
            }
        }
        Some(RawMode { fd, saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: restore the attributes saved in enter.
        unsafe { libc::tcsetattr(self.fd, libc::TCSANOW, &self.saved) };
    }
}

/// Copy husk's window size (from whichever of stdin/stdout is a tty) to the pty master.
fn copy_window_size(master: RawFd) {
    for fd in [0, 1] {
        // SAFETY: winsize is plain data; the ioctls read/write one.
        unsafe {
            let mut ws: libc::winsize = std::mem::zeroed();
            if libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) == 0 {
                libc::ioctl(master, libc::TIOCSWINSZ, &ws);
                return;
            }
        }
    }
}

fn set_nonblocking(fd: RawFd) {
    // SAFETY: fcntl flag calls on an fd we own.
    unsafe {
        let fl = libc::fcntl(fd, libc::F_GETFL);
        if fl >= 0 {
            libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
        }
    }
}

fn write_all(fd: RawFd, mut data: &[u8]) {
    while !data.is_empty() {
        // SAFETY: data is valid for its length.
        let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
        if n > 0 {
            data = &data[n as usize..];
        } else if n < 0 && nix::errno::Errno::last() == nix::errno::Errno::EINTR {
            continue;
        } else {
            // stdout is gone (a closed pipe): the output has nowhere to go; drop it.
            return;
        }
    }
}

/// Read what the master has without blocking; false once it has nothing more (or the slave
/// side is closed: EIO).
fn pump_master(master: RawFd, buf: &mut [u8]) -> bool {
    // SAFETY: buf is valid for its length.
    let n = unsafe { libc::read(master, buf.as_mut_ptr().cast(), buf.len()) };
    if n > 0 {
        write_all(1, &buf[..n as usize]);
        return true;
    }
    false
}

fn status_code(pid: i32, status: libc::c_int) -> Option<i32> {
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        return None;
    };
    // The code alone cannot tell `exit 137` from SIGKILL, nor say what killed a program that
    // died without a word (systemd without a console): --debug shows the raw status.
    log::debug!("process {pid} {}", describe_status(status));
    Some(code)
}

/// What a wait status says, in words: "exited with status N", "was killed by signal N (NAME)".
pub fn describe_status(status: libc::c_int) -> String {
    if libc::WIFEXITED(status) {
        return format!("exited with status {}", libc::WEXITSTATUS(status));
    }
    if libc::WIFSIGNALED(status) {
        let sig = libc::WTERMSIG(status);
        let core = if libc::WCOREDUMP(status) {
            ", core dumped"
        } else {
            ""
        };
        return format!("was killed by signal {sig} ({}{core})", signal_name(sig));
    }
    format!("changed state (wait status {status:#x})")
}

fn signal_name(sig: i32) -> String {
    match nix::sys::signal::Signal::try_from(sig) {
        Ok(s) => s.as_str().to_string(),
        Err(_) if sig >= libc::SIGRTMIN() && sig <= libc::SIGRTMAX() => {
            format!("SIGRTMIN+{}", sig - libc::SIGRTMIN())
        }
        Err(_) => "unknown".to_string(),
    }
}

/// Wait for `pid` (our child), forwarding signals and relaying `master` when given. With
/// `reap_any`, other children that exit meanwhile are reaped too (`run` is a subreaper).
/// Returns the exit status, 128+n when a signal ended it.
pub fn wait(pid: i32, master: Option<OwnedFd>, set: &SigSet, reap_any: bool) -> i32 {
    let sfd = match nix::sys::signalfd::SignalFd::with_flags(
        set,
        nix::sys::signalfd::SfdFlags::SFD_CLOEXEC | nix::sys::signalfd::SfdFlags::SFD_NONBLOCK,
    ) {
        Ok(fd) => fd,
        Err(_) => {
            // No signalfd: nothing can be forwarded or relayed; just wait.
            let mut status = 0;
            // SAFETY: blocking wait for our child.
            if unsafe { libc::waitpid(pid, &mut status, 0) } == pid {
                return status_code(pid, status).unwrap_or(255);
            }
            return 255;
        }
    };
    let _raw = master.as_ref().and_then(|_| RawMode::enter(0));
    if let Some(m) = &master {
        copy_window_size(m.as_raw_fd());
        set_nonblocking(m.as_raw_fd());
    }
    let mut stdin_open = master.is_some();
    let mut master_open = master.is_some();
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 32 * 1024];
    let target = if reap_any { -1 } else { pid };
    loop {
        // Reap what exited; once the process did, drain what it wrote and return.
        loop {
            let mut status = 0;
            // SAFETY: non-blocking waitpid.
            let r = unsafe { libc::waitpid(target, &mut status, libc::WNOHANG) };
            if r <= 0 {
                break;
            }
            if r == pid {
                if let Some(code) = status_code(pid, status) {
                    if let Some(m) = &master {
                        // A non-blocking read flushes the pty's pending input first, so what
                        // the process wrote before it exited is all there.
                        while pump_master(m.as_raw_fd(), &mut buf) {}
                    }
                    return code;
                }
            }
        }
        let mut fds = vec![libc::pollfd {
            fd: sfd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        let mut master_idx = None;
        let mut stdin_idx = None;
        if let (Some(m), true) = (&master, master_open) {
            let mut ev = libc::POLLIN;
            if !pending.is_empty() {
                ev |= libc::POLLOUT;
            }
            master_idx = Some(fds.len());
            fds.push(libc::pollfd {
                fd: m.as_raw_fd(),
                events: ev,
                revents: 0,
            });
        }
        if stdin_open && master_open && pending.is_empty() {
            stdin_idx = Some(fds.len());
            fds.push(libc::pollfd {
                fd: 0,
                events: libc::POLLIN,
                revents: 0,
            });
        }
        // SAFETY: fds is a valid array of its length.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) };
        if r < 0 {
            if nix::errno::Errno::last() == nix::errno::Errno::EINTR {
                continue;
            }
            // Cannot poll: fall back to a plain wait.
            let mut status = 0;
            // SAFETY: blocking wait for our child.
            if unsafe { libc::waitpid(pid, &mut status, 0) } == pid {
                return status_code(pid, status).unwrap_or(255);
            }
            return 255;
        }
        if fds[0].revents != 0 {
            while let Ok(Some(info)) = sfd.read_signal() {
                let sig = info.ssi_signo as i32;
                match (&master, sig) {
                    (_, libc::SIGCHLD) => {}
                    (Some(m), libc::SIGWINCH) => copy_window_size(m.as_raw_fd()),
                    _ => {
                        // SAFETY: forward to our own child.
                        unsafe { libc::kill(pid, sig) };
                    }
                }
            }
        }
        if let Some(i) = stdin_idx {
            if fds[i].revents != 0 {
                // SAFETY: buf is valid for its length.
                let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
                if n > 0 {
                    pending.extend_from_slice(&buf[..n as usize]);
                } else if n == 0
                    || nix::errno::Errno::last() != nix::errno::Errno::EINTR
                        && nix::errno::Errno::last() != nix::errno::Errno::EAGAIN
                {
                    // End of husk's input: like runc, nothing is sent to the terminal.
                    stdin_open = false;
                }
            }
        }
        if let (Some(i), Some(m)) = (master_idx, &master) {
            let rev = fds[i].revents;
            if rev & libc::POLLOUT != 0 && !pending.is_empty() {
                // SAFETY: pending is valid for its length.
                let n =
                    unsafe { libc::write(m.as_raw_fd(), pending.as_ptr().cast(), pending.len()) };
                if n > 0 {
                    pending.drain(..n as usize);
                }
            }
            let got = rev & libc::POLLIN != 0 && pump_master(m.as_raw_fd(), &mut buf);
            if !got && rev & (libc::POLLHUP | libc::POLLERR) != 0 {
                // Every slave fd is closed: nothing more will come; wait for the exit.
                master_open = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(r: Result<()>) -> String {
        match r {
            Err(Error::Usage(m)) => m,
            other => panic!("expected a usage error, got {other:?}"),
        }
    }

    #[test]
    fn terminal_goes_to_the_socket_or_to_a_foreground_husk() {
        for cmd in [TerminalFor::Create, TerminalFor::Exec] {
            // With a socket: whether husk stays or not.
            assert!(check_terminal(cmd, true, true, false).is_ok());
            assert!(check_terminal(cmd, true, true, true).is_ok());
            // Without: only a foreground husk can relay it.
            assert!(check_terminal(cmd, true, false, true).is_ok());
            // No terminal, no socket: stdio is inherited.
            assert!(check_terminal(cmd, false, false, false).is_ok());
            assert!(check_terminal(cmd, false, false, true).is_ok());
        }
    }

    #[test]
    fn terminal_without_anyone_to_receive_it_is_refused() {
        assert_eq!(
            err(check_terminal(TerminalFor::Create, true, false, false)),
            "process.terminal is true: --console-socket is required to receive the terminal"
        );
        assert_eq!(
            err(check_terminal(TerminalFor::Exec, true, false, false)),
            "--tty: cannot allocate a terminal when detaching without --console-socket"
        );
    }

    #[test]
    fn console_socket_without_a_terminal_is_refused() {
        for fg in [false, true] {
            assert_eq!(
                err(check_terminal(TerminalFor::Create, false, true, fg)),
                "--console-socket: cannot be used when process.terminal is false"
            );
            assert_eq!(
                err(check_terminal(TerminalFor::Exec, false, true, fg)),
                "--console-socket: cannot be used without a terminal (--tty or process.terminal)"
            );
        }
    }
}
