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
//! The checks, the temporary files and the renames are [`userlib::outfile`]'s, shared with the
//! examples and `pidin-sim`; this module holds the comparison's options and words. What is
//! written (the text of the JSON, CSV and SVGs) is made elsewhere ([`super::report`],
//! [`super::plot`]).

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use userlib::outfile::{self, Problem, Stream, Target};
pub use userlib::outfile::{kind_of, temp_path, write_all_atomically, Staged};

#[cfg(test)]
use std::io;

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

/// A refusal by [`outfile::check`] of `path` (given to `option`), in the comparison's words.
fn refused(option: &str, path: &Path, problem: &Problem) -> OutputError {
    let reason = match problem {
        Problem::StandardStream(s) => format!(
            "is the file the {} goes to (where the table and progress are printed): give \
             another file",
            s.name()
        ),
        p => p.to_string(),
    };
    refuse(option, path, reason)
}

/// [`check_file`], keeping what was found ([`Target::same_file`] compares two).
fn check_target(option: &str, path: &Path) -> Result<Target, OutputError> {
    let target = outfile::check(path, &[Stream::Output, Stream::Error])
        .map_err(|p| refused(option, path, &p))?;
    target.probe_dir().map_err(|p| refused(option, path, &p))?;
    Ok(target)
}

/// Checks that `path` (given to `option`) can be written at the end of the run, without
/// creating or changing it, and returns where it will be written: the file itself if it
/// exists (a symbolic link is followed, so the link stays a link), else the path in its
/// directory's canonical form. Refused ([`outfile::check`]): an empty path; an existing path
/// that is not a regular file (a directory, device, FIFO or pipe, socket, a symbolic link to
/// one of these or to nothing); the file standard output or error goes to (where the table and
/// the progress are printed); a missing parent directory, a parent that is not a directory; an
/// existing file that cannot be opened for writing; and a directory in which no file can be
/// created. Nothing that is not a regular file is opened.
pub fn check_file(option: &str, path: &Path) -> Result<PathBuf, OutputError> {
    check_target(option, path).map(|t| t.dest)
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
    if let Err(e) = outfile::probe_dir(dir) {
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
        let mut targets: [Option<Target>; 4] = Default::default();
        for (i, (option, path)) in given.iter().enumerate() {
            let Some(path) = path else { continue };
            let target = check_target(option, path)?;
            for (j, earlier) in targets[..i].iter().enumerate() {
                if earlier.as_ref().is_some_and(|e| e.same_file(&target)) {
                    return Err(refuse(
                        option,
                        path,
                        format!("is the same file as {}'s: give each its own", given[j].0),
                    ));
                }
            }
            let dest = &target.dest;
            if let Some(dir) = plots {
                let is_dir = dest == dir;
                let is_plot = dest.parent() == Some(dir)
                    && dest
                        .file_name()
                        .is_some_and(|n| plot_files.iter().any(|f| n == *f))
                    || charts.values().any(|c| c == dest);
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
            targets[i] = Some(target);
        }
        Ok(targets.map(|t| t.map(|t| t.dest)))
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

#[cfg(test)]
#[path = "output_tests.rs"]
mod tests;
