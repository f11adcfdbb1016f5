//! runc-compatible logging. Engines read the `--log` file: podman reads it whole and shows `msg`
//! of the JSON lines, so with `--log-format json` and no `--debug` only errors are written, one
//! JSON object per line, exactly `{"level":"error","msg":"...","time":"..."}`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::Mutex;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Format {
    Text,
    Json,
}

struct Logger {
    out: Mutex<Sink>,
    format: Format,
    level: log::LevelFilter,
}

enum Sink {
    Stderr,
    File(File),
}

/// RFC 3339 time in UTC with nanoseconds, as runc's logrus writes it.
pub fn rfc3339_now() -> String {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    rfc3339(ts.tv_sec, ts.tv_nsec as u32)
}

/// Go's RFC3339Nano as runc prints `created`: trailing zeros of the fraction trimmed.
pub fn rfc3339_now_go() -> String {
    let s = rfc3339_now();
    let (head, frac) = s.trim_end_matches('Z').split_once('.').unwrap_or((&s, ""));
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        format!("{head}Z")
    } else {
        format!("{head}.{frac}Z")
    }
}

pub fn rfc3339(secs: i64, nanos: u32) -> String {
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400);
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if mo <= 2 { y + 1 } else { y };
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}.{nanos:09}Z")
}

impl log::Log for Logger {
    fn enabled(&self, meta: &log::Metadata) -> bool {
        meta.level() <= self.level
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = match record.level() {
            log::Level::Error => "error",
            log::Level::Warn => "warning",
            log::Level::Info => "info",
            log::Level::Debug => "debug",
            log::Level::Trace => "trace",
        };
        let msg = record.args().to_string();
        let time = rfc3339_now();
        let line = match self.format {
            Format::Json => {
                let obj = serde_json::json!({"level": level, "msg": msg, "time": time});
                format!("{obj}\n")
            }
            Format::Text => format!("time=\"{time}\" level={level} msg={}\n", quote(&msg)),
        };
        if let Ok(mut sink) = self.out.lock() {
            let _ = match &mut *sink {
                Sink::Stderr => std::io::stderr().write_all(line.as_bytes()),
                Sink::File(f) => f.write_all(line.as_bytes()),
            };
        }
    }

    fn flush(&self) {}
}

/// logrus quotes a text value when it has spaces or quotes in it.
fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._/@^+".contains(c))
    {
        s.to_string()
    } else {
        format!("{s:?}")
    }
}

/// Set up the global logger. With `--log FILE` messages go to the file (appended, as runc);
/// otherwise to stderr. Errors are always printed to stderr by main as well, so a user
/// running husk by hand sees exactly one line.
/// The --log file's descriptor, when the log goes to a file (init keeps it open until exec).
static LOG_FD: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

pub fn log_fd() -> Option<std::os::fd::RawFd> {
    let fd = LOG_FD.load(std::sync::atomic::Ordering::Relaxed);
    (fd >= 0).then_some(fd)
}

pub fn init(path: Option<&str>, format: Format, debug: bool) -> Result<bool, String> {
    let (sink, to_file) = match path {
        Some(p) if !p.is_empty() => {
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| format!("--log {p}: {e}"))?;
            LOG_FD.store(
                std::os::fd::AsRawFd::as_raw_fd(&f),
                std::sync::atomic::Ordering::Relaxed,
            );
            (Sink::File(f), true)
        }
        _ => (Sink::Stderr, false),
    };
    let level = if debug {
        log::LevelFilter::Debug
    } else {
        log::LevelFilter::Warn
    };
    // JSON logs without --debug carry errors only (warnings would be shown by podman as errors).
    let level = if format == Format::Json && !debug {
        log::LevelFilter::Error
    } else {
        level
    };
    let logger = Box::new(Logger {
        out: Mutex::new(sink),
        format,
        level,
    });
    log::set_boxed_logger(logger).map_err(|e| e.to_string())?;
    log::set_max_level(level);
    Ok(to_file)
}
