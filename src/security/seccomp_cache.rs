//! A cache of compiled seccomp filters under the state root, so that a profile is compiled
//! once and not for every container. Engines send the same profile (podman's has 437 syscall
//! names over three architectures) to every container and every exec; compiling it with
//! libseccomp costs about 40 ms of CPU, reading a cache entry well under 1 ms.
//!
//! Why a cache and not a BPF compiler of husk's own: a compiler would have to reproduce
//! libseccomp's syscall tables (names to numbers on every architecture, the socketcall and
//! ipc multiplexers of x86, the x32 rewrites) and its rule semantics exactly, a large body
//! of code to keep equal by differential tests for every libseccomp update; the cache reuses
//! libseccomp's output byte for byte, so the filter is the one libseccomp builds, and a hit
//! is cheaper than any compiler (it reads a few KB; nothing is computed but a hash).
//!
//! Trust: an entry is used only when the directory and the file belong to the caller's euid
//! and nobody else can write them, the file is complete (magic, lengths, checksum) and it
//! holds byte for byte the same canonical input as this compile: the profile as serialized,
//! husk's binary, the architecture, the libseccomp version and API level, the optimisation
//! level and the kernel's answers to the flag probes. Anything else is ignored (logged at
//! debug level) and the profile compiled afresh, so a collision, a truncated or corrupted
//! file or a foreign entry is never used. Entries are written to a temporary file and renamed
//! into place, so a reader sees a whole entry or none; no fsync: a torn entry after a crash
//! fails the checks and is recompiled.

use std::ffi::CString;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use oci_spec::runtime::LinuxSeccomp;

use super::seccomp::{self, CompiledFilter};
use crate::error::Result;

/// Under the state root. '@' cannot be in a container id, so the directory can never be taken
/// for a container's state directory (or collide with one), and `list` skips it.
pub const DIR_NAME: &str = "@seccomp-cache";
/// At most this many entries; the least recently used go first. An engine uses a handful of
/// profiles; this only stops a stream of distinct profiles from filling the disk.
const MAX_ENTRIES: usize = 64;
/// An entry larger than this is not read (a 4096-instruction program with its input is far
/// smaller).
const MAX_ENTRY_BYTES: u64 = 4 << 20;
const MAGIC: &[u8; 8] = b"HUSKSCF1";
const TMP_PREFIX: &str = ".tmp-";

/// [`seccomp::compile`] through the cache under `root`. A cold cache costs what compiling
/// costs plus one small file write; no cache problem ever fails the compile.
pub fn compile(spec: &LinuxSeccomp, root: &Path) -> Result<CompiledFilter> {
    let Some(input) = canonical_input(spec, seccomp::OPTIMIZE) else {
        return seccomp::compile(spec);
    };
    let name = format!("{:016x}", hash64(&input));
    let dir = root.join(DIR_NAME);
    if let Some(hit) = lookup(&dir, &name, &input, spec) {
        for w in &hit.warnings {
            log::warn!("{w}");
        }
        return Ok(hit);
    }
    let filter = seccomp::compile(spec)?;
    if let Err(why) = store(&dir, &name, &input, &filter) {
        log::debug!("seccomp cache {}: not stored: {why}", dir.display());
    }
    Ok(filter)
}

/// Everything the compiled filter depends on, as bytes compared on every hit.
pub(super) fn canonical_input(spec: &LinuxSeccomp, optimize: u32) -> Option<Vec<u8>> {
    let mut v = Vec::with_capacity(32 * 1024);
    // The binary: another husk build may compile the same profile differently.
    let exe = std::fs::metadata("/proc/self/exe").ok()?;
    let _ = writeln!(
        v,
        "husk seccomp cache 1\nhusk {} exe {}:{}:{}:{}.{}:{}.{}\narch {}",
        env!("CARGO_PKG_VERSION"),
        exe.dev(),
        exe.ino(),
        exe.size(),
        exe.mtime(),
        exe.mtime_nsec(),
        exe.ctime(),
        exe.ctime_nsec(),
        std::env::consts::ARCH
    );
    let _ = writeln!(
        v,
        "libseccomp {} api {}\noptimize {optimize}",
        seccomp::libseccomp_version(),
        libseccomp::get_api()
    );
    for flag in spec.flags().iter().flatten() {
        let (name, bit) = seccomp::flag_bit(*flag);
        let _ = writeln!(v, "probe {name} {:?}", seccomp::probe_flag(bit));
    }
    v.extend_from_slice(b"seccomp ");
    serde_json::to_writer(&mut v, spec).ok()?;
    Some(v)
}

/// FNV-1a over 64-bit words instead of bytes (8x fewer multiplications; the input is ~20 KB
/// for an engine's profile), the length mixed in last. Names the entry and checks its bytes
/// against corruption; not cryptographic, and need not be: the stored input is compared
/// byte for byte anyway, and only the caller can write the directory.
pub(super) fn hash64(data: &[u8]) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut words = data.chunks_exact(8);
    for w in &mut words {
        h = (h ^ u64::from_le_bytes(w.try_into().unwrap_or_default())).wrapping_mul(PRIME);
        h ^= h >> 29;
    }
    for b in words.remainder() {
        h = (h ^ *b as u64).wrapping_mul(PRIME);
    }
    (h ^ data.len() as u64).wrapping_mul(PRIME) ^ (h >> 32)
}

fn euid() -> u32 {
    // SAFETY: no arguments, cannot fail.
    unsafe { libc::geteuid() }
}

fn cstr(s: &str) -> std::result::Result<CString, String> {
    CString::new(s).map_err(|_| format!("{s:?}: NUL in name"))
}

/// Whether a file or directory is the caller's and not writable by anyone else.
fn trusted(md: &std::fs::Metadata) -> std::result::Result<(), String> {
    if md.uid() != euid() {
        return Err(format!("owned by uid {}, not {}", md.uid(), euid()));
    }
    if md.mode() & 0o022 != 0 {
        return Err(format!(
            "mode {:o} is group/other-writable",
            md.mode() & 0o7777
        ));
    }
    Ok(())
}

/// Open the cache directory (not through a symlink) and check who owns it.
fn open_dir(dir: &Path, create: bool) -> std::result::Result<std::fs::File, String> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if create {
        // The state root too, as create would make it next (same mode), so that the first
        // container of a new root already fills the cache.
        let mut b = std::fs::DirBuilder::new();
        if let Some(root) = dir.parent().filter(|r| !r.exists()) {
            let _ = b.recursive(true).create(root);
        }
        match b.recursive(false).mode(0o700).create(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(format!("mkdir: {e}")),
        }
    }
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(dir)
        .map_err(|e| format!("open: {e}"))?;
    let md = f.metadata().map_err(|e| format!("fstat: {e}"))?;
    trusted(&md)?;
    Ok(f)
}

fn openat(
    dir: &std::fs::File,
    name: &str,
    flags: i32,
) -> std::result::Result<std::fs::File, String> {
    let c = cstr(name)?;
    // SAFETY: valid fd and C string; the result is checked.
    let fd = unsafe {
        libc::openat(
            dir.as_raw_fd(),
            c.as_ptr(),
            flags | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            0o600 as libc::c_uint,
        )
    };
    if fd < 0 {
        return Err(format!("{name}: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: a new fd owned by nobody else.
    Ok(std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

fn lookup(dir: &Path, name: &str, input: &[u8], spec: &LinuxSeccomp) -> Option<CompiledFilter> {
    let got = open_dir(dir, false).and_then(|d| read_entry(&d, name, input, spec));
    match got {
        Ok(f) => Some(f),
        Err(why) => {
            log::debug!("seccomp cache {}/{name}: not used: {why}", dir.display());
            None
        }
    }
}

fn read_entry(
    dir: &std::fs::File,
    name: &str,
    input: &[u8],
    spec: &LinuxSeccomp,
) -> std::result::Result<CompiledFilter, String> {
    // O_NONBLOCK: a FIFO planted here must not hang us (it fails the regular-file check).
    let mut f = openat(dir, name, libc::O_RDONLY | libc::O_NONBLOCK)?;
    let md = f.metadata().map_err(|e| format!("fstat: {e}"))?;
    if !md.is_file() {
        return Err("not a regular file".into());
    }
    trusted(&md)?;
    if md.len() > MAX_ENTRY_BYTES {
        return Err(format!("{} bytes, more than {MAX_ENTRY_BYTES}", md.len()));
    }
    let mut bytes = Vec::with_capacity(md.len() as usize);
    f.read_to_end(&mut bytes)
        .map_err(|e| format!("read: {e}"))?;
    let filter = decode(&bytes, input, spec)?;
    // Mark it recently used, so eviction removes the entries nobody uses.
    // SAFETY: valid fd; NULL times means "now".
    unsafe { libc::futimens(f.as_raw_fd(), std::ptr::null()) };
    Ok(filter)
}

/// The entry: magic, total length, input, program, flags, notify, warnings, checksum (all
/// lengths and numbers little-endian).
pub(super) fn encode(input: &[u8], f: &CompiledFilter) -> Vec<u8> {
    let mut v = Vec::with_capacity(input.len() + f.program.len() * 8 + 64);
    v.extend_from_slice(MAGIC);
    v.extend_from_slice(&0u64.to_le_bytes()); // total length, filled in below
    v.extend_from_slice(&(input.len() as u32).to_le_bytes());
    v.extend_from_slice(input);
    v.extend_from_slice(&(f.program.len() as u32).to_le_bytes());
    for i in &f.program {
        v.extend_from_slice(&i.code.to_le_bytes());
        v.extend_from_slice(&[i.jt, i.jf]);
        v.extend_from_slice(&i.k.to_le_bytes());
    }
    v.extend_from_slice(&(f.flags as u64).to_le_bytes());
    v.push(f.notify as u8);
    v.extend_from_slice(&(f.warnings.len() as u32).to_le_bytes());
    for w in &f.warnings {
        v.extend_from_slice(&(w.len() as u32).to_le_bytes());
        v.extend_from_slice(w.as_bytes());
    }
    let total = (v.len() + 8) as u64;
    v[8..16].copy_from_slice(&total.to_le_bytes());
    let sum = hash64(&v);
    v.extend_from_slice(&sum.to_le_bytes());
    v
}

/// Reads an entry without ever indexing out of bounds.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> std::result::Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("truncated".into());
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u32(&mut self) -> std::result::Result<u32, String> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().unwrap_or_default(),
        ))
    }
    fn u64(&mut self) -> std::result::Result<u64, String> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().unwrap_or_default(),
        ))
    }
}

pub(super) fn decode(
    bytes: &[u8],
    input: &[u8],
    spec: &LinuxSeccomp,
) -> std::result::Result<CompiledFilter, String> {
    if bytes.len() < 24 || &bytes[..8] != MAGIC {
        return Err("not an entry (magic)".into());
    }
    let (body, sum) = bytes.split_at(bytes.len() - 8);
    if hash64(body).to_le_bytes() != sum {
        return Err("checksum mismatch".into());
    }
    let mut r = Reader(&body[8..]);
    if r.u64()? != bytes.len() as u64 {
        return Err("length mismatch".into());
    }
    let n = r.u32()? as usize;
    if r.take(n)? != input {
        return Err("stored input differs (hash collision or another configuration)".into());
    }
    let insns = r.u32()? as usize;
    if insns == 0 || insns > 4096 {
        return Err(format!("{insns} instructions"));
    }
    let mut program = Vec::with_capacity(insns);
    for c in r.take(insns * 8)?.chunks_exact(8) {
        program.push(libc::sock_filter {
            code: u16::from_le_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
        });
    }
    let flags = r.u64()? as libc::c_ulong;
    let notify = match r.take(1)?[0] {
        0 => false,
        1 => true,
        b => return Err(format!("notify byte {b}")),
    };
    let mut warnings = Vec::new();
    for _ in 0..r.u32()? {
        let len = r.u32()? as usize;
        let w = std::str::from_utf8(r.take(len)?).map_err(|_| "warning not UTF-8")?;
        warnings.push(w.to_string());
    }
    if !r.0.is_empty() {
        return Err("trailing bytes".into());
    }
    Ok(CompiledFilter {
        program,
        flags,
        notify,
        listener_path: spec.listener_path().clone(),
        listener_metadata: spec.listener_metadata().clone(),
        warnings,
    })
}

/// Write the entry atomically (temporary file, rename), then evict beyond MAX_ENTRIES.
fn store(
    dir: &Path,
    name: &str,
    input: &[u8],
    f: &CompiledFilter,
) -> std::result::Result<(), String> {
    let d = open_dir(dir, true)?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|t| t.subsec_nanos())
        .unwrap_or(0);
    let tmp = format!("{TMP_PREFIX}{}-{nanos}", std::process::id());
    let mut file = openat(&d, &tmp, libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL)?;
    let written = file
        .write_all(&encode(input, f))
        .map_err(|e| format!("write: {e}"));
    drop(file);
    let renamed = written.and_then(|()| {
        let (a, b) = (cstr(&tmp)?, cstr(name)?);
        // SAFETY: valid fd and C strings.
        let r = unsafe { libc::renameat(d.as_raw_fd(), a.as_ptr(), d.as_raw_fd(), b.as_ptr()) };
        match r {
            0 => Ok(()),
            _ => Err(format!("rename: {}", std::io::Error::last_os_error())),
        }
    });
    if renamed.is_err() {
        unlink(&d, &tmp);
    }
    renamed?;
    evict(dir, &d);
    Ok(())
}

fn unlink(d: &std::fs::File, name: &str) {
    if let Ok(c) = cstr(name) {
        // SAFETY: valid fd and C string.
        unsafe { libc::unlinkat(d.as_raw_fd(), c.as_ptr(), 0) };
    }
}

/// Remove the least recently used entries beyond MAX_ENTRIES, and temporary files a crashed
/// writer left (older than a minute). Runs only after a miss, never on a hit or in `delete`.
fn evict(dir: &Path, d: &std::fs::File) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let now = std::time::SystemTime::now();
    let mut entries = Vec::new();
    for e in rd.flatten() {
        let (Ok(name), Ok(md)) = (e.file_name().into_string(), e.metadata()) else {
            continue;
        };
        let mtime = md.modified().unwrap_or(std::time::UNIX_EPOCH);
        if name.starts_with(TMP_PREFIX) {
            if now
                .duration_since(mtime)
                .map_or(false, |a| a.as_secs() > 60)
            {
                unlink(d, &name);
            }
            continue;
        }
        entries.push((mtime, name));
    }
    if entries.len() > MAX_ENTRIES {
        entries.sort();
        for (_, name) in &entries[..entries.len() - MAX_ENTRIES] {
            unlink(d, name);
        }
    }
}

#[cfg(test)]
#[path = "seccomp_cache_tests.rs"]
mod tests;
