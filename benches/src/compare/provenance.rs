//! Where a comparison's results came from: the schema version of the JSON and CSV, the commit
//! the programs were measured at, and when the run started (UTC).
//!
//! The commit is asked of git at run time, in the source tree the program was built from
//! (`CARGO_MANIFEST_DIR`, never the current directory, which may be another repository); if
//! that fails (no git, the tree moved or is not a git checkout) the commit the build script
//! saw when the binary was built is used; else it is `unknown`. Both are kept, so a binary
//! older than its tree can be noticed. The outputs' fields are documented in `docs/outputs.md`.

use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

/// The version of the JSON and CSV layout. Raise it when a field is renamed, removed or changes
/// meaning (adding one is enough reason too: readers can then tell what to expect). Files
/// without it are version 1 (before provenance was stamped); `docs/outputs.md` lists every
/// version.
pub const SCHEMA_VERSION: u32 = 3;

/// What `commit` is unknown as.
pub const UNKNOWN: &str = "unknown";

/// Where a run's results came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provenance {
    /// The commit measured: a full hash, or [`UNKNOWN`].
    pub commit: String,
    /// Whether tracked files differed from `commit` (a dirty tree); `None` if unknown.
    pub dirty: Option<bool>,
    /// How `commit` was found: `git` (asked at run time), `build` (recorded when the binary was
    /// built) or `unknown`.
    pub commit_source: &'static str,
    /// The commit the build script saw when the binary was built, or [`UNKNOWN`].
    pub build_commit: String,
    /// Whether that build's tree was dirty; `None` if unknown.
    pub build_dirty: Option<bool>,
    /// When the run started: UTC, RFC 3339, whole seconds (`2026-11-25T14:03:07Z`).
    pub started_utc: String,
}

impl Provenance {
    /// The provenance of a run started at `started`, asking git now.
    pub fn current(started: SystemTime) -> Provenance {
        let tree = Path::new(env!("CARGO_MANIFEST_DIR"));
        let run_time = git_commit(tree);
        let build_commit = nonempty(env!("BENCHES_BUILD_COMMIT"));
        let build_dirty = parse_dirty(env!("BENCHES_BUILD_DIRTY"));
        Provenance::choose(run_time, build_commit, build_dirty, started)
    }

    /// The run-time commit if known, else the build's, else unknown.
    fn choose(
        run_time: Option<(String, Option<bool>)>,
        build_commit: Option<String>,
        build_dirty: Option<bool>,
        started: SystemTime,
    ) -> Provenance {
        let (commit, dirty, commit_source) = match (run_time, &build_commit) {
            (Some((c, d)), _) => (c, d, "git"),
            (None, Some(c)) => (c.clone(), build_dirty, "build"),
            (None, None) => (UNKNOWN.to_string(), None, "unknown"),
        };
        Provenance {
            commit,
            dirty,
            commit_source,
            build_commit: build_commit.unwrap_or_else(|| UNKNOWN.to_string()),
            build_dirty,
            started_utc: rfc3339_utc(started),
        }
    }

    /// The commit for a header line: 12 hex digits, ` (dirty)` if so, e.g. `98530eb1c2d4 (dirty)`.
    pub fn short(&self) -> String {
        let mut s: String = self.commit.chars().take(12).collect();
        if self.dirty == Some(true) {
            s.push_str(" (dirty)");
        }
        s
    }

    /// A warning when the binary was built at another commit than the tree it was run from
    /// (the figures are the binary's): `None` when they agree or either is unknown.
    pub fn mismatch_note(&self) -> Option<String> {
        (self.commit_source == "git"
            && self.build_commit != UNKNOWN
            && self.build_commit != self.commit)
            .then(|| {
                format!(
                    "the binary was built at commit {} but the source tree is at {}: the \
                     figures are the binary's (cargo run rebuilds it)",
                    short_hash(&self.build_commit),
                    short_hash(&self.commit)
                )
            })
    }
}

fn short_hash(h: &str) -> String {
    h.chars().take(12).collect()
}

fn nonempty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// `true`/`false` as the build script writes them; anything else is unknown.
fn parse_dirty(s: &str) -> Option<bool> {
    match s.trim() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// `git -C dir ARGS`'s trimmed stdout, if git ran and succeeded. The caller's `GIT_*`
/// variables (set inside git hooks, say) are removed so that `dir` alone decides the repository.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        // `git status` must not take the index lock: another git command may be running.
        .env("GIT_OPTIONAL_LOCKS", "0")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The commit checked out in `dir` and whether tracked files differ from it (untracked files
/// are ignored, as `git describe --dirty` does); `None` if git cannot say.
pub fn git_commit(dir: &Path) -> Option<(String, Option<bool>)> {
    if !dir.is_dir() {
        return None;
    }
    let commit = git(dir, &["rev-parse", "--verify", "HEAD"])?;
    if commit.len() < 40 || !commit.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let dirty = git(dir, &["status", "--porcelain", "--untracked-files=no"]).map(|s| !s.is_empty());
    Some((commit, dirty))
}

/// `t` as an RFC 3339 UTC timestamp with whole seconds: `2026-11-25T14:03:07Z`. Times before
/// 1970 are written as 1970-01-01T00:00:00Z (no clock here is that wrong).
pub fn rfc3339_utc(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The proleptic Gregorian date `days` days after 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, for days since the epoch that are not negative).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> String {
        rfc3339_utc(UNIX_EPOCH + Duration::from_secs(secs))
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(86_399), "1970-01-01T23:59:59Z");
        // Leap days: 2000 (divisible by 400) has one, 2100 will not.
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(951_868_800), "2000-03-01T00:00:00Z");
        assert_eq!(at(4_107_542_400), "2100-03-01T00:00:00Z");
        assert_eq!(at(1_709_164_800), "2024-02-29T00:00:00Z");
        assert_eq!(at(1_735_689_599), "2024-12-31T23:59:59Z");
        assert_eq!(at(1_764_079_387), "2025-11-25T14:03:07Z");
        assert_eq!(
            rfc3339_utc(UNIX_EPOCH - Duration::from_secs(5)),
            "1970-01-01T00:00:00Z"
        );
        // Every day of 400 years (a whole Gregorian cycle) in order, each date one day on.
        let mut prev = (1969, 12, 31);
        for day in 0..146_097 {
            let cur = civil_from_days(day);
            let next_day = (prev.0, prev.1, prev.2 + 1);
            let next_month = (prev.0, prev.1 + 1, 1);
            let next_year = (prev.0 + 1, 1, 1);
            assert!(
                cur == next_day || cur == next_month || cur == next_year,
                "{prev:?} then {cur:?}"
            );
            assert!(cur.2 <= 31 && (1..=12).contains(&cur.1));
            prev = cur;
        }
        assert_eq!(prev, (2369, 12, 31));
    }

    #[test]
    fn commit_falls_back_from_run_time_to_build_to_unknown() {
        let t = UNIX_EPOCH + Duration::from_secs(1_764_079_387);
        let a = "a".repeat(40);
        let b = "b".repeat(40);
        let p = Provenance::choose(
            Some((a.clone(), Some(true))),
            Some(b.clone()),
            Some(false),
            t,
        );
        assert_eq!(
            (p.commit.as_str(), p.dirty, p.commit_source),
            (a.as_str(), Some(true), "git")
        );
        assert_eq!(p.build_commit, b);
        assert_eq!(p.started_utc, "2025-11-25T14:03:07Z");
        assert_eq!(p.short(), "aaaaaaaaaaaa (dirty)");
        let note = p.mismatch_note().expect("built at another commit");
        assert!(
            note.contains("bbbbbbbbbbbb") && note.contains("aaaaaaaaaaaa"),
            "{note}"
        );

        let p = Provenance::choose(None, Some(b.clone()), Some(false), t);
        assert_eq!(
            (p.commit.as_str(), p.dirty, p.commit_source),
            (b.as_str(), Some(false), "build")
        );
        assert_eq!(p.mismatch_note(), None);
        assert_eq!(p.short(), "bbbbbbbbbbbb");

        let p = Provenance::choose(None, None, None, t);
        assert_eq!(
            (p.commit.as_str(), p.dirty, p.commit_source),
            (UNKNOWN, None, "unknown")
        );
        assert_eq!(p.build_commit, UNKNOWN);
        assert_eq!(p.mismatch_note(), None);

        let same = Provenance::choose(Some((a.clone(), Some(false))), Some(a), None, t);
        assert_eq!(same.mismatch_note(), None);
    }

    #[test]
    fn git_commit_of_this_tree_or_none_outside_a_repository() {
        // In this checkout git knows the commit (if git is installed: else None, as outside).
        if let Some((c, _)) = git_commit(Path::new(env!("CARGO_MANIFEST_DIR"))) {
            assert_eq!(c.len(), 40, "{c}");
            assert!(c.chars().all(|c| c.is_ascii_hexdigit()), "{c}");
        }
        assert_eq!(
            git_commit(Path::new("/nonexistent/compare-provenance")),
            None
        );
        // /proc is never a git checkout.
        assert_eq!(git_commit(Path::new("/proc")), None);
    }

    #[test]
    fn build_values_parse() {
        assert_eq!(parse_dirty("true"), Some(true));
        assert_eq!(parse_dirty("false\n"), Some(false));
        assert_eq!(parse_dirty(""), None);
        assert_eq!(nonempty("  "), None);
        assert_eq!(nonempty(" abc\n").as_deref(), Some("abc"));
    }
}
