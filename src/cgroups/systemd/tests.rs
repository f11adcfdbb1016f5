use super::dbus::{self, Bus, Value, Writer};
use super::*;
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};

fn marshal(v: &Value) -> Vec<u8> {
    let mut w = Writer::default();
    w.put(v);
    w.buf
}

#[test]
fn marshal_property_bool() {
    // a(sv) [("Delegate", <true>)]: length 20 counted from the 8-aligned first struct.
    let got = marshal(&Value::props(vec![("Delegate".into(), Value::Bool(true))]));
    let mut want = vec![20, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0];
    want.extend(b"Delegate\0");
    want.extend([1, b'b', 0, 1, 0, 0, 0]);
    assert_eq!(got, want);
}

#[test]
fn marshal_variants_u64_and_au_and_ay() {
    // v <uint64 64 MiB>: signature "t", then padding to 8.
    let got = marshal(&Value::Variant(Box::new(Value::U64(64 << 20))));
    assert_eq!(got, [1, b't', 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0]);
    // v <[uint32 1234]> (PIDs)
    let pids = Value::Array("u".into(), vec![Value::U32(1234)]);
    let got = marshal(&Value::Variant(Box::new(pids)));
    assert_eq!(got, [2, b'a', b'u', 0, 4, 0, 0, 0, 0xd2, 0x04, 0, 0]);
    // v <[byte 0x07, 0x02]> (AllowedCPUs 0-2,9)
    let mask = props::list_to_mask("0-2,9", "f").unwrap();
    let got = marshal(&Value::Variant(Box::new(Value::Array(
        "y".into(),
        mask.into_iter().map(Value::Byte).collect(),
    ))));
    assert_eq!(got, [2, b'a', b'y', 0, 2, 0, 0, 0, 0x07, 0x02]);
    // An empty a(sa(sv)) still pads to its element's alignment.
    assert_eq!(marshal(&Value::Array("(sa(sv))".into(), vec![])), [0; 8]);
}

#[test]
fn marshal_hello_call() {
    // The header fields as computed by hand: path, interface, member, destination, each
    // struct 8-aligned; the array is 109 bytes, the body empty.
    let got = dbus::encode_call(
        1,
        "org.freedesktop.DBus",
        "/org/freedesktop/DBus",
        "org.freedesktop.DBus",
        "Hello",
        &[],
    );
    let mut want: Vec<u8> = vec![b'l', 1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 109, 0, 0, 0];
    want.extend([1, 1, b'o', 0, 21, 0, 0, 0]);
    want.extend(b"/org/freedesktop/DBus\0\0\0");
    want.extend([2, 1, b's', 0, 20, 0, 0, 0]);
    want.extend(b"org.freedesktop.DBus\0\0\0\0");
    want.extend([3, 1, b's', 0, 5, 0, 0, 0]);
    want.extend(b"Hello\0\0\0");
    want.extend([6, 1, b's', 0, 20, 0, 0, 0]);
    want.extend(b"org.freedesktop.DBus\0\0\0\0");
    assert_eq!(got.len(), 128);
    assert_eq!(got, want[..128]);
}

/// A method return as systemd's bus sends it for StartTransientUnit, written out by hand.
fn captured_reply() -> Vec<u8> {
    let job = b"/org/freedesktop/systemd1/job/42";
    let mut m: Vec<u8> = vec![b'l', 2, 1, 1, 37, 0, 0, 0, 16, 0, 0, 0, 47, 0, 0, 0];
    m.extend([5, 1, b'u', 0, 3, 0, 0, 0]); // REPLY_SERIAL 3
    m.extend([6, 1, b's', 0, 4, 0, 0, 0]); // DESTINATION ":1.7"
    m.extend(b":1.7\0\0\0\0");
    m.extend([7, 1, b's', 0, 4, 0, 0, 0]); // SENDER ":1.0"
    m.extend(b":1.0\0\0\0\0");
    m.extend([8, 1, b'g', 0, 1, b'o', 0, 0]); // SIGNATURE "o", then pad to 64
    m.extend([32, 0, 0, 0]);
    m.extend(job);
    m.push(0);
    m
}

#[test]
fn parse_captured_reply() {
    let b = captured_reply();
    let head: [u8; 16] = b[..16].try_into().unwrap();
    assert_eq!(dbus::message_len(&head).unwrap(), b.len());
    let m = dbus::decode(&b).unwrap();
    assert_eq!(m.kind, dbus::METHOD_RETURN);
    assert_eq!(m.reply_serial, Some(3));
    assert_eq!(
        m.body,
        vec![Value::ObjPath("/org/freedesktop/systemd1/job/42".into())]
    );
    // Truncated anywhere: an error, never a panic.
    for n in 16..b.len() {
        assert!(
            dbus::decode(&b[..n]).is_err(),
            "decoded a message cut at {n}"
        );
    }
}

#[test]
fn round_trip_start_transient_unit_body() {
    let body = vec![
        Value::Str("test-c1.scope".into()),
        Value::Str("replace".into()),
        Value::props(vec![
            ("PIDs".into(), Value::Array("u".into(), vec![Value::U32(7)])),
            ("MemoryMax".into(), Value::U64(1 << 26)),
            (
                "AllowedCPUs".into(),
                Value::Array("y".into(), vec![Value::Byte(1)]),
            ),
            (
                "Wants".into(),
                Value::Array("s".into(), vec![Value::Str("a.slice".into())]),
            ),
        ]),
        Value::Array("(sa(sv))".into(), vec![]),
    ];
    let msg = dbus::encode(
        dbus::METHOD_CALL,
        9,
        &[(3, Value::Str("StartTransientUnit".into()))],
        &body,
    );
    let m = dbus::decode(&msg).unwrap();
    assert_eq!(m.member.as_deref(), Some("StartTransientUnit"));
    assert_eq!(m.body, body);
}

#[test]
fn paths_and_slices() {
    let p = |s: &str| parse_path(Some(s), "id1");
    let (u, d) = p("system.slice:test:c1").unwrap();
    assert_eq!(
        (u.name.as_str(), u.slice.as_str(), d.as_str()),
        (
            "test-c1.scope",
            "system.slice",
            "/system.slice/test-c1.scope"
        )
    );
    let (u, d) = p(":crio:abc").unwrap();
    assert_eq!(
        (u.name.as_str(), d.as_str()),
        ("crio-abc.scope", "/system.slice/crio-abc.scope")
    );
    let (_, d) = p("a-b-c.slice:p:n").unwrap();
    assert_eq!(d, "/a.slice/a-b.slice/a-b-c.slice/p-n.scope");
    let (_, d) = p("-.slice:p:n").unwrap();
    assert_eq!(d, "/p-n.scope");
    let (u, d) = p("machine.slice:p:foo-bar.slice").unwrap();
    assert_eq!(
        (u.name.as_str(), d.as_str()),
        ("foo-bar.slice", "/foo.slice/foo-bar.slice")
    );
    let (u, _) = parse_path(None, "id1").unwrap();
    assert_eq!(u.name, "husk-id1.scope");
    for bad in [
        "a:b",
        "a:b:c:d",
        "nos:p:n",
        "a/b.slice:p:n",
        "-a.slice:p:n",
        "a--b.slice:p:n",
        ".slice:p:n",
        "system.slice:p:a/b",
        "system.slice:p:x y",
    ] {
        let e = p(bad).expect_err(bad).to_string();
        assert!(
            e.contains("linux.cgroupsPath") && !e.contains('\n'),
            "{bad}: {e}"
        );
    }
}

fn res(json: serde_json::Value) -> oci_spec::runtime::LinuxResources {
    serde_json::from_value(json).unwrap()
}

fn prop<'a>(p: &'a [(String, Value)], n: &str) -> Option<&'a Value> {
    p.iter().rev().find(|(k, _)| k == n).map(|(_, v)| v)
}

#[test]
fn resources_as_runc_translates_them() {
    let r = res(serde_json::json!({
        "memory": {"limit": 67108864, "reservation": -1, "swap": 134217728},
        "cpu": {"shares": 1024, "quota": 12345, "period": 100000, "cpus": "0-2,9", "mems": "0"},
        "pids": {"limit": -1},
        "blockIO": {"weight": 500}
    }));
    let p = props::from_resources(&r).unwrap();
    assert_eq!(prop(&p, "MemoryMax"), Some(&Value::U64(67108864)));
    assert_eq!(prop(&p, "MemoryLow"), Some(&Value::U64(u64::MAX)));
    assert_eq!(prop(&p, "MemorySwapMax"), Some(&Value::U64(67108864)));
    assert_eq!(prop(&p, "CPUWeight"), Some(&Value::U64(39)));
    // 123450 us/s rounded up to whole percents.
    assert_eq!(prop(&p, "CPUQuotaPerSecUSec"), Some(&Value::U64(130000)));
    assert_eq!(prop(&p, "CPUQuotaPeriodUSec"), Some(&Value::U64(100000)));
    assert_eq!(
        prop(&p, "AllowedCPUs"),
        Some(&Value::Array(
            "y".into(),
            vec![Value::Byte(7), Value::Byte(2)]
        ))
    );
    assert_eq!(
        prop(&p, "AllowedMemoryNodes"),
        Some(&Value::Array("y".into(), vec![Value::Byte(1)]))
    );
    assert_eq!(prop(&p, "TasksMax"), Some(&Value::U64(u64::MAX)));
    assert_eq!(prop(&p, "IOWeight"), Some(&Value::U64(4950)));
    // The unified weight and cpu.max win over the v1-style fields (they come later).
    let r = res(
        serde_json::json!({"cpu": {"shares": 1024}, "unified": {"cpu.weight": "77", "cpu.max": "max 50000", "pids.max": "12"}}),
    );
    let p = props::from_resources(&r).unwrap();
    assert_eq!(prop(&p, "CPUWeight"), Some(&Value::U64(77)));
    assert_eq!(prop(&p, "CPUQuotaPerSecUSec"), Some(&Value::U64(u64::MAX)));
    assert_eq!(prop(&p, "CPUQuotaPeriodUSec"), Some(&Value::U64(50000)));
    assert_eq!(prop(&p, "TasksMax"), Some(&Value::U64(12)));
    let e = props::from_resources(&res(serde_json::json!({"cpu": {"cpus": "3-1"}}))).unwrap_err();
    assert!(e.to_string().contains("linux.resources.cpu.cpus"), "{e}");
}

#[test]
fn annotations_in_runc_syntax() {
    let ann = |k: &str, v: &str| {
        let m = [
            (format!("org.systemd.property.{k}"), v.to_string()),
            ("other".into(), "x".into()),
        ];
        props::from_annotations(m.iter().map(|(a, b)| (a, b)))
    };
    assert_eq!(
        ann("TimeoutStopUSec", "uint64 123456789").unwrap(),
        vec![("TimeoutStopUSec".into(), Value::U64(123456789))]
    );
    assert_eq!(
        ann("TimeoutStopSec", "5").unwrap(),
        vec![("TimeoutStopUSec".into(), Value::U64(5_000_000))]
    );
    assert_eq!(
        ann("CollectMode", "'inactive-or-failed'").unwrap(),
        vec![(
            "CollectMode".into(),
            Value::Str("inactive-or-failed".into())
        )]
    );
    assert_eq!(
        ann("After", "['a.service', \"b.service\"]").unwrap()[0].1,
        Value::Array(
            "s".into(),
            vec![
                Value::Str("a.service".into()),
                Value::Str("b.service".into())
            ]
        )
    );
    assert_eq!(ann("Delegate", "false").unwrap()[0].1, Value::Bool(false));
    for (k, v) in [
        ("Ab", "1"),
        ("A1b", "1"),
        ("TimeoutStopSec", "'x'"),
        ("Foo", "{'a': <1>}"),
        ("Foo", "uint64 -1"),
        ("Foo", "'unterminated"),
    ] {
        let e = ann(k, v).expect_err(k).to_string();
        assert!(
            e.contains(&format!("org.systemd.property.{k}")),
            "{k}={v}: {e}"
        );
    }
}

// ---- a fake system bus: enough of the protocol to stand in for dbus-daemon + systemd ----

fn read_msg(s: &mut UnixStream) -> Option<dbus::Message> {
    let mut head = [0u8; 16];
    s.read_exact(&mut head).ok()?;
    let mut all = head.to_vec();
    all.resize(dbus::message_len(&head).ok()?, 0);
    s.read_exact(&mut all[16..]).ok()?;
    dbus::decode(&all).ok()
}

fn reply(s: &mut UnixStream, to: &dbus::Message, body: &[Value]) {
    let m = dbus::encode(
        dbus::METHOD_RETURN,
        1000 + to.serial,
        &[(5, Value::U32(to.serial))],
        body,
    );
    s.write_all(&m).unwrap();
}

/// Serve one client: `job_result` is what JobRemoved reports; `refuse` makes
/// StartTransientUnit fail as systemd does for an unknown property. Returns the calls seen.
fn fake_bus(
    path: &Path,
    job_result: &'static str,
    refuse: Option<&'static str>,
) -> std::thread::JoinHandle<Vec<dbus::Message>> {
    let l = UnixListener::bind(path).unwrap();
    std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        // Byte by byte: the client sends its first message right after BEGIN.
        let line = |s: &mut UnixStream| {
            let mut l = Vec::new();
            let mut c = [0u8; 1];
            while !l.ends_with(b"\n") {
                s.read_exact(&mut c).unwrap();
                l.push(c[0]);
            }
            l
        };
        let l = line(&mut s);
        assert!(l.starts_with(b"\0AUTH EXTERNAL "), "{l:?}");
        s.write_all(b"OK 0123456789abcdef0123456789abcdef\r\n")
            .unwrap();
        assert_eq!(line(&mut s), b"BEGIN\r\n");
        let mut seen = Vec::new();
        while let Some(m) = read_msg(&mut s) {
            match m.member.as_deref() {
                Some("Hello") => reply(&mut s, &m, &[Value::Str(":1.9".into())]),
                Some("StartTransientUnit") | Some("StopUnit") => {
                    if let (Some(p), true) =
                        (refuse, m.member.as_deref() == Some("StartTransientUnit"))
                    {
                        let e = dbus::encode(
                            dbus::ERROR,
                            77,
                            &[
                                (5, Value::U32(m.serial)),
                                (
                                    4,
                                    Value::Str(
                                        "org.freedesktop.DBus.Error.PropertyReadOnly".into(),
                                    ),
                                ),
                            ],
                            &[Value::Str(format!(
                                "Cannot set property {p}, or unknown property."
                            ))],
                        );
                        s.write_all(&e).unwrap();
                    } else {
                        let job = "/org/freedesktop/systemd1/job/5";
                        let unit = m.body[0].clone();
                        reply(&mut s, &m, &[Value::ObjPath(job.into())]);
                        let sig = dbus::encode(
                            dbus::SIGNAL,
                            99,
                            &[(3, Value::Str("JobRemoved".into()))],
                            &[
                                Value::U32(5),
                                Value::ObjPath(job.into()),
                                unit,
                                Value::Str(job_result.into()),
                            ],
                        );
                        s.write_all(&sig).unwrap();
                    }
                }
                _ => reply(&mut s, &m, &[]),
            }
            seen.push(m);
        }
        seen
    })
}

fn tmp_sock(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("husk-fakebus-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&d);
    d
}

fn pending(bus: Bus, annotated: Vec<(String, Value)>) -> Pending {
    let r = res(serde_json::json!({"memory": {"limit": 67108864}}));
    Pending {
        bus: Mutex::new(bus),
        unit: Unit {
            name: "test-c1.scope".into(),
            slice: "system.slice".into(),
        },
        id: "c1".into(),
        resources: props::from_resources(&r).unwrap(),
        annotated,
    }
}

#[test]
fn fake_bus_start_unit() {
    let path = tmp_sock("ok");
    let server = fake_bus(&path, "done", None);
    let mut bus = Bus::connect(path.to_str().unwrap(), Duration::from_secs(10)).unwrap();
    subscribe_jobs(&mut bus).unwrap();
    let ann = vec![("TimeoutStopUSec".to_string(), Value::U64(5))];
    pending(bus, ann)
        .start(4242, Path::new("/nonexistent"))
        .unwrap();
    let seen = server.join().unwrap();
    let _ = std::fs::remove_file(&path);
    let names: Vec<_> = seen.iter().filter_map(|m| m.member.clone()).collect();
    assert_eq!(names, ["Hello", "AddMatch", "StartTransientUnit"]);
    let call = &seen[2];
    assert_eq!(call.body[0], Value::Str("test-c1.scope".into()));
    assert_eq!(call.body[1], Value::Str("replace".into()));
    let Value::Array(_, props) = &call.body[2] else {
        panic!("{:?}", call.body)
    };
    let get = |n: &str| {
        props.iter().find_map(|p| match p {
            Value::Struct(f) if f[0] == Value::Str(n.into()) => Some(f[1].clone()),
            _ => None,
        })
    };
    let v = |x: Value| Some(Value::Variant(Box::new(x)));
    assert_eq!(get("Slice"), v(Value::Str("system.slice".into())));
    assert_eq!(get("Delegate"), v(Value::Bool(true)));
    assert_eq!(get("DefaultDependencies"), v(Value::Bool(false)));
    assert_eq!(
        get("PIDs"),
        v(Value::Array("u".into(), vec![Value::U32(4242)]))
    );
    assert_eq!(get("MemoryMax"), v(Value::U64(67108864)));
    assert_eq!(get("TimeoutStopUSec"), v(Value::U64(5)));
    assert_eq!(
        get("Description"),
        v(Value::Str("libcontainer container c1".into()))
    );
}

#[test]
fn fake_bus_failed_job_and_refused_property() {
    let path = tmp_sock("failed");
    let server = fake_bus(&path, "failed", None);
    let bus = Bus::connect(path.to_str().unwrap(), Duration::from_secs(10)).unwrap();
    let e = pending(bus, vec![])
        .start(1, Path::new("/nonexistent"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("test-c1.scope") && e.contains("failed"), "{e}");
    server.join().unwrap();
    let path = tmp_sock("refused");
    let server = fake_bus(&path, "done", Some("Bogus"));
    let bus = Bus::connect(path.to_str().unwrap(), Duration::from_secs(10)).unwrap();
    let e = pending(bus, vec![("Bogus".into(), Value::I32(1))])
        .start(1, Path::new("/x"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("test-c1.scope") && e.contains("annotation org.systemd.property.Bogus"),
        "{e}"
    );
    server.join().unwrap();
    let _ = std::fs::remove_file(&path);
}

#[test]
fn no_bus_is_one_clear_line() {
    let e = Bus::connect("/nonexistent/husk-no-bus", Duration::from_secs(1))
        .err()
        .unwrap();
    assert!(e.to_string().contains("/nonexistent/husk-no-bus"), "{e}");
}
