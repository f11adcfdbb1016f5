//! `--pidfd-socket` (create, run, exec; runc 1.2+): a pidfd of the container's init, or of
//! the `exec`'d process, sent over the given unix socket with SCM_RIGHTS, the data naming it
//! "pidfd". The caller can then wait for or signal exactly that process, whatever pid reuse
//! happens later. The socket is connected before anything is created, so a bad path fails
//! with nothing left behind.

use crate::error::{Error, Result};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

pub fn connect(p: &Path) -> Result<OwnedFd> {
    let s = std::os::unix::net::UnixStream::connect(p).map_err(|e| {
        Error::Usage(format!(
            "--pidfd-socket {}: {}",
            p.display(),
            crate::spec::io_desc(&e)
        ))
    })?;
    Ok(OwnedFd::from(s))
}

pub fn send(sock: &OwnedFd, pid: i32) -> Result<()> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
    let pidfd = crate::sys::pidfd::pidfd_open(pid)
        .map_err(|e| Error::sys(format!("--pidfd-socket: pidfd_open({pid})"), e))?;
    let iov = [std::io::IoSlice::new(b"pidfd")];
    let fds = [pidfd.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    sendmsg::<()>(sock.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), None)
        .map_err(|e| Error::sys("--pidfd-socket: sending the pidfd", e))?;
    Ok(())
}
