//! The kernel's path manager: resource-manager mountpoints (`path_attach`, resmgr_attach's
//! kernel half) and the resolution behind `open` (`path_resolve`), with QNX's rules
//! (docs: the resmgr reference, §2.6 and §5.1): paths normalised, several servers on one
//! mountpoint in BEFORE / plain / AFTER order, longest mountpoint first, OPAQUE, DIR with the
//! server's remainder, SELF, file types, names under `/dev/name/...`; and every error: a bad
//! path or flag, a chid not ours, a path too long, a pool full, a detach not ours. Entries go
//! with their channel and their process, even a killed program's.
// (Kernel calls on real threads, and programs sharing a kernel: not loom models.)
#![cfg(not(loom))]

mod support;

use std::path::Path;
use support::*;

use kernel_sim::{normalize_path, PathEntry};

/// A process with one thread and one channel.
struct Server {
    p: Pid,
    t: ThreadCtx,
    chid: i32,
}

fn server(k: &Kernel) -> Server {
    let p = k.process_create().unwrap();
    let t = k.thread_attach(p, 10).unwrap();
    let chid = t.channel_create(0).unwrap();
    Server { p, t, chid }
}

/// A client process's thread.
fn client(k: &Kernel) -> ThreadCtx {
    let p = k.process_create().unwrap();
    k.thread_attach(p, 10).unwrap()
}

/// Every entry `c` resolves `path` to for `file_type`, in order (until ENOENT).
fn all(c: &ThreadCtx, path: &str, file_type: u32) -> Vec<PathEntry> {
    (0..)
        .map_while(
            |skip| match c.path_resolve(path.as_bytes(), file_type, skip) {
                Ok(e) => Some(e),
                Err(e) => {
                    assert_eq!(e, Errno::ENOENT, "{path:?} skip {skip}");
                    None
                }
            },
        )
        .collect()
}

/// The handles of [`all`].
fn handles(c: &ThreadCtx, path: &str, file_type: u32) -> Vec<u32> {
    all(c, path, file_type).iter().map(|e| e.handle).collect()
}

/// The server's part of `path` for entry `e` (what its `_IO_CONNECT` carries).
fn remainder(path: &str, e: &PathEntry) -> String {
    let n = normalize_path(path.as_bytes()).unwrap();
    String::from_utf8(n[e.prefix_len as usize..].to_vec()).unwrap()
}

#[test]
fn paths_are_normalised_before_storing_and_before_resolving() {
    for (raw, norm) in [
        ("/", "/"),
        ("///", "/"),
        ("/.", "/"),
        ("/././/", "/"),
        ("/dev/sample", "/dev/sample"),
        ("//dev///sample/", "/dev/sample"),
        ("/dev/./sample/.", "/dev/sample"),
        ("/a..b/.c/", "/a..b/.c"),
    ] {
        assert_eq!(
            normalize_path(raw.as_bytes()).as_deref(),
            Ok(norm.as_bytes()),
            "{raw:?}"
        );
    }
    let k = kernel();
    let s = server(&k);
    let c = client(&k);
    let id =
        s.t.path_attach(s.chid, b"//dev///sample/./", 0, _FTYPE_ANY, 42)
            .unwrap();
    assert!(id > 0);
    // Stored normalised: the listing (pidin-sim's) shows it so, with the channel.
    let listing = k.snapshot().to_string();
    assert!(listing.contains("\n  paths: /dev/sample\n"), "{listing}");
    for asked in ["/dev/sample", "/dev/./sample//", "//dev/sample/."] {
        let e = c.path_resolve(asked.as_bytes(), _FTYPE_ANY, 0).unwrap();
        assert_eq!(
            e,
            PathEntry {
                id,
                pid: s.t.pid(),
                chid: s.chid,
                handle: 42,
                file_type: _FTYPE_ANY,
                flags: 0,
                prefix_len: "/dev/sample".len() as u32,
            },
            "{asked:?}"
        );
        assert_eq!(remainder(asked, &e), "");
    }
    // Not a DIR mountpoint: nothing below it, nothing beside it.
    for other in ["/dev/sample/x", "/dev/samples", "/dev", "/"] {
        assert_eq!(
            c.path_resolve(other.as_bytes(), _FTYPE_ANY, 0),
            Err(Errno::ENOENT),
            "{other:?}"
        );
    }
}

#[test]
fn bad_paths_flags_and_chids_get_einval_and_long_paths_enametoolong() {
    let k = kernel();
    let s = server(&k);
    let c = client(&k);
    let other = server(&k);
    for bad in [
        &b""[..],
        b"dev/x",
        b"x",
        b".",
        b"/a/../b",
        b"/..",
        b"/a/..",
        b"/a\0b",
    ] {
        assert_eq!(
            s.t.path_attach(s.chid, bad, 0, 0, 0),
            Err(Errno::EINVAL),
            "{bad:?}"
        );
        assert_eq!(c.path_resolve(bad, 0, 0), Err(Errno::EINVAL), "{bad:?}");
        assert_eq!(normalize_path(bad), Err(Errno::EINVAL), "{bad:?}");
    }
    // Flags beyond _RESMGR_FLAG_MASK.
    for flags in [0x20, 0x40, 0x80, 0x400, 0x8000_0000, !_RESMGR_FLAG_MASK] {
        assert_eq!(
            s.t.path_attach(s.chid, b"/x", flags, 0, 0),
            Err(Errno::EINVAL),
            "{flags:#x}"
        );
    }
    let id =
        s.t.path_attach(s.chid, b"/x", _RESMGR_FLAG_MASK, 0, 0)
            .unwrap();
    s.t.name_detach(id, s.chid).unwrap();
    // A chid not ours: another process's, or none.
    assert_eq!(
        s.t.path_attach(other.chid + 1000, b"/x", 0, 0, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        c.path_attach(other.chid, b"/x", 0, 0, 0),
        Err(Errno::EINVAL)
    );
    // Length counts after normalising: 127 bytes is the most.
    let longest = format!("/{}", "a".repeat(126));
    let long = format!("/{}", "a".repeat(127));
    let padded = format!("//{}/./", "a".repeat(126));
    assert_eq!(
        s.t.path_attach(s.chid, long.as_bytes(), 0, 0, 0),
        Err(Errno::ENAMETOOLONG)
    );
    assert_eq!(
        c.path_resolve(long.as_bytes(), 0, 0),
        Err(Errno::ENAMETOOLONG)
    );
    assert_eq!(normalize_path(long.as_bytes()), Err(Errno::ENAMETOOLONG));
    // A `..` is EINVAL even beyond the length limit.
    let long_dotdot = format!("{long}/..");
    assert_eq!(
        s.t.path_attach(s.chid, long_dotdot.as_bytes(), 0, 0, 0),
        Err(Errno::EINVAL)
    );
    let a = s.t.path_attach(s.chid, padded.as_bytes(), 0, 0, 7).unwrap();
    let e = c.path_resolve(longest.as_bytes(), 0, 0).unwrap();
    assert_eq!((e.id, e.handle, e.prefix_len), (a, 7, 127));
    // Failed attaches left nothing behind.
    assert_eq!(k.pool_usage().names.live, 1);
}

#[test]
fn one_mountpoint_unions_its_servers_before_entries_in_order_then_plain_then_after_newest_first() {
    let k = kernel();
    let (s, t) = (server(&k), server(&k));
    let c = client(&k);
    let attach = |who: &Server, flags: u32, handle: u32| {
        who.t
            .path_attach(who.chid, b"/dev/u", flags, _FTYPE_ANY, handle)
            .unwrap()
    };
    attach(&s, 0, 1);
    attach(&t, _RESMGR_FLAG_BEFORE, 2);
    attach(&s, _RESMGR_FLAG_AFTER, 3);
    attach(&t, 0, 4);
    attach(&s, _RESMGR_FLAG_BEFORE, 5);
    let last = attach(&t, _RESMGR_FLAG_AFTER, 6);
    assert_eq!(handles(&c, "/dev/u", _FTYPE_ANY), [2, 5, 4, 1, 6, 3]);
    assert_eq!(c.path_resolve(b"/dev/u", 0, 6), Err(Errno::ENOENT));
    assert_eq!(c.path_resolve(b"/dev/u", 0, u32::MAX), Err(Errno::ENOENT));
    // Each entry names its server.
    let e = all(&c, "/dev/u", _FTYPE_ANY);
    assert_eq!((e[4].id, e[4].pid, e[4].chid), (last, t.t.pid(), t.chid));
    assert_eq!((e[5].pid, e[5].chid), (s.t.pid(), s.chid));
    assert_eq!(e[0].flags, _RESMGR_FLAG_BEFORE);
    // A detached entry leaves the others in their order; a new plain one comes first of
    // the plain ones.
    t.t.name_detach(e[2].id, t.chid).unwrap();
    attach(&s, 0, 7);
    assert_eq!(handles(&c, "/dev/u", _FTYPE_ANY), [2, 5, 7, 1, 6, 3]);
}

#[test]
fn longer_mountpoints_come_first_and_dir_mountpoints_pass_the_remainder() {
    let k = kernel();
    let s = server(&k);
    let c = client(&k);
    let dir = _RESMGR_FLAG_DIR;
    s.t.path_attach(s.chid, b"/", dir, 0, 1).unwrap();
    s.t.path_attach(s.chid, b"/nfs", dir, 0, 2).unwrap();
    s.t.path_attach(s.chid, b"/nfs/etc", 0, 0, 3).unwrap();
    let seen = |path: &str| -> Vec<(u32, String)> {
        all(&c, path, _FTYPE_ANY)
            .iter()
            .map(|e| (e.handle, remainder(path, e)))
            .collect()
    };
    let r = |h: u32, rest: &str| (h, rest.to_string());
    assert_eq!(
        seen("/nfs/etc/passwd"),
        [r(2, "etc/passwd"), r(1, "nfs/etc/passwd")]
    );
    assert_eq!(seen("/nfs/etc"), [r(3, ""), r(2, "etc"), r(1, "nfs/etc")]);
    assert_eq!(
        seen("//nfs//etc/"),
        [r(3, ""), r(2, "etc"), r(1, "nfs/etc")]
    );
    assert_eq!(seen("/nfs"), [r(2, ""), r(1, "nfs")]);
    // Only on a component boundary.
    assert_eq!(seen("/nfsx/y"), [r(1, "nfsx/y")]);
    assert_eq!(seen("/"), [r(1, "")]);
    let e = c.path_resolve(b"/nfs/etc/passwd", 0, 0).unwrap();
    assert_eq!(e.prefix_len, 5);
    assert_eq!(e.flags, dir);
}

#[test]
fn an_opaque_mountpoint_hides_the_shorter_ones() {
    let k = kernel();
    let s = server(&k);
    let c = client(&k);
    let dir = _RESMGR_FLAG_DIR;
    s.t.path_attach(s.chid, b"/", dir, 0, 1).unwrap();
    s.t.path_attach(s.chid, b"/a", dir | _RESMGR_FLAG_OPAQUE, 0, 2)
        .unwrap();
    s.t.path_attach(s.chid, b"/a", dir, 0, 3).unwrap();
    s.t.path_attach(s.chid, b"/a/b", dir, 0, 4).unwrap();
    // Its whole mountpoint group stays; the shorter ones go.
    assert_eq!(handles(&c, "/a/x", _FTYPE_ANY), [3, 2]);
    assert_eq!(handles(&c, "/a/b/x", _FTYPE_ANY), [4, 3, 2]);
    // Where it does not match, it hides nothing.
    assert_eq!(handles(&c, "/b", _FTYPE_ANY), [1]);
    // An opaque mountpoint that is not a DIR matches only itself.
    s.t.path_attach(s.chid, b"/o", _RESMGR_FLAG_OPAQUE, 0, 5)
        .unwrap();
    assert_eq!(handles(&c, "/o", _FTYPE_ANY), [5]);
    assert_eq!(handles(&c, "/o/x", _FTYPE_ANY), [1]);
}

#[test]
fn a_process_does_not_resolve_to_itself_unless_the_entry_says_self() {
    let k = kernel();
    let s = server(&k);
    let c = client(&k);
    s.t.path_attach(s.chid, b"/s", 0, 0, 1).unwrap();
    s.t.path_attach(s.chid, b"/s", _RESMGR_FLAG_SELF, 0, 2)
        .unwrap();
    assert_eq!(handles(&c, "/s", _FTYPE_ANY), [2, 1]);
    assert_eq!(handles(&s.t, "/s", _FTYPE_ANY), [2]);
    // Another thread of the same process is the same process.
    let t2 = k.thread_attach(s.p, 10).unwrap();
    assert_eq!(handles(&t2, "/s", _FTYPE_ANY), [2]);
    // A name has no SELF: its own process does not find it under /dev/name either.
    s.t.name_attach(s.chid, b"svc", 0).unwrap();
    assert_eq!(
        s.t.path_resolve(b"/dev/name/local/svc", 0, 0),
        Err(Errno::ENOENT)
    );
    assert!(c.path_resolve(b"/dev/name/local/svc", 0, 0).is_ok());
}

#[test]
fn file_types_match_as_qnx_matches_them() {
    let k = kernel();
    let s = server(&k);
    let c = client(&k);
    let at = |ft: u32, flags: u32, handle: u32| {
        s.t.path_attach(s.chid, b"/t", flags, ft, handle).unwrap();
    };
    at(_FTYPE_FILE, 0, 1);
    at(_FTYPE_ALL, 0, 2);
    at(_FTYPE_PIPE, _RESMGR_FLAG_FTYPEALL, 3);
    at(_FTYPE_MQUEUE, _RESMGR_FLAG_FTYPEONLY, 4);
    at(_FTYPE_ANY, 0, 5);
    // ANY requests match every entry but an FTYPEONLY one (it wants its exact type).
    assert_eq!(handles(&c, "/t", _FTYPE_ANY), [5, 3, 2, 1]);
    // A typed request: the entries of its type, of _FTYPE_ALL, with FTYPEALL.
    assert_eq!(handles(&c, "/t", _FTYPE_FILE), [3, 2, 1]);
    assert_eq!(handles(&c, "/t", _FTYPE_PIPE), [3, 2]);
    assert_eq!(handles(&c, "/t", _FTYPE_MQUEUE), [4, 3, 2]);
    assert_eq!(handles(&c, "/t", _FTYPE_SOCKET), [3, 2]);
    assert_eq!(
        all(&c, "/t", _FTYPE_MQUEUE)[0].file_type,
        _FTYPE_MQUEUE,
        "the entry's own type"
    );
}

#[test]
fn names_show_under_dev_name_and_name_lookup_never_sees_a_path() {
    let k = kernel();
    let s = server(&k);
    let c = client(&k);
    let local = s.t.name_attach(s.chid, b"sensors/temp", 0).unwrap();
    let global =
        s.t.name_attach(s.chid, b"svc", NAME_FLAG_ATTACH_GLOBAL)
            .unwrap();
    let path = "/dev/name/local/sensors/temp";
    let e = c.path_resolve(path.as_bytes(), _FTYPE_ANY, 0).unwrap();
    assert_eq!(
        e,
        PathEntry {
            id: local,
            pid: s.t.pid(),
            chid: s.chid,
            handle: local as u32,
            file_type: _FTYPE_NAME,
            flags: 0,
            prefix_len: path.len() as u32,
        }
    );
    assert_eq!(remainder(path, &e), "");
    assert_eq!(all(&c, path, _FTYPE_ANY).len(), 1);
    // Normalised like any path; found by name_open's type too, not by another type.
    assert_eq!(
        c.path_resolve(b"//dev/name/local/./sensors/temp/", _FTYPE_NAME, 0),
        Ok(e)
    );
    assert_eq!(
        c.path_resolve(path.as_bytes(), _FTYPE_FILE, 0),
        Err(Errno::ENOENT)
    );
    // Exact match only, and in its own space.
    for miss in [
        "/dev/name/local/sensors",
        "/dev/name/local/sensors/temp/x",
        "/dev/name/global/sensors/temp",
        "/dev/name/local/svc",
        "/dev/name/local",
        "/dev/name",
    ] {
        assert_eq!(
            c.path_resolve(miss.as_bytes(), 0, 0),
            Err(Errno::ENOENT),
            "{miss:?}"
        );
    }
    let g = c.path_resolve(b"/dev/name/global/svc", 0, 0).unwrap();
    assert_eq!((g.id, g.handle, g.file_type), (global, global as u32, 12));
    // A mountpoint on the same path is unioned with the name (newest first).
    s.t.path_attach(s.chid, b"/dev/name/global/svc", 0, 0, 99)
        .unwrap();
    assert_eq!(
        handles(&c, "/dev/name/global/svc", _FTYPE_ANY),
        [99, global as u32]
    );
    // name_lookup sees names only: a mountpoint is not a name, and takes no name.
    s.t.path_attach(s.chid, b"/lonely", 0, 0, 1).unwrap();
    assert_eq!(c.name_lookup(b"lonely"), Err(Errno::ENOENT));
    assert_eq!(c.name_lookup(b"/lonely"), Err(Errno::EINVAL));
    let n = s.t.name_attach(s.chid, b"lonely", 0).unwrap();
    assert_eq!(c.name_lookup(b"lonely"), Ok((s.t.pid(), s.chid, n)));
    assert_eq!(c.name_lookup(b"svc"), Ok((s.t.pid(), s.chid, global)));
    // The listing keeps names and paths apart.
    let listing = k.snapshot().to_string();
    assert!(
        listing.contains("  names: sensors/temp, svc (global), lonely\n"),
        "{listing}"
    );
    assert!(
        listing.contains("  paths: /dev/name/global/svc, /lonely\n"),
        "{listing}"
    );
}

#[test]
fn detach_takes_only_our_own_entry_of_the_channel_given() {
    let k = kernel();
    let s = server(&k);
    let other = server(&k);
    let c = client(&k);
    let id = s.t.path_attach(s.chid, b"/d", 0, 0, 1).unwrap();
    let chid2 = s.t.channel_create(0).unwrap();
    // Another channel's, another process's: EINVAL, and the entry stays.
    assert_eq!(s.t.name_detach(id, chid2), Err(Errno::EINVAL));
    assert_eq!(other.t.name_detach(id, other.chid), Err(Errno::EINVAL));
    assert_eq!(other.t.name_detach(id, s.chid), Err(Errno::EINVAL));
    assert_eq!(handles(&c, "/d", 0), [1]);
    s.t.name_detach(id, s.chid).unwrap();
    assert_eq!(c.path_resolve(b"/d", 0, 0), Err(Errno::ENOENT));
    // Twice: EINVAL; the channel stays.
    assert_eq!(s.t.name_detach(id, s.chid), Err(Errno::EINVAL));
    assert_eq!(k.pool_usage().names.live, 0);
    let again = s.t.path_attach(s.chid, b"/d", 0, 0, 2).unwrap();
    assert_ne!(again, id, "a new entry gets a new id");
    assert_eq!(s.t.name_detach(id, s.chid), Err(Errno::EINVAL), "stale");
    assert_eq!(handles(&c, "/d", 0), [2]);
}

#[test]
fn entries_go_with_their_channel_and_their_process() {
    let k = kernel();
    let s = server(&k);
    let c = client(&k);
    let chid2 = s.t.channel_create(0).unwrap();
    s.t.path_attach(s.chid, b"/one", _RESMGR_FLAG_DIR, 0, 1)
        .unwrap();
    s.t.path_attach(chid2, b"/two", 0, 0, 2).unwrap();
    s.t.name_attach(chid2, b"two", 0).unwrap();
    assert_eq!(k.pool_usage().names.live, 3);
    // A destroyed channel takes its entries (and names), not the other channel's.
    s.t.channel_destroy(chid2).unwrap();
    assert_eq!(c.path_resolve(b"/two", 0, 0), Err(Errno::ENOENT));
    assert_eq!(
        c.path_resolve(b"/dev/name/local/two", 0, 0),
        Err(Errno::ENOENT)
    );
    assert_eq!(handles(&c, "/one/x", 0), [1]);
    assert_eq!(k.pool_usage().names.live, 1);
    // A process that ends takes its entries.
    let Server { p, t, .. } = s;
    drop(t);
    k.process_destroy(p).unwrap();
    assert_eq!(c.path_resolve(b"/one/x", 0, 0), Err(Errno::ENOENT));
    assert_eq!(k.pool_usage().names.live, 0);
}

#[test]
fn the_pool_runs_out_with_eagain_shared_with_names_and_comes_back() {
    let k = Kernel::new(Config {
        max_names: 2,
        ..Config::default()
    })
    .unwrap();
    let s = server(&k);
    let a = s.t.path_attach(s.chid, b"/a", 0, 0, 0).unwrap();
    s.t.name_attach(s.chid, b"n", 0).unwrap();
    assert_eq!(s.t.path_attach(s.chid, b"/b", 0, 0, 0), Err(Errno::EAGAIN));
    assert_eq!(s.t.name_attach(s.chid, b"m", 0), Err(Errno::EAGAIN));
    s.t.name_detach(a, s.chid).unwrap();
    s.t.path_attach(s.chid, b"/b", 0, 0, 0).unwrap();
}

// ------------------------------------------------------------------ a killed program

/// Where a child starts (support/procs.rs); ignored in a normal run.
#[test]
#[ignore = "the entry point of this binary's child processes, not a test of its own"]
fn child_entry() {
    let Some((role, arg)) = child_role() else {
        return;
    };
    child_setup();
    match role.as_str() {
        "mounter" => {
            let k = Kernel::open_shared(Path::new(&arg)).expect("open_shared");
            let p = k.process_attach_self().expect("process_attach_self");
            let t = k.thread_attach(p, 10).expect("thread_attach");
            let chid = t.channel_create(0).expect("ChannelCreate");
            t.path_attach(chid, b"/dev/killed", _RESMGR_FLAG_DIR, 0, 5)
                .expect("path_attach");
            t.name_attach(chid, b"killed", 0).expect("name_attach");
            tell_parent(&format!("mounted {}", t.pid()));
            loop {
                std::thread::park();
            }
        }
        other => panic!("unknown role {other}"),
    }
}

#[test]
fn a_killed_programs_entries_go_when_the_supervisor_reaps_it() {
    let dir = TempDir::new("paths");
    let path = dir.join("kernel");
    let k = Kernel::create_shared(&path, Config::default()).expect("create_shared");
    let me = k.process_attach_self().unwrap();
    let c = k.thread_attach(me, 10).unwrap();
    let child = Child::spawn("mounter", path.to_str().unwrap());
    let os_pid = child.pid();
    let line = child.line(DEADLINE);
    let pid: i32 = line
        .strip_prefix("mounted ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected line {line:?}"));
    let e = c.path_resolve(b"/dev/killed/x", 0, 0).unwrap();
    assert_eq!((e.pid, e.handle, e.prefix_len), (pid, 5, 12));
    assert!(c.path_resolve(b"/dev/name/local/killed", 0, 0).is_ok());
    assert_eq!(k.pool_usage().names.live, 2);
    child.kill();
    assert_eq!(k.reap_os_process(os_pid), 1);
    assert_eq!(c.path_resolve(b"/dev/killed/x", 0, 0), Err(Errno::ENOENT));
    assert_eq!(
        c.path_resolve(b"/dev/name/local/killed", 0, 0),
        Err(Errno::ENOENT)
    );
    assert_eq!(k.pool_usage().names.live, 0);
    drop(c);
    k.process_destroy(me).unwrap();
}
