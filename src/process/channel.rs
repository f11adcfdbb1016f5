//! The parent <-> init channel: a SOCK_SEQPACKET socketpair, so every message arrives whole;
//! a message is one tag byte and a payload. EOF means the other side died.

use crate::error::{Error, Result};
use crate::sys::pidfd::pidfd_open;
// In sys since every kill-and-reap goes through them; still reached through channel.
pub use crate::sys::pidfd::{kill_and_reap, reap_within};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Init asks the parent to write its uid/gid maps (two-stage path).
pub const MAPS: u8 = b'M';
/// Parent: maps written, go on.
pub const GO: u8 = b'g';
/// Parent: the container's cgroup exists, with its limits; the message carries an fd of the
/// `tasks` file of each cgroup v1 directory, opened by the runtime, through which init moves
/// itself in (a v1 cgroup that init is not cloned into).
pub const CGROUP_MADE: u8 = b'c';
/// Stage 1 reports the pid of init (payload: i32, host pid namespace).
pub const PID: u8 = b'P';
/// Init is ready for the runtime-namespace hooks (prestart, createRuntime).
pub const HOOKS: u8 = b'H';
/// Parent: those hooks ran; payload is the state JSON for the container-side hooks.
pub const HOOKS_DONE: u8 = b'h';
/// Init is set up and waits on the exec fifo.
pub const READY: u8 = b'R';
/// Init loaded a seccomp filter with a notify listener; payload: the fd number in init.
pub const SECCOMP_FD: u8 = b'S';
/// Parent: the listener was handed to the seccomp agent.
pub const SECCOMP_DONE: u8 = b's';
/// Init failed; payload is the message.
pub const ERROR: u8 = b'E';

/// The longest error message init sends: far above any real one, and well below what one
/// datagram may carry (a longer one would fail to send, and the runtime would only see init
/// exit), so a message quoting a hostile value still arrives.
const MAX_ERROR: usize = 8 << 10;

/// An error message cut to what the channel carries.
pub fn bounded(mut msg: String) -> String {
    if msg.len() > MAX_ERROR {
        let mut end = MAX_ERROR;
        while !msg.is_char_boundary(end) {
            end -= 1;
        }
        msg.truncate(end);
        msg.push_str("...");
    }
    msg
}

pub fn pair() -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: fds is a valid 2-element array.
    if unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    } != 0
    {
        return Err(Error::sys(
            "creating the init socketpair",
            nix::errno::Errno::last(),
        ));
    }
    // SAFETY: both fds are fresh.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

pub fn send(fd: &OwnedFd, tag: u8, payload: &[u8]) -> Result<()> {
    let mut buf = Vec::with_capacity(1 + payload.len());
    buf.push(tag);
    buf.extend_from_slice(payload);
    loop {
        // SAFETY: buf is valid for its length.
        let n = unsafe {
            libc::send(
                fd.as_raw_fd(),
                buf.as_ptr().cast(),
                buf.len(),
                libc::MSG_NOSIGNAL,
            )
        };
        if n >= 0 {
            return Ok(());
        }
        if nix::errno::Errno::last() != nix::errno::Errno::EINTR {
            return Err(Error::sys(
                "sending to the container's init",
                nix::errno::Errno::last(),
            ));
        }
    }
}

/// Receive one message; None on EOF.
pub fn recv(fd: &OwnedFd) -> Result<Option<(u8, Vec<u8>)>> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // SAFETY: buf is valid for its length.
        let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n > 0 {
            buf.truncate(n as usize);
            let tag = buf.remove(0);
            return Ok(Some((tag, buf)));
        }
        if n == 0 {
            return Ok(None);
        }
        if nix::errno::Errno::last() != nix::errno::Errno::EINTR {
            return Err(Error::sys(
                "reading from the container's init",
                nix::errno::Errno::last(),
            ));
        }
    }
}

/// Send a message with fds attached (SCM_RIGHTS).
pub fn send_with_fds(fd: &OwnedFd, tag: u8, fds: &[RawFd]) -> Result<()> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
    if fds.is_empty() {
        return send(fd, tag, &[]);
    }
    let data = [tag];
    let iov = [std::io::IoSlice::new(&data)];
    let cmsg = [ControlMessage::ScmRights(fds)];
    loop {
        match sendmsg::<()>(fd.as_raw_fd(), &iov, &cmsg, MsgFlags::MSG_NOSIGNAL, None) {
            Err(nix::errno::Errno::EINTR) => continue,
            r => {
                r.map_err(|e| Error::sys("sending to the container's init", e))?;
                return Ok(());
            }
        }
    }
}

/// Wait for one expected tag sent with [`send_with_fds`]; returns the fds (close-on-exec).
pub fn expect_with_fds(fd: &OwnedFd, want: u8) -> Result<Vec<OwnedFd>> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    let mut buf = vec![0u8; 64 * 1024];
    let mut space = nix::cmsg_space!([RawFd; 64]);
    let mut fds = Vec::new();
    let n = {
        let mut iov = [std::io::IoSliceMut::new(&mut buf)];
        let msg = loop {
            match recvmsg::<()>(
                fd.as_raw_fd(),
                &mut iov,
                Some(&mut space),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Err(nix::errno::Errno::EINTR) => continue,
                r => break r.map_err(|e| Error::sys("reading from the runtime", e))?,
            }
        };
        if let Ok(cmsgs) = msg.cmsgs() {
            for c in cmsgs {
                if let ControlMessageOwned::ScmRights(got) = c {
                    // SAFETY: fresh fds received with SCM_RIGHTS, owned by nobody else.
                    fds.extend(got.into_iter().map(|f| unsafe { OwnedFd::from_raw_fd(f) }));
                }
            }
        }
        msg.bytes
    };
    match (n, buf.first()) {
        (0, _) => Err(Error::Other("the runtime went away during setup".into())),
        (_, Some(&t)) if t == want => Ok(fds),
        (_, Some(&ERROR)) => Err(Error::Other(
            String::from_utf8_lossy(&buf[1..n]).into_owned(),
        )),
        (_, Some(&t)) => Err(Error::Other(format!(
            "unexpected message {:?} from the runtime",
            t as char
        ))),
        _ => Err(Error::Other("the runtime went away during setup".into())),
    }
}

/// Wait for one expected tag; an ERROR message or EOF becomes the error.
pub fn expect(fd: &OwnedFd, want: u8) -> Result<Vec<u8>> {
    match recv(fd)? {
        Some((t, p)) if t == want => Ok(p),
        Some((ERROR, p)) => Err(Error::Other(String::from_utf8_lossy(&p).into_owned())),
        Some((t, _)) => Err(Error::Other(format!(
            "unexpected message {:?} from the container's init",
            t as char
        ))),
        None => Err(Error::Other(
            "the container's init exited during setup".into(),
        )),
    }
}

/// Send an fd over a unix socket with SCM_RIGHTS, with `name` as the data (the console socket
/// protocol runc's callers expect: the data is the pty's name, the fd its master).
pub fn send_fd(sock: RawFd, name: &[u8], fd: RawFd) -> Result<()> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
    let iov = [std::io::IoSlice::new(name)];
    let fds = [fd];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    sendmsg::<()>(sock, &iov, &cmsg, MsgFlags::empty(), None)
        .map_err(|e| Error::sys("--console-socket: sending the terminal", e))?;
    Ok(())
}

/// Receive one fd sent with [`send_fd`] (the terminal master init or an exec'd process sent to
/// the runtime when the runtime relays the terminal itself). It was sent before READY, so it
/// is here already: the receive does not wait (a process that died first sent nothing).
pub fn recv_fd(sock: RawFd) -> Result<OwnedFd> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    let mut buf = [0u8; 4096];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let flags = MsgFlags::MSG_CMSG_CLOEXEC | MsgFlags::MSG_DONTWAIT;
    let msg = loop {
        match recvmsg::<()>(sock, &mut iov, Some(&mut space), flags) {
            Err(nix::errno::Errno::EINTR) => continue,
            r => break r.map_err(|e| Error::sys("receiving the terminal", e))?,
        }
    };
    for c in msg
        .cmsgs()
        .map_err(|e| Error::sys("receiving the terminal", e))?
    {
        if let ControlMessageOwned::ScmRights(fds) = c {
            let mut it = fds.into_iter();
            if let Some(first) = it.next() {
                for extra in it {
                    // SAFETY: fds we were just given and do not want.
                    unsafe { libc::close(extra) };
                }
                // SAFETY: a fresh fd received with SCM_RIGHTS.
                return Ok(unsafe { OwnedFd::from_raw_fd(first) });
            }
        }
    }
    Err(Error::Other(
        "receiving the terminal: the container sent no terminal".into(),
    ))
}

/// What the parent watches while it waits for a message: the processes whose death ends the
/// wait (their pidfds), and how long the step may take before the wait gives up.
pub struct Watch {
    procs: Vec<(i32, OwnedFd)>,
    limit: Option<std::time::Duration>,
}

impl Watch {
    pub fn new(limit: Option<std::time::Duration>) -> Watch {
        Watch {
            procs: Vec::new(),
            limit,
        }
    }

    /// Watch `pid` too (a pid that cannot be opened has exited: its wait ends at once).
    pub fn add(&mut self, pid: i32) {
        match pidfd_open(pid) {
            Ok(fd) => self.procs.push((pid, fd)),
            Err(_) => log::debug!("pidfd_open({pid}) failed: the process is gone"),
        }
    }

    /// Stop watching `pid` and hand its pidfd over (to wait for its exit).
    pub fn take(&mut self, pid: i32) -> Option<OwnedFd> {
        let i = self.procs.iter().position(|(p, _)| *p == pid)?;
        Some(self.procs.remove(i).1)
    }

    /// The process the wait is about: the last one added (init, once stage 1 reported it).
    pub fn pid(&self) -> i32 {
        self.procs.last().map_or(0, |(p, _)| *p)
    }

    pub fn set_limit(&mut self, limit: Option<std::time::Duration>) {
        self.limit = limit;
    }
}

/// How a watched wait ended without a message.
pub enum Silence {
    /// A watched process died (pid) and left nothing unread: the caller reports how it ended.
    Died(i32),
    /// The step took longer than the limit; the message names it and what the process does.
    Stalled(String),
}

/// Receive one message, or learn that a watched process died or stalled: the parent never
/// waits on the channel alone, which another holder of init's end (or a stopped init)
/// would keep open for ever. `step` says what the other side is doing, for the error.
pub fn recv_watched(
    fd: &OwnedFd,
    watch: &Watch,
    step: &str,
) -> Result<std::result::Result<Option<(u8, Vec<u8>)>, Silence>> {
    let deadline = watch.limit.map(|l| std::time::Instant::now() + l);
    let mut fds: Vec<libc::pollfd> = std::iter::once(fd.as_raw_fd())
        .chain(watch.procs.iter().map(|(_, p)| p.as_raw_fd()))
        .map(|fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    loop {
        let timeout = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(std::time::Instant::now());
                left.as_millis().min(i32::MAX as u128) as i32
            }
        };
        // SAFETY: a valid array of pollfds for its length.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
        if r < 0 {
            let e = nix::errno::Errno::last();
            if e == nix::errno::Errno::EINTR {
                continue;
            }
            return Err(Error::sys("waiting for the container's init", e));
        }
        // The channel first: a process that reported and then exited (a stage) is no death.
        if fds[0].revents != 0 {
            return recv(fd).map(Ok);
        }
        if let Some(i) = fds[1..].iter().position(|p| p.revents != 0) {
            return Ok(Err(Silence::Died(watch.procs[i].0)));
        }
        if r == 0 && deadline.is_some_and(|d| std::time::Instant::now() >= d) {
            let who = watch.pid();
            return Ok(Err(Silence::Stalled(format!(
                "the container's init (pid {who}) did not answer within {}s {step} ({})",
                watch.limit.unwrap_or_default().as_secs(),
                what_it_does(who)
            ))));
        }
    }
}

/// A stalled process's state and the kernel function it sleeps in, from /proc: enough to
/// tell a stopped or frozen init from one that spins or waits on something.
pub fn what_it_does(pid: i32) -> String {
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let close = s.rfind(')')?;
            s[close + 1..].split_whitespace().next().map(str::to_string)
        });
    let Some(state) = state else {
        return "it is gone".into();
    };
    let name = match state.as_str() {
        "R" => "running",
        "S" => "sleeping",
        "D" => "in uninterruptible sleep",
        "T" => "stopped",
        "t" => "stopped by a tracer",
        "Z" => "a zombie",
        _ => "in state",
    };
    match std::fs::read_to_string(format!("/proc/{pid}/wchan")) {
        Ok(w) if !w.is_empty() && w != "0" => format!("{name} ({state}) in {w}"),
        _ => format!("{name} ({state})"),
    }
}
