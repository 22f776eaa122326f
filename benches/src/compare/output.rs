//! Where the comparison's files go: the output options are checked before anything is
//! measured, and every file is written whole at the end (a temporary file beside it, then a
//! rename), so a failed run never leaves a half-written file and never clobbers an old one.
//!
//! What is written (the text of the JSON, CSV and SVGs) is made elsewhere
//! ([`super::report`], [`super::plot`]); this module only checks paths and moves bytes.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
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

/// Checks that `path` (given to `option`) can be written at the end of the run, without
/// creating or changing it, and returns where it will be written: the file itself if it
/// exists (a symbolic link is followed, so the link stays a link), else the path in its
/// directory's canonical form. Refused: an empty path, a directory, a missing parent
/// directory, a parent that is not a directory, an existing file that cannot be opened for
/// writing, and a directory in which no file can be created.
pub fn check_file(option: &str, path: &Path) -> Result<PathBuf, OutputError> {
    if path.as_os_str().is_empty() {
        return Err(refuse(option, path, "the path is empty"));
    }
    if path.is_dir() {
        return Err(refuse(
            option,
            path,
            "is a directory; give a file name (the file is created or replaced)",
        ));
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
    let dest = if path.exists() {
        // Open for writing without truncating: the old file stays as it is until the end.
        if let Err(e) = OpenOptions::new().write(true).open(path) {
            return Err(refuse(
                option,
                path,
                format!("the existing file cannot be opened for writing: {e}"),
            ));
        }
        fs::canonicalize(path).map_err(|e| refuse(option, path, e.to_string()))?
    } else {
        let dir = fs::canonicalize(parent).map_err(|e| refuse(option, path, e.to_string()))?;
        dir.join(name)
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
    let created = if dir.exists() {
        if !dir.is_dir() {
            return Err(refuse(option, dir, "exists and is not a directory"));
        }
        false
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
    /// [`check_dir`] does (creating it, so that `--json` may name a file in it), each file as
    /// [`check_file`] does, and that no two outputs are the same file (`plot_files`: the names
    /// the plots take in their directory). On any refusal a plots directory made here is
    /// removed again.
    pub fn check(
        files: FileOptions<'_>,
        plots: Option<&Path>,
        plot_files: &[&str],
    ) -> Result<Outputs, OutputError> {
        let mut out = Outputs::default();
        if let Some(d) = plots {
            let (dir, created) = check_dir("--plots", d)?;
            out.plots = Some(dir);
            out.created_plots_dir = created;
        }
        match Outputs::check_files(files, out.plots.as_deref(), plot_files) {
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
                        .is_some_and(|n| plot_files.iter().any(|f| n == *f));
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

    /// Renames the temporary file over the destination (atomic within one file system).
    pub fn commit(mut self) -> io::Result<PathBuf> {
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
