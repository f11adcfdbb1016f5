//! `tmpcopyup`: a tmpfs mounted over a directory of the image starts with a copy of what the
//! directory held (podman asks for it on /tmp, /run, ... with --read-only and on --tmpfs).
//!
//! The caller opens the directory before the tmpfs hides it; the copy then reads through that
//! fd and writes through an fd of the new mount. Every step is relative to a directory fd and
//! never follows a symlink, so a hostile image cannot point the copy outside the container.

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{fstatat, Mode, SFlag};
use std::ffi::{CStr, CString};
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// How deep the copy goes: image directories are shallow; this only bounds a pathological one.
const MAX_DEPTH: usize = 64;

/// Copy the contents of `src` (a directory fd) into `dst` (the new tmpfs root): files,
/// directories, symlinks and device, fifo and socket nodes, with their modes and owners.
pub fn copy_dir(src: RawFd, dst: RawFd) -> nix::Result<()> {
    copy_entries(src, dst, 0)
}

fn open_at(dir: RawFd, name: &CStr, flags: OFlag, mode: Mode) -> nix::Result<OwnedFd> {
    let fd = nix::fcntl::openat(Some(dir), name, flags | OFlag::O_CLOEXEC, mode)?;
    // SAFETY: openat returned a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn copy_entries(src: RawFd, dst: RawFd, depth: usize) -> nix::Result<()> {
    if depth > MAX_DEPTH {
        return Err(Errno::ELOOP);
    }
    // A Dir of its own fd: reading the directory must not move the caller's fd offset.
    let dir_fd = open_at(
        src,
        c".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY,
        Mode::empty(),
    )?;
    let mut dir = nix::dir::Dir::from_fd(dir_fd.as_raw_fd())?;
    std::mem::forget(dir_fd); // Dir owns it now.
    let names: Vec<CString> = dir
        .iter()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_owned())
        .filter(|n| n.as_bytes() != b"." && n.as_bytes() != b"..")
        .collect();
    for name in names {
        let st = fstatat(Some(src), name.as_c_str(), AtFlags::AT_SYMLINK_NOFOLLOW)?;
        let kind = SFlag::from_bits_truncate(st.st_mode & libc::S_IFMT);
        let perm = Mode::from_bits_truncate(st.st_mode & 0o7777);
        if kind == SFlag::S_IFDIR {
            nix::sys::stat::mkdirat(Some(dst), name.as_c_str(), perm)?;
            let s = open_at(
                src,
                &name,
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW,
                Mode::empty(),
            )?;
            let d = open_at(
                dst,
                &name,
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW,
                Mode::empty(),
            )?;
            copy_entries(s.as_raw_fd(), d.as_raw_fd(), depth + 1)?;
        } else if kind == SFlag::S_IFREG {
            let s = open_at(
                src,
                &name,
                OFlag::O_RDONLY | OFlag::O_NOFOLLOW,
                Mode::empty(),
            )?;
            let d = open_at(
                dst,
                &name,
                OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW,
                perm,
            )?;
            let (mut s, mut d) = (File::from(s), File::from(d));
            std::io::copy(&mut s, &mut d)
                .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
        } else if kind == SFlag::S_IFLNK {
            let target = nix::fcntl::readlinkat(Some(src), name.as_c_str())?;
            nix::unistd::symlinkat(target.as_os_str(), Some(dst), name.as_c_str())?;
        } else {
            nix::sys::stat::mknodat(Some(dst), name.as_c_str(), kind, perm, st.st_rdev)?;
        }
        // Owner last (and the mode again: umask and set-id bits are cleared by chown).
        nix::unistd::fchownat(
            Some(dst),
            name.as_c_str(),
            Some(st.st_uid.into()),
            Some(st.st_gid.into()),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        )?;
        if kind != SFlag::S_IFLNK {
            nix::sys::stat::fchmodat(
                Some(dst),
                name.as_c_str(),
                perm,
                nix::sys::stat::FchmodatFlags::FollowSymlink,
            )?;
        }
    }
    Ok(())
}
