//! Tests of the `compare` program, the real binary:
//!
//! * a smoke run (`--tiny`: a few hundred messages per model, 1 run) must exit 0 and write
//!   JSON, CSV and plots in which every model measured something and every message arrived,
//!   stamped with the schema version, the commit and the start time;
//! * a refused option (an output path that cannot be written, a value out of range) must stop
//!   the program before it measures anything, naming the option and the path, and leave no
//!   file behind. These run `--full` (about 6 minutes if it measured): each must exit well
//!   within [`FAIL_FAST_LIMIT`] and print no progress line; a run still going then is killed.
//!
//! * `--trace FILE` writes a timeline of a traced run after the measured ones (MsgSend,
//!   MsgReceive and MsgReply slices, flows, the processes named); a bad path or one another
//!   output writes is refused like `--json`'s.
//! * `--diagram FILE.svg` draws the same traced run as a message sequence chart (well-formed
//!   XML: a MsgSend and a MsgReply arrow per round trip, asyncmsg batches as one arrow each);
//!   with `--trace` one traced run feeds both; its path is refused like `--trace`'s.
//!
//! Not a speed test: no rate is compared or bounded.

#[path = "../../userlib/tests/support/xml.rs"]
mod xml;

use benches::compare::provenance::{rfc3339_utc, SCHEMA_VERSION};
use benches::compare::traced::{TRACED_BATCH, TRACED_MESSAGES, TRACED_ROUND_TRIPS, TRACED_SIZE};
use benches::compare::workloads::MODEL_NAMES;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime};
use xml::{parse_xml, Elem};

/// How long a refused invocation may take before the test kills it and fails: generous (the
/// check itself takes milliseconds), yet far below a `--full` run's minutes.
const FAIL_FAST_LIMIT: Duration = Duration::from_secs(30);

/// A parsed JSON value (just enough JSON for the program's output).
#[derive(Clone, Debug, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(BTreeMap<String, Json>),
}

impl Json {
    fn get(&self, key: &str) -> &Json {
        match self {
            Json::Obj(m) => m.get(key).unwrap_or(&Json::Null),
            _ => &Json::Null,
        }
    }

    fn num(&self) -> Option<f64> {
        match self {
            Json::Num(v) => Some(*v),
            _ => None,
        }
    }

    fn str(&self) -> &str {
        match self {
            Json::Str(s) => s,
            _ => "",
        }
    }
}

/// A recursive-descent JSON parser over bytes; panics on malformed input (a test failure).
struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn parse(text: &str) -> Json {
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
        };
        let v = p.value();
        p.ws();
        assert_eq!(p.i, p.s.len(), "trailing text after the JSON value");
        v
    }

    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) {
        self.ws();
        assert_eq!(
            self.s.get(self.i).copied(),
            Some(c),
            "expected {:?} at byte {}",
            c as char,
            self.i
        );
        self.i += 1;
    }

    fn peek(&mut self) -> u8 {
        self.ws();
        *self.s.get(self.i).expect("unexpected end of JSON")
    }

    fn value(&mut self) -> Json {
        match self.peek() {
            b'{' => {
                self.eat(b'{');
                let mut m = BTreeMap::new();
                if self.peek() == b'}' {
                    self.i += 1;
                    return Json::Obj(m);
                }
                loop {
                    let Json::Str(k) = self.value() else {
                        panic!("object key is not a string at byte {}", self.i)
                    };
                    self.eat(b':');
                    m.insert(k, self.value());
                    match self.peek() {
                        b',' => self.i += 1,
                        _ => {
                            self.eat(b'}');
                            return Json::Obj(m);
                        }
                    }
                }
            }
            b'[' => {
                self.eat(b'[');
                let mut v = Vec::new();
                if self.peek() == b']' {
                    self.i += 1;
                    return Json::Arr(v);
                }
                loop {
                    v.push(self.value());
                    match self.peek() {
                        b',' => self.i += 1,
                        _ => {
                            self.eat(b']');
                            return Json::Arr(v);
                        }
                    }
                }
            }
            b'"' => Json::Str(self.string()),
            b't' => self.word("true", Json::Bool(true)),
            b'f' => self.word("false", Json::Bool(false)),
            b'n' => self.word("null", Json::Null),
            _ => {
                let start = self.i;
                while self.i < self.s.len() && b"+-0123456789.eE".contains(&self.s[self.i]) {
                    self.i += 1;
                }
                let t = std::str::from_utf8(&self.s[start..self.i]).expect("ASCII number");
                Json::Num(
                    t.parse()
                        .unwrap_or_else(|_| panic!("bad number {t:?} at byte {start}")),
                )
            }
        }
    }

    fn word(&mut self, w: &str, v: Json) -> Json {
        assert!(
            self.s[self.i..].starts_with(w.as_bytes()),
            "expected {w} at byte {}",
            self.i
        );
        self.i += w.len();
        v
    }

    fn string(&mut self) -> String {
        self.eat(b'"');
        let mut out = Vec::new();
        loop {
            let c = *self.s.get(self.i).expect("unterminated string");
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let e = self.s[self.i];
                    self.i += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'u' => {
                            let hex = std::str::from_utf8(&self.s[self.i..self.i + 4]).unwrap();
                            let cp = u32::from_str_radix(hex, 16).expect("\\u escape");
                            self.i += 4;
                            let ch = char::from_u32(cp).unwrap_or('\u{fffd}');
                            out.extend_from_slice(ch.to_string().as_bytes());
                        }
                        other => out.push(other),
                    }
                }
                other => out.push(other),
            }
        }
        String::from_utf8(out).expect("UTF-8 string")
    }
}

#[test]
fn json_parser_parses() {
    let v = Parser::parse(r#"{"a": [1, -2.5e3, null, true], "b": {"c": "x\"y\u00e9"}}"#);
    assert_eq!(
        v.get("a"),
        &Json::Arr(vec![
            Json::Num(1.0),
            Json::Num(-2500.0),
            Json::Null,
            Json::Bool(true)
        ])
    );
    assert_eq!(v.get("b").get("c").str(), "x\"yé");
}

/// A fresh directory for one test (tests run in parallel in one process).
fn scratch_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("compare-test-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch directory");
    d
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// What a bounded run of the program did.
struct Bounded {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    /// The program's pid (its runs' shared files and peers are named after it).
    pid: u32,
}

/// Runs `compare ARGS` (output into files in `dir`), killing it and failing the test if it has
/// not exited within [`FAIL_FAST_LIMIT`].
fn run_bounded(dir: &Path, args: &[&std::ffi::OsStr]) -> Bounded {
    run_bounded_within(dir, args, FAIL_FAST_LIMIT)
}

/// How long a measuring `--tiny` run may take before the test kills it and fails: it takes a
/// few seconds (a debug build, a loaded machine: tens of seconds); this only catches a hang.
const TINY_LIMIT: Duration = Duration::from_secs(600);

/// Runs `compare ARGS` (output into files in `dir`), killing it and failing the test if it has
/// not exited within `limit`.
fn run_bounded_within(dir: &Path, args: &[&std::ffi::OsStr], limit: Duration) -> Bounded {
    let (out_path, err_path) = (dir.join("stdout.txt"), dir.join("stderr.txt"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_compare"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"))
        .spawn()
        .expect("running compare");
    let pid = child.id();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("waiting for compare") {
            break s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
            panic!("compare {args:?} still running after {limit:?}: killed\n{stderr}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let read = |p: &Path| {
        let text = std::fs::read_to_string(p).unwrap_or_default();
        let _ = std::fs::remove_file(p);
        text
    };
    Bounded {
        status,
        stdout: read(&out_path),
        stderr: read(&err_path),
        pid,
    }
}

/// `compare --full ARGS` must be refused at once: exit status 2, a message on stderr naming
/// each of `mentions`, and nothing measured (no progress line, no table).
fn assert_refused(dir: &Path, args: &[&std::ffi::OsStr], mentions: &[&str]) -> String {
    let mut full: Vec<&std::ffi::OsStr> = vec!["--full".as_ref()];
    full.extend_from_slice(args);
    let run = run_bounded(dir, &full);
    assert_eq!(
        run.status.code(),
        Some(2),
        "compare {args:?}: {}\n{}",
        run.status,
        run.stderr
    );
    for m in mentions {
        assert!(
            run.stderr.contains(m),
            "compare {args:?}: {m:?} not in {}",
            run.stderr
        );
    }
    assert!(
        !run.stderr.contains("[1/") && !run.stdout.contains("Targets"),
        "compare {args:?} measured before refusing:\n{}",
        run.stderr
    );
    run.stderr
}

#[test]
fn bad_json_path_fails_fast_naming_the_path_and_leaving_no_file() {
    let dir = scratch_dir("bad-json");
    let json = dir.join("no-such-dir").join("r.json");
    let (csv, plots) = (dir.join("r.csv"), dir.join("plots"));
    let stderr = assert_refused(
        &dir,
        &[
            "--json".as_ref(),
            json.as_os_str(),
            "--csv".as_ref(),
            csv.as_os_str(),
            "--plots".as_ref(),
            plots.as_os_str(),
        ],
        &["--json", &json.display().to_string(), "does not exist"],
    );
    assert!(stderr.contains("nothing was measured"), "{stderr}");
    // Nothing left: not the JSON, nor its directory, nor the CSV, nor the plots directory
    // (made by the check, removed when the JSON was refused).
    assert!(names(&dir).is_empty(), "left behind: {:?}", names(&dir));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn refused_outputs_fail_fast_and_leave_existing_files_untouched() {
    let dir = scratch_dir("refused");
    let old_json = dir.join("old.json");
    let old_csv = dir.join("old.csv");
    std::fs::write(&old_json, "old json").expect("old JSON");
    std::fs::write(&old_csv, "old csv").expect("old CSV");
    let afile = dir.join("afile");
    std::fs::write(&afile, "x").expect("file");
    let plots = dir.join("plots");
    std::fs::create_dir(&plots).expect("plots dir");
    let in_file = afile.join("r.csv");
    let plot_named = plots.join("producers.svg");
    let cases: Vec<(Vec<&std::ffi::OsStr>, Vec<String>)> = vec![
        // --json naming a directory.
        (
            vec![
                "--json".as_ref(),
                plots.as_os_str(),
                "--csv".as_ref(),
                old_csv.as_os_str(),
            ],
            vec![
                "--json".into(),
                plots.display().to_string(),
                "is a directory".into(),
            ],
        ),
        // --plots naming a file.
        (
            vec![
                "--json".as_ref(),
                old_json.as_os_str(),
                "--plots".as_ref(),
                afile.as_os_str(),
            ],
            vec![
                "--plots".into(),
                afile.display().to_string(),
                "not a directory".into(),
            ],
        ),
        // --csv in a "directory" that is a file.
        (
            vec![
                "--json".as_ref(),
                old_json.as_os_str(),
                "--csv".as_ref(),
                in_file.as_os_str(),
            ],
            vec!["--csv".into(), in_file.display().to_string()],
        ),
        // --json and --csv on one file.
        (
            vec![
                "--json".as_ref(),
                old_json.as_os_str(),
                "--csv".as_ref(),
                old_json.as_os_str(),
            ],
            vec!["--csv".into(), "same file".into()],
        ),
        // --json named like a chart in the plots directory.
        (
            vec![
                "--json".as_ref(),
                plot_named.as_os_str(),
                "--plots".as_ref(),
                plots.as_os_str(),
            ],
            vec!["--json".into(), plot_named.display().to_string()],
        ),
    ];
    for (args, mentions) in &cases {
        let m: Vec<&str> = mentions.iter().map(String::as_str).collect();
        assert_refused(&dir, args, &m);
        assert_eq!(
            std::fs::read_to_string(&old_json).expect("old JSON"),
            "old json"
        );
        assert_eq!(
            std::fs::read_to_string(&old_csv).expect("old CSV"),
            "old csv"
        );
        assert_eq!(names(&dir), ["afile", "old.csv", "old.json", "plots"]);
        assert!(names(&plots).is_empty(), "{:?}", names(&plots));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_option_values_are_refused_before_measuring() {
    let dir = scratch_dir("options");
    assert_refused(
        &dir,
        &["--runs".as_ref(), "0".as_ref()],
        &["--runs", "1..=100"],
    );
    assert_refused(
        &dir,
        &["--runs".as_ref(), "101".as_ref()],
        &["--runs", "1..=100"],
    );
    assert_refused(
        &dir,
        &["--runs".as_ref(), "many".as_ref()],
        &["--runs", "many"],
    );
    assert_refused(&dir, &["--tiny".as_ref()], &["--tiny", "--full"]);
    assert_refused(&dir, &["--bogus".as_ref()], &["--bogus"]);
    assert_refused(
        &dir,
        &["--only".as_ref(), "no such case".as_ref()],
        &["--only", "no such case", "nothing was measured"],
    );
    assert!(names(&dir).is_empty(), "{:?}", names(&dir));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_trace_path_is_refused_before_measuring() {
    let dir = scratch_dir("bad-trace");
    let trace = dir.join("no-such-dir").join("t.json");
    let json = dir.join("r.json");
    let stderr = assert_refused(
        &dir,
        &[
            "--json".as_ref(),
            json.as_os_str(),
            "--trace".as_ref(),
            trace.as_os_str(),
        ],
        &["--trace", &trace.display().to_string(), "does not exist"],
    );
    assert!(stderr.contains("nothing was measured"), "{stderr}");
    // --trace on --json's file: the later option is refused, naming the other.
    std::fs::write(&json, "old json").expect("old JSON");
    assert_refused(
        &dir,
        &[
            "--json".as_ref(),
            json.as_os_str(),
            "--trace".as_ref(),
            json.as_os_str(),
        ],
        &[
            "--trace",
            &json.display().to_string(),
            "same file as --json's",
        ],
    );
    // --trace named like a chart in the plots directory.
    let plots = dir.join("plots");
    let chart = plots.join("producers.svg");
    assert_refused(
        &dir,
        &[
            "--plots".as_ref(),
            plots.as_os_str(),
            "--trace".as_ref(),
            chart.as_os_str(),
        ],
        &["--trace", "--plots writes"],
    );
    assert_eq!(std::fs::read_to_string(&json).expect("JSON"), "old json");
    assert_eq!(names(&dir), ["r.json"], "left behind");
    let _ = std::fs::remove_dir_all(&dir);
}

/// How long a `--tiny` run refused before measuring may take: its check takes milliseconds;
/// a run still going then hangs (a FIFO opened with no reader) or measures, and is killed.
const REFUSED_LIMIT: Duration = Duration::from_secs(10);

/// A child process killed and reaped when dropped, on every path out of a test (a panic too).
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `compare --tiny ARGS` (stdout into `dir/stdout.txt`, or into a pipe if `stdout_pipe`),
/// asserts that it is refused within [`REFUSED_LIMIT`] (exit status 2, stderr naming each of
/// `mentions` and "nothing was measured", no progress line, no table), and returns stderr.
/// The child is killed if it runs longer, or if anything here fails.
fn assert_tiny_refused(
    dir: &Path,
    args: &[&std::ffi::OsStr],
    mentions: &[&str],
    stdout_pipe: bool,
) -> String {
    let (out_path, err_path) = (dir.join("stdout.txt"), dir.join("stderr.txt"));
    let stdout = if stdout_pipe {
        Stdio::piped()
    } else {
        Stdio::from(std::fs::File::create(&out_path).expect("stdout file"))
    };
    let mut child = Reaped(
        Command::new(env!("CARGO_BIN_EXE_compare"))
            .arg("--tiny")
            .args(args)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(std::fs::File::create(&err_path).expect("stderr file"))
            .spawn()
            .expect("running compare"),
    );
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.0.try_wait().expect("waiting for compare") {
            break s;
        }
        if start.elapsed() > REFUSED_LIMIT {
            drop(child);
            let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
            let _ = std::fs::remove_file(&out_path);
            let _ = std::fs::remove_file(&err_path);
            panic!(
                "compare --tiny {args:?} still running after {REFUSED_LIMIT:?}: killed\n{stderr}"
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = match child.0.stdout.take() {
        Some(mut pipe) => {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut pipe, &mut text);
            text
        }
        None => std::fs::read_to_string(&out_path).unwrap_or_default(),
    };
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    let _ = std::fs::remove_file(&out_path);
    let _ = std::fs::remove_file(&err_path);
    assert_eq!(
        status.code(),
        Some(2),
        "compare --tiny {args:?}: {status}\n{stderr}"
    );
    for m in mentions.iter().chain(&["nothing was measured"]) {
        assert!(
            stderr.contains(m),
            "compare --tiny {args:?}: {m:?} not in {stderr}"
        );
    }
    assert!(
        !stderr.contains("[1/") && !stdout.contains("Targets"),
        "compare --tiny {args:?} measured before refusing:\n{stderr}"
    );
    stderr
}

/// Makes a FIFO at `path` (mode 0600).
fn make_fifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt as _;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).expect("no NUL in the path");
    // SAFETY: `c` is a NUL-terminated string that outlives the call; mkfifo only reads it.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
    assert_eq!(
        rc,
        0,
        "mkfifo {}: {}",
        path.display(),
        std::io::Error::last_os_error()
    );
}

/// What `path` is, not following a final symbolic link: "fifo", "socket", "dir", "symlink",
/// "file" or "other".
fn kind_at(path: &Path) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    let t = std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .file_type();
    if t.is_fifo() {
        "fifo"
    } else if t.is_socket() {
        "socket"
    } else if t.is_dir() {
        "dir"
    } else if t.is_symlink() {
        "symlink"
    } else if t.is_file() {
        "file"
    } else {
        "other"
    }
}

/// Every file option on a FIFO, a Unix socket, a directory or a symbolic link to a FIFO (all in
/// a scratch directory) is refused at once as not a regular file, and each is left as it was:
/// nothing hangs opening the FIFO, nothing replaces or removes anything.
#[test]
fn file_outputs_on_a_fifo_socket_or_directory_are_refused_and_left_as_they_are() {
    let dir = scratch_dir("special-files");
    let fifo = dir.join("fifo");
    make_fifo(&fifo);
    let sock = dir.join("sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).expect("socket file");
    let sub = dir.join("sub");
    std::fs::create_dir(&sub).expect("directory");
    let link = dir.join("to-fifo");
    std::os::unix::fs::symlink(&fifo, &link).expect("symlink");
    for option in ["--json", "--csv", "--trace", "--diagram"] {
        for (path, says) in [
            (&fifo, "is a FIFO or pipe, not a regular file"),
            (&sock, "is a socket, not a regular file"),
            (&sub, "is a directory, not a regular file"),
            (
                &link,
                "is a symbolic link to a FIFO or pipe, not a regular file",
            ),
        ] {
            assert_tiny_refused(
                &dir,
                &[option.as_ref(), path.as_os_str()],
                &[option, &path.display().to_string(), says],
                false,
            );
            assert_eq!(kind_at(&fifo), "fifo");
            assert_eq!(kind_at(&sock), "socket");
            assert_eq!(kind_at(&sub), "dir");
            assert_eq!(kind_at(&link), "symlink");
            assert_eq!(names(&dir), ["fifo", "sock", "sub", "to-fifo"]);
            assert!(names(&sub).is_empty(), "{:?}", names(&sub));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A character device is refused before it is opened. /dev/zero is only named, never written:
/// a `--csv` that cannot be written follows, so that even a broken check stops before
/// measuring (then naming --csv, and failing here) instead of replacing the device.
#[test]
fn a_character_device_is_refused_before_anything_runs() {
    let dir = scratch_dir("device");
    let zero = Path::new("/dev/zero");
    if kind_at(zero) != "other" {
        return; // no character device here to name
    }
    let csv = dir.join("no-such-dir").join("r.csv");
    assert_tiny_refused(
        &dir,
        &[
            "--json".as_ref(),
            zero.as_os_str(),
            "--csv".as_ref(),
            csv.as_os_str(),
        ],
        &[
            "--json /dev/zero",
            "is a character device, not a regular file",
        ],
        false,
    );
    assert!(names(&dir).is_empty(), "{:?}", names(&dir));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The file stdout goes to, named directly or as /dev/stdout, is refused (the table is printed
/// there; writing the JSON over it would lose one or the other), and left as it was; /dev/stdout
/// on a pipe is refused as not a regular file. A `--csv` that cannot be written follows, so a
/// broken check stops before measuring.
#[test]
fn the_file_stdout_goes_to_and_a_pipe_are_refused() {
    let dir = scratch_dir("stdout");
    let csv = dir.join("no-such-dir").join("r.csv");
    let stdout_file = dir.join("stdout.txt");
    let mut paths = vec![stdout_file.clone()];
    let dev_stdout = PathBuf::from("/dev/stdout");
    let has_dev_stdout = std::fs::symlink_metadata(&dev_stdout).is_ok();
    if has_dev_stdout {
        paths.push(dev_stdout.clone());
    }
    for path in &paths {
        assert_tiny_refused(
            &dir,
            &[
                "--json".as_ref(),
                path.as_os_str(),
                "--csv".as_ref(),
                csv.as_os_str(),
            ],
            &["--json", "is the file the standard output goes to"],
            false,
        );
    }
    if has_dev_stdout {
        assert_tiny_refused(
            &dir,
            &[
                "--json".as_ref(),
                dev_stdout.as_os_str(),
                "--csv".as_ref(),
                csv.as_os_str(),
            ],
            &["--json /dev/stdout", "FIFO or pipe, not a regular file"],
            true,
        );
    }
    assert!(names(&dir).is_empty(), "{:?}", names(&dir));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--plots` on a FIFO is refused as not a directory; a chart's name in the plots directory
/// that is a FIFO is refused as not a regular file (both left as they were). A `--csv` that
/// cannot be written follows, so a broken check stops before measuring.
#[test]
fn plots_on_a_fifo_or_over_a_fifo_chart_are_refused() {
    let dir = scratch_dir("plots-fifo");
    let csv = dir.join("no-such-dir").join("r.csv");
    let fifo = dir.join("fifo");
    make_fifo(&fifo);
    assert_tiny_refused(
        &dir,
        &[
            "--plots".as_ref(),
            fifo.as_os_str(),
            "--csv".as_ref(),
            csv.as_os_str(),
        ],
        &[
            "--plots",
            &fifo.display().to_string(),
            "is not a directory (it is a FIFO",
        ],
        false,
    );
    let plots = dir.join("plots");
    std::fs::create_dir(&plots).expect("plots");
    let chart = plots.join("producers.svg");
    make_fifo(&chart);
    assert_tiny_refused(
        &dir,
        &[
            "--plots".as_ref(),
            plots.as_os_str(),
            "--csv".as_ref(),
            csv.as_os_str(),
        ],
        &[
            "--plots",
            &chart.display().to_string(),
            "not a regular file",
        ],
        false,
    );
    assert_eq!(kind_at(&fifo), "fifo");
    assert_eq!(kind_at(&chart), "fifo");
    assert_eq!(names(&dir), ["fifo", "plots"]);
    assert_eq!(names(&plots), ["producers.svg"]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--only ""` (or blanks) would match every case: refused. A `--json` that cannot be written
/// follows, so a broken check stops before measuring.
#[test]
fn empty_only_is_refused() {
    let dir = scratch_dir("only-empty");
    let json = dir.join("no-such-dir").join("r.json");
    for text in ["", "  "] {
        assert_tiny_refused(
            &dir,
            &[
                "--only".as_ref(),
                text.as_ref(),
                "--json".as_ref(),
                json.as_os_str(),
            ],
            &["--only", "empty text would match every case"],
            false,
        );
    }
    assert!(names(&dir).is_empty(), "{:?}", names(&dir));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The smallest run that still measures something (one cheap baseline in the tiny plan):
/// the traced run comes after it whatever was measured.
#[test]
fn traced_run_writes_a_timeline_of_messages_and_their_flows() {
    let dir = scratch_dir("trace");
    let (trace, json) = (dir.join("t.json"), dir.join("r.json"));
    let out = run_bounded_within(
        &dir,
        &[
            "--tiny".as_ref(),
            "--only".as_ref(),
            "round-trip futex".as_ref(),
            "--json".as_ref(),
            json.as_os_str(),
            "--trace".as_ref(),
            trace.as_os_str(),
        ],
        TINY_LIMIT,
    );
    let (stdout, stderr) = (&out.stdout, &out.stderr);
    assert!(
        out.status.success(),
        "compare --trace failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    // Traced after the measured runs, and said so; the measured JSON has no traced figure.
    let measured = stderr.find("[1/").expect("a measured case");
    let traced = stderr.find("[traced]").expect("the traced run");
    assert!(measured < traced, "{stderr}");
    assert!(
        stdout.contains(&format!("timeline: {}", trace.display())),
        "{stdout}"
    );
    assert!(stdout.contains("not measured"), "{stdout}");
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("JSON")).expect("JSON");
    for r in results["results"].as_array().expect("results") {
        assert_eq!(r["model"], "futex", "{r}");
    }
    let text = std::fs::read_to_string(&trace).expect("timeline written");
    let t: serde_json::Value = serde_json::from_str(&text).expect("timeline is JSON");
    let events = t["traceEvents"].as_array().expect("traceEvents");
    let slices = |name: &str| {
        events
            .iter()
            .filter(|e| e["ph"] == "B" && e["name"] == name)
            .count()
    };
    let round_trips = TRACED_ROUND_TRIPS as usize;
    assert!(
        slices("MsgSend") >= round_trips,
        "MsgSend slices: {}",
        slices("MsgSend")
    );
    assert!(
        slices("MsgReceive") >= round_trips,
        "{}",
        slices("MsgReceive")
    );
    assert!(slices("MsgReply") >= round_trips, "{}", slices("MsgReply"));
    let flows = |ph: &str, cat: &str| {
        events
            .iter()
            .filter(|e| e["ph"] == ph && e["cat"] == cat)
            .count()
    };
    assert!(flows("s", "exchange") >= round_trips && flows("f", "exchange") >= round_trips);
    assert!(flows("s", "batch") >= 1, "no asyncmsg batch flow");
    let processes: Vec<&str> = events
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "process_name")
        .filter_map(|e| e["args"]["name"].as_str())
        .collect();
    for who in ["server", "client", "producer", "consumer"] {
        assert!(
            processes.iter().any(|n| n.ends_with(&format!("({who})"))),
            "{who} not named: {processes:?}"
        );
    }
    // Written whole: no temporary file beside it.
    assert_eq!(names(&dir), ["r.json", "t.json"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_diagram_path_is_refused_before_measuring() {
    let dir = scratch_dir("bad-diagram");
    let missing = dir.join("no-such-dir").join("d.svg");
    let (json, trace) = (dir.join("r.json"), dir.join("t.json"));
    let stderr = assert_refused(
        &dir,
        &["--diagram".as_ref(), missing.as_os_str()],
        &[
            "--diagram",
            &missing.display().to_string(),
            "does not exist",
        ],
    );
    assert!(stderr.contains("nothing was measured"), "{stderr}");
    assert_refused(
        &dir,
        &["--diagram".as_ref(), dir.as_os_str()],
        &["--diagram", "is a directory"],
    );
    assert_refused(
        &dir,
        &["--diagram".as_ref(), "".as_ref()],
        &["--diagram", "a value is required"],
    );
    // On another output's file: the later option is refused, naming the other.
    std::fs::write(&json, "old json").expect("old JSON");
    for (other, path, whose) in [
        ("--json", &json, "same file as --json's"),
        ("--trace", &trace, "same file as --trace's"),
    ] {
        assert_refused(
            &dir,
            &[
                other.as_ref(),
                path.as_os_str(),
                "--diagram".as_ref(),
                path.as_os_str(),
            ],
            &["--diagram", &path.display().to_string(), whose],
        );
    }
    // Named like a chart in the plots directory.
    let plots = dir.join("plots");
    let chart = plots.join("throughput_vs_batch.svg");
    assert_refused(
        &dir,
        &[
            "--plots".as_ref(),
            plots.as_os_str(),
            "--diagram".as_ref(),
            chart.as_os_str(),
        ],
        &["--diagram", "--plots writes"],
    );
    assert_eq!(std::fs::read_to_string(&json).expect("JSON"), "old json");
    assert_eq!(names(&dir), ["r.json"], "left behind");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--diagram` and `--trace` together after the smallest measured run: one traced run, after
/// the measured ones, feeds both. The chart is well-formed XML and shows what the tutorial
/// says it shows: per SRR round trip a MsgSend arrow from the client to the server and a
/// MsgReply arrow back, the client REPLY-blocked between them; the asyncmsg messages as
/// batches, one arrow each from the producer to the consumer (no arrow per message), as many
/// as the timeline of the same run has gets.
#[test]
fn traced_run_draws_a_sequence_chart_of_round_trips_and_batches() {
    let dir = scratch_dir("diagram");
    let (diagram, trace) = (dir.join("d.svg"), dir.join("t.json"));
    let out = run_bounded_within(
        &dir,
        &[
            "--tiny".as_ref(),
            "--only".as_ref(),
            "round-trip futex".as_ref(),
            "--trace".as_ref(),
            trace.as_os_str(),
            "--diagram".as_ref(),
            diagram.as_os_str(),
        ],
        TINY_LIMIT,
    );
    let (stdout, stderr) = (&out.stdout, &out.stderr);
    assert!(
        out.status.success(),
        "compare --diagram failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let measured = stderr.find("[1/").expect("a measured case");
    let traced = stderr
        .find("[traced] SRR and asyncmsg for the timeline and the diagram")
        .expect("one traced run for both");
    assert!(measured < traced, "{stderr}");
    assert_eq!(stderr.matches("[traced]").count(), 1, "{stderr}");
    for what in ["timeline", "diagram"] {
        let file = if what == "timeline" { &trace } else { &diagram };
        assert!(
            stdout.contains(&format!("{what}: {}", file.display())),
            "{stdout}"
        );
    }

    let svg = std::fs::read_to_string(&diagram).expect("diagram written");
    let elems = parse_xml(&svg).unwrap_or_else(|e| panic!("not XML: {e}\n{svg}"));
    assert_eq!(elems[0].name, "svg");
    assert!(!elems.iter().any(|e| e.has_class("more")), "rows cut off");
    let arrows = |style: &str| -> Vec<&Elem> {
        elems
            .iter()
            .filter(|e| e.name == "line" && e.has_class("arrow") && e.has_class(style))
            .collect()
    };
    let ends = |e: &Elem| {
        (
            e.attr("data-from").unwrap_or("?").to_string(),
            e.attr("data-to").unwrap_or("?").to_string(),
        )
    };
    let (sends, replies, batches) = (arrows("send"), arrows("reply"), arrows("batch"));
    let round_trips = TRACED_ROUND_TRIPS as usize;
    assert_eq!(sends.len(), round_trips, "a MsgSend arrow per round trip");
    assert_eq!(
        replies.len(),
        round_trips,
        "a MsgReply arrow per round trip"
    );
    let (client, server) = ends(sends[0]);
    assert_ne!(client, server);
    assert!(sends
        .iter()
        .all(|a| ends(a) == (client.clone(), server.clone())));
    assert!(replies
        .iter()
        .all(|a| ends(a) == (server.clone(), client.clone())));
    assert!(
        !arrows("pulse").iter().any(|_| true),
        "no pulse in this run"
    );
    // The client is REPLY-blocked once per round trip (from the receive to the reply).
    let client_pid_tid = client.split_once('.').expect("pid.tid");
    let reply_bars = elems
        .iter()
        .filter(|e| {
            e.has_class("state")
                && e.has_class("reply")
                && e.attr("data-pid") == Some(client_pid_tid.0)
                && e.attr("data-tid") == Some(client_pid_tid.1)
        })
        .count();
    assert_eq!(reply_bars, round_trips, "{svg}");
    assert!(elems
        .iter()
        .any(|e| e.has_class("state") && e.has_class("receive")));
    let labels: Vec<&str> = elems
        .iter()
        .filter(|e| e.has_class("arrow-label"))
        .map(|e| e.text.as_str())
        .collect();
    let send_label = format!("MsgSend {TRACED_SIZE} B");
    assert_eq!(
        labels.iter().filter(|l| **l == send_label).count(),
        round_trips
    );
    assert_eq!(
        labels.iter().filter(|l| **l == "MsgReply 0").count(),
        round_trips
    );

    // asyncmsg: a batch arrow per get, from the producer to the consumer, carrying every
    // message between them; far fewer arrows than messages (one per count trigger, at most
    // one more per flush).
    assert!(!batches.is_empty(), "no asyncmsg batch drawn:\n{svg}");
    let (producer, consumer) = ends(batches[0]);
    assert!(batches
        .iter()
        .all(|a| ends(a) == (producer.clone(), consumer.clone())));
    for pt in [&producer, &consumer] {
        assert!(pt != &client && pt != &server, "{pt} is an SRR thread");
    }
    let taken: u64 = labels
        .iter()
        .filter_map(|l| l.strip_prefix("asyncmsg batch: "))
        .map(|l| {
            l.split(' ')
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or_else(|| panic!("batch label {l:?}"))
        })
        .sum();
    assert_eq!(taken, TRACED_MESSAGES, "{labels:?}");
    let most = (TRACED_MESSAGES / u64::from(TRACED_BATCH)) as usize + 2;
    assert!(
        batches.len() <= most,
        "{} batches: {labels:?}",
        batches.len()
    );

    // The timeline is of the same run: a batch arrow per asyncmsg_get that took messages.
    let t: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&trace).expect("timeline")).expect("JSON");
    let events = t["traceEvents"].as_array().expect("traceEvents");
    let gets = events
        .iter()
        .filter(|e| e["ph"] == "E" && e["name"] == "MsgReceiveAsync")
        .filter(|e| e["args"]["result"].as_i64().is_some_and(|n| n > 0))
        .count();
    assert_eq!(
        gets,
        batches.len(),
        "the timeline's gets against the chart's"
    );
    let sends_traced = events
        .iter()
        .filter(|e| e["ph"] == "B" && e["name"] == "MsgSend")
        .count();
    assert_eq!(sends_traced, round_trips);
    // Written whole: no temporary file beside them.
    assert_eq!(names(&dir), ["d.svg", "t.json"]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--help` and docs/outputs.md say what the traced run is (its sizes are constants of
/// `traced.rs`, the texts are not).
#[test]
fn help_and_outputs_doc_describe_the_traced_run_as_it_is() {
    let out = Command::new(env!("CARGO_BIN_EXE_compare"))
        .arg("--help")
        .output()
        .expect("compare --help");
    assert!(out.status.success());
    let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let help = words(&String::from_utf8_lossy(&out.stdout));
    let doc = words(include_str!("../../docs/outputs.md"));
    for (text, what) in [(&help, "--help"), (&doc, "docs/outputs.md")] {
        for said in [
            format!("{TRACED_ROUND_TRIPS} SRR round trips"),
            format!("{TRACED_MESSAGES} asyncmsg messages"),
            "--diagram".to_string(),
        ] {
            assert!(text.contains(&said), "{what} does not say {said:?}");
        }
    }
    assert!(
        help.contains(&format!("in batches of {TRACED_BATCH}")),
        "{help}"
    );
    assert!(doc.contains(&format!("`trigger_num_msg` {TRACED_BATCH}")));
    assert!(doc.contains(&format!(
        "{TRACED_ROUND_TRIPS} SRR round trips of {TRACED_SIZE} B"
    )));
}

/// `--help` and docs/outputs.md state the rule for existing paths: only regular files are
/// written, a symbolic link to one is followed.
#[test]
fn help_and_outputs_doc_state_that_only_regular_files_are_written() {
    let out = Command::new(env!("CARGO_BIN_EXE_compare"))
        .arg("--help")
        .output()
        .expect("compare --help");
    assert!(out.status.success());
    let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let help = words(&String::from_utf8_lossy(&out.stdout));
    let doc = words(include_str!("../../docs/outputs.md"));
    for (text, what) in [(&help, "--help"), (&doc, "docs/outputs.md")] {
        for said in [
            "Only regular files are written",
            "not a regular file",
            "the file it names is replaced, the link",
            "stdout or stderr goes to",
        ] {
            assert!(
                text.to_lowercase().contains(&said.to_lowercase()),
                "{what} does not say {said:?}"
            );
        }
    }
}

/// RFC 4180 records: fields split at commas; quoted fields may hold commas, doubled quotes
/// and line breaks. Panics on malformed input (a test failure).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => {
                assert!(field.is_empty(), "quote inside an unquoted field");
                quoted = true;
            }
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(
        !quoted && field.is_empty() && row.is_empty(),
        "CSV not ended by a line break"
    );
    rows
}

/// The commit git reports for this source tree, if git can say.
fn git_head() -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(env!("CARGO_MANIFEST_DIR"))
        .args(["rev-parse", "--verify", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[test]
fn tiny_run_writes_complete_results() {
    let dir = scratch_dir("tiny");
    let (json_path, csv_path, plots) = (dir.join("r.json"), dir.join("r.csv"), dir.join("plots"));
    // An old JSON is replaced whole, keeping its permissions (docs/outputs.md); the CSV's path
    // is a symbolic link: the file it names is replaced, the link kept.
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::write(&json_path, "old").expect("old JSON");
    std::fs::set_permissions(&json_path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let csv_target = dir.join("target.csv");
    std::fs::write(&csv_target, "old").expect("old CSV");
    std::fs::set_permissions(&csv_target, std::fs::Permissions::from_mode(0o604)).unwrap();
    std::os::unix::fs::symlink("target.csv", &csv_path).expect("a link to the CSV");
    let before = rfc3339_utc(SystemTime::now());
    let out = run_bounded_within(
        &dir,
        &[
            "--tiny".as_ref(),
            "--json".as_ref(),
            json_path.as_os_str(),
            "--csv".as_ref(),
            csv_path.as_os_str(),
            "--plots".as_ref(),
            plots.as_os_str(),
        ],
        TINY_LIMIT,
    );
    let (stdout, stderr) = (&out.stdout, &out.stderr);
    assert!(
        out.status.success(),
        "compare --tiny failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let after = rfc3339_utc(SystemTime::now());
    // Progress on stderr, the table and the targets on stdout.
    assert!(stderr.contains("[1/"), "{stderr}");
    assert!(stdout.contains("Targets"), "{stdout}");
    assert!(stdout.contains("placements:"), "{stdout}");

    let json = Parser::parse(&std::fs::read_to_string(&json_path).expect("JSON written"));
    assert_eq!(json.get("mode").str(), "tiny");
    json_carries_commit_date_and_schema(&json, &before, &after);
    let Json::Arr(results) = json.get("results") else {
        panic!("no results array in {json:?}")
    };
    assert!(!results.is_empty());
    for model in MODEL_NAMES {
        let mine: Vec<&Json> = results
            .iter()
            .filter(|r| r.get("model").str() == model)
            .collect();
        assert!(!mine.is_empty(), "no {model} records");
        for r in mine {
            assert!(r.get("msgs_per_s").num().unwrap_or(0.0) > 0.0, "{r:?}");
            // One rate per run (1 run in a tiny run): the median is that run's.
            let Json::Arr(runs) = r.get("run_msgs_per_s") else {
                panic!("no run_msgs_per_s array in {r:?}")
            };
            assert_eq!(
                runs.len() as f64,
                r.get("runs").num().unwrap_or(0.0),
                "{r:?}"
            );
            assert_eq!(runs.first(), Some(r.get("msgs_per_s")), "{r:?}");
        }
    }
    // The ratio targets are paired (1 round here) and carry the ratio of medians.
    let Json::Arr(targets) = json.get("targets") else {
        panic!("no targets array in {json:?}")
    };
    let ratio_targets: Vec<&Json> = targets
        .iter()
        .filter(|t| t.get("name").str().contains("rate"))
        .collect();
    assert!(!ratio_targets.is_empty(), "{targets:?}");
    for t in ratio_targets {
        assert_eq!(t.get("paired_rounds").num(), Some(1.0), "{t:?}");
        assert!(t.get("ratio_of_medians").num().is_some(), "{t:?}");
    }
    assert!(stdout.contains("(paired, per-round median of 1 round; ratio of medians "));
    for r in results {
        let sent = r.get("msgs_sent").num().expect("msgs_sent");
        assert!(sent > 0.0, "{r:?}");
        assert_eq!(r.get("msgs_received").num(), Some(sent), "{r:?}");
        let model = r.get("model").str();
        if model == "SRR" || model.starts_with("asyncmsg") {
            let e = r.get("kernel_entries_per_msg").num().unwrap_or(0.0);
            assert!(e > 0.0, "kernel entries per message of {r:?}");
            assert!(r.get("sender_entries_per_msg").num().unwrap_or(0.0) > 0.0);
        } else {
            assert_eq!(r.get("kernel_entries_per_msg"), &Json::Null, "{r:?}");
        }
    }

    let csv = std::fs::read_to_string(&csv_path).expect("CSV written");
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines
            .first()
            .is_some_and(|h| h.starts_with("model,") && h.contains("msgs_per_s")),
        "CSV header: {:?}",
        lines.first()
    );
    assert_eq!(lines.len(), results.len() + 1, "one CSV line per result");
    csv_carries_commit_date_and_schema(&csv, &json, results);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&json_path), 0o640, "the JSON kept its permissions");
    assert_eq!(mode(&csv_target), 0o604, "the CSV kept its permissions");
    assert!(
        std::fs::symlink_metadata(&csv_path)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the CSV's link is kept"
    );

    let svgs: Vec<PathBuf> = std::fs::read_dir(&plots)
        .expect("plots directory")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "svg"))
        .collect();
    assert!(!svgs.is_empty(), "no SVG in {}", plots.display());
    for p in &svgs {
        let text = std::fs::read_to_string(p).expect("SVG readable");
        assert!(text.contains("<svg"), "{} is not an SVG", p.display());
    }
    // One message size in a quick plan: latency against size would be single points.
    assert!(!plots.join("latency_vs_size.svg").exists());
    assert!(
        stdout.contains("not drawn: latency_vs_size.svg: every line would be a single point"),
        "{stdout}"
    );
    // Every file written whole: no temporary file left beside any.
    for d in [&dir, &plots] {
        assert!(
            names(d).iter().all(|n| !n.starts_with('.')),
            "{:?}",
            names(d)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The JSON's stamp: schema version, the commit (git's for this tree, when git can say), the
/// dirty flag, and a start time between `before` and `after`.
fn json_carries_commit_date_and_schema(json: &Json, before: &str, after: &str) {
    assert_eq!(
        json.get("schema_version").num(),
        Some(f64::from(SCHEMA_VERSION))
    );
    let commit = json.get("commit").str();
    let source = json.get("commit_source").str();
    match git_head() {
        Some(head) => {
            assert_eq!(commit, head);
            assert_eq!(source, "git");
            assert!(matches!(json.get("dirty"), Json::Bool(_)), "{json:?}");
        }
        None => assert!(
            (source == "build" && commit.len() == 40)
                || (source == "unknown" && commit == "unknown"),
            "{commit} from {source}"
        ),
    }
    let build = json.get("build_commit").str();
    assert!(build == "unknown" || build.len() == 40, "{build}");
    let started = json.get("started_utc").str();
    // RFC 3339 in UTC, whole seconds: fixed width, so the strings compare as the times do.
    assert_eq!(started.len(), 20, "{started}");
    assert!(
        started.as_bytes()[10] == b'T' && started.ends_with('Z'),
        "{started}"
    );
    assert!(
        before <= started && started <= after,
        "{before} <= {started} <= {after}"
    );
}

/// The CSV: every line as wide as the header, the stamp columns on each equal to the JSON's.
fn csv_carries_commit_date_and_schema(csv: &str, json: &Json, results: &[Json]) {
    let rows = parse_csv(csv);
    let header = &rows[0];
    let col = |name: &str| header.iter().position(|h| h == name).expect(name);
    assert_eq!(rows.len(), results.len() + 1);
    let dirty = match json.get("dirty") {
        Json::Bool(b) => b.to_string(),
        _ => String::new(),
    };
    let machine = json.get("machine");
    for (row, result) in rows[1..].iter().zip(results) {
        assert_eq!(row.len(), header.len(), "{row:?}");
        assert_eq!(row[col("model")], result.get("model").str());
        assert_eq!(row[col("schema_version")], SCHEMA_VERSION.to_string());
        assert_eq!(row[col("commit")], json.get("commit").str());
        assert_eq!(row[col("dirty")], dirty);
        assert_eq!(row[col("started_utc")], json.get("started_utc").str());
        assert_eq!(row[col("mode")], "tiny");
        assert_eq!(row[col("cpu_model")], machine.get("cpu_model").str());
        assert_eq!(row[col("kernel")], machine.get("kernel").str());
        assert_eq!(
            row[col("cpus_online")].parse::<f64>().ok(),
            machine.get("cpus_online").num()
        );
        let place = result.get("placement").str();
        assert_eq!(row[col("placement")], place);
        assert_eq!(
            row[col("placement_detail")],
            json.get("placements").get(place).str()
        );
        assert!(!row[col("placement_detail")].is_empty());
    }
}

/// The peers `parent` started that still run: processes whose command line is
/// `... --xproc-peer ROLE PARENT ...` with `parent`'s pid, not zombies.
fn peers_of(parent: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let args: Vec<&[u8]> = cmd.split(|&b| b == 0).collect();
        if let Some(i) = args.iter().position(|a| *a == b"--xproc-peer") {
            let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
            let zombie = stat
                .rsplit(')')
                .next()
                .and_then(|s| s.split_whitespace().next())
                == Some("Z");
            if args.get(i + 2).copied() == Some(parent.to_string().as_bytes()) && !zombie {
                out.push(pid);
            }
        }
    }
    out
}

#[test]
fn tiny_run_measures_round_trips_and_asyncmsg_between_two_processes() {
    let dir = scratch_dir("xproc");
    let json_path = dir.join("r.json");
    let out = run_bounded_within(
        &dir,
        &[
            "--tiny".as_ref(),
            "--only".as_ref(),
            "xproc".as_ref(),
            "--json".as_ref(),
            json_path.as_os_str(),
        ],
        TINY_LIMIT,
    );
    assert!(out.status.success(), "{}\n{}", out.stdout, out.stderr);
    let json = Parser::parse(&std::fs::read_to_string(&json_path).expect("JSON written"));
    let two_cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) >= 2;
    // Each placement between processes says what it is.
    let (one, p) = (
        "xproc-same-cpu",
        if two_cpus {
            "xproc-cross-cpu"
        } else {
            "xproc-same-cpu"
        },
    );
    for place in [one, p] {
        let desc = json.get("placements").get(place).str();
        assert!(desc.contains("two Linux processes"), "{place}: {desc:?}");
    }
    let Json::Arr(results) = json.get("results") else {
        panic!("no results in {json:?}")
    };
    let find = |workload: &str, model: &str, place: &str| {
        results
            .iter()
            .find(|r| {
                r.get("workload").str() == workload
                    && r.get("model").str() == model
                    && r.get("placement").str() == place
            })
            .unwrap_or_else(|| panic!("no {workload} {model} record on {place}"))
    };
    // Every record between processes: every message delivered, a rate, CPU time of both sides.
    assert!(results
        .iter()
        .all(|r| r.get("placement").str().starts_with("xproc-")));
    for r in results {
        let sent = r.get("msgs_sent").num().unwrap_or(0.0);
        assert!(
            sent > 0.0 && r.get("msgs_received").num() == Some(sent),
            "{r:?}"
        );
        assert!(r.get("msgs_per_s").num().unwrap_or(0.0) > 0.0, "{r:?}");
        assert!(r.get("cpu_ns_per_msg").num().unwrap_or(0.0) > 0.0, "{r:?}");
    }
    // Round trips on one CPU and across CPUs: SRR with its kernel counters (three entries per
    // round trip) and its ratios to the futex and pipe ping-pongs between the same processes.
    for place in [one, p] {
        let srr = find("round-trip", "SRR", place);
        let entries = srr.get("kernel_entries_per_msg").num().unwrap_or(0.0);
        assert!((2.9..=3.1).contains(&entries), "{srr:?}");
        for base in ["futex", "pipe"] {
            assert!(srr.get("ratios").get(base).num().is_some(), "{srr:?}");
            assert_eq!(
                find("round-trip", base, place).get("kernel_entries_per_msg"),
                &Json::Null
            );
        }
    }
    // One-way asyncmsg/64 against both rings.
    let a = find("one-way", "asyncmsg", p);
    assert_eq!(a.get("batch").num(), Some(64.0));
    assert!(
        a.get("sender_entries_per_msg").num().unwrap_or(0.0) > 0.0,
        "{a:?}"
    );
    for ring in ["spsc-ring", "spsc-batch"] {
        find("one-way", ring, p);
        assert!(a.get("ratios").get(ring).num().is_some(), "{a:?}");
    }
    // The target between processes, judged on one CPU (and across CPUs with two), and the
    // ratios reported beside the targets.
    let Json::Arr(targets) = json.get("targets") else {
        panic!("no targets in {json:?}")
    };
    let rt_target = |place: &str| {
        targets.iter().any(|t| {
            t.get("placement").str() == place
                && t.get("name")
                    .str()
                    .contains("between two processes within 1.2x")
                && t.get("bound").num() == Some(1.2)
        })
    };
    assert!(rt_target(one) && rt_target(p), "{targets:?}");
    let Json::Arr(reported) = json.get("reported") else {
        panic!("no reported ratios in {json:?}")
    };
    for what in [
        "ring publishing every message",
        "batch-publishing SPSC ring",
    ] {
        assert!(
            reported
                .iter()
                .any(|r| r.get("placement").str() == p && r.get("name").str().contains(what)),
            "{what}: {reported:?}"
        );
    }
    // The table says so too, and nothing is left: no peer, no shared file.
    assert!(
        out.stdout.contains("between two processes within 1.2x"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains(&format!(" {p} ")), "{}", out.stdout);
    assert!(
        peers_of(out.pid).is_empty(),
        "peers of {} left running",
        out.pid
    );
    let prefix = format!("qnxsim-xproc-{}-", out.pid);
    for base in [PathBuf::from("/dev/shm"), std::env::temp_dir()] {
        let left: Vec<String> = std::fs::read_dir(&base)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&prefix))
            .collect();
        assert!(left.is_empty(), "left in {}: {left:?}", base.display());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The run directories (`qnxsim-xproc-PID-N`) `pid` has on `/dev/shm` or in the temporary
/// directory.
fn run_dirs_of(pid: u32) -> Vec<PathBuf> {
    let prefix = format!("qnxsim-xproc-{pid}-");
    let mut out = Vec::new();
    for base in [PathBuf::from("/dev/shm"), std::env::temp_dir()] {
        out.extend(
            std::fs::read_dir(&base)
                .into_iter()
                .flatten()
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                .map(|e| e.path()),
        );
    }
    out
}

/// Sends `sig` to `pid`.
fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: kill with integer arguments, on a process this test started (or its peer).
    unsafe {
        libc::kill(pid as i32, sig);
    }
}

/// A `compare` run under test: killed (SIGKILL, after a SIGCONT) and reaped on drop if still
/// running, so a failed test leaves no process.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        signal(self.0.id(), libc::SIGCONT);
        let _ = self.0.wait();
    }
}

/// Waits up to `limit` for `f` to hold, polling every few milliseconds.
fn within(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    loop {
        if f() {
            return true;
        }
        if Instant::now() > until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn sigterm_during_a_run_between_processes_kills_the_peer_and_removes_the_run_files() {
    let dir = scratch_dir("sigterm");
    let (out_path, err_path) = (dir.join("stdout.txt"), dir.join("stderr.txt"));
    // Many small runs between processes: plenty of peers to catch starting.
    let child = Command::new(env!("CARGO_BIN_EXE_compare"))
        .args(["--tiny", "--only", "xproc", "--runs", "30"])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"))
        .spawn()
        .expect("running compare");
    let mut run = Running(child);
    let pid = run.0.id();
    let stderr = || std::fs::read_to_string(&err_path).unwrap_or_default();
    // Catch a run whose files still have names, its peer started but not ready: stop the
    // program as soon as its run directory appears, stop the peer once it is there (it then
    // never says `ready`, so the program keeps the files named while it waits), and let the
    // program go on. If the peer got its `ready` out first, let both go and try the next run.
    let until = Instant::now() + TINY_LIMIT;
    let peer = loop {
        assert!(
            Instant::now() < until,
            "no run between processes caught with its files named\n{}",
            stderr()
        );
        if let Some(status) = run.0.try_wait().expect("waiting for compare") {
            panic!(
                "compare ended ({status}) before a run was caught with its files\n{}",
                stderr()
            );
        }
        if run_dirs_of(pid).is_empty() {
            std::thread::yield_now();
            continue;
        }
        signal(pid, libc::SIGSTOP);
        let mut peers = Vec::new();
        within(Duration::from_millis(300), || {
            peers = peers_of(pid);
            !peers.is_empty()
        });
        for &p in &peers {
            signal(p, libc::SIGSTOP);
        }
        signal(pid, libc::SIGCONT);
        if let [p] = peers[..] {
            std::thread::sleep(Duration::from_millis(200));
            if !run_dirs_of(pid).is_empty() {
                break p;
            }
        }
        for &p in &peers {
            signal(p, libc::SIGCONT);
        }
        // (Stopped before it started its peer, or the peer was ready: the next run.)
        within(Duration::from_secs(5), || run_dirs_of(pid).is_empty());
    };
    let left_before = run_dirs_of(pid);
    signal(pid, libc::SIGTERM);
    let mut status = None;
    let prompt = within(Duration::from_secs(15), || {
        status = run.0.try_wait().expect("waiting for compare");
        status.is_some()
    });
    assert!(
        prompt,
        "compare still running 15 s after SIGTERM\n{}",
        stderr()
    );
    let status = status.expect("an exit status");
    assert_eq!(
        status.code(),
        Some(128 + libc::SIGTERM),
        "{status}\n{}",
        stderr()
    );
    let err = stderr();
    assert!(err.contains("SIGTERM"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        run_dirs_of(pid).is_empty(),
        "{:?} left (named before the signal: {left_before:?})",
        run_dirs_of(pid)
    );
    assert!(peers_of(pid).is_empty(), "peers of {pid} left running");
    // Not even a zombie: the program reaped the peer it killed.
    assert!(
        within(Duration::from_secs(2), || !Path::new(&format!(
            "/proc/{peer}"
        ))
        .exists()),
        "peer {peer} of {pid} still in /proc: {:?}",
        std::fs::read_to_string(format!("/proc/{peer}/stat"))
    );
    let _ = std::fs::remove_dir_all(&dir);
}
