//! A minimal D-Bus client: enough of the wire protocol to call systemd's manager over the
//! system bus socket and wait for its JobRemoved signals. The crates that speak D-Bus are not
//! among the project's allowed ones, and the part systemd needs is small: SASL EXTERNAL,
//! little-endian marshalling of the basic types, arrays, structs and variants, and matching
//! replies to calls by serial.

use crate::error::{Error, Result};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// One D-Bus value. Arrays carry their element signature so that an empty one marshals.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Byte(u8),
    Bool(bool),
    I16(i16),
    U16(u16),
    I32(i32),
    U32(u32),
    I64(i64),
    U64(u64),
    F64(f64),
    Str(String),
    ObjPath(String),
    Sig(String),
    Array(String, Vec<Value>),
    Struct(Vec<Value>),
    Variant(Box<Value>),
}

impl Value {
    pub fn signature(&self) -> String {
        match self {
            Value::Byte(_) => "y".into(),
            Value::Bool(_) => "b".into(),
            Value::I16(_) => "n".into(),
            Value::U16(_) => "q".into(),
            Value::I32(_) => "i".into(),
            Value::U32(_) => "u".into(),
            Value::I64(_) => "x".into(),
            Value::U64(_) => "t".into(),
            Value::F64(_) => "d".into(),
            Value::Str(_) => "s".into(),
            Value::ObjPath(_) => "o".into(),
            Value::Sig(_) => "g".into(),
            Value::Array(e, _) => format!("a{e}"),
            Value::Struct(f) => {
                let inner: String = f.iter().map(Value::signature).collect();
                format!("({inner})")
            }
            Value::Variant(_) => "v".into(),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) | Value::ObjPath(s) | Value::Sig(s) => Some(s),
            Value::Variant(v) => v.as_str(),
            _ => None,
        }
    }

    /// `a(sv)`: named properties, as systemd's unit calls take them.
    pub fn props(p: Vec<(String, Value)>) -> Value {
        Value::Array(
            "(sv)".into(),
            p.into_iter()
                .map(|(k, v)| Value::Struct(vec![Value::Str(k), Value::Variant(Box::new(v))]))
                .collect(),
        )
    }
}

fn align_of(sig: u8) -> usize {
    match sig {
        b'n' | b'q' => 2,
        b'b' | b'i' | b'u' | b's' | b'o' | b'a' | b'h' => 4,
        b'x' | b't' | b'd' | b'(' | b'{' => 8,
        _ => 1,
    }
}

/// Marshals values little-endian; offsets are from the start of the message (the body starts
/// 8-aligned, so a body marshalled on its own has the same padding).
#[derive(Default)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    fn pad(&mut self, a: usize) {
        while self.buf.len() % a != 0 {
            self.buf.push(0);
        }
    }
    fn u32_at(&mut self, at: usize, v: u32) {
        self.buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    fn string(&mut self, s: &str) {
        self.pad(4);
        self.buf.extend((s.len() as u32).to_le_bytes());
        self.buf.extend(s.as_bytes());
        self.buf.push(0);
    }
    fn sig(&mut self, s: &str) {
        self.buf.push(s.len() as u8);
        self.buf.extend(s.as_bytes());
        self.buf.push(0);
    }

    pub fn put(&mut self, v: &Value) {
        macro_rules! num {
            ($x:expr, $a:expr) => {{
                self.pad($a);
                self.buf.extend($x.to_le_bytes());
            }};
        }
        match v {
            Value::Byte(x) => self.buf.push(*x),
            Value::Bool(x) => num!(u32::from(*x), 4),
            Value::I16(x) => num!(x, 2),
            Value::U16(x) => num!(x, 2),
            Value::I32(x) => num!(x, 4),
            Value::U32(x) => num!(x, 4),
            Value::I64(x) => num!(x, 8),
            Value::U64(x) => num!(x, 8),
            Value::F64(x) => num!(x, 8),
            Value::Str(s) | Value::ObjPath(s) => self.string(s),
            Value::Sig(s) => self.sig(s),
            Value::Array(elem, items) => {
                self.pad(4);
                let at = self.buf.len();
                self.buf.extend([0u8; 4]);
                // The length excludes the padding before the first element.
                self.pad(align_of(elem.as_bytes().first().copied().unwrap_or(b'y')));
                let start = self.buf.len();
                for i in items {
                    self.put(i);
                }
                let n = (self.buf.len() - start) as u32;
                self.u32_at(at, n);
            }
            Value::Struct(fields) => {
                self.pad(8);
                for f in fields {
                    self.put(f);
                }
            }
            Value::Variant(inner) => {
                self.sig(&inner.signature());
                self.put(inner);
            }
        }
    }
}

/// Length of the first complete type in a signature.
fn one_type(sig: &[u8]) -> Result<usize> {
    let bad = || {
        Error::Other(format!(
            "D-Bus: bad signature {:?}",
            String::from_utf8_lossy(sig)
        ))
    };
    match sig.first().ok_or_else(bad)? {
        b'a' => Ok(1 + one_type(&sig[1..])?),
        b'(' | b'{' => {
            let close = if sig[0] == b'(' { b')' } else { b'}' };
            let mut i = 1;
            while sig.get(i).ok_or_else(bad)? != &close {
                i += one_type(&sig[i..])?;
            }
            Ok(i + 1)
        }
        _ => Ok(1),
    }
}

/// Unmarshals values from a message (offsets from its start), bounds-checked: a short or
/// malformed message is an error, never a panic.
pub struct Reader<'a> {
    b: &'a [u8],
    pub pos: usize,
    depth: u32,
}

impl<'a> Reader<'a> {
    pub fn new(b: &'a [u8], pos: usize) -> Self {
        Reader { b, pos, depth: 0 }
    }
    fn short() -> Error {
        Error::Other("D-Bus: truncated message".into())
    }
    fn pad(&mut self, a: usize) -> Result<()> {
        let p = self.pos.div_ceil(a) * a;
        if p > self.b.len() {
            return Err(Self::short());
        }
        self.pos = p;
        Ok(())
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.b.len());
        let end = end.ok_or_else(Self::short)?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn fixed<const N: usize>(&mut self) -> Result<[u8; N]> {
        self.pad(N)?;
        Ok(self.take(N)?.try_into().unwrap_or([0; N]))
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.fixed()?))
    }
    fn text(&mut self, n: usize) -> Result<String> {
        let s = self.take(n + 1)?;
        Ok(String::from_utf8_lossy(&s[..n]).into_owned())
    }

    /// Read the values of a whole signature (a message body).
    pub fn read_all(&mut self, sig: &str) -> Result<Vec<Value>> {
        let s = sig.as_bytes();
        let mut i = 0;
        let mut out = Vec::new();
        while i < s.len() {
            let n = one_type(&s[i..])?;
            out.push(self.read(&s[i..i + n])?);
            i += n;
        }
        Ok(out)
    }

    /// Read one value of the complete type `sig`.
    pub fn read(&mut self, sig: &[u8]) -> Result<Value> {
        self.depth += 1;
        if self.depth > 64 {
            return Err(Error::Other("D-Bus: message nested too deeply".into()));
        }
        let v = self.read_inner(sig);
        self.depth -= 1;
        v
    }

    fn read_inner(&mut self, sig: &[u8]) -> Result<Value> {
        Ok(match sig[0] {
            b'y' => Value::Byte(self.take(1)?[0]),
            b'b' => Value::Bool(self.u32()? != 0),
            b'n' => Value::I16(i16::from_le_bytes(self.fixed()?)),
            b'q' => Value::U16(u16::from_le_bytes(self.fixed()?)),
            b'i' => Value::I32(i32::from_le_bytes(self.fixed()?)),
            b'u' | b'h' => Value::U32(self.u32()?),
            b'x' => Value::I64(i64::from_le_bytes(self.fixed()?)),
            b't' => Value::U64(u64::from_le_bytes(self.fixed()?)),
            b'd' => Value::F64(f64::from_le_bytes(self.fixed()?)),
            b's' | b'o' => {
                let n = self.u32()? as usize;
                let t = self.text(n)?;
                if sig[0] == b's' {
                    Value::Str(t)
                } else {
                    Value::ObjPath(t)
                }
            }
            b'g' => {
                let n = self.take(1)?[0] as usize;
                Value::Sig(self.text(n)?)
            }
            b'v' => {
                let n = self.take(1)?[0] as usize;
                let s = self.text(n)?;
                if one_type(s.as_bytes())? != s.len() {
                    return Err(Error::Other(format!("D-Bus: bad variant signature {s:?}")));
                }
                Value::Variant(Box::new(self.read(s.as_bytes())?))
            }
            b'a' => {
                let n = self.u32()? as usize;
                let elem = &sig[1..1 + one_type(&sig[1..])?];
                self.pad(align_of(elem[0]))?;
                let end = self.pos.checked_add(n).filter(|e| *e <= self.b.len());
                let end = end.ok_or_else(Self::short)?;
                let mut items = Vec::new();
                while self.pos < end {
                    items.push(self.read(elem)?);
                }
                Value::Array(String::from_utf8_lossy(elem).into_owned(), items)
            }
            b'(' | b'{' => {
                self.pad(8)?;
                let inner = &sig[1..sig.len() - 1];
                let mut fields = Vec::new();
                let mut i = 0;
                while i < inner.len() {
                    let n = one_type(&inner[i..])?;
                    fields.push(self.read(&inner[i..i + n])?);
                    i += n;
                }
                Value::Struct(fields)
            }
            c => {
                return Err(Error::Other(format!(
                    "D-Bus: unsupported type {:?}",
                    c as char
                )))
            }
        })
    }
}

pub const METHOD_CALL: u8 = 1;
pub const METHOD_RETURN: u8 = 2;
pub const ERROR: u8 = 3;
pub const SIGNAL: u8 = 4;

/// A received message, with the header fields this client looks at.
#[derive(Debug, Default, Clone)]
pub struct Message {
    pub kind: u8,
    #[cfg_attr(not(test), allow(dead_code))]
    pub serial: u32,
    pub reply_serial: Option<u32>,
    pub path: Option<String>,
    pub interface: Option<String>,
    pub member: Option<String>,
    pub error_name: Option<String>,
    pub body: Vec<Value>,
}

/// A method call, marshalled.
pub fn encode_call(
    serial: u32,
    dest: &str,
    path: &str,
    iface: &str,
    member: &str,
    body: &[Value],
) -> Vec<u8> {
    encode(
        METHOD_CALL,
        serial,
        &[
            (1, Value::ObjPath(path.into())),
            (2, Value::Str(iface.into())),
            (3, Value::Str(member.into())),
            (6, Value::Str(dest.into())),
        ],
        body,
    )
}

/// Any message: type, serial, header fields (code, value) and body.
pub fn encode(kind: u8, serial: u32, fields: &[(u8, Value)], body: &[Value]) -> Vec<u8> {
    let mut b = Writer::default();
    for v in body {
        b.put(v);
    }
    let sig: String = body.iter().map(Value::signature).collect();
    let mut fields: Vec<Value> = fields
        .iter()
        .map(|(c, v)| Value::Struct(vec![Value::Byte(*c), Value::Variant(Box::new(v.clone()))]))
        .collect();
    if !sig.is_empty() {
        fields.push(Value::Struct(vec![
            Value::Byte(8),
            Value::Variant(Box::new(Value::Sig(sig))),
        ]));
    }
    let mut w = Writer::default();
    w.buf.extend([b'l', kind, 0, 1]);
    w.buf.extend((b.buf.len() as u32).to_le_bytes());
    w.buf.extend(serial.to_le_bytes());
    w.put(&Value::Array("(yv)".into(), fields));
    w.pad(8);
    w.buf.extend(b.buf);
    w.buf
}

/// Total length of a message from its first 16 bytes.
pub fn message_len(head: &[u8; 16]) -> Result<usize> {
    if head[0] != b'l' {
        return Err(Error::Other(
            "D-Bus: only little-endian messages are supported".into(),
        ));
    }
    let body = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
    let fields = u32::from_le_bytes([head[12], head[13], head[14], head[15]]) as usize;
    let total = (16 + fields).div_ceil(8) * 8 + body;
    if total > 1 << 27 {
        return Err(Error::Other("D-Bus: message too long".into()));
    }
    Ok(total)
}

/// Parse one whole message.
pub fn decode(b: &[u8]) -> Result<Message> {
    let mut r = Reader::new(b, 12);
    let Value::Array(_, fields) = r.read(b"a(yv)")? else {
        return Err(Reader::short());
    };
    r.pad(8)?;
    let mut m = Message {
        kind: b[1],
        serial: u32::from_le_bytes([b[8], b[9], b[10], b[11]]),
        ..Default::default()
    };
    let mut sig = String::new();
    for f in fields {
        let Value::Struct(f) = f else { continue };
        let (Some(Value::Byte(code)), Some(Value::Variant(v))) = (f.first(), f.get(1)) else {
            continue;
        };
        let s = v.as_str().map(str::to_string);
        match (code, &**v) {
            (1, _) => m.path = s,
            (2, _) => m.interface = s,
            (3, _) => m.member = s,
            (4, _) => m.error_name = s,
            (5, Value::U32(n)) => m.reply_serial = Some(*n),
            (8, _) => sig = s.unwrap_or_default(),
            _ => {}
        }
    }
    // The body starts 8-aligned; read it on its own so that padding is counted from there.
    let body = &b[r.pos..];
    m.body = Reader::new(body, 0).read_all(&sig)?;
    Ok(m)
}

/// A connection to a bus.
pub struct Bus {
    sock: UnixStream,
    serial: u32,
    /// Signals that arrived while waiting for a reply.
    pub signals: Vec<Message>,
}

const SYSTEM_BUS: &str = "unix:path=/run/dbus/system_bus_socket";

/// The socket of the system bus: $DBUS_SYSTEM_BUS_ADDRESS (its first unix:path= or
/// unix:abstract= entry) or the well-known path.
pub fn system_bus_socket() -> String {
    let addr = std::env::var("DBUS_SYSTEM_BUS_ADDRESS").unwrap_or_else(|_| SYSTEM_BUS.into());
    for entry in addr.split(';') {
        let Some(kv) = entry.strip_prefix("unix:") else {
            continue;
        };
        for p in kv.split(',') {
            if let Some(v) = p.strip_prefix("path=") {
                return v.to_string();
            }
            if let Some(v) = p.strip_prefix("abstract=") {
                return format!("@{v}");
            }
        }
    }
    "/run/dbus/system_bus_socket".into()
}

fn connect_socket(path: &str) -> std::io::Result<UnixStream> {
    if let Some(name) = path.strip_prefix('@') {
        use std::os::linux::net::SocketAddrExt;
        let a = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
        return UnixStream::connect_addr(&a);
    }
    UnixStream::connect(path)
}

impl Bus {
    /// Connect to the bus at `path` (a socket path, or @name for an abstract socket),
    /// authenticate as our uid and say Hello.
    pub fn connect(path: &str, timeout: Duration) -> Result<Bus> {
        let sock =
            connect_socket(path).map_err(|e| Error::io(format!("connecting to {path}"), e))?;
        let _ = sock.set_write_timeout(Some(timeout));
        let mut bus = Bus {
            sock,
            serial: 0,
            signals: Vec::new(),
        };
        bus.auth(timeout)?;
        bus.call(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "Hello",
            &[],
            timeout,
        )?;
        Ok(bus)
    }

    fn auth(&mut self, timeout: Duration) -> Result<()> {
        let uid = nix::unistd::getuid().as_raw().to_string();
        let hex: String = uid.bytes().map(|b| format!("{b:02x}")).collect();
        let io = |e| Error::io("authenticating to the D-Bus socket", e);
        self.sock
            .write_all(format!("\0AUTH EXTERNAL {hex}\r\n").as_bytes())
            .map_err(io)?;
        let _ = self.sock.set_read_timeout(Some(timeout));
        let mut line = Vec::new();
        let mut c = [0u8; 1];
        while !line.ends_with(b"\r\n") {
            if line.len() > 512 {
                return Err(Error::Other("D-Bus: overlong authentication reply".into()));
            }
            self.sock.read_exact(&mut c).map_err(io)?;
            line.push(c[0]);
        }
        if !line.starts_with(b"OK ") {
            return Err(Error::Other(format!(
                "D-Bus: authentication refused: {}",
                String::from_utf8_lossy(&line).trim()
            )));
        }
        self.sock.write_all(b"BEGIN\r\n").map_err(io)
    }

    pub fn send(&mut self, msg: &[u8]) -> Result<()> {
        self.sock
            .write_all(msg)
            .map_err(|e| Error::io("writing to the D-Bus socket", e))
    }

    /// The next message, waiting until `deadline` at most.
    pub fn recv(&mut self, deadline: Instant) -> Result<Message> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::Other("D-Bus: timed out".into()));
        }
        let _ = self.sock.set_read_timeout(Some(left));
        let io = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                Error::Other("D-Bus: timed out".into())
            }
            _ => Error::io("reading from the D-Bus socket", e),
        };
        let mut head = [0u8; 16];
        self.sock.read_exact(&mut head).map_err(io)?;
        let mut all = head.to_vec();
        all.resize(message_len(&head)?, 0);
        self.sock.read_exact(&mut all[16..]).map_err(io)?;
        decode(&all)
    }

    /// Call a method and wait (bounded) for its reply; an error reply becomes an error
    /// "NAME: message". Signals received meanwhile are kept in `signals`.
    pub fn call(
        &mut self,
        dest: &str,
        path: &str,
        iface: &str,
        member: &str,
        body: &[Value],
        timeout: Duration,
    ) -> Result<Vec<Value>> {
        self.serial += 1;
        let serial = self.serial;
        self.send(&encode_call(serial, dest, path, iface, member, body))?;
        let deadline = Instant::now() + timeout;
        loop {
            let m = self.recv(deadline).map_err(|e| match e {
                Error::Other(t) if t.ends_with("timed out") => {
                    Error::Other(format!("D-Bus: no reply to {member} within {timeout:?}"))
                }
                e => e,
            })?;
            match m.kind {
                SIGNAL => self.signals.push(m),
                METHOD_RETURN if m.reply_serial == Some(serial) => return Ok(m.body),
                ERROR if m.reply_serial == Some(serial) => {
                    let text = m.body.first().and_then(Value::as_str).unwrap_or("");
                    return Err(Error::Other(format!(
                        "{}: {text}",
                        m.error_name.unwrap_or_default()
                    )));
                }
                _ => {}
            }
        }
    }
}
