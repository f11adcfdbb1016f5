//! One error type for the whole runtime. Every message names what failed (the field, the
//! argument or the path) so the single line that reaches the user is enough to act on.

use std::fmt;

#[derive(Debug)]
pub enum Error {
    /// Bad command line: unknown flag, missing argument, bad signal name.
    Usage(String),
    /// config.json is unreadable or invalid; the message names the field.
    Config(String),
    /// A container id that is unknown, duplicate or malformed, or in the wrong state.
    Container(String),
    /// A system call or file operation failed; `what` says what was being done.
    Sys {
        what: String,
        errno: nix::errno::Errno,
    },
    /// Anything else that already has a full message.
    Other(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) | Error::Config(m) | Error::Container(m) | Error::Other(m) => {
                f.write_str(m)
            }
            Error::Sys { what, errno } => write!(f, "{what}: {}", errno_text(*errno)),
        }
    }
}

impl std::error::Error for Error {}

impl From<crate::sys::procfs::OpenError> for Error {
    fn from(e: crate::sys::procfs::OpenError) -> Self {
        match e {
            crate::sys::procfs::OpenError::Sys { what, errno } => Error::Sys { what, errno },
            crate::sys::procfs::OpenError::NotProcfs(m) => Error::Other(m),
        }
    }
}

// In sys, the leaf, which formats its own errors the same way.
pub use crate::sys::errno_text;

impl Error {
    pub fn sys(what: impl Into<String>, errno: nix::errno::Errno) -> Self {
        Error::Sys {
            what: what.into(),
            errno,
        }
    }
    pub fn io(what: impl Into<String>, e: std::io::Error) -> Self {
        match e.raw_os_error() {
            Some(n) => Error::Sys {
                what: what.into(),
                errno: nix::errno::Errno::from_raw(n),
            },
            None => Error::Other(format!("{}: {e}", what.into())),
        }
    }
    pub fn errno(&self) -> Option<nix::errno::Errno> {
        match self {
            Error::Sys { errno, .. } => Some(*errno),
            _ => None,
        }
    }
}

/// Attach "what was being done" to a nix or io result.
pub trait Context<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> Context<T> for std::result::Result<T, nix::errno::Errno> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::sys(what(), e))
    }
}

impl<T> Context<T> for std::result::Result<T, std::io::Error> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::io(what(), e))
    }
}

/// A value from the config as an error message quotes it: whole when short, else its first
/// 64 bytes, "..." and its length, so a hostile 10 MB field still gives a one-line error.
pub fn shorten(v: &str) -> String {
    const KEEP: usize = 64;
    if v.len() <= KEEP {
        return v.to_string();
    }
    let mut end = KEEP;
    while !v.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes)", &v[..end], v.len())
}

/// `shorten` for a path.
pub fn shorten_path(p: &std::path::Path) -> String {
    shorten(&p.to_string_lossy())
}
