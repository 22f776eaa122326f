//! Review: what `--processes` runs of the examples show, seen as a student following the
//! tutorial would, and what they leave behind.
//!
//! * `--pidin` with `--processes`: the process rows are the programs of the run, by their
//!   Linux pids (running children of the launcher, in a role; the launcher is not one), the
//!   states name the server's pid and chid, the counters agree with each other and the
//!   per-program kernel entries add up to no more than the kernel's total (exactly to it when
//!   no program has ended).
//! * `--trace` and `--diagram` with `--processes`: the timeline parses, has one process track
//!   per program with its Linux pid, every message's send, receive and reply in causal order
//!   across programs, linked by flows; the chart is well-formed XML with a lifeline per thread
//!   and arrows between the programs (SRR messages, asyncmsg batches).
//! * Refusals with `--processes`: exit status 2, a message naming the option, no kernel
//!   directory, no output file.
//! * Ends from outside: a signal mid-run with `--trace`/`--diagram`; SIGKILL of the launcher
//!   with `--trace`, then the next run; a program killed mid-run with a timeline recording.
//!
//! Every process a test starts is bounded in time and killed on every exit path (with the
//! launcher's own programs, found by their parent pid); temporary files are removed.

#[allow(dead_code)] // (this binary uses a part of it)
mod common;

use common::launcher::{all_gone, children_of, cmdline, dead_pid, kernel_dir, stat, Launcher};
use common::{number_after, run};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

const SRR: &str = env!("CARGO_BIN_EXE_srr-demo");
const EVENT_LOOP: &str = env!("CARGO_BIN_EXE_event-loop");
const SENSORS: &str = env!("CARGO_BIN_EXE_sensors");

// ------------------------------------------------------------------------------ helpers

/// A directory of this test's, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("review-pviews-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("a temporary directory");
        Dir(d)
    }

    fn file(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The timeline's events (Chrome trace-event JSON, `{"traceEvents":[...]}`).
fn trace_events(path: &str) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let v: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{path} is not JSON ({e}): {} bytes", text.len()));
    v["traceEvents"]
        .as_array()
        .expect("a traceEvents array")
        .clone()
}

/// The timeline's processes: pid -> name (`process_name` metadata).
fn trace_processes(events: &[serde_json::Value]) -> BTreeMap<i64, String> {
    events
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "process_name")
        .filter_map(|e| Some((e["pid"].as_i64()?, e["args"]["name"].as_str()?.to_string())))
        .collect()
}

/// A flow of category `cat`: its events by phase (`s`, `t`, `f`) as (pid, ts).
type Flow = BTreeMap<String, Vec<(i64, f64)>>;

fn flows(events: &[serde_json::Value], cat: &str) -> BTreeMap<String, Flow> {
    let mut m: BTreeMap<String, Flow> = BTreeMap::new();
    for e in events.iter().filter(|e| e["cat"] == cat) {
        let (Some(id), Some(ph), Some(pid), Some(ts)) = (
            e["id"].as_str(),
            e["ph"].as_str(),
            e["pid"].as_i64(),
            e["ts"].as_f64(),
        ) else {
            continue;
        };
        m.entry(id.to_string())
            .or_default()
            .entry(ph.to_string())
            .or_default()
            .push((pid, ts));
    }
    m
}

/// Checks that `text` is well-formed XML (one root element, tags nested and closed,
/// attributes quoted, `&` only in entities, no raw `<` in text or attributes); the error
/// says where it is not.
fn check_xml(text: &str) -> Result<(), String> {
    fn entity_ok(s: &str) -> bool {
        let Some(end) = s.find(';') else { return false };
        let name = &s[1..end];
        matches!(name, "amp" | "lt" | "gt" | "quot" | "apos")
            || name
                .strip_prefix("#x")
                .is_some_and(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit()))
            || name
                .strip_prefix('#')
                .is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()))
    }
    fn text_ok(s: &str, at: usize) -> Result<(), String> {
        for (i, _) in s.match_indices('&') {
            if !entity_ok(&s[i..]) {
                return Err(format!("a bare & at byte {}", at + i));
            }
        }
        Ok(())
    }
    fn name_ok(n: &str) -> bool {
        !n.is_empty()
            && n.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
            && !n.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.')
    }
    let mut stack: Vec<&str> = Vec::new();
    let mut roots = 0;
    let mut i = 0;
    let b = text.as_bytes();
    while i < b.len() {
        if b[i] != b'<' {
            let end = text[i..].find('<').map_or(b.len(), |n| i + n);
            let chunk = &text[i..end];
            if stack.is_empty() && !chunk.trim().is_empty() {
                return Err(format!("text outside the root at byte {i}: {chunk:?}"));
            }
            text_ok(chunk, i)?;
            if chunk.contains('>') && chunk.contains("]]>") {
                return Err(format!("]]> in text at byte {i}"));
            }
            i = end;
            continue;
        }
        let rest = &text[i..];
        if let Some(r) = rest.strip_prefix("<?") {
            let end = r.find("?>").ok_or(format!("unclosed <? at byte {i}"))?;
            i += 2 + end + 2;
            continue;
        }
        if let Some(r) = rest.strip_prefix("<!--") {
            let end = r
                .find("-->")
                .ok_or(format!("unclosed comment at byte {i}"))?;
            i += 4 + end + 3;
            continue;
        }
        if let Some(r) = rest.strip_prefix("<![CDATA[") {
            let end = r.find("]]>").ok_or(format!("unclosed CDATA at byte {i}"))?;
            i += 9 + end + 3;
            continue;
        }
        if rest.starts_with("<!") {
            let end = rest.find('>').ok_or(format!("unclosed <! at byte {i}"))?;
            i += end + 1;
            continue;
        }
        // A tag: find its end, outside quoted attribute values.
        let mut j = 1;
        let mut quote: Option<u8> = None;
        while j < rest.len() {
            let c = rest.as_bytes()[j];
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) if c == b'<' => return Err(format!("< in an attribute at byte {}", i + j)),
                Some(_) => {}
                None if c == b'"' || c == b'\'' => quote = Some(c),
                None if c == b'>' => break,
                None if c == b'<' => return Err(format!("< inside a tag at byte {}", i + j)),
                None => {}
            }
            j += 1;
        }
        if j >= rest.len() {
            return Err(format!("unclosed tag at byte {i}"));
        }
        let tag = &rest[1..j];
        i += j + 1;
        if let Some(name) = tag.strip_prefix('/') {
            let name = name.trim_end();
            match stack.pop() {
                Some(open) if open == name => {}
                other => return Err(format!("</{name}> closes {other:?} (byte {i})")),
            }
            continue;
        }
        let (body, empty) = match tag.strip_suffix('/') {
            Some(b) => (b, true),
            None => (tag, false),
        };
        let name_end = body.find(|c: char| c.is_whitespace()).unwrap_or(body.len());
        let name = &body[..name_end];
        if !name_ok(name) {
            return Err(format!("bad element name {name:?} (byte {i})"));
        }
        // Attributes: name="value" or name='value', each name once.
        let mut attrs = body[name_end..].trim();
        let mut seen = BTreeSet::new();
        while !attrs.is_empty() {
            let eq = attrs
                .find('=')
                .ok_or(format!("attribute without a value in <{name}> (byte {i})"))?;
            let an = attrs[..eq].trim();
            if !name_ok(an) || !seen.insert(an.to_string()) {
                return Err(format!("bad or repeated attribute {an:?} in <{name}>"));
            }
            let v = attrs[eq + 1..].trim_start();
            let q = v
                .chars()
                .next()
                .filter(|c| *c == '"' || *c == '\'')
                .ok_or(format!("unquoted attribute {an} in <{name}>"))?;
            let close = v[1..]
                .find(q)
                .ok_or(format!("unclosed attribute {an} in <{name}>"))?;
            text_ok(&v[1..1 + close], i)?;
            attrs = v[1 + close + 1..].trim_start();
        }
        if stack.is_empty() {
            roots += 1;
        }
        if !empty {
            stack.push(name);
        }
    }
    if let Some(open) = stack.last() {
        return Err(format!("<{open}> is never closed"));
    }
    if roots != 1 {
        return Err(format!("{roots} root elements"));
    }
    Ok(())
}

/// A `--pidin` listing's process rows: pid -> [threads, KENTRIES, SENT, RECEIVED, REPLIES,
/// TRIGGERS, A-SENT, A-RECEIVED], and the kernel's total entries.
fn listing_counters(listing: &str) -> (BTreeMap<i64, Vec<u64>>, u64) {
    let mut rows = BTreeMap::new();
    let mut in_rows = false;
    for l in listing.lines() {
        if l.trim_start().starts_with("PID THREADS") {
            in_rows = true;
            continue;
        }
        if in_rows {
            if l.trim().is_empty() {
                break;
            }
            let w: Vec<&str> = l.split_whitespace().collect();
            let pid = w[0].parse().unwrap_or_else(|_| panic!("a row: {l:?}"));
            let nums = w[1..9]
                .iter()
                .map(|n| n.parse().unwrap_or_else(|_| panic!("a row: {l:?}")))
                .collect();
            rows.insert(pid, nums);
        }
    }
    let total = number_after(listing, "\nkernel entries ") as u64;
    (rows, total)
}

/// A listing's thread lines (under `PID  TID   PRI  BASE  STATE`, up to the channels).
fn thread_lines(listing: &str) -> Vec<&str> {
    listing
        .lines()
        .skip_while(|l| !l.contains("PID  TID   PRI  BASE  STATE"))
        .skip(1)
        .take_while(|l| {
            l.split_whitespace()
                .next()
                .is_some_and(|w| w.parse::<i64>().is_ok())
        })
        .collect()
}

/// The lines of the listing (from `title` to the asyncmsg pages line) in `text`.
fn listing_in<'a>(text: &'a str, title: &str) -> &'a str {
    let at = text
        .find(title)
        .unwrap_or_else(|| panic!("no {title:?} in\n{text}"));
    let end = text[at..]
        .find("asyncmsg queue pages:")
        .map_or(text.len(), |n| at + n);
    &text[at..end]
}

// ---------------------------------------------------------------------------- the tests

/// srr-demo --processes --pidin: the listing half-way through part 2 shows exactly the two
/// programs then running (the server and the part-2 client program, by their Linux pids; not
/// the part-1 client program, which has ended, nor the launcher), threads whose waits name
/// the server's pid and chid, counters that agree (what the server received is the part-1
/// messages plus what the client sent, give or take the ones in flight), and per-program kernel
/// entries that add up to no more than the total (the rest: the ended part-1 program's).
#[test]
fn srr_demo_processes_pidin_shows_the_running_programs_by_pid_with_counters_that_agree() {
    let clients: u64 = 2;
    let r = run(
        SRR,
        &[
            "--processes",
            "--pidin",
            "--clients",
            "2",
            "--rounds",
            "3000",
        ],
    );
    r.assert_success("srr-demo --processes --pidin");
    let text = &r.stdout;
    let spid = number_after(text, "server program pid ");
    let c1 = number_after(text, "(client program pid ");
    let c2 = number_after(text, "(part 2: client program pid ");
    let launcher = i64::from(r.pid);
    let all: BTreeSet<i64> = [spid, c1, c2, launcher].into();
    assert_eq!(all.len(), 4, "four Linux processes: {all:?}");
    let l = listing_in(text, "--- pidin: part 2, half of the 6000 round trips done");
    let (rows, total) = listing_counters(l);
    assert_eq!(
        rows.keys().copied().collect::<Vec<_>>(),
        {
            let mut v = vec![spid, c2];
            v.sort();
            v
        },
        "the rows are the server's and the part-2 client program's:\n{l}"
    );
    let (server, client) = (&rows[&spid], &rows[&c2]);
    // Threads: the server's one, the client program's 2.
    assert_eq!((server[0], client[0]), (1, clients), "{l}");
    // Half-way: at least 3000 sent; the server received part 1's 3 messages and what the
    // client sent, less those still queued or in the server's hands not yet received.
    let part1 = clients + 1;
    let (sent, received, replies) = (client[2], server[3], server[4]);
    assert!(sent >= 3000, "{l}");
    assert!(
        received <= part1 + sent && received + clients >= part1 + sent,
        "received {received}, sent {sent}:\n{l}"
    );
    assert!(replies <= received && replies + 1 >= received, "{l}");
    // Kernel entries: each program's are at least its own calls, and the rows add up to no
    // more than the total; what they lack is the ended part-1 program's (a few dozen calls).
    assert!(client[1] >= sent && server[1] >= received + replies, "{l}");
    let sum: u64 = rows.values().map(|r| r[1]).sum();
    assert!(
        sum <= total && total - sum < 100,
        "rows {sum}, total {total}:\n{l}"
    );
    // The threads: each waits on the server's pid and chid 1, or runs.
    let threads = thread_lines(l);
    assert_eq!(threads.len() as u64, 1 + clients, "a line per thread:\n{l}");
    for t in &threads {
        let pid: i64 = t.split_whitespace().next().unwrap().parse().unwrap();
        assert!(pid == spid || pid == c2, "{t}");
        let state = t.split_whitespace().nth(4).unwrap_or_default();
        match state {
            "RUNNING" | "READY" => {}
            "SEND" => assert!(t.ends_with(&format!("SEND (pid {spid} chid 1)")), "{t}"),
            "REPLY" => assert!(
                t.ends_with(&format!("REPLY (pid {spid} chid 1, received by tid 1)")),
                "{t}"
            ),
            "RECEIVE" => assert!(pid == spid && t.ends_with("RECEIVE (chid 1)"), "{t}"),
            other => panic!("unexpected state {other:?} in {t:?}:\n{l}"),
        }
    }
    for want in [
        format!("channel pid {spid} chid 1: "),
        format!("of pid {c2} -> pid {spid} chid 1 (scoid "),
        "in use: 2 of 64 processes, 3 of 1024 threads, 1 of 512 channels".to_string(),
    ] {
        assert!(l.contains(&want), "no {want:?} in\n{l}");
    }
    assert!(
        !l.contains(&format!(" {c1} ")) && !l.contains(&format!(" {launcher} ")),
        "the ended part-1 program or the launcher is listed:\n{l}"
    );
    common::assert_kernel_removed("srr-demo", r.pid);
}

/// sensors --processes --model srr --pidin: with both programs alive and no timer, the two
/// programs' kernel entries are the kernel's total, exactly; each reading is one MsgSend of the
/// producer and a MsgReceive and MsgReply of the consumer.
#[test]
fn sensors_processes_pidin_kernel_entries_of_the_programs_are_the_total() {
    let r = run(
        SENSORS,
        &[
            "--processes",
            "--pidin",
            "--model",
            "srr",
            "--sensors",
            "2",
            "--rate",
            "500",
            "--duration-ms",
            "300",
        ],
    );
    r.assert_success("sensors --processes --pidin --model srr");
    let text = &r.stdout;
    let cpid = number_after(text, "consumer program pid ");
    let ppid = number_after(text, "producer program pid ");
    assert_ne!(cpid, ppid);
    let l = listing_in(text, "--- pidin: half-way through the sampling");
    let (rows, total) = listing_counters(l);
    assert_eq!(
        rows.keys().copied().collect::<BTreeSet<_>>(),
        [cpid, ppid].into(),
        "{l}"
    );
    let sum: u64 = rows.values().map(|r| r[1]).sum();
    assert_eq!(sum, total, "the programs' entries are every entry:\n{l}");
    let (p, c) = (&rows[&ppid], &rows[&cpid]);
    // (Some readings sent by the half-way point; how many depends on the machine's load.)
    assert!(p[2] >= 1, "readings sent by half-way: {l}");
    assert!(c[3] <= p[2] && c[3] + 1 >= p[2], "{l}");
    assert!(p[1] >= p[2] && c[1] >= c[3] + c[4], "{l}");
    for want in [
        format!("coid 0x40000001 of pid {ppid} -> pid {cpid} chid 1 (scoid "),
        format!("channel pid {cpid} chid 1: "),
    ] {
        assert!(l.contains(&want), "no {want:?} in\n{l}");
    }
    common::assert_kernel_removed("sensors", r.pid);
}

/// event-loop --processes --pidin, watched as it runs: when the listing is printed, the pids
/// it shows are the programs the launcher announced, each a running child of the launcher
/// started in a role (so the pids are the programs' own Linux pids), the launcher is not one,
/// the slow client is REPLY-blocked on the server's pid and chid and the notified client
/// RECEIVE-blocked on its own channel. Then the run ends with status 0, leaving nothing.
#[test]
fn event_loop_processes_pidin_pids_are_the_launchers_running_programs() {
    // A 200 ms tick and a request held 30 ticks: the slow client stays REPLY-blocked for
    // about 2 s (its timeout, a third of the hold) after the listing.
    let mut l = Launcher::start(
        EVENT_LOOP,
        &[
            "--processes",
            "--pidin",
            "--period-ms",
            "200",
            "--slow-ticks",
            "30",
        ],
    );
    let launcher = l.pid();
    let spid = l.program_pid("server program pid ");
    let echo = l.program_pid("client 1 (echo): program pid ");
    let slow = l.program_pid("client 2 (slow request): program pid ");
    let notified = l.program_pid("client 3 (notification): program pid ");
    let programs: BTreeSet<i32> = [spid, echo, slow, notified].into();
    assert_eq!(programs.len(), 4, "{programs:?}");
    l.until("--- pidin: the server holds the slow request");
    let mut listing = Vec::new();
    loop {
        let line = l.until("");
        if line.starts_with("asyncmsg queue pages:") {
            break;
        }
        listing.push(line);
    }
    // Looked at now, while the slow client still waits for its reply.
    let slow_state = stat(slow);
    let server_state = stat(spid);
    let listing = listing.join("\n");
    let (rows, _) = listing_counters(&listing);
    for &pid in rows.keys() {
        assert!(
            programs.contains(&(pid as i32)),
            "pid {pid} is not one of the programs {programs:?}:\n{listing}"
        );
    }
    assert!(!rows.contains_key(&i64::from(launcher)), "{listing}");
    for (what, pid, st) in [("server", spid, server_state), ("slow", slow, slow_state)] {
        assert!(
            rows.contains_key(&i64::from(pid)),
            "no row for the {what} program {pid}:\n{listing}"
        );
        let (state, parent) = st.unwrap_or_else(|| panic!("the {what} program {pid} is gone"));
        assert!(state != 'Z', "the {what} program {pid} has ended");
        assert_eq!(parent, launcher, "the {what} program's parent");
        assert!(cmdline(pid).contains("--role"), "{}", cmdline(pid));
    }
    let want = format!("{slow:>6}    1    10    10  REPLY (pid {spid} chid 1, received by tid 1)");
    assert!(listing.contains(&want), "no {want:?} in\n{listing}");
    if rows.contains_key(&i64::from(notified)) {
        let want = format!("{notified:>6}    1    10    10  RECEIVE (chid 1)");
        assert!(listing.contains(&want), "no {want:?} in\n{listing}");
    }
    let (status, out, err) = l.wait();
    assert!(status.success(), "{status}\n{err}\n{out}");
    assert!(
        out.contains("server: slow request ") && out.contains(&format!("from pid {slow}:")),
        "{out}"
    );
    assert!(!kernel_dir("event-loop", launcher).exists());
    assert!(all_gone(&programs.iter().copied().collect::<Vec<_>>()));
}

/// srr-demo --processes --trace --diagram: the timeline has one process track per program,
/// named after its part, with its Linux pid (the launcher has none); every message is a flow
/// from the client program that sent it to the server program that received and replied to
/// it, in causal order (send, receive, reply), as many as were sent; the chart is well-formed
/// XML with a lifeline per thread of each program and arrows between the programs.
#[test]
fn srr_demo_processes_trace_and_diagram_show_each_program_and_causal_exchanges() {
    let d = Dir::new("srr");
    let (trace, chart) = (d.file("run.json"), d.file("run.svg"));
    let r = run(
        SRR,
        &[
            "--processes",
            "--clients",
            "2",
            "--rounds",
            "3",
            "--trace",
            &trace,
            "--diagram",
            &chart,
        ],
    );
    r.assert_success("srr-demo --processes --trace --diagram");
    let text = &r.stdout;
    let spid = number_after(text, "server program pid ");
    let c1 = number_after(text, "(client program pid ");
    let c2 = number_after(text, "(part 2: client program pid ");
    let events = trace_events(&trace);
    let procs = trace_processes(&events);
    for (pid, part) in [
        (spid, "server"),
        (c1, "part-1 clients"),
        (c2, "part-2 clients"),
    ] {
        let name = procs
            .get(&pid)
            .unwrap_or_else(|| panic!("no track for pid {pid} in {procs:?}"));
        assert!(
            name.contains(&pid.to_string()) && name.contains(part),
            "{pid}: {name}"
        );
    }
    assert!(
        !procs.contains_key(&i64::from(r.pid)),
        "the launcher: {procs:?}"
    );
    let programs: BTreeSet<i64> = [spid, c1, c2].into();
    for (pid, name) in &procs {
        assert!(
            programs.contains(pid) || name == "kernel",
            "an extra track {pid} {name:?}: {procs:?}"
        );
    }
    // Every exchange: one send in a client program, then its receive and its reply in the
    // server, in that order.
    let ex = flows(&events, "exchange");
    let mut by_client = BTreeMap::<i64, usize>::new();
    for (id, f) in &ex {
        let one = |ph: &str| -> (i64, f64) {
            match f.get(ph).map(Vec::as_slice) {
                Some([one]) => *one,
                other => panic!("exchange {id}: {ph} is {other:?}"),
            }
        };
        let (s, t, fin) = (one("s"), one("t"), one("f"));
        assert!(s.0 == c1 || s.0 == c2, "exchange {id} sent from {}", s.0);
        assert_eq!((t.0, fin.0), (spid, spid), "exchange {id}");
        assert!(
            s.1 <= t.1 && t.1 <= fin.1,
            "exchange {id} out of order: send {} receive {} reply {}",
            s.1,
            t.1,
            fin.1
        );
        *by_client.entry(s.0).or_default() += 1;
    }
    // Part 1: the first message and one per queued client; part 2: 2 x 3 round trips.
    assert_eq!(by_client.get(&c1), Some(&3), "{by_client:?}");
    assert_eq!(by_client.get(&c2), Some(&6), "{by_client:?}");
    // Each MsgSend slice of a client program lies in that program's track.
    let sends = |pid: i64| {
        events
            .iter()
            .filter(|e| e["ph"] == "B" && e["name"] == "MsgSend" && e["pid"] == pid)
            .count()
    };
    assert_eq!((sends(c1), sends(c2), sends(spid)), (3, 6, 0));

    let svg = std::fs::read_to_string(&chart).expect("the chart");
    check_xml(&svg).unwrap_or_else(|e| panic!("the chart is not well-formed XML: {e}"));
    for want in [
        format!("server, pid {spid}"),
        format!("part-1 clients, pid {c1}"),
        format!("pid {spid} / tid 1"),
        format!("pid {c1} / tid 1"),
        format!("pid {c1} / tid 2"),
        format!("pid {c1} / tid 3"),
    ] {
        assert!(svg.contains(&format!(">{want}<")), "no lifeline {want:?}");
    }
    for (from, to) in [
        (format!("{c1}.1"), format!("{spid}.1")),
        (format!("{spid}.1"), format!("{c1}.1")),
    ] {
        let want = format!(r#"data-from="{from}" data-to="{to}""#);
        assert!(svg.contains(&want), "no arrow {want}");
    }
    // No arrow names a pid that is not one of the programs (or the kernel's 0).
    for cap in svg.split("data-from=\"").skip(1) {
        let pid: i64 = cap.split('.').next().unwrap().parse().unwrap();
        assert!(
            pid == 0 || programs.contains(&pid),
            "an arrow from pid {pid}"
        );
    }
}

/// sensors --processes (asyncmsg) --trace --diagram: each batch is a flow from the producer
/// program to the consumer program, trigger before get; the chart is well-formed and draws
/// the batches from the producer's lifeline to the consumer's.
#[test]
fn sensors_processes_trace_and_diagram_draw_batches_between_the_programs() {
    let d = Dir::new("sensors");
    let (trace, chart) = (d.file("s.json"), d.file("s.svg"));
    let r = run(
        SENSORS,
        &[
            "--processes",
            "--sensors",
            "2",
            "--rate",
            "500",
            "--duration-ms",
            "200",
            "--trace",
            &trace,
            "--diagram",
            &chart,
        ],
    );
    r.assert_success("sensors --processes --trace --diagram");
    let cpid = number_after(&r.stdout, "consumer program pid ");
    let ppid = number_after(&r.stdout, "producer program pid ");
    let events = trace_events(&trace);
    let procs = trace_processes(&events);
    assert!(
        procs.get(&cpid).is_some_and(|n| n.contains("consumer"))
            && procs.get(&ppid).is_some_and(|n| n.contains("producer")),
        "{procs:?}"
    );
    let batches = flows(&events, "batch");
    assert!(!batches.is_empty(), "no batch flows");
    for (id, f) in &batches {
        let (Some([s]), Some([fin])) =
            (f.get("s").map(Vec::as_slice), f.get("f").map(Vec::as_slice))
        else {
            panic!("batch {id}: {f:?}");
        };
        assert_eq!((s.0, fin.0), (ppid, cpid), "batch {id}");
        assert!(s.1 <= fin.1, "batch {id} taken before its trigger: {f:?}");
    }
    let svg = std::fs::read_to_string(&chart).expect("the chart");
    check_xml(&svg).unwrap_or_else(|e| panic!("the chart is not well-formed XML: {e}"));
    let batch_arrows: Vec<&str> = svg
        .split("<line class=\"arrow batch\"")
        .skip(1)
        .map(|a| a.split("/>").next().unwrap_or_default())
        .collect();
    assert!(!batch_arrows.is_empty(), "no batch arrows");
    for a in &batch_arrows {
        assert!(
            a.contains(&format!(r#"data-from="{ppid}."#))
                && a.contains(&format!(r#"data-to="{cpid}."#)),
            "a batch arrow not from the producer to the consumer: {a}"
        );
    }
}

/// With `--processes`, what the docs refuse is refused by every example with status 2, a
/// message naming the option, nothing on stdout, no kernel directory and no output file:
/// `--step`, `--trace` and `--diagram` on one file, a device, a missing directory; and
/// sensors' `--pidin` with `--json`.
#[test]
fn processes_refusals_exit_2_name_the_option_and_make_nothing() {
    let d = Dir::new("refused");
    let same = d.file("same.json");
    let same_too = format!("{}/./same.json", d.0.display());
    let missing = d.file("no/such/t.json");
    let ok = d.file("ok.json");
    for (tag, bin) in [
        ("srr-demo", SRR),
        ("event-loop", EVENT_LOOP),
        ("sensors", SENSORS),
    ] {
        let mut cases: Vec<(Vec<&str>, &str)> = vec![
            (vec!["--processes", "--step"], "--step"),
            (vec!["--processes", "--step", "--trace", &ok], "--step"),
            (
                vec!["--processes", "--trace", &same, "--diagram", &same_too],
                "--diagram",
            ),
            (vec!["--processes", "--diagram", "/dev/null"], "--diagram"),
            (vec!["--processes", "--trace", &missing], "--trace"),
        ];
        if tag == "sensors" {
            cases.push((vec!["--processes", "--pidin", "--json"], "--pidin"));
        }
        for (args, option) in cases {
            let r = run(bin, &args);
            assert_eq!(r.status.code(), Some(2), "{tag} {args:?}: {r:?}");
            assert!(r.stdout.is_empty(), "{tag} {args:?} ran:\n{}", r.stdout);
            assert!(
                r.stderr.contains(option),
                "{tag} {args:?}: the error does not name {option}:\n{}",
                r.stderr
            );
            assert!(
                !kernel_dir(tag, r.pid).exists(),
                "{tag} {args:?} made a kernel"
            );
            for f in [&same, &ok] {
                assert!(!Path::new(f).exists(), "{tag} {args:?} wrote {f}");
            }
        }
    }
}

/// An example, its options, the program pids to wait for, and the signal that ends it.
type SignalCase = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    Signal,
);

/// A signal mid-run (SIGINT to srr-demo, SIGTERM to sensors, SIGHUP to event-loop) with
/// `--trace NEW --diagram OLD`: 128 + the signal, the programs killed, the kernel's directory
/// removed, and no half-written output: the new timeline is absent or complete JSON, the old
/// chart is as it was or a complete SVG. (README: "A `--processes` run leaves nothing
/// behind"; docs/outputs.md: an interrupted run leaves no half-written file.)
#[test]
fn a_signal_mid_run_leaves_no_half_written_trace_or_diagram() {
    let d = Dir::new("signal");
    let cases: [SignalCase; 3] = [
        (
            "srr-demo",
            SRR,
            &["--processes", "--clients", "1", "--rounds", "1000000000"],
            &["server program pid ", "(part 2: client program pid "],
            Signal::SIGINT,
        ),
        (
            "sensors",
            SENSORS,
            &["--processes", "--duration-ms", "3600000", "--rate", "100"],
            &["consumer program pid "],
            Signal::SIGTERM,
        ),
        (
            "event-loop",
            EVENT_LOOP,
            &["--processes", "--period-ms", "1000", "--slow-ticks", "100"],
            &[
                "server program pid ",
                "client 3 (notification): program pid ",
            ],
            Signal::SIGHUP,
        ),
    ];
    let mut problems = Vec::new();
    for (tag, bin, args, wait_for, sig) in cases {
        let (new, old) = (
            d.file(&format!("{tag}.json")),
            d.file(&format!("{tag}.svg")),
        );
        std::fs::write(&old, b"old chart").expect("an old chart");
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--trace", &new, "--diagram", &old]);
        let mut l = Launcher::start(bin, &all);
        let mut programs = Vec::new();
        for w in wait_for {
            programs.push(l.program_pid(w));
        }
        if tag == "sensors" {
            let line = l.seen.last().cloned().unwrap_or_default();
            let p = number_after(&line, "producer program pid ") as i32;
            l.programs.push(p);
            programs.push(p);
        }
        programs.extend(children_of(l.pid()));
        std::thread::sleep(Duration::from_millis(300));
        l.signal(sig);
        let (status, _, err) = l.wait();
        assert_eq!(
            status.code(),
            Some(128 + sig as i32),
            "{tag}: {status}\n{err}"
        );
        assert!(
            all_gone(&programs),
            "{tag}: programs {programs:?} outlived it"
        );
        assert!(
            !kernel_dir(tag, l.pid()).exists(),
            "{tag}: the kernel is left"
        );
        match std::fs::read(&new) {
            Err(_) => {}
            Ok(bytes) => {
                if serde_json::from_slice::<serde_json::Value>(&bytes).is_err() {
                    problems.push(format!(
                        "{tag} on {sig}: {new} left, {} bytes, not JSON",
                        bytes.len()
                    ));
                }
            }
        }
        let chart = std::fs::read_to_string(&old).unwrap_or_default();
        if chart != "old chart" && check_xml(&chart).is_err() {
            problems.push(format!("{tag} on {sig}: {old} half-written"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// SIGKILL of a launcher that records a timeline: its programs die with it and its kernel's
/// directory stays; the next `--processes` run writing the same timeline removes that
/// directory and writes the timeline whole.
#[test]
fn a_tracing_launcher_killed_by_sigkill_is_cleaned_up_by_the_next_run() {
    let d = Dir::new("sigkill");
    let trace = d.file("t.json");
    let mut l = Launcher::start(
        SRR,
        &[
            "--processes",
            "--clients",
            "1",
            "--rounds",
            "1000000000",
            "--trace",
            &trace,
        ],
    );
    let server = l.program_pid("server program pid ");
    let part2 = l.program_pid("(part 2: client program pid ");
    let killed_dir = kernel_dir("srr-demo", l.pid());
    assert!(killed_dir.exists());
    l.signal(Signal::SIGKILL);
    let (status, _, _) = l.wait();
    assert_eq!(status.code(), None, "{status}");
    assert!(
        all_gone(&[server, part2]),
        "the programs outlived their launcher"
    );
    drop(l);
    let r = run(
        SRR,
        &[
            "--processes",
            "--clients",
            "1",
            "--rounds",
            "2",
            "--trace",
            &trace,
        ],
    );
    r.assert_success("the next srr-demo --processes --trace");
    assert!(
        !killed_dir.exists(),
        "{} was left behind\n{}",
        killed_dir.display(),
        r.stderr
    );
    let spid = number_after(&r.stdout, "server program pid ");
    let procs = trace_processes(&trace_events(&trace));
    assert!(
        procs.contains_key(&spid),
        "the new run's timeline: {procs:?}"
    );
    assert!(
        !procs.contains_key(&i64::from(server)),
        "the old run's: {procs:?}"
    );
}

/// docs/outputs.md ("Written at the end, each file whole"): a run killed by SIGKILL leaves
/// `.NAME.tmp-PID` beside its destination, and "the next run that writes the same destination
/// removes them (those of this user whose PID no longer runs), as do the examples'
/// `--trace`/`--diagram`". Such files of a dead pid beside an example's timeline and chart.
#[test]
fn the_examples_outputs_remove_stale_temporaries_of_dead_runs() {
    let d = Dir::new("stale");
    let (trace, chart) = (d.file("t.json"), d.file("d.svg"));
    let dead = dead_pid();
    let stale = [
        d.0.join(format!(".t.json.tmp-{dead}")),
        d.0.join(format!(".d.svg.tmp-{dead}")),
    ];
    for s in &stale {
        std::fs::write(s, b"half").expect("a stale temporary");
    }
    let r = run(
        SRR,
        &[
            "--processes",
            "--clients",
            "1",
            "--rounds",
            "1",
            "--trace",
            &trace,
            "--diagram",
            &chart,
        ],
    );
    r.assert_success("srr-demo --processes --trace --diagram");
    let left: Vec<_> = stale.iter().filter(|s| s.exists()).collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// A program killed from outside mid-run (event-loop's slow client, REPLY-blocked, with a
/// timeline recording): the launcher's error names it (its role and pid, and the signal),
/// status 1, the other programs and the kernel's directory gone, and the timeline is complete
/// JSON with the killed program's track.
#[test]
fn a_program_killed_mid_run_is_named_and_the_timeline_is_still_written() {
    let d = Dir::new("killed");
    let trace = d.file("t.json");
    let mut l = Launcher::start(
        EVENT_LOOP,
        &[
            "--processes",
            "--period-ms",
            "200",
            "--slow-ticks",
            "30",
            "--trace",
            &trace,
        ],
    );
    let spid = l.program_pid("server program pid ");
    let slow = l.program_pid("client 2 (slow request): program pid ");
    l.seen_or_until(&format!("from pid {slow}: holding it for 30 ticks"));
    let mut programs = children_of(l.pid());
    programs.push(spid);
    kill(Pid::from_raw(slow), Signal::SIGKILL).expect("killing the slow client");
    let (status, _, err) = l.wait();
    assert_eq!(status.code(), Some(1), "{status}\n{err}");
    let want = format!("the client 2 (slow request) program (pid {slow}) was killed by SIGKILL");
    assert!(err.contains(&want), "no {want:?} in\n{err}");
    assert!(all_gone(&programs), "{programs:?} outlived the run");
    assert!(!kernel_dir("event-loop", l.pid()).exists());
    let events = trace_events(&trace);
    assert!(trace_processes(&events).contains_key(&i64::from(slow)));
}

/// README: "`pidin-sim --trace run.json --diagram run.svg` records every program of a running
/// kernel (and the supervisor's cleanup of those killed) ...; the examples' `--trace` and
/// `--diagram` do the same with `--processes`". The launcher is the run's supervisor: the
/// teardown of the program killed mid-run belongs on the timeline, as it is for programs that
/// end normally (`teardown: done` of each).
#[test]
fn the_teardown_of_a_killed_program_is_on_the_timeline() {
    let d = Dir::new("teardown");
    // (Whether it is there depends on timing: three runs, killed once the other clients are
    // done, as a student would after watching them.)
    let mut missing = Vec::new();
    for run_no in 0..3 {
        let trace = d.file(&format!("t{run_no}.json"));
        let mut l = Launcher::start(
            EVENT_LOOP,
            &[
                "--processes",
                "--period-ms",
                "100",
                "--slow-ticks",
                "60",
                "--trace",
                &trace,
            ],
        );
        l.program_pid("server program pid ");
        let slow = l.program_pid("client 2 (slow request): program pid ");
        l.seen_or_until(&format!("from pid {slow}: holding it for 60 ticks"));
        l.seen_or_until("client 3: notified by pulse");
        std::thread::sleep(Duration::from_millis(300));
        kill(Pid::from_raw(slow), Signal::SIGKILL).expect("killing the slow client");
        let (status, _, err) = l.wait();
        assert_eq!(status.code(), Some(1), "{status}\n{err}");
        let events = trace_events(&trace);
        let teardown: Vec<&str> = events
            .iter()
            .filter(|e| e["cat"] == "teardown" && e["pid"] == i64::from(slow))
            .filter_map(|e| e["name"].as_str())
            .collect();
        if !teardown.contains(&"teardown: done") {
            missing.push(format!("run {run_no}: pid {slow}: {teardown:?}"));
        }
    }
    assert!(
        missing.is_empty(),
        "the killed program's teardown is not on the timeline: {missing:?}"
    );
}

/// The XML check itself refuses what is not well-formed (so that the chart tests can fail).
#[test]
fn the_xml_check_refuses_broken_documents() {
    assert!(
        check_xml(r#"<?xml version="1.0"?><svg a="1"><g><text>x &amp; y</text></g></svg>"#).is_ok()
    );
    for bad in [
        "<svg><g></svg>",
        "<svg></g>",
        "<svg><text>a & b</text></svg>",
        "<svg a=1/>",
        r#"<svg a="1" a="2"/>"#,
        "<svg/><svg/>",
        "<svg>",
        r#"<svg a="<"/>"#,
    ] {
        assert!(check_xml(bad).is_err(), "accepted {bad:?}");
    }
}
