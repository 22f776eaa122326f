//! Smoke test of the `compare` program: the real binary, run tiny (`--tiny`: a few hundred
//! messages per model, 1 run), must exit 0 and write JSON, CSV and plots in which every model
//! measured something and every message arrived. Not a speed test: no rate is compared or
//! bounded.

use benches::compare::workloads::MODEL_NAMES;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

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

fn scratch_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("compare-smoke-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch directory");
    d
}

#[test]
fn tiny_run_writes_complete_results() {
    let dir = scratch_dir();
    let (json_path, csv_path, plots) = (dir.join("r.json"), dir.join("r.csv"), dir.join("plots"));
    let out = Command::new(env!("CARGO_BIN_EXE_compare"))
        .arg("--tiny")
        .arg("--json")
        .arg(&json_path)
        .arg("--csv")
        .arg(&csv_path)
        .arg("--plots")
        .arg(&plots)
        .output()
        .expect("running compare");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "compare --tiny failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    // Progress on stderr, the table and the targets on stdout.
    assert!(stderr.contains("[1/"), "{stderr}");
    assert!(stdout.contains("Targets"), "{stdout}");
    assert!(stdout.contains("placements:"), "{stdout}");

    let json = Parser::parse(&std::fs::read_to_string(&json_path).expect("JSON written"));
    assert_eq!(json.get("mode").str(), "tiny");
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
    let _ = std::fs::remove_dir_all(&dir);
}
