//! Output files a program is asked to write (`--trace FILE`, `--json FILE`, ...): checked before
//! any work is done, then written whole through a temporary file renamed into place, so that a
//! failed run leaves nothing half-written. The tools (`compare`, the examples' `--trace` and
//! `--diagram`, `pidin-sim`) keep only their option names, exit statuses and message prefixes.
//!
//! The rule for a path ([`check`]): only a regular file is ever written. A directory, a
//! character or block device, a FIFO or pipe, a socket, a symbolic link to one of these or to
//! nothing, is refused, and never opened, replaced or removed; so is the file one of the
//! program's standard streams goes to, if the program keeps that stream for itself. A symbolic
//! link to a regular file is followed: the file it names is replaced (by a rename in that file's
//! directory) and the link stays a link. A new file needs an existing directory. Each refusal is
//! a [`Problem`], whose words say why.
//!
//! Two names of one file (`x.json`, `sub/../x.json`, a link to it, another hard link) are found
//! by [`Target::same_file`] and [`same_file`].
//!
//! Writing ([`Staged`]): each file goes first to a hidden temporary file beside its destination
//! ([`temp_path`]), after removing those a killed run left there ([`remove_stale_temps`]);
//! [`commit_all`] renames every one into place only once all are written, and only over what is
//! still a regular file or nothing; [`write_all_atomically`] does both.

use std::ffi::OsStr;
use std::fmt;
use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, Write as _};
use std::os::fd::AsFd as _;
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

/// What kind of file a path is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A regular file.
    Regular,
    /// A directory.
    Directory,
    /// A symbolic link (seen without following it).
    Symlink,
    /// A character device (`/dev/null`, a terminal).
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A FIFO (named pipe) or a pipe (`/dev/stdout` of `prog | less`).
    Fifo,
    /// A Unix-domain socket.
    Socket,
    /// None of these.
    Unknown,
}

impl FileKind {
    /// The kind of a file of type `ft`.
    pub fn of(ft: fs::FileType) -> FileKind {
        if ft.is_file() {
            FileKind::Regular
        } else if ft.is_dir() {
            FileKind::Directory
        } else if ft.is_symlink() {
            FileKind::Symlink
        } else if ft.is_char_device() {
            FileKind::CharDevice
        } else if ft.is_block_device() {
            FileKind::BlockDevice
        } else if ft.is_fifo() {
            FileKind::Fifo
        } else if ft.is_socket() {
            FileKind::Socket
        } else {
            FileKind::Unknown
        }
    }

    /// The kind in words: "a directory", "a FIFO or pipe", ...
    pub fn name(self) -> &'static str {
        match self {
            FileKind::Regular => "a regular file",
            FileKind::Directory => "a directory",
            FileKind::Symlink => "a symbolic link",
            FileKind::CharDevice => "a character device",
            FileKind::BlockDevice => "a block device",
            FileKind::Fifo => "a FIFO or pipe",
            FileKind::Socket => "a socket",
            FileKind::Unknown => "a file of an unknown kind",
        }
    }

    /// The kind in words that say a device, FIFO or socket is a special file: "a FIFO (a
    /// special file)", "a character device (a special file)", ...
    pub fn special_name(self) -> &'static str {
        match self {
            FileKind::CharDevice => "a character device (a special file)",
            FileKind::BlockDevice => "a block device (a special file)",
            FileKind::Fifo => "a FIFO (a special file)",
            FileKind::Socket => "a socket (a special file)",
            FileKind::Unknown => "a file of an unknown kind (a special file)",
            other => other.name(),
        }
    }
}

/// The kind of a file of type `ft` in words ([`FileKind::name`]): "a FIFO or pipe", ...
pub fn kind_of(ft: fs::FileType) -> &'static str {
    FileKind::of(ft).name()
}

/// One of the program's standard streams, whose file a program may keep for itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Output,
    /// Standard error.
    Error,
}

impl Stream {
    /// "standard output" or "standard error".
    pub fn name(self) -> &'static str {
        match self {
            Stream::Output => "standard output",
            Stream::Error => "standard error",
        }
    }

    /// Whether `meta` is the file this stream goes to (the same device and inode).
    pub fn is(self, meta: &Metadata) -> bool {
        let fd = match self {
            Stream::Output => io::stdout().as_fd().try_clone_to_owned(),
            Stream::Error => io::stderr().as_fd().try_clone_to_owned(),
        };
        fd.and_then(|fd| File::from(fd).metadata())
            .is_ok_and(|m| (m.dev(), m.ino()) == (meta.dev(), meta.ino()))
    }
}

/// Whether `meta` is the file this program's standard output or error goes to, and which
/// (standard output first).
pub fn standard_stream(meta: &Metadata) -> Option<Stream> {
    [Stream::Output, Stream::Error]
        .into_iter()
        .find(|s| s.is(meta))
}

/// How [`Problem::describe`] words a path that is not a regular file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Words {
    /// "is a symbolic link to a FIFO or pipe" ([`FileKind::name`]): the [`Problem`]'s
    /// `Display`.
    #[default]
    Plain,
    /// "leads to a FIFO (a special file)" ([`FileKind::special_name`]).
    Special,
}

/// Why a path is not written: what [`check`] refuses.
#[derive(Debug)]
pub enum Problem {
    /// The path is empty.
    Empty,
    /// An existing path that is not a regular file (reached through a symbolic link if
    /// `via_link`).
    NotRegular {
        /// What it is.
        kind: FileKind,
        /// Whether the path is a symbolic link to it.
        via_link: bool,
    },
    /// A symbolic link to nothing (or to what cannot be reached): not followed.
    Dangling {
        /// Where it points (None if that cannot be read).
        target: Option<PathBuf>,
    },
    /// A path that names a directory (ends in `/`, or in `..`) rather than a file.
    NamesDirectory,
    /// The directory part of a new file's path is not a directory.
    ParentNotDirectory(PathBuf),
    /// The directory of a new file does not exist.
    ParentMissing(PathBuf),
    /// The directory of a new file cannot be looked up.
    ParentUnreachable(PathBuf, io::Error),
    /// The path cannot be looked up (other than by not existing).
    Unreachable(io::Error),
    /// An existing regular file that cannot be opened for writing.
    NotWritable(io::Error),
    /// The file a standard stream the program keeps goes to.
    StandardStream(Stream),
    /// An existing file whose canonical path names another file (a deleted file, reached
    /// through `/proc/PID/fd`).
    Unnamed {
        /// What the path resolves to.
        dest: PathBuf,
    },
    /// An existing file whose canonical path cannot be found.
    Unresolved(io::Error),
    /// A directory in which no file can be created ([`Target::probe_dir`]).
    DirNotWritable(PathBuf, io::Error),
}

impl Problem {
    /// Whether the path names no file to write (a usage error: the user must give another
    /// path), rather than the system refusing (no such directory, no permission).
    pub fn names_no_file(&self) -> bool {
        matches!(
            self,
            Problem::Empty
                | Problem::NotRegular { .. }
                | Problem::Dangling { .. }
                | Problem::NamesDirectory
                | Problem::ParentNotDirectory(_)
                | Problem::StandardStream(_)
                | Problem::Unnamed { .. }
        )
    }

    /// Why, in words (what follows `OPTION PATH: ` in a refusal), with kinds of file worded
    /// as `words` says.
    pub fn describe(&self, words: Words) -> String {
        match self {
            Problem::Empty => "the path is empty".into(),
            Problem::NotRegular { kind, via_link } => {
                let is = match (words, via_link) {
                    (Words::Plain, false) => format!("is {}", kind.name()),
                    (Words::Plain, true) => format!("is a symbolic link to {}", kind.name()),
                    (Words::Special, false) => format!("is {}", kind.special_name()),
                    (Words::Special, true) => format!("leads to {}", kind.special_name()),
                };
                if *kind == FileKind::Directory {
                    format!(
                        "{is}, not a regular file; give a file name (the file is created or \
                         replaced)"
                    )
                } else {
                    format!(
                        "{is}, not a regular file: only regular files are written (a device, \
                         FIFO, socket or directory is never opened, replaced or removed)"
                    )
                }
            }
            Problem::Dangling { target } => format!(
                "is a symbolic link to {}, which does not exist or cannot be reached: not \
                 followed, not replaced",
                target
                    .as_ref()
                    .map_or_else(|| "?".into(), |t| t.display().to_string())
            ),
            Problem::NamesDirectory => "names a directory, not a file".into(),
            Problem::ParentNotDirectory(p) => format!("{} is not a directory", p.display()),
            Problem::ParentMissing(p) => format!(
                "the directory {} does not exist (it is not created for a file)",
                p.display()
            ),
            Problem::ParentUnreachable(p, e) => format!("{}: {e}", p.display()),
            Problem::Unreachable(e) | Problem::Unresolved(e) => e.to_string(),
            Problem::NotWritable(e) => {
                format!("the existing file cannot be opened for writing: {e}")
            }
            Problem::StandardStream(s) => {
                format!("is the file the {} goes to: give another file", s.name())
            }
            Problem::Unnamed { dest } => format!(
                "resolves to {}, which is not the same file (a deleted file or a descriptor's \
                 link?): give the file's own path",
                dest.display()
            ),
            Problem::DirNotWritable(d, e) => {
                format!("cannot create a file in {}: {e}", d.display())
            }
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe(Words::Plain))
    }
}

impl std::error::Error for Problem {}

/// Where a checked path will be written.
#[derive(Clone, Debug)]
pub struct Target {
    /// The existing file itself (a symbolic link followed, so that the link stays a link), else
    /// the path in its directory's canonical form.
    pub dest: PathBuf,
    /// The existing regular file, as opened for writing (None: a new file).
    pub existing: Option<Metadata>,
}

impl Target {
    /// Whether `self` and `other` are one file: the same destination, or the same existing
    /// file (another hard link).
    pub fn same_file(&self, other: &Target) -> bool {
        self.dest == other.dest
            || matches!((&self.existing, &other.existing),
                (Some(a), Some(b)) if (a.dev(), a.ino()) == (b.dev(), b.ino()))
    }

    /// Whether `self` is the existing file at `path`.
    pub fn is(&self, path: &Path) -> bool {
        match (&self.existing, fs::metadata(path)) {
            (Some(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
            _ => false,
        }
    }

    /// Checks that a file can be created in the destination's directory, as the temporary file
    /// and the rename will need ([`probe_dir`]).
    pub fn probe_dir(&self) -> Result<(), Problem> {
        let dir = self.dest.parent().unwrap_or(Path::new("/"));
        probe_dir(dir).map_err(|e| Problem::DirNotWritable(dir.to_path_buf(), e))
    }
}

/// Creates (and removes) a file in `dir`: whether files can be created there.
pub fn probe_dir(dir: &Path) -> io::Result<()> {
    let probe = dir.join(format!(".outfile-probe-{}", std::process::id()));
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)?;
    fs::remove_file(&probe)
}

/// Checks that `path` can be written, without creating or changing anything, and returns where
/// it will be written. Refused ([`Problem`]): an empty path; an existing path that is not a
/// regular file (a directory, device, FIFO or pipe, socket, a symbolic link to one of these
/// or to nothing); a path ending in `/`; a new file whose directory is missing or not a
/// directory; an existing file that cannot be opened for writing, or whose canonical path names
/// another file; and the file one of the standard streams `kept` goes to. Nothing that is not a
/// regular file is opened, and a regular file is opened without truncating or blocking.
/// Whether files can be created in the directory is not checked here ([`Target::probe_dir`]).
pub fn check(path: &Path, kept: &[Stream]) -> Result<Target, Problem> {
    if path.as_os_str().is_empty() {
        return Err(Problem::Empty);
    }
    let via_link = fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    // What the path is, following links (stat: never opens, never blocks).
    let not_found = match fs::metadata(path) {
        Ok(meta) if meta.is_file() => return check_existing(path, via_link, kept),
        Ok(meta) => {
            return Err(Problem::NotRegular {
                kind: FileKind::of(meta.file_type()),
                via_link,
            })
        }
        Err(_) if via_link => {
            return Err(Problem::Dangling {
                target: fs::read_link(path).ok(),
            })
        }
        Err(e) => e,
    };
    let name = match path.file_name() {
        Some(n) if !path.as_os_str().as_encoded_bytes().ends_with(b"/") => n,
        _ => return Err(Problem::NamesDirectory),
    };
    let parent = parent_of(path);
    match fs::metadata(parent) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(Problem::ParentNotDirectory(parent.to_path_buf())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Problem::ParentMissing(parent.to_path_buf()))
        }
        Err(e) => return Err(Problem::ParentUnreachable(parent.to_path_buf(), e)),
    }
    if not_found.kind() != io::ErrorKind::NotFound {
        return Err(Problem::Unreachable(not_found));
    }
    let dir = fs::canonicalize(parent).map_err(|e| Problem::ParentUnreachable(parent.into(), e))?;
    Ok(Target {
        dest: dir.join(name),
        existing: None,
    })
}

/// The directory part of `path` ("." for a bare name).
fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// [`check`] of an existing regular file.
fn check_existing(path: &Path, via_link: bool, kept: &[Stream]) -> Result<Target, Problem> {
    // Opened for writing without truncating (the old file stays as it is until the end), and
    // without blocking should it have become a FIFO since: then what was opened is checked.
    let opened = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .and_then(|f| f.metadata());
    let opened = match opened {
        Ok(m) if m.is_file() => m,
        Ok(m) => {
            return Err(Problem::NotRegular {
                kind: FileKind::of(m.file_type()),
                via_link,
            })
        }
        Err(e) => return Err(Problem::NotWritable(e)),
    };
    if let Some(s) = kept.iter().find(|s| s.is(&opened)) {
        return Err(Problem::StandardStream(*s));
    }
    let dest = fs::canonicalize(path).map_err(Problem::Unresolved)?;
    // A file reached through /proc/PID/fd may have no name (deleted) or another one.
    let named =
        fs::metadata(&dest).is_ok_and(|m| (m.dev(), m.ino()) == (opened.dev(), opened.ino()));
    if !named {
        return Err(Problem::Unnamed { dest });
    }
    Ok(Target {
        dest,
        existing: Some(opened),
    })
}

/// Whether paths `a` and `b` name one file: the same path, the same existing file (through a
/// link, `sub/..`, another hard link), or the same name in the same directory.
pub fn same_file(a: &Path, b: &Path) -> bool {
    if a == b {
        return true;
    }
    if let (Ok(x), Ok(y)) = (fs::metadata(a), fs::metadata(b)) {
        return (x.dev(), x.ino()) == (y.dev(), y.ino());
    }
    let place = |p: &Path| {
        Some((
            fs::canonicalize(parent_of(p)).ok()?,
            p.file_name()?.to_owned(),
        ))
    };
    matches!((place(a), place(b)), (Some(x), Some(y)) if x == y)
}

/// The name of the temporary file beside `dest`: hidden, with this process's id, so that two
/// runs writing into one directory do not collide.
pub fn temp_path(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    dest.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Removes the temporary files beside `dest` that a run killed before it could remove them
/// (SIGKILL, a crash) left behind: hidden files named as [`temp_path`] names them for `dest`
/// (`.NAME.tmp-PID`, or with `.N` after it), regular, owned by this user, whose PID runs no
/// more. A file of a run still going (its PID alive, this process's own included) is left, and
/// so is anything this user does not own or that is not a regular file. Returns how many were
/// removed. [`Staged::create`] calls it; a writer that writes to [`temp_path`] itself should
/// call it first.
pub fn remove_stale_temps(dest: &Path) -> usize {
    let Some(name) = dest.file_name() else {
        return 0;
    };
    let prefix = format!(".{}.tmp-", name.to_string_lossy());
    let dir = parent_of(dest);
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let me = std::process::id();
    let uid = nix::unistd::geteuid().as_raw();
    let mut removed = 0;
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(rest) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        let Some(pid) = stale_temp_pid(rest) else {
            continue;
        };
        if pid == me || pid_runs(pid) {
            continue;
        }
        let path = entry.path();
        let ours = fs::symlink_metadata(&path).is_ok_and(|m| m.is_file() && m.uid() == uid);
        if ours && fs::remove_file(&path).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// The PID in the tail of a temporary file's name (`PID` or `PID.N`, digits only).
fn stale_temp_pid(tail: &str) -> Option<u32> {
    let (pid, n) = tail.split_once('.').unwrap_or((tail, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(pid) || !digits(n) {
        return None;
    }
    pid.parse().ok().filter(|&p| p > 0)
}

/// Whether a process `pid` exists (one of another user counts: EPERM says it runs).
fn pid_runs(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    !matches!(
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), None),
        Err(nix::errno::Errno::ESRCH)
    )
}

/// A file being written to a temporary name beside its destination, waiting to be renamed into
/// place by [`Staged::commit`] or [`commit_all`]. Dropped uncommitted, the temporary file is
/// removed.
#[derive(Debug)]
pub struct Staged {
    temp: PathBuf,
    dest: PathBuf,
    file: Option<File>,
    done: bool,
}

impl Staged {
    /// Makes a new, empty temporary file beside `dest` ([`temp_path`], or that name with `.1`,
    /// `.2`, ... if it is taken), after removing the ones killed runs left
    /// ([`remove_stale_temps`]): a directory that takes no new file fails here.
    pub fn create(dest: &Path) -> io::Result<Staged> {
        remove_stale_temps(dest);
        let first = temp_path(dest);
        let mut last = None;
        for n in 0..16 {
            let temp = if n == 0 {
                first.clone()
            } else {
                let mut name = first.file_name().unwrap_or(OsStr::new("")).to_owned();
                name.push(format!(".{n}"));
                first.with_file_name(name)
            };
            match OpenOptions::new().write(true).create_new(true).open(&temp) {
                Ok(file) => {
                    return Ok(Staged {
                        temp,
                        dest: dest.to_path_buf(),
                        file: Some(file),
                        done: false,
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no temporary name is free")))
    }

    /// Writes `bytes` to a new temporary file beside `dest` ([`Staged::create`],
    /// [`Staged::fill`]). On failure nothing is left behind.
    pub fn write(dest: &Path, bytes: &[u8]) -> io::Result<Staged> {
        let mut staged = Staged::create(dest)?;
        staged.fill(bytes)?;
        Ok(staged)
    }

    /// A file already written at `temp` (by a writer of its own, e.g. the timeline's, given
    /// [`temp_path`]`(dest)`), to be renamed to `dest`; dropped uncommitted, `temp` is removed.
    pub fn adopt(temp: PathBuf, dest: &Path) -> Staged {
        Staged {
            temp,
            dest: dest.to_path_buf(),
            file: None,
            done: false,
        }
    }

    /// Where the file goes.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// The temporary file (for a writer of its own to write).
    pub fn temp(&self) -> &Path {
        &self.temp
    }

    /// Makes `bytes` the temporary file's contents, flushed to disk.
    pub fn fill(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut f = match self.file.take() {
            Some(f) => f,
            None => OpenOptions::new().write(true).open(&self.temp)?,
        };
        f.set_len(0)?;
        f.write_all(bytes)?;
        f.sync_all()
    }

    /// Refuses a destination that is now something other than a regular file (it was checked
    /// before the run, but may have been replaced since); gives the temporary file the
    /// permissions of the file it replaces.
    fn ready(&self) -> io::Result<()> {
        if let Ok(meta) = fs::symlink_metadata(&self.dest) {
            if !meta.is_file() {
                return Err(io::Error::other(format!(
                    "{} is now {}, not a regular file: not replaced",
                    self.dest.display(),
                    kind_of(meta.file_type())
                )));
            }
            fs::set_permissions(&self.temp, meta.permissions())?;
        }
        Ok(())
    }

    /// Renames the temporary file over the destination (atomic within one file system), unless
    /// the destination is now something other than a regular file: that is refused, and the
    /// temporary file removed. A replaced file lends its permissions to the new one.
    pub fn commit(mut self) -> io::Result<PathBuf> {
        self.ready()?;
        self.file = None;
        fs::rename(&self.temp, &self.dest)?;
        self.done = true;
        sync_dir(&self.dest);
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

/// Flushes the directory entry of `dest`, so that its new name survives a crash.
fn sync_dir(dest: &Path) {
    if let Some(dir) = dest.parent() {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

/// Which of the files given to [`commit_all`] could not be put in place, and why.
#[derive(Debug)]
pub struct CommitError {
    /// Its index among the files given.
    pub index: usize,
    /// Why.
    pub error: io::Error,
}

impl fmt::Display for CommitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for CommitError {}

/// Renames every staged file into place, all or nothing as far as the file system allows:
/// first every destination is checked to be a regular file or nothing (else nothing is
/// renamed); then each is renamed, and should a rename fail, the files this call created
/// before it are removed again (a file it replaced stays replaced). Every temporary file not
/// renamed is removed. Returns the destinations written.
pub fn commit_all(staged: Vec<Staged>) -> Result<Vec<PathBuf>, CommitError> {
    for (index, s) in staged.iter().enumerate() {
        s.ready().map_err(|error| CommitError { index, error })?;
    }
    let existed: Vec<bool> = staged
        .iter()
        .map(|s| fs::symlink_metadata(&s.dest).is_ok())
        .collect();
    let mut written = Vec::with_capacity(staged.len());
    for (index, mut s) in staged.into_iter().enumerate() {
        s.file = None;
        if let Err(error) = fs::rename(&s.temp, &s.dest) {
            for (dest, _) in written.iter().zip(&existed).filter(|(_, e)| !**e) {
                let _ = fs::remove_file(dest);
            }
            return Err(CommitError { index, error });
        }
        s.done = true;
        written.push(s.dest.clone());
    }
    for dest in &written {
        sync_dir(dest);
    }
    Ok(written)
}

/// Writes every `(dest, bytes)` whole: first each to a temporary file beside it, then, only if
/// all of those succeeded, renames each into place ([`commit_all`]). Returns the paths written.
/// If a temporary file cannot be written, every temporary file is removed and no destination
/// is touched.
pub fn write_all_atomically(files: Vec<(PathBuf, Vec<u8>)>) -> io::Result<Vec<PathBuf>> {
    let mut staged = Vec::with_capacity(files.len());
    for (dest, bytes) in files {
        let s = Staged::write(&dest, &bytes)
            .map_err(|e| io::Error::new(e.kind(), format!("writing {}: {e}", dest.display())))?;
        staged.push(s);
    }
    let dests: Vec<PathBuf> = staged.iter().map(|s| s.dest.clone()).collect();
    commit_all(staged).map_err(|e| {
        io::Error::new(
            e.error.kind(),
            format!("renaming into {}: {}", dests[e.index].display(), e.error),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, PermissionsExt as _};

    /// A fresh directory under the system temp dir (canonical), removed on drop.
    struct Dir(PathBuf);

    impl Dir {
        fn new(tag: &str) -> Dir {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let d =
                std::env::temp_dir().join(format!("outfile-{tag}-{}-{nanos}", std::process::id()));
            fs::create_dir_all(&d).unwrap();
            Dir(d.canonicalize().unwrap())
        }

        fn path(&self, rel: &str) -> PathBuf {
            self.0.join(rel)
        }

        fn names(&self) -> Vec<String> {
            let mut v: Vec<String> = fs::read_dir(&self.0)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// The temporary files of a killed run are removed by the next run's [`Staged::create`];
    /// those of a run still going, of another destination, not named as ours or not regular
    /// files, stay.
    #[test]
    fn a_killed_runs_temporary_files_go_when_the_next_run_writes() {
        let d = Dir::new("stale");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let alive = nix::unistd::getppid().as_raw();
        for name in [
            format!(".r.json.tmp-{dead}"),
            format!(".r.json.tmp-{dead}.1"),
            format!(".r.json.tmp-{alive}"),
            format!(".r.json.tmp-{dead}x"),
            format!(".s.json.tmp-{dead}"),
        ] {
            fs::write(d.path(&name), b"half").unwrap();
        }
        fs::create_dir(d.path(&format!(".r.json.tmp-{dead}.2"))).unwrap();
        let s = Staged::write(&d.path("r.json"), b"x").unwrap();
        let mut want = vec![
            format!(".r.json.tmp-{}", std::process::id()),
            format!(".r.json.tmp-{alive}"),
            format!(".r.json.tmp-{dead}.2"),
            format!(".r.json.tmp-{dead}x"),
            format!(".s.json.tmp-{dead}"),
        ];
        want.sort();
        assert_eq!(d.names(), want);
        s.commit().unwrap();
        assert_eq!(remove_stale_temps(&d.path("r.json")), 0);
        assert_eq!(remove_stale_temps(&d.path("s.json")), 1);
        assert!(!d.path(&format!(".s.json.tmp-{dead}")).exists());
    }

    fn fifo(path: &Path) {
        nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    }

    /// `check` on another thread, failing if it has not returned in 5 s (opening a FIFO with no
    /// reader would block for ever).
    fn bounded(path: &Path) -> Result<Target, Problem> {
        let (tx, rx) = std::sync::mpsc::channel();
        let p = path.to_path_buf();
        std::thread::spawn(move || {
            let _ = tx.send(check(&p, &[]));
        });
        rx.recv_timeout(std::time::Duration::from_secs(5))
            .unwrap_or_else(|_| panic!("check({}) hangs", path.display()))
    }

    fn not_regular(r: Result<Target, Problem>) -> (FileKind, bool) {
        match r {
            Err(Problem::NotRegular { kind, via_link }) => (kind, via_link),
            other => panic!("not refused as not regular: {other:?}"),
        }
    }

    #[test]
    fn each_kind_of_file_is_classified_and_only_a_regular_file_is_accepted() {
        let d = Dir::new("kinds");
        fs::write(d.path("plain"), "old").unwrap();
        fs::create_dir(d.path("dir")).unwrap();
        fifo(&d.path("fifo"));
        let _sock = std::os::unix::net::UnixListener::bind(d.path("sock")).unwrap();
        for (name, to) in [
            ("to-plain", "plain"),
            ("to-dir", "dir"),
            ("to-fifo", "fifo"),
            ("to-sock", "sock"),
            ("dangling", "nowhere"),
        ] {
            symlink(d.path(to), d.path(name)).unwrap();
        }
        let kind = |n: &str| FileKind::of(fs::symlink_metadata(d.path(n)).unwrap().file_type());
        assert_eq!(kind("plain"), FileKind::Regular);
        assert_eq!(kind("dir"), FileKind::Directory);
        assert_eq!(kind("fifo"), FileKind::Fifo);
        assert_eq!(kind("sock"), FileKind::Socket);
        assert_eq!(kind("to-fifo"), FileKind::Symlink);
        let null = FileKind::of(fs::metadata("/dev/null").unwrap().file_type());
        assert_eq!(null, FileKind::CharDevice);
        assert_eq!(
            kind_of(fs::metadata(d.path("fifo")).unwrap().file_type()),
            "a FIFO or pipe"
        );
        assert_eq!(FileKind::Fifo.special_name(), "a FIFO (a special file)");

        for (name, want) in [
            ("dir", (FileKind::Directory, false)),
            ("fifo", (FileKind::Fifo, false)),
            ("sock", (FileKind::Socket, false)),
            ("to-dir", (FileKind::Directory, true)),
            ("to-fifo", (FileKind::Fifo, true)),
            ("to-sock", (FileKind::Socket, true)),
        ] {
            assert_eq!(not_regular(bounded(&d.path(name))), want, "{name}");
        }
        assert_eq!(
            not_regular(bounded(Path::new("/dev/null"))),
            (FileKind::CharDevice, false)
        );
        let e = bounded(&d.path("to-fifo")).unwrap_err();
        assert!(e.names_no_file());
        assert!(
            e.to_string()
                .starts_with("is a symbolic link to a FIFO or pipe, not a regular file"),
            "{e}"
        );
        assert!(
            e.describe(Words::Special)
                .starts_with("leads to a FIFO (a special file), not a regular file"),
            "{e}"
        );
        match bounded(&d.path("dangling")) {
            Err(e @ Problem::Dangling { .. }) => {
                assert!(e.to_string().contains("does not exist"), "{e}")
            }
            other => panic!("{other:?}"),
        }

        // A regular file, and a link to one: the file itself, opened, unchanged.
        let t = check(&d.path("plain"), &[]).unwrap();
        assert_eq!(t.dest, d.path("plain"));
        assert!(t.existing.is_some());
        let t = check(&d.path("to-plain"), &[]).unwrap();
        assert_eq!(t.dest, d.path("plain"), "the link is followed");
        assert_eq!(fs::read_to_string(d.path("plain")).unwrap(), "old");
        // A new file: its directory's canonical path.
        let t = check(&d.path("dir/../new.json"), &[]).unwrap();
        assert_eq!((t.dest, t.existing.is_none()), (d.path("new.json"), true));
        // Refusals of a new file's path.
        assert!(matches!(check(Path::new(""), &[]), Err(Problem::Empty)));
        assert!(matches!(
            check(&d.path("new/"), &[]),
            Err(Problem::NamesDirectory)
        ));
        assert!(matches!(
            check(&d.path("no/such/x.json"), &[]),
            Err(Problem::ParentMissing(p)) if p == d.path("no/such")
        ));
        let e = check(&d.path("plain/x.json"), &[]).unwrap_err();
        assert!(
            matches!(&e, Problem::ParentNotDirectory(p) if *p == d.path("plain")),
            "{e}"
        );
        assert!(e.to_string().ends_with("plain is not a directory"), "{e}");
        assert!(!check(&d.path("no/x"), &[]).unwrap_err().names_no_file());
        // Nothing was made, changed or removed.
        assert_eq!(
            d.names(),
            [
                "dangling", "dir", "fifo", "plain", "sock", "to-dir", "to-fifo", "to-plain",
                "to-sock"
            ]
        );
    }

    #[test]
    fn a_kept_standard_stream_s_file_is_refused() {
        // (The test's standard error is not a regular file of this directory: never refused.)
        let d = Dir::new("stream");
        fs::write(d.path("f"), "").unwrap();
        let t = check(&d.path("f"), &[Stream::Output, Stream::Error]).unwrap();
        assert_eq!(standard_stream(t.existing.as_ref().unwrap()), None);
        assert_eq!(
            Problem::StandardStream(Stream::Error).to_string(),
            "is the file the standard error goes to: give another file"
        );
    }

    #[test]
    fn one_file_is_found_through_links_dot_dot_and_hard_links() {
        let d = Dir::new("same");
        fs::create_dir(d.path("sub")).unwrap();
        let x = d.path("x.json");
        let dotted = d.path("sub/../x.json");
        // Not there yet: the same name in the same directory.
        assert!(same_file(&x, &dotted));
        assert!(check(&x, &[])
            .unwrap()
            .same_file(&check(&dotted, &[]).unwrap()));
        assert!(!same_file(&x, &d.path("y.json")));
        assert!(!check(&x, &[])
            .unwrap()
            .same_file(&check(&d.path("y.json"), &[]).unwrap()));
        // There: through a symbolic link, `..`, and another hard link.
        fs::write(&x, "x").unwrap();
        symlink("x.json", d.path("link.svg")).unwrap();
        fs::hard_link(&x, d.path("hard.json")).unwrap();
        let target = check(&x, &[]).unwrap();
        for other in ["link.svg", "sub/../x.json", "hard.json", "sub/../link.svg"] {
            let p = d.path(other);
            assert!(same_file(&x, &p), "{other}");
            assert!(target.same_file(&check(&p, &[]).unwrap()), "{other}");
            assert!(target.is(&p), "{other}");
        }
        fs::write(d.path("y.json"), "y").unwrap();
        assert!(!same_file(&x, &d.path("y.json")));
        assert!(!target.same_file(&check(&d.path("y.json"), &[]).unwrap()));
        assert!(!target.is(&d.path("y.json")));
    }

    #[test]
    fn probe_finds_a_directory_that_takes_files_and_leaves_nothing() {
        let d = Dir::new("probe");
        let t = check(&d.path("new.json"), &[]).unwrap();
        t.probe_dir().unwrap();
        assert!(d.names().is_empty());
        let gone = Target {
            dest: d.path("gone/x.json"),
            existing: None,
        };
        assert!(matches!(gone.probe_dir(), Err(Problem::DirNotWritable(..))));
    }

    #[test]
    fn staged_files_are_renamed_into_place_keeping_a_replaced_file_s_mode() {
        let d = Dir::new("commit");
        let old = d.path("old.csv");
        fs::write(&old, "old").unwrap();
        fs::set_permissions(&old, fs::Permissions::from_mode(0o640)).unwrap();
        // A temporary name that is taken: the next one is used.
        fs::write(temp_path(&d.path("new.json")), "stale").unwrap();
        let a = Staged::write(&old, b"new").unwrap();
        let mut b = Staged::create(&d.path("new.json")).unwrap();
        assert_ne!(b.temp(), temp_path(&d.path("new.json")));
        assert!(b.temp().starts_with(&d.0));
        b.fill(b"{}").unwrap();
        let written = commit_all(vec![a, b]).unwrap();
        assert_eq!(written, [old.clone(), d.path("new.json")]);
        assert_eq!(fs::read_to_string(&old).unwrap(), "new");
        assert_eq!(
            fs::metadata(&old).unwrap().permissions().mode() & 0o777,
            0o640
        );
        assert_eq!(fs::read_to_string(d.path("new.json")).unwrap(), "{}");
        fs::remove_file(temp_path(&d.path("new.json"))).unwrap();
        assert_eq!(d.names(), ["new.json", "old.csv"]);
    }

    #[test]
    fn a_failed_commit_leaves_nothing_written_and_no_temporary_file() {
        let d = Dir::new("all-or-nothing");
        let old = d.path("old.json");
        fs::write(&old, "old").unwrap();
        // One destination has become a FIFO since the check: nothing is renamed.
        let a = Staged::write(&old, b"new").unwrap();
        let b = Staged::write(&d.path("new.svg"), b"<svg/>").unwrap();
        let c = Staged::write(&d.path("late.json"), b"{}").unwrap();
        fifo(&d.path("late.json"));
        let e = commit_all(vec![a, b, c]).unwrap_err();
        assert_eq!(e.index, 2);
        assert!(
            e.to_string().contains("not a regular file: not replaced"),
            "{e}"
        );
        assert_eq!(fs::read_to_string(&old).unwrap(), "old");
        assert_eq!(d.names(), ["late.json", "old.json"]);
        fs::remove_file(d.path("late.json")).unwrap();

        // A rename that fails: the new file placed before it is removed again.
        let a = Staged::write(&d.path("first.svg"), b"<svg/>").unwrap();
        let b = Staged::write(&d.path("second.json"), b"{}").unwrap();
        fs::remove_file(b.temp()).unwrap();
        let e = commit_all(vec![a, b]).unwrap_err();
        assert_eq!(e.index, 1);
        assert_eq!(d.names(), ["old.json"]);

        // A temporary file that cannot be written: no destination is touched.
        let e = write_all_atomically(vec![
            (old.clone(), b"new".to_vec()),
            (d.path("gone/s.json"), b"{}".to_vec()),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("gone/s.json"), "{e}");
        assert_eq!(fs::read_to_string(&old).unwrap(), "old");
        assert_eq!(d.names(), ["old.json"]);

        // Dropped uncommitted: removed.
        let s = Staged::write(&d.path("r.json"), b"x").unwrap();
        assert_eq!(
            d.names(),
            [
                format!(".r.json.tmp-{}", std::process::id()),
                "old.json".into()
            ]
        );
        drop(s);
        assert_eq!(d.names(), ["old.json"]);
    }
}
