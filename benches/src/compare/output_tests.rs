//! Tests of `output.rs`.
use super::*;

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!(
            "compare-output-{tag}-{}-{nanos}",
            std::process::id()
        ));
        fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir.canonicalize().expect("canonical temp dir"))
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }

    /// The names in the directory, sorted.
    fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(&self.0)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn opts<'a>(
    json: Option<&'a Path>,
    csv: Option<&'a Path>,
    trace: Option<&'a Path>,
) -> FileOptions<'a> {
    FileOptions {
        json,
        csv,
        trace,
        diagram: None,
    }
}

/// `--diagram FILE` alone, or with `others` (json, csv, trace).
fn diagram<'a>(
    others: (Option<&'a Path>, Option<&'a Path>, Option<&'a Path>),
    d: &'a Path,
) -> FileOptions<'a> {
    FileOptions {
        diagram: Some(d),
        ..opts(others.0, others.1, others.2)
    }
}

fn reason(r: Result<PathBuf, OutputError>) -> String {
    r.expect_err("refused").to_string()
}

#[test]
fn file_in_a_missing_directory_is_refused_naming_option_and_path() {
    let t = TempDir::new("missing");
    let p = t.path("no/such/dir/r.json");
    let e = check_file("--json", &p).expect_err("refused");
    assert_eq!(e.option, "--json");
    assert_eq!(e.path, p);
    let text = e.to_string();
    assert!(
        text.starts_with(&format!("--json {}: ", p.display())),
        "{text}"
    );
    assert!(text.contains("does not exist"), "{text}");
    assert!(!t.path("no").exists(), "the directory was created");
}

#[test]
fn file_checks_refuse_directories_files_as_parents_and_empty_paths() {
    let t = TempDir::new("refuse");
    fs::write(t.path("plain"), "x").expect("file");
    assert!(reason(check_file("--csv", &t.0)).contains("is a directory"));
    assert!(reason(check_file("--csv", &t.path("plain/r.csv"))).contains("is not a directory"));
    assert!(reason(check_file("--csv", Path::new(""))).contains("empty"));
    assert_eq!(t.names(), ["plain"], "a check left something behind");
}

#[test]
fn file_check_creates_nothing_and_leaves_an_existing_file_as_it_was() {
    let t = TempDir::new("untouched");
    let new = t.path("new.json");
    assert_eq!(check_file("--json", &new).expect("writable"), new);
    assert!(!new.exists(), "the check created the file");
    let old = t.path("old.json");
    fs::write(&old, "old results").expect("file");
    assert_eq!(check_file("--json", &old).expect("writable"), old);
    assert_eq!(fs::read_to_string(&old).expect("read"), "old results");
    assert_eq!(t.names(), ["old.json"], "no probe file is left");
    // A relative path with no directory part is resolved in the current directory.
    let here = check_file("--json", Path::new("compare-output-relative.json")).expect("cwd");
    assert_eq!(
        here,
        std::env::current_dir()
            .expect("cwd")
            .canonicalize()
            .expect("canonical")
            .join("compare-output-relative.json")
    );
}

#[test]
fn file_check_follows_a_symbolic_link_to_its_target() {
    let t = TempDir::new("link");
    fs::write(t.path("target.json"), "old").expect("file");
    std::os::unix::fs::symlink(t.path("target.json"), t.path("link.json")).expect("symlink");
    assert_eq!(
        check_file("--json", &t.path("link.json")).expect("writable"),
        t.path("target.json")
    );
}

#[test]
fn plots_directory_is_created_or_refused_when_a_file() {
    let t = TempDir::new("plots");
    let d = t.path("a/b/plots");
    assert_eq!(check_dir("--plots", &d).expect("made"), (d.clone(), true));
    assert!(d.is_dir());
    assert_eq!(
        check_dir("--plots", &d).expect("exists"),
        (d.clone(), false)
    );
    assert_eq!(
        fs::read_dir(&d).expect("dir").count(),
        0,
        "probe left behind"
    );
    fs::write(t.path("file"), "x").expect("file");
    let e = check_dir("--plots", &t.path("file")).expect_err("a file");
    assert!(e.to_string().contains("is not a directory"), "{e}");
    let e = check_dir("--plots", &t.path("file/sub")).expect_err("under a file");
    assert!(e.to_string().contains("cannot be created"), "{e}");
}

#[test]
fn outputs_refuse_one_file_twice_and_a_plot_name_and_remove_a_made_directory() {
    let t = TempDir::new("clash");
    let files = ["producers.svg"];
    let j = t.path("r.json");
    let e = Outputs::check(opts(Some(&j), Some(&j), None), None, &files).expect_err("same file");
    assert_eq!(e.option, "--csv");
    assert!(e.to_string().contains("same file"), "{e}");

    let plots = t.path("plots");
    let in_plots = plots.join("producers.svg");
    let e = Outputs::check(opts(Some(&in_plots), None, None), Some(&plots), &files)
        .expect_err("a plot");
    assert_eq!(e.option, "--json");
    assert!(
        !plots.exists(),
        "the plots directory made by the check was left"
    );

    let e =
        Outputs::check(opts(None, Some(&plots), None), Some(&plots), &files).expect_err("the dir");
    assert_eq!(e.option, "--csv");
    assert!(!plots.exists());

    // A file in the plots directory the check creates is fine.
    let ok = Outputs::check(
        opts(Some(&plots.join("r.json")), None, None),
        Some(&plots),
        &files,
    )
    .expect("a JSON file in the new plots directory");
    assert_eq!(ok.json, Some(plots.join("r.json")));
    assert_eq!(ok.plots, Some(plots.clone()));
    assert!(ok.created_plots_dir && plots.is_dir());
    ok.abandon();
    assert!(
        !plots.exists(),
        "abandon removes the empty directory it made"
    );
}

#[test]
fn trace_is_refused_on_another_output_s_file_or_a_plot() {
    let t = TempDir::new("trace");
    let files = ["producers.svg"];
    let (j, c) = (t.path("r.json"), t.path("r.csv"));
    let e = Outputs::check(opts(Some(&j), None, Some(&j)), None, &files).expect_err("json's");
    assert_eq!(e.option, "--trace");
    assert!(e.to_string().contains("same file as --json's"), "{e}");
    let e = Outputs::check(opts(None, Some(&c), Some(&c)), None, &files).expect_err("csv's");
    assert!(e.to_string().contains("same file as --csv's"), "{e}");
    let plots = t.path("plots");
    let e = Outputs::check(
        opts(None, None, Some(&plots.join("producers.svg"))),
        Some(&plots),
        &files,
    )
    .expect_err("a plot");
    assert_eq!(e.option, "--trace");
    assert!(!plots.exists());
    let e = Outputs::check(opts(None, None, Some(&t.path("no/t.json"))), None, &files)
        .expect_err("a missing directory");
    assert_eq!(e.option, "--trace");
    let ok = Outputs::check(
        opts(Some(&j), Some(&c), Some(&t.path("t.json"))),
        None,
        &files,
    )
    .expect("three files");
    assert_eq!(ok.trace, Some(t.path("t.json")));
    assert!(t.names().is_empty(), "a check left something behind");
}

#[test]
fn diagram_is_refused_like_trace_on_another_output_s_file_a_plot_or_a_bad_path() {
    let t = TempDir::new("diagram");
    let files = ["producers.svg"];
    let (j, c, tr) = (t.path("r.json"), t.path("r.csv"), t.path("t.json"));
    for (others, whose) in [
        ((Some(j.as_path()), None, None), "--json's"),
        ((None, Some(c.as_path()), None), "--csv's"),
        ((None, None, Some(tr.as_path())), "--trace's"),
    ] {
        let same = others.0.or(others.1).or(others.2).expect("one of them");
        let e = Outputs::check(diagram(others, same), None, &files).expect_err(whose);
        assert_eq!(e.option, "--diagram");
        assert!(
            e.to_string().contains(&format!("same file as {whose}")),
            "{e}"
        );
    }
    let plots = t.path("plots");
    for (d, what) in [
        (plots.join("producers.svg"), "a file --plots writes"),
        (plots.clone(), "is a directory"),
    ] {
        let e =
            Outputs::check(diagram((None, None, None), &d), Some(&plots), &files).expect_err(what);
        assert_eq!(e.option, "--diagram");
        assert!(e.to_string().contains(what), "{e}");
        assert!(
            !plots.exists(),
            "the plots directory made by the check was left"
        );
    }
    let none = (None, None, None);
    let missing = t.path("no/d.svg");
    let e = Outputs::check(diagram(none, &missing), None, &files).expect_err("missing dir");
    assert_eq!(e.option, "--diagram");
    assert!(e.to_string().contains("does not exist"), "{e}");
    let e = Outputs::check(diagram(none, &t.0), None, &files).expect_err("a directory");
    assert!(e.to_string().contains("is a directory"), "{e}");
    let e = Outputs::check(diagram(none, Path::new("")), None, &files).expect_err("empty");
    assert!(e.to_string().contains("empty"), "{e}");
    let ok = Outputs::check(
        diagram((Some(&j), Some(&c), Some(&tr)), &t.path("d.svg")),
        None,
        &files,
    )
    .expect("four files");
    assert_eq!(ok.diagram, Some(t.path("d.svg")));
    assert_eq!(ok.trace, Some(tr.clone()));
    assert!(t.names().is_empty(), "a check left something behind");
}

#[test]
fn adopted_file_is_renamed_on_commit_and_removed_uncommitted() {
    let t = TempDir::new("adopt");
    let dest = t.path("t.json");
    let temp = temp_path(&dest);
    fs::write(&temp, "{}").expect("temp");
    drop(Staged::adopt(temp.clone(), &dest));
    assert!(t.names().is_empty());
    fs::write(&temp, "{}").expect("temp");
    assert_eq!(Staged::adopt(temp, &dest).commit().expect("renamed"), dest);
    assert_eq!(t.names(), ["t.json"]);
}

#[test]
fn atomic_write_replaces_whole_and_leaves_no_temporary_file() {
    let t = TempDir::new("atomic");
    let old = t.path("r.csv");
    fs::write(&old, "old").expect("file");
    let written = write_all_atomically(vec![
        (old.clone(), b"new".to_vec()),
        (t.path("s.json"), b"{}".to_vec()),
    ])
    .expect("written");
    assert_eq!(written, [old.clone(), t.path("s.json")]);
    assert_eq!(fs::read_to_string(&old).expect("read"), "new");
    assert_eq!(t.names(), ["r.csv", "s.json"]);
}

#[test]
fn failed_atomic_write_touches_no_destination() {
    let t = TempDir::new("failed");
    let old = t.path("r.json");
    fs::write(&old, "old").expect("file");
    // The second file's directory has gone: nothing is renamed, no temporary file stays.
    let err = write_all_atomically(vec![
        (old.clone(), b"new".to_vec()),
        (t.path("gone/s.json"), b"{}".to_vec()),
    ])
    .expect_err("a missing directory");
    assert!(err.to_string().contains("gone/s.json"), "{err}");
    assert_eq!(fs::read_to_string(&old).expect("read"), "old");
    assert_eq!(t.names(), ["r.json"]);
}

#[test]
fn staged_file_dropped_uncommitted_is_removed() {
    let t = TempDir::new("staged");
    let s = Staged::write(&t.path("r.json"), b"x").expect("staged");
    assert_eq!(
        t.names().len(),
        1,
        "the temporary file exists until committed"
    );
    assert!(t.names()[0].starts_with(".r.json.tmp-"), "{:?}", t.names());
    drop(s);
    assert!(t.names().is_empty());
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
        io::Error::last_os_error()
    );
}

/// What `path` is, not following a final symbolic link.
fn kind_at(path: &Path) -> &'static str {
    kind_of(fs::symlink_metadata(path).expect("exists").file_type())
}

/// `check_file` on another thread, failing the test if it has not returned within 5 s (opening
/// a FIFO with no reader would block for ever).
fn check_file_bounded(option: &'static str, path: &Path) -> Result<PathBuf, OutputError> {
    let (tx, rx) = std::sync::mpsc::channel();
    let p = path.to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(check_file(option, &p));
    });
    rx.recv_timeout(std::time::Duration::from_secs(5))
        .unwrap_or_else(|_| panic!("check_file({option}, {}) hangs", path.display()))
}

#[test]
fn file_check_refuses_what_is_not_a_regular_file_and_leaves_it_as_it_was() {
    let t = TempDir::new("special");
    let fifo = t.path("fifo");
    make_fifo(&fifo);
    let sock = t.path("sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).expect("socket file");
    fs::create_dir(t.path("dir")).expect("dir");
    for (name, target) in [
        ("to-fifo", "fifo"),
        ("to-sock", "sock"),
        ("to-dir", "dir"),
        ("dangling", "nowhere"),
    ] {
        std::os::unix::fs::symlink(t.path(target), t.path(name)).expect("symlink");
    }
    for (name, says) in [
        ("fifo", "is a FIFO or pipe, not a regular file"),
        ("sock", "is a socket, not a regular file"),
        ("dir", "is a directory, not a regular file"),
        (
            "to-fifo",
            "is a symbolic link to a FIFO or pipe, not a regular file",
        ),
        (
            "to-sock",
            "is a symbolic link to a socket, not a regular file",
        ),
        (
            "to-dir",
            "is a symbolic link to a directory, not a regular file",
        ),
        (
            "dangling",
            "does not exist or cannot be reached: not followed",
        ),
    ] {
        for option in ["--json", "--csv", "--trace", "--diagram"] {
            let p = t.path(name);
            let e = check_file_bounded(option, &p).expect_err(name);
            assert_eq!((e.option.as_str(), &e.path), (option, &p));
            assert!(e.to_string().contains(says), "{name}: {e}");
        }
    }
    // A character device, refused before it is opened (no write either way).
    let e = check_file_bounded("--json", Path::new("/dev/zero")).expect_err("/dev/zero");
    assert!(
        e.to_string()
            .contains("is a character device, not a regular file"),
        "{e}"
    );
    // All as they were, and no probe or temporary file beside them.
    assert_eq!(kind_at(&fifo), "a FIFO or pipe");
    assert_eq!(kind_at(&sock), "a socket");
    assert_eq!(kind_at(&t.path("dir")), "a directory");
    assert_eq!(kind_at(&t.path("to-fifo")), "a symbolic link");
    assert_eq!(
        t.names(),
        ["dangling", "dir", "fifo", "sock", "to-dir", "to-fifo", "to-sock"]
    );
}

#[test]
fn symbolic_link_to_a_regular_file_is_written_through_and_kept() {
    let t = TempDir::new("through");
    fs::write(t.path("target.csv"), "old").expect("file");
    std::os::unix::fs::symlink("target.csv", t.path("link.csv")).expect("symlink");
    let dest = check_file("--csv", &t.path("link.csv")).expect("a link to a regular file");
    assert_eq!(dest, t.path("target.csv"));
    write_all_atomically(vec![(dest, b"new".to_vec())]).expect("written");
    assert_eq!(kind_at(&t.path("link.csv")), "a symbolic link");
    assert_eq!(
        fs::read_link(t.path("link.csv")).expect("link"),
        Path::new("target.csv")
    );
    assert_eq!(
        fs::read_to_string(t.path("target.csv")).expect("read"),
        "new"
    );
    assert_eq!(t.names(), ["link.csv", "target.csv"]);
}

#[test]
fn plots_directory_refuses_a_fifo_and_a_chart_that_is_not_a_regular_file() {
    let t = TempDir::new("plots-special");
    let files = ["producers.svg", "entries_vs_batch.svg"];
    let fifo = t.path("fifo");
    make_fifo(&fifo);
    let e = check_dir("--plots", &fifo).expect_err("a FIFO");
    assert!(
        e.to_string().contains("is not a directory (it is a FIFO"),
        "{e}"
    );
    let plots = t.path("plots");
    fs::create_dir(&plots).expect("plots");
    make_fifo(&plots.join("producers.svg"));
    let e = Outputs::check(FileOptions::default(), Some(&plots), &files).expect_err("a FIFO chart");
    assert_eq!(e.option, "--plots");
    assert_eq!(e.path, plots.join("producers.svg"));
    assert!(e.to_string().contains("not a regular file"), "{e}");
    assert_eq!(kind_at(&plots.join("producers.svg")), "a FIFO or pipe");
    // A chart that is a link to a regular file is written through it, and no other output
    // may name that file.
    fs::remove_file(plots.join("producers.svg")).expect("remove the FIFO");
    fs::write(t.path("old.svg"), "old").expect("old chart");
    std::os::unix::fs::symlink(t.path("old.svg"), plots.join("producers.svg")).expect("link");
    let ok = Outputs::check(FileOptions::default(), Some(&plots), &files).expect("a linked chart");
    assert_eq!(ok.chart_dest("producers.svg"), Some(t.path("old.svg")));
    assert_eq!(
        ok.chart_dest("entries_vs_batch.svg"),
        Some(plots.join("entries_vs_batch.svg"))
    );
    let old = t.path("old.svg");
    let e = Outputs::check(opts(Some(&old), None, None), Some(&plots), &files)
        .expect_err("a chart's file");
    assert_eq!(e.option, "--json");
    assert!(e.to_string().contains("--plots writes"), "{e}");
}

#[test]
fn commit_does_not_replace_what_has_become_a_fifo_since_the_check() {
    let t = TempDir::new("commit");
    let dest = t.path("r.json");
    fs::write(&dest, "old").expect("file");
    let staged = Staged::write(&dest, b"new").expect("staged");
    fs::remove_file(&dest).expect("remove");
    make_fifo(&dest);
    let e = staged.commit().expect_err("not a regular file any more");
    assert!(
        e.to_string().contains("not a regular file: not replaced"),
        "{e}"
    );
    assert_eq!(kind_at(&dest), "a FIFO or pipe");
    assert_eq!(t.names(), ["r.json"], "the temporary file was left");
}
