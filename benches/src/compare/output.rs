//! Where the comparison's files go: the output options are checked before anything is
//! measured, and every file is written whole at the end (a temporary file beside it, then a
//! rename), so a failed run never leaves a half-written file and never clobbers an old one.
//!
//! The rule for an existing path: only a regular file is ever replaced. A directory, a device,
//! a FIFO or pipe, a socket (or a symbolic link to one, or a link to nothing) is refused before
//! anything is measured, and never opened, replaced or removed; so is the file the program's
//! standard output or error goes to (`--json /dev/stdout > out.txt`), where the table and the
//! progress are printed. A symbolic link to a regular file is followed: the file it names is
//! replaced (by a rename in that file's directory), the link stays as it was. The rename checks
//! again that what it replaces is still a regular file.
//!
//! What is written (the text of the JSON, CSV and SVGs) is made elsewhere
//! ([`super::report`], [`super::plot`]); this module only checks paths and moves bytes.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, Write as _};
use std::os::fd::AsFd as _;
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

/// An output option that cannot be honoured: which option, its path, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputError {
    /// The option as typed, e.g. `--json`.
    pub option: String,
    /// The path given to it.
    pub path: PathBuf,
    /// Why it cannot be written, in words.
    pub reason: String,
}

impl fmt::Display for OutputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.option,
            self.path.display(),
            self.reason
        )
    }
}

impl std::error::Error for OutputError {}

fn refuse(option: &str, path: &Path, reason: impl Into<String>) -> OutputError {
    OutputError {
        option: option.to_string(),
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// The name a temporary file beside `dest` gets: hidden, with this process's id, so two runs
/// writing into one directory do not collide.
pub fn temp_path(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    dest.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Creates (and removes) a file in `dir`: whether files can be created there, as the final
/// rename will need.
fn probe_dir(dir: &Path) -> io::Result<()> {
    let probe = dir.join(format!(".compare-probe-{}", std::process::id()));
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)?;
    fs::remove_file(&probe)
}

/// What kind of file `ft` is, in words (for a refusal): "a directory", "a FIFO or pipe", ...
pub fn kind_of(ft: fs::FileType) -> &'static str {
    if ft.is_file() {
        "a regular file"
    } else if ft.is_dir() {
        "a directory"
    } else if ft.is_symlink() {
        "a symbolic link"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_fifo() {
        "a FIFO or pipe"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "a file of an unknown kind"
    }
}

/// Why an existing path of kind `what` (reached through a symbolic link if `via_link`) is not
/// written: the words after the path in a refusal.
fn not_regular(what: &str, via_link: bool) -> String {
    let is = if via_link {
        format!("is a symbolic link to {what}")
    } else {
        format!("is {what}")
    };
    if what == "a directory" {
        format!("{is}, not a regular file; give a file name (the file is created or replaced)")
    } else {
        format!(
            "{is}, not a regular file: only regular files are written (a device, FIFO, socket \
             or directory is never opened, replaced or removed)"
        )
    }
}

/// Whether `meta` is the file this program's standard output or error goes to, and which.
fn standard_stream(meta: &Metadata) -> Option<&'static str> {
    let same =
        |m: io::Result<Metadata>| m.is_ok_and(|m| m.dev() == meta.dev() && m.ino() == meta.ino());
    let stat = |fd: std::os::fd::BorrowedFd<'_>| File::from(fd.try_clone_to_owned()?).metadata();
    if same(stat(io::stdout().as_fd())) {
        Some("standard output")
    } else if same(stat(io::stderr().as_fd())) {
        Some("standard error")
    } else {
        None
    }
}

/// An existing `path` (given to `option`) that is to be replaced: refused unless it is a
/// regular file (followed through symbolic links) that can be opened for writing, has a name
/// (its canonical path names the same file) and is not where standard output or error goes.
/// Returns the canonical path. Nothing but a regular file is opened, and that without
/// truncating or blocking.
fn resolve_existing(option: &str, path: &Path, meta: &Metadata) -> Result<PathBuf, OutputError> {
    let via_link = fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if !meta.is_file() {
        return Err(refuse(
            option,
            path,
            not_regular(kind_of(meta.file_type()), via_link),
        ));
    }
    // Open for writing without truncating (the old file stays as it is until the end), and
    // without blocking should it have become a FIFO since: then what was opened is checked.
    let opened = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .and_then(|f| f.metadata());
    let opened = match opened {
        Ok(m) if m.is_file() => m,
        Ok(m) => {
            return Err(refuse(
                option,
                path,
                not_regular(kind_of(m.file_type()), via_link),
            ))
        }
        Err(e) => {
            return Err(refuse(
                option,
                path,
                format!("the existing file cannot be opened for writing: {e}"),
            ))
        }
    };
    if let Some(stream) = standard_stream(&opened) {
        return Err(refuse(
            option,
            path,
            format!(
                "is the file the {stream} goes to (where the table and progress are printed): \
                 give another file"
            ),
        ));
    }
    let dest = fs::canonicalize(path).map_err(|e| refuse(option, path, e.to_string()))?;
    // A file reached through /proc/PID/fd may have no name (deleted) or another one.
    let named =
        fs::metadata(&dest).is_ok_and(|m| m.dev() == opened.dev() && m.ino() == opened.ino());
    if !named {
        return Err(refuse(
            option,
            path,
            format!(
                "resolves to {}, which is not the same file (a deleted file or a \
                 descriptor's link?): give the file's own path",
                dest.display()
            ),
        ));
    }
    Ok(dest)
}

/// Checks that `path` (given to `option`) can be written at the end of the run, without
/// creating or changing it, and returns where it will be written: the file itself if it
/// exists (a symbolic link is followed, so the link stays a link), else the path in its
/// directory's canonical form. Refused: an empty path; an existing path that is not a regular
/// file (a directory, device, FIFO or pipe, socket, a symbolic link to one of these or to
/// nothing); the file standard output or error goes to; a missing parent directory, a parent
/// that is not a directory; an existing file that cannot be opened for writing; and a directory
/// in which no file can be created. Nothing that is not a regular file is opened.
pub fn check_file(option: &str, path: &Path) -> Result<PathBuf, OutputError> {
    if path.as_os_str().is_empty() {
        return Err(refuse(option, path, "the path is empty"));
    }
    // What the path is, following links (stat: never opens, never blocks).
    let existing = match fs::metadata(path) {
        Ok(meta) => Some(meta),
        Err(_) => {
            if let Ok(link) = fs::symlink_metadata(path) {
                if link.file_type().is_symlink() {
                    let target = fs::read_link(path)
                        .map_or_else(|_| "?".into(), |t| t.display().to_string());
                    return Err(refuse(
                        option,
                        path,
                        format!(
                            "is a symbolic link to {target}, which does not exist or cannot be \
                             reached: not followed, not replaced"
                        ),
                    ));
                }
            }
            None
        }
    };
    if let Some(meta) = &existing {
        if !meta.is_file() {
            let via_link = fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
            return Err(refuse(
                option,
                path,
                not_regular(kind_of(meta.file_type()), via_link),
            ));
        }
    }
    let Some(name) = path.file_name() else {
        return Err(refuse(option, path, "names no file"));
    };
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.exists() {
        return Err(refuse(
            option,
            path,
            format!(
                "the directory {} does not exist (it is not created for a file)",
                parent.display()
            ),
        ));
    }
    if !parent.is_dir() {
        return Err(refuse(
            option,
            path,
            format!("{} is not a directory", parent.display()),
        ));
    }
    let dest = match &existing {
        Some(meta) => resolve_existing(option, path, meta)?,
        None => {
            let dir = fs::canonicalize(parent).map_err(|e| refuse(option, path, e.to_string()))?;
            dir.join(name)
        }
    };
    let dir = dest.parent().unwrap_or(Path::new("/"));
    probe_dir(dir).map_err(|e| {
        refuse(
            option,
            path,
            format!("cannot create a file in {}: {e}", dir.display()),
        )
    })?;
    Ok(dest)
}

/// Checks that `dir` (given to `option`) can hold files, creating it (and its parents) if it
/// is missing, and returns it in canonical form and whether it was created. Refused: an empty
/// path, a path that exists and is not a directory, a directory that cannot be created, and one
/// in which no file can be created (a directory made here is removed again then).
pub fn check_dir(option: &str, dir: &Path) -> Result<(PathBuf, bool), OutputError> {
    if dir.as_os_str().is_empty() {
        return Err(refuse(option, dir, "the path is empty"));
    }
    let created = if let Ok(meta) = fs::metadata(dir) {
        if !meta.is_dir() {
            return Err(refuse(
                option,
                dir,
                format!(
                    "exists and is not a directory (it is {}): give a directory (or a path to \
                     create)",
                    kind_of(meta.file_type())
                ),
            ));
        }
        false
    } else if fs::symlink_metadata(dir).is_ok() {
        return Err(refuse(
            option,
            dir,
            "is a symbolic link to nothing (or cannot be reached): not followed, no directory \
             made",
        ));
    } else {
        fs::create_dir_all(dir)
            .map_err(|e| refuse(option, dir, format!("the directory cannot be created: {e}")))?;
        true
    };
    if let Err(e) = probe_dir(dir) {
        if created {
            let _ = fs::remove_dir(dir);
        }
        return Err(refuse(
            option,
            dir,
            format!("cannot create files in it: {e}"),
        ));
    }
    let canonical = fs::canonicalize(dir).map_err(|e| refuse(option, dir, e.to_string()))?;
    Ok((canonical, created))
}

/// The comparison's output options, checked: where each file goes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outputs {
    /// `--json`'s file, resolved ([`check_file`]).
    pub json: Option<PathBuf>,
    /// `--csv`'s file, resolved.
    pub csv: Option<PathBuf>,
    /// `--trace`'s file (the timeline of the traced run), resolved.
    pub trace: Option<PathBuf>,
    /// `--diagram`'s file (the sequence chart of the traced run), resolved.
    pub diagram: Option<PathBuf>,
    /// `--plots`'s directory, canonical.
    pub plots: Option<PathBuf>,
    /// The charts that exist already in the plots directory, by file name: where each is
    /// written (checked as [`check_file`] checks a file: a symbolic link is followed). A chart
    /// not listed is written in the plots directory under its name.
    pub charts: BTreeMap<String, PathBuf>,
    /// Whether the plots directory was created by the check (and is removed by
    /// [`Outputs::abandon`] if still empty).
    pub created_plots_dir: bool,
}

/// The file options [`Outputs::check`] takes, as given (None: not asked for).
#[derive(Clone, Copy, Debug, Default)]
pub struct FileOptions<'a> {
    /// `--json FILE`.
    pub json: Option<&'a Path>,
    /// `--csv FILE`.
    pub csv: Option<&'a Path>,
    /// `--trace FILE`.
    pub trace: Option<&'a Path>,
    /// `--diagram FILE.svg`.
    pub diagram: Option<&'a Path>,
}

impl Outputs {
    /// Checks every output option before anything is measured: the plots directory as
    /// [`check_dir`] does (creating it, so that `--json` may name a file in it) and each chart
    /// already in it (`plot_files`: the names the plots take in their directory) as
    /// [`check_file`] does, each file as [`check_file`] does, and that no two outputs are the
    /// same file. On any refusal a plots directory made here is removed again.
    pub fn check(
        files: FileOptions<'_>,
        plots: Option<&Path>,
        plot_files: &[&str],
    ) -> Result<Outputs, OutputError> {
        let mut out = Outputs::default();
        if let Some(d) = plots {
            let (dir, created) = check_dir("--plots", d)?;
            out.plots = Some(dir.clone());
            out.created_plots_dir = created;
            for f in plot_files {
                let chart = dir.join(f);
                if fs::symlink_metadata(&chart).is_err() {
                    continue;
                }
                match check_file("--plots", &chart) {
                    Ok(dest) => {
                        out.charts.insert((*f).to_string(), dest);
                    }
                    Err(e) => {
                        out.abandon();
                        return Err(e);
                    }
                }
            }
        }
        match Outputs::check_files(files, out.plots.as_deref(), plot_files, &out.charts) {
            Ok([j, c, t, d]) => {
                out.json = j;
                out.csv = c;
                out.trace = t;
                out.diagram = d;
                Ok(out)
            }
            Err(e) => {
                out.abandon();
                Err(e)
            }
        }
    }

    /// The file half of [`Outputs::check`], the plots directory (if any) already checked:
    /// JSON, CSV, trace and diagram destinations, in that order. Of two options on one file the
    /// later is refused.
    fn check_files(
        files: FileOptions<'_>,
        plots: Option<&Path>,
        plot_files: &[&str],
        charts: &BTreeMap<String, PathBuf>,
    ) -> Result<[Option<PathBuf>; 4], OutputError> {
        let given = [
            ("--json", files.json),
            ("--csv", files.csv),
            ("--trace", files.trace),
            ("--diagram", files.diagram),
        ];
        let mut dests: [Option<PathBuf>; 4] = Default::default();
        for (i, (option, path)) in given.iter().enumerate() {
            let Some(path) = path else { continue };
            let dest = check_file(option, path)?;
            for (j, earlier) in dests[..i].iter().enumerate() {
                if earlier.as_ref() == Some(&dest) {
                    return Err(refuse(
                        option,
                        path,
                        format!("is the same file as {}'s: give each its own", given[j].0),
                    ));
                }
            }
            if let Some(dir) = plots {
                let is_dir = dest == dir;
                let is_plot = dest.parent() == Some(dir)
                    && dest
                        .file_name()
                        .is_some_and(|n| plot_files.iter().any(|f| n == *f))
                    || charts.values().any(|c| *c == dest);
                if is_dir || is_plot {
                    return Err(refuse(
                        option,
                        path,
                        format!(
                            "is {} --plots writes ({}): give it another name",
                            if is_dir { "the directory" } else { "a file" },
                            dir.display()
                        ),
                    ));
                }
            }
            dests[i] = Some(dest);
        }
        Ok(dests)
    }

    /// Where the chart `file` goes: its checked destination if it existed, else its name in the
    /// plots directory (None without `--plots`).
    pub fn chart_dest(&self, file: &str) -> Option<PathBuf> {
        let dir = self.plots.as_ref()?;
        Some(
            self.charts
                .get(file)
                .cloned()
                .unwrap_or_else(|| dir.join(file)),
        )
    }

    /// After a run that writes nothing: removes the plots directory if the check created it and
    /// it is still empty.
    pub fn abandon(&self) {
        if let (true, Some(d)) = (self.created_plots_dir, &self.plots) {
            let _ = fs::remove_dir(d);
        }
    }
}

/// A file written to a temporary name beside its destination, waiting to be renamed into
/// place by [`Staged::commit`]. Dropped uncommitted, the temporary file is removed.
#[derive(Debug)]
pub struct Staged {
    temp: PathBuf,
    dest: PathBuf,
    done: bool,
}

impl Staged {
    /// Writes `bytes` to a new temporary file beside `dest` and flushes it to disk. An existing
    /// `dest` lends its permissions to the new file. On failure nothing is left behind.
    pub fn write(dest: &Path, bytes: &[u8]) -> io::Result<Staged> {
        let temp = temp_path(dest);
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        // The file is ours from here on: dropping `staged` removes it.
        let staged = Staged {
            temp,
            dest: dest.to_path_buf(),
            done: false,
        };
        f.write_all(bytes)?;
        if let Ok(meta) = fs::metadata(dest) {
            f.set_permissions(meta.permissions())?;
        }
        f.sync_all()?;
        Ok(staged)
    }

    /// A file already written at `temp` (by a writer of its own, e.g. the timeline's, given
    /// [`temp_path`]`(dest)`), to be renamed to `dest` by [`Staged::commit`]; dropped
    /// uncommitted, `temp` is removed.
    pub fn adopt(temp: PathBuf, dest: &Path) -> Staged {
        Staged {
            temp,
            dest: dest.to_path_buf(),
            done: false,
        }
    }

    /// Where the file goes.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Renames the temporary file over the destination (atomic within one file system), unless
    /// the destination is now something other than a regular file (it was checked before the
    /// run, but may have been replaced since): that is refused, and the temporary file removed.
    pub fn commit(mut self) -> io::Result<PathBuf> {
        if let Ok(meta) = fs::symlink_metadata(&self.dest) {
            if !meta.is_file() {
                return Err(io::Error::other(format!(
                    "{} is now {}, not a regular file: not replaced",
                    self.dest.display(),
                    kind_of(meta.file_type())
                )));
            }
        }
        fs::rename(&self.temp, &self.dest)?;
        self.done = true;
        // The directory entry too, so the new name survives a crash.
        if let Some(dir) = self.dest.parent() {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(self.dest.clone())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Writes every `(dest, bytes)` whole: first each to a temporary file beside it, then, only if
/// all of those succeeded, renames each into place. Returns the paths written. If a temporary
/// file cannot be written, every temporary file is removed and no destination is touched.
pub fn write_all_atomically(files: Vec<(PathBuf, Vec<u8>)>) -> io::Result<Vec<PathBuf>> {
    let mut staged = Vec::with_capacity(files.len());
    for (dest, bytes) in files {
        let s = Staged::write(&dest, &bytes)
            .map_err(|e| io::Error::new(e.kind(), format!("writing {}: {e}", dest.display())))?;
        staged.push(s);
    }
    let mut written = Vec::with_capacity(staged.len());
    for s in staged {
        let dest = s.dest().to_path_buf();
        written.push(s.commit().map_err(|e| {
            io::Error::new(e.kind(), format!("renaming into {}: {e}", dest.display()))
        })?);
    }
    Ok(written)
}

#[cfg(test)]
#[path = "output_tests.rs"]
mod tests;
