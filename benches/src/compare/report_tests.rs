//! Tests of `report.rs`.
use super::*;
use crate::compare::provenance::{Provenance, SCHEMA_VERSION};
use crate::compare::test_records::{machine, rec, with_runs};

/// A record's own fields in the JSON results (before `run_msgs_per_s` and `ratios`) and the
/// CSV (before the `vs_*` columns), in order, as `docs/outputs.md` lists them.
pub(crate) const RECORD_FIELDS: [&str; 28] = [
    "model",
    "label",
    "workload",
    "msg_size",
    "batch",
    "producers",
    "placement",
    "runs",
    "msgs_per_run",
    "msgs_sent",
    "msgs_received",
    "msgs_per_s",
    "msgs_per_s_min",
    "msgs_per_s_max",
    "nominal_msgs_per_s",
    "pace_missed",
    "p50_us",
    "p99_us",
    "p999_us",
    "kernel_entries_per_msg",
    "sender_entries_per_msg",
    "wakeups_per_msg",
    "spins_per_msg",
    "spin_wakeups_per_msg",
    "ctx_switches_per_msg",
    "voluntary_csw_per_msg",
    "involuntary_csw_per_msg",
    "cpu_ns_per_msg",
];

/// The CSV's stamp columns, after the ratios, in order, as `docs/outputs.md` lists them.
pub(crate) const STAMP_COLUMNS: [&str; 11] = [
    "schema_version",
    "commit",
    "dirty",
    "started_utc",
    "mode",
    "cpu_model",
    "cpus_online",
    "cpus_allowed",
    "kernel",
    "kernel_spin_ns",
    "placement_detail",
];

fn meta() -> RunMeta {
    RunMeta {
        mode: "quick".into(),
        runs: 5,
        placements: vec![
            ("same-cpu".into(), "consumer CPU 0, producer CPU 0".into()),
            ("cross-cpu".into(), "consumer CPU 0, producer CPU 1".into()),
        ],
        elapsed_s: 12.5,
        kernel_spin_ns: 20_000,
        notes: vec!["a note, with \"quotes\"".into()],
        provenance: Provenance {
            commit: "0123456789abcdef0123456789abcdef01234567".into(),
            dirty: Some(true),
            commit_source: "git",
            build_commit: "unknown".into(),
            build_dirty: None,
            started_utc: "2026-11-25T14:03:07Z".into(),
        },
    }
}

/// A varied set: round trips at two sizes and placements, one-way, paced.
fn sample() -> Vec<Record> {
    use Workload::*;
    let mut v = vec![
        rec("SRR", RoundTrip, 64, 1, 1, "cross-cpu", 1_000_000.0),
        rec("futex", RoundTrip, 64, 1, 1, "cross-cpu", 1_200_000.0),
        rec("pipe", RoundTrip, 64, 1, 1, "cross-cpu", 400_000.0),
        rec("futex", RoundTrip, 64, 1, 1, "same-cpu", 2_000_000.0),
        rec("SRR", RoundTrip, 64, 1, 1, "same-cpu", 1_000_000.0),
        rec("SRR", RoundTrip, 1024, 1, 1, "cross-cpu", 900_000.0),
        rec("asyncmsg", OneWay, 64, 64, 1, "cross-cpu", 30_000_000.0),
        rec("asyncmsg", OneWay, 64, 1, 1, "cross-cpu", 2_000_000.0),
        rec("asyncmsg", OneWay, 64, 64, 16, "cross-cpu", 27_000_000.0),
        rec("SRR", OneWay, 64, 1, 1, "cross-cpu", 1_000_000.0),
        rec("SRR", OneWay, 64, 1, 16, "cross-cpu", 500_000.0),
        rec("crossbeam", OneWay, 64, 1, 1, "cross-cpu", 50_000_000.0),
        rec("crossbeam", OneWay, 64, 1, 16, "cross-cpu", 20_000_000.0),
        rec("spsc-ring", OneWay, 64, 1, 1, "cross-cpu", 100_000_000.0),
        rec("asyncmsg", Paced, 64, 64, 1, "cross-cpu", 10_000.0),
        rec("SRR", Paced, 64, 1, 1, "cross-cpu", 10_000.0),
        rec("spin-futex", RoundTrip, 64, 1, 1, "cross-cpu", 4_000_000.0),
        rec("spsc-batch", OneWay, 64, 256, 1, "cross-cpu", 200_000_000.0),
        rec("SRR", OneWay, 64, 1, 64, "cross-cpu", 900_000.0),
    ];
    // asyncmsg's pace missed (half the rate asked for), SRR's kept.
    v[14].set_pace(20_000.0);
    v[15].set_pace(10_000.0);
    v[0].p50_us = Some(2.5);
    v[0].p99_us = Some(7.25);
    v[0].kernel_entries_per_msg = Some(3.0);
    v[6].sender_entries_per_msg = Some(1.0 / 64.0 + 0.001);
    v[6].kernel_entries_per_msg = Some(0.05);
    v[7].sender_entries_per_msg = Some(1.2);
    v
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

#[test]
fn ratios_against_matching_baselines_only() {
    let mut v = sample();
    v[0].ratios.push(("stale".into(), 9.0));
    add_ratios(&mut v);
    // SRR round trip cross-cpu 64 B: futex, spin-futex and pipe present, unix-socket absent.
    assert!(close(v[0].ratio("futex"), 1.0 / 1.2));
    assert!(close(v[0].ratio("spin-futex"), 0.25));
    assert!(close(v[0].ratio("pipe"), 2.5));
    assert_eq!(v[0].ratio("unix-socket"), None);
    assert_eq!(v[0].ratio("stale"), None, "ratios are cleared first");
    assert_eq!(v[0].ratios.len(), 3);
    // futex gets no ratio against itself, but one against pipe and spin-futex.
    assert_eq!(v[1].ratio("futex"), None);
    assert!(close(v[1].ratio("pipe"), 3.0));
    assert!(close(v[1].ratio("spin-futex"), 0.3));
    assert_eq!(v[16].ratio("spin-futex"), None);
    assert!(close(v[16].ratio("futex"), 4.0 / 1.2));
    // same-cpu SRR uses the same-cpu futex only; no pipe on same-cpu.
    assert!(close(v[4].ratio("futex"), 0.5));
    assert_eq!(v[4].ratio("pipe"), None);
    // 1024 B has no baselines.
    assert!(v[5].ratios.is_empty());
    // one-way asyncmsg/64 1 producer: crossbeam, both rings and SRR.
    assert!(close(v[6].ratio("crossbeam"), 0.6));
    assert!(close(v[6].ratio("spsc-ring"), 0.3));
    assert!(close(v[6].ratio("spsc-batch"), 0.15));
    assert!(close(v[6].ratio("SRR"), 30.0));
    assert_eq!(v[6].ratio("futex"), None);
    // 16 producers: crossbeam and SRR at 16, the rings at 1.
    assert!(close(v[8].ratio("crossbeam"), 27.0 / 20.0));
    assert!(close(v[8].ratio("SRR"), 54.0));
    assert!(close(v[8].ratio("spsc-ring"), 0.27));
    assert!(close(v[8].ratio("spsc-batch"), 0.135));
    // one-way SRR: no ratio against SRR, and none against asyncmsg.
    assert_eq!(v[9].ratio("SRR"), None);
    assert!(close(v[9].ratio("crossbeam"), 0.02));
    assert_eq!(v[9].ratios.len(), 3);
    // crossbeam vs the rings, and the rings vs crossbeam and each other, never themselves.
    assert_eq!(v[11].ratio("crossbeam"), None);
    assert!(close(v[11].ratio("spsc-ring"), 0.5));
    assert_eq!(v[13].ratio("spsc-ring"), None);
    assert!(close(v[13].ratio("crossbeam"), 2.0));
    assert!(close(v[13].ratio("spsc-batch"), 0.5));
    assert_eq!(v[17].ratio("spsc-batch"), None);
    assert!(close(v[17].ratio("spsc-ring"), 2.0));
    // paced: none.
    assert!(v[14].ratios.is_empty() && v[15].ratios.is_empty());
}

#[test]
fn ratios_skip_baselines_with_no_rate() {
    let mut v = vec![
        rec("SRR", Workload::RoundTrip, 64, 1, 1, "cross-cpu", 1e6),
        rec("futex", Workload::RoundTrip, 64, 1, 1, "cross-cpu", 0.0),
    ];
    add_ratios(&mut v);
    assert!(v[0].ratios.is_empty());
}

// ---- a small JSON parser, to check the output is valid and holds what it should ----

#[derive(Debug, PartialEq)]
enum J {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    fn get(&self, key: &str) -> &J {
        match self {
            J::Obj(fields) => {
                let found: Vec<&J> = fields
                    .iter()
                    .filter(|(k, _)| k == key)
                    .map(|(_, v)| v)
                    .collect();
                assert_eq!(found.len(), 1, "key {key} once in {self:?}");
                found[0]
            }
            _ => panic!("not an object: {self:?}"),
        }
    }
    fn num(&self) -> f64 {
        match self {
            J::Num(n) => *n,
            _ => panic!("not a number: {self:?}"),
        }
    }
    fn str(&self) -> &str {
        match self {
            J::Str(s) => s,
            _ => panic!("not a string: {self:?}"),
        }
    }
    fn arr(&self) -> &[J] {
        match self {
            J::Arr(a) => a,
            _ => panic!("not an array: {self:?}"),
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn parse_document(text: &str) -> Result<J, String> {
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
        };
        let v = p.value()?;
        p.ws();
        if p.i != p.s.len() {
            return Err(format!("trailing text at {}", p.i));
        }
        Ok(v)
    }
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\n' | b'\r' | b'\t') {
            self.i += 1;
        }
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected {:?} at {}", c as char, self.i))
        }
    }
    fn lit(&mut self, word: &str, v: J) -> Result<J, String> {
        if self.s[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(v)
        } else {
            Err(format!("bad literal at {}", self.i))
        }
    }
    fn value(&mut self) -> Result<J, String> {
        self.ws();
        match self.peek() {
            Some(b'{') => {
                self.i += 1;
                let mut fields = Vec::new();
                self.ws();
                if self.peek() == Some(b'}') {
                    self.i += 1;
                    return Ok(J::Obj(fields));
                }
                loop {
                    self.ws();
                    let k = self.string()?;
                    self.ws();
                    self.expect(b':')?;
                    let v = self.value()?;
                    fields.push((k, v));
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(J::Obj(fields));
                        }
                        _ => return Err(format!("bad object at {}", self.i)),
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Ok(J::Arr(items));
                }
                loop {
                    items.push(self.value()?);
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(J::Arr(items));
                        }
                        _ => return Err(format!("bad array at {}", self.i)),
                    }
                }
            }
            Some(b'"') => Ok(J::Str(self.string()?)),
            Some(b't') => self.lit("true", J::Bool(true)),
            Some(b'f') => self.lit("false", J::Bool(false)),
            Some(b'n') => self.lit("null", J::Null),
            Some(c) if c == b'-' || c.is_ascii_digit() => self.number(),
            _ => Err(format!("unexpected at {}", self.i)),
        }
    }
    fn number(&mut self) -> Result<J, String> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        let digits = |p: &mut Self| {
            let s = p.i;
            while p.peek().is_some_and(|c| c.is_ascii_digit()) {
                p.i += 1;
            }
            p.i - s
        };
        let int_start = self.i;
        let n = digits(self);
        if n == 0 || (n > 1 && self.s[int_start] == b'0') {
            return Err(format!("bad integer part at {start}"));
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if digits(self) == 0 {
                return Err(format!("bad fraction at {start}"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if digits(self) == 0 {
                return Err(format!("bad exponent at {start}"));
            }
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).map_err(|e| e.to_string())?;
        text.parse()
            .map(J::Num)
            .map_err(|e| format!("{e} at {start}"))
    }
    fn string(&mut self) -> Result<String, String> {
        self.expect(b'"')?;
        let mut out = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return Err("unterminated string".into());
            };
            self.i += 1;
            match c {
                b'"' => return String::from_utf8(out).map_err(|e| e.to_string()),
                b'\\' => {
                    let e = self.peek().ok_or("bad escape")?;
                    self.i += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hex = std::str::from_utf8(
                                self.s.get(self.i..self.i + 4).ok_or("short \\u")?,
                            )
                            .map_err(|e| e.to_string())?;
                            self.i += 4;
                            char::from_u32(u32::from_str_radix(hex, 16).map_err(|e| e.to_string())?)
                                .ok_or("bad \\u")?
                        }
                        _ => return Err(format!("bad escape at {}", self.i)),
                    };
                    let mut buf = [0; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                c if c < 0x20 => return Err(format!("raw control character at {}", self.i)),
                c => out.push(c),
            }
        }
    }
}

#[test]
fn json_parser_rejects_bad_documents() {
    for bad in [
        "{",
        "{\"a\":}",
        "[1,]",
        "{\"a\":1,}",
        "01",
        "\"a\nb\"",
        "[1] x",
        "nul",
        "1.",
    ] {
        assert!(Parser::parse_document(bad).is_err(), "{bad} accepted");
    }
    assert!(Parser::parse_document(" {\"a\":[1,-2.5e3,null,true,\"\\u0041\"]} ").is_ok());
}

#[test]
fn json_is_valid_and_complete() {
    let mut v = sample();
    let mut odd = rec(
        "we\"ird\\model\n\t\u{1}",
        Workload::OneWay,
        8,
        1,
        1,
        "cross-cpu",
        5.0,
    );
    odd.p50_us = Some(f64::NAN);
    v.push(odd);
    add_ratios(&mut v);
    let targets = check_targets(&v);
    let rep = reported(&v);
    let text = to_json(&machine(), &meta(), &v, (&targets, &rep));
    let doc = Parser::parse_document(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(doc.get("kernel_spin_ns").num(), 20_000.0);
    let r = doc.get("reported").arr();
    assert_eq!(r.len(), rep.len());
    assert_eq!(r[0].get("name").str(), rep[0].name);
    assert_eq!(r[0].get("paired_rounds").num(), 5.0);
    assert!((r[0].get("value").num() - 0.15).abs() < 1e-9);

    let m = doc.get("machine");
    assert_eq!(m.get("cpu_model").str(), "Test \"CPU\" @ 3GHz");
    assert_eq!(m.get("cpus_online").num(), 2.0);
    assert_eq!(
        m.get("cpus_allowed"),
        &J::Arr(vec![J::Num(0.0), J::Num(1.0)])
    );
    assert_eq!(m.get("kernel").str(), "Linux 6.1 #1 SMP x86_64");
    assert_eq!(doc.get("mode").str(), "quick");
    assert_eq!(doc.get("runs").num(), 5.0);
    assert_eq!(
        doc.get("placements").get("cross-cpu").str(),
        "consumer CPU 0, producer CPU 1"
    );
    assert_eq!(doc.get("elapsed_s").num(), 12.5);
    assert_eq!(doc.get("notes").arr()[0].str(), "a note, with \"quotes\"");

    let t = doc.get("targets").arr();
    assert_eq!(t.len(), targets.len());
    assert_eq!(t[0].get("name").str(), targets[0].name);
    assert_eq!(t[0].get("op").str(), targets[0].op);
    assert_eq!(t[0].get("met"), &J::Bool(targets[0].met));
    assert!(t[0].get("basis").str().contains("futex"));
    // (a) is a ratio: paired over the 5 rounds of the fixtures, with the ratio of medians.
    assert_eq!(t[0].get("paired_rounds").num(), 5.0);
    assert!((t[0].get("ratio_of_medians").num() - targets[0].value).abs() < 1e-5);
    // (d) is not a ratio.
    let d = t
        .iter()
        .find(|c| c.get("name").str().contains("sender kernel entries"))
        .expect("a (d) target");
    assert_eq!(d.get("paired_rounds").num(), 0.0);
    assert_eq!(d.get("ratio_of_medians"), &J::Null);

    let results = doc.get("results").arr();
    assert_eq!(results.len(), v.len());
    // Every result has the record's fields once each, in order, then its runs' rates and its
    // ratios.
    let keys: Vec<&str> = RECORD_FIELDS
        .into_iter()
        .chain(["run_msgs_per_s", "ratios"])
        .collect();
    for r in results {
        let J::Obj(fields) = r else {
            panic!("result not an object: {r:?}")
        };
        let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, keys);
    }
    let r0 = &results[0];
    assert_eq!(r0.get("model").str(), "SRR");
    assert_eq!(r0.get("label").str(), "SRR");
    assert_eq!(r0.get("workload").str(), "round-trip");
    assert_eq!(r0.get("msg_size").num(), 64.0);
    assert_eq!(r0.get("placement").str(), "cross-cpu");
    assert_eq!(r0.get("msgs_per_s").num(), 1_000_000.0);
    assert_eq!(
        r0.get("run_msgs_per_s"),
        &J::Arr((0..5).map(|_| J::Num(1_000_000.0)).collect())
    );
    assert_eq!(r0.get("p50_us").num(), 2.5);
    assert_eq!(r0.get("p99_us").num(), 7.25);
    assert_eq!(r0.get("p999_us"), &J::Null);
    assert_eq!(r0.get("kernel_entries_per_msg").num(), 3.0);
    assert_eq!(r0.get("wakeups_per_msg"), &J::Null);
    assert!((r0.get("ratios").get("futex").num() - 1.0 / 1.2).abs() < 1e-5);
    assert_eq!(r0.get("ratios").get("pipe").num(), 2.5);
    let a = &results[6];
    assert_eq!(a.get("label").str(), "asyncmsg/64");
    assert_eq!(a.get("workload").str(), "one-way");
    assert_eq!(a.get("batch").num(), 64.0);
    assert_eq!(a.get("ratios").get("SRR").num(), 30.0);
    let odd = results.last().expect("odd record");
    assert_eq!(odd.get("model").str(), "we\"ird\\model\n\t\u{1}");
    assert_eq!(odd.get("p50_us"), &J::Null, "NaN is written as null");
    assert_eq!(results[14].get("workload").str(), "paced");
    assert_eq!(results[14].get("ratios"), &J::Obj(Vec::new()));
    // The range, and the pace of paced rows only.
    assert_eq!(r0.get("msgs_per_s_min").num(), 1_000_000.0);
    assert_eq!(r0.get("msgs_per_s_max").num(), 1_000_000.0);
    assert_eq!(r0.get("nominal_msgs_per_s"), &J::Null);
    assert_eq!(r0.get("pace_missed"), &J::Null);
    assert_eq!(results[14].get("nominal_msgs_per_s").num(), 20_000.0);
    assert_eq!(results[14].get("pace_missed"), &J::Bool(true));
    assert_eq!(results[15].get("pace_missed"), &J::Bool(false));
}

#[test]
fn json_runs_in_round_order_and_empty() {
    let r = with_runs(
        rec("SRR", Workload::OneWay, 64, 1, 1, "cross-cpu", 0.0),
        &[3e6, 1.5e6, f64::NAN, 2e6],
    );
    let none = Record::new("pipe", Workload::RoundTrip, 64, 1, 1, "same-cpu");
    let text = to_json(&machine(), &meta(), &[r, none], (&[], &[]));
    let doc = Parser::parse_document(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let results = doc.get("results").arr();
    assert_eq!(
        results[0].get("run_msgs_per_s"),
        &J::Arr(vec![J::Num(3e6), J::Num(1.5e6), J::Null, J::Num(2e6)]),
        "in round order, NaN as null"
    );
    assert_eq!(results[1].get("run_msgs_per_s"), &J::Arr(Vec::new()));
}

#[test]
fn json_with_nothing_is_valid() {
    let mut m = meta();
    m.notes.clear();
    m.placements.clear();
    let text = to_json(&machine(), &m, &[], (&[], &[]));
    let doc = Parser::parse_document(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(doc.get("results"), &J::Arr(Vec::new()));
    assert_eq!(doc.get("targets"), &J::Arr(Vec::new()));
    assert_eq!(doc.get("placements"), &J::Obj(Vec::new()));
}

/// RFC 4180 records: fields split at commas, quoted fields may hold commas, quotes (doubled)
/// and line breaks.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                c => field.push(c),
            }
        } else {
            match c {
                '"' => {
                    assert!(field.is_empty(), "quote inside an unquoted field");
                    quoted = true;
                }
                ',' => row.push(std::mem::take(&mut field)),
                '\n' => {
                    row.push(std::mem::take(&mut field));
                    rows.push(std::mem::take(&mut row));
                }
                c => field.push(c),
            }
        }
    }
    assert!(!quoted, "unterminated quote");
    assert!(field.is_empty() && row.is_empty(), "no final line break");
    rows
}

#[test]
fn csv_lines_columns_quoting_and_empties() {
    let mut v = sample();
    v.push(rec(
        "a,b \"c\"\nd",
        Workload::OneWay,
        8,
        1,
        1,
        "cross-cpu",
        5.0,
    ));
    add_ratios(&mut v);
    let text = to_csv(&machine(), &meta(), &v);
    let rows = parse_csv(&text);
    assert_eq!(rows.len(), v.len() + 1);
    assert_eq!(rows[0].len(), 47);
    assert_eq!(rows[0][0], "model");
    assert_eq!(rows[0][..28], RECORD_FIELDS);
    // The runs' rates are in the JSON only: one value per CSV field.
    assert!(!rows[0].iter().any(|h| h == "run_msgs_per_s"));
    assert_eq!(
        rows[0][28..36],
        [
            "vs_futex",
            "vs_spin_futex",
            "vs_pipe",
            "vs_unix_socket",
            "vs_crossbeam",
            "vs_spsc_ring",
            "vs_spsc_batch",
            "vs_srr"
        ]
    );
    for row in &rows {
        assert_eq!(row.len(), rows[0].len(), "{row:?}");
    }
    let col = |name: &str| rows[0].iter().position(|h| h == name).expect(name);
    let r0 = &rows[1];
    assert_eq!(r0[col("model")], "SRR");
    assert_eq!(r0[col("workload")], "round-trip");
    assert_eq!(r0[col("msgs_per_s")], "1000000");
    assert_eq!(r0[col("p50_us")], "2.5");
    assert_eq!(r0[col("p999_us")], "", "None is empty");
    assert_eq!(r0[col("wakeups_per_msg")], "");
    assert_eq!(r0[col("vs_pipe")], "2.5");
    assert_eq!(r0[col("vs_unix_socket")], "");
    assert_eq!(r0[col("vs_crossbeam")], "");
    assert_eq!(r0[col("vs_spin_futex")], "0.25");
    // The range over the runs (every run of the fixtures is alike); no pace for a round trip.
    assert_eq!(r0[col("msgs_per_s_min")], "1000000");
    assert_eq!(r0[col("msgs_per_s_max")], "1000000");
    assert_eq!(r0[col("nominal_msgs_per_s")], "");
    assert_eq!(r0[col("pace_missed")], "");
    assert_eq!(rows[7][col("label")], "asyncmsg/64");
    assert_eq!(rows[7][col("vs_srr")], "30");
    assert_eq!(rows[7][col("vs_spsc_batch")], "0.15");
    // The paced rows: asyncmsg missed its pace, SRR kept it.
    assert_eq!(rows[15][col("nominal_msgs_per_s")], "20000");
    assert_eq!(rows[15][col("pace_missed")], "true");
    assert_eq!(rows[16][col("pace_missed")], "false");
    assert_eq!(rows.last().expect("odd")[0], "a,b \"c\"\nd");
    // The stamp closes every line.
    assert_eq!(rows[0][36..], STAMP_COLUMNS);
    assert_eq!(r0[col("kernel_spin_ns")], "20000");
    assert!(text.contains("\"a,b \"\"c\"\"\nd\""));
    // Plain data lines are one text line each; the odd model's line break shows twice (in
    // model and label).
    assert_eq!(text.lines().count(), v.len() + 1 + 2);
}

#[test]
fn targets_met_and_missed() {
    let mut v = sample();
    add_ratios(&mut v);
    let t = check_targets(&v);
    let find = |place: &str, part: &str| {
        t.iter()
            .find(|c| c.placement == place && c.name.contains(part))
            .unwrap_or_else(|| panic!("{place} {part} in {t:#?}"))
    };
    // (a) cross-cpu: spin-futex 4M / SRR 1M = 4 <= 5: met.
    let a = find("cross-cpu", "spin-futex rate / SRR rate");
    assert!((a.value - 4.0).abs() < 1e-9 && a.met && a.op == "<=" && a.bound == 5.0);
    // The basis gives each side's rate, time and CPU time per round trip.
    assert!(
        a.basis.contains("SRR 1.00M/s (1.00 µs/rt)") && a.basis.contains("spin-futex 4.00M/s"),
        "{}",
        a.basis
    );
    assert!(a.basis.contains("CPU ns/rt"), "{}", a.basis);
    // (b) cross-cpu: SRR 1M / futex 1.2M = 0.833 >= 10: missed.
    let b = find("cross-cpu", "SRR rate / futex rate");
    assert!((b.value - 1.0 / 1.2).abs() < 1e-9 && !b.met && b.op == ">=" && b.bound == 10.0);
    // (c) same-cpu: futex 2M / SRR 1M = 2.0 <= 1.2: missed. No (a) or (b) on one CPU, no (c)
    // across CPUs.
    let c = find("same-cpu", "futex rate / SRR rate");
    assert!((c.value - 2.0).abs() < 1e-9 && !c.met && c.bound == 1.2);
    assert!(!t
        .iter()
        .any(|x| x.placement == "cross-cpu" && x.name.contains("on one CPU")));
    // (d) asyncmsg/64 0.6x crossbeam >= 1: missed.
    let d = find("cross-cpu", "vs crossbeam");
    assert!((d.value - 0.6).abs() < 1e-9 && !d.met && d.bound == 1.0);
    // No target on asyncmsg vs SRR any more: it is reported.
    assert!(!t.iter().any(|x| x.name.contains("vs SRR")), "{t:#?}");
    // (e) batch 64 within 1/64 + 0.01: met; batch 1 at 1.2 > 1.01: missed.
    let e64 = find("cross-cpu", "asyncmsg/64 sender");
    assert!(e64.met && (e64.bound - (1.0 / 64.0 + 0.01)).abs() < 1e-12);
    let e1 = find("cross-cpu", "asyncmsg/1 sender");
    assert!(!e1.met && (e1.value - 1.2).abs() < 1e-12);
    // (f) asyncmsg 27M/30M = 0.9: met; SRR 0.5M/1M = 0.5: missed. 64 clients are not "the
    // most producers" of (f): they have their own target.
    let f1 = find("cross-cpu", "asyncmsg/64 with 16 producers");
    assert!((f1.value - 0.9).abs() < 1e-9 && f1.met);
    let f2 = find("cross-cpu", "one-way SRR with 16 producers");
    assert!((f2.value - 0.5).abs() < 1e-9 && !f2.met);
    // (g) 64 SRR clients 0.9M / 1 client 1M = 0.9 >= 0.8: met.
    let g = find("cross-cpu", "64 clients on one server");
    assert!(
        (g.value - 0.9).abs() < 1e-9 && g.met && g.bound == 0.8,
        "{g:?}"
    );
    assert!(g.name.contains("64 producers vs 1"), "{g:?}");
    // Nothing else: same-cpu has only (c).
    assert_eq!(t.iter().filter(|c| c.placement == "same-cpu").count(), 1);
    assert_eq!(t.len(), 9, "{t:#?}");

    // Every rate ratio is paired over the fixtures' 5 rounds (equal runs: the same value as the
    // ratio of medians); (e) is not a ratio.
    for c in &t {
        if c.name.contains("sender kernel entries") {
            assert_eq!((c.paired_rounds, c.ratio_of_medians), (0, None), "{c:?}");
        } else {
            assert_eq!(c.paired_rounds, 5, "{c:?}");
            assert!((c.ratio_of_medians.expect("a ratio") - c.value).abs() < 1e-9);
        }
    }

    let text = targets_text(&t);
    assert_eq!(text.matches("MISSED").count(), 5 + 1, "{text}");
    assert!(text.contains("4 of 9 targets met."));
    assert!(
        text.contains("value: 4.00 (paired, per-round median of 5 rounds; ratio of medians 4.00)"),
        "{text}"
    );
    assert_eq!(text.matches("value: ").count(), 7, "{text}");
    for c in &t {
        assert!(text.contains(&c.name));
    }
}

#[test]
fn reported_ratios_have_no_bound() {
    let mut v = sample();
    add_ratios(&mut v);
    let r = reported(&v);
    // asyncmsg/64 (30M) against the batch ring (200M) and against one-way SRR (1M), across
    // CPUs only (the sample has no one-way records on one CPU).
    assert_eq!(r.len(), 2, "{r:#?}");
    assert!(r[0].name.contains("batch-publishing SPSC ring"), "{r:#?}");
    assert!((r[0].value - 0.15).abs() < 1e-9 && r[0].paired_rounds == 5);
    assert!(r[0].basis.contains("spsc-batch 200M/s"), "{}", r[0].basis);
    assert!(r[1].name.contains("one-way SRR") && (r[1].value - 30.0).abs() < 1e-9);
    let text = reported_text(&r);
    assert!(
        text.starts_with("Reported beside the targets (no bound)\n"),
        "{text}"
    );
    assert!(text.contains("0.150") && text.contains("30.0"), "{text}");
    assert!(!text.contains("MISSED") && !text.contains("met"), "{text}");
    assert_eq!(reported_text(&[]), "");
    // Without asyncmsg/64, nothing to report.
    v.retain(|r| r.model != "asyncmsg");
    assert!(reported(&v).is_empty());
}

#[test]
fn paired_ratio_medians_of_per_round_ratios() {
    let r = |rates: &[f64]| {
        with_runs(
            rec("asyncmsg", Workload::OneWay, 64, 64, 1, "cross-cpu", 0.0),
            rates,
        )
    };
    let close = |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() < 1e-12);
    // Equal lengths, odd count: ratios 2, 0.5, 3 -> 2 (the ratio of medians is 4/3).
    let a = r(&[4.0, 2.0, 9.0]);
    let b = r(&[2.0, 4.0, 3.0]);
    assert!(close(paired_ratio(&a, &b), 2.0));
    assert!(close(Some(a.msgs_per_s / b.msgs_per_s), 4.0 / 3.0));
    // The other way round: ratios 0.5, 2, 1/3 -> 0.5.
    assert!(close(paired_ratio(&b, &a), 0.5));
    // Even count: ratios 1, 2, 3, 5 -> the mean of the middle two, 2.5 (as `median` does).
    let a4 = r(&[1.0, 4.0, 9.0, 20.0]);
    let b4 = r(&[1.0, 2.0, 3.0, 4.0]);
    assert!(close(paired_ratio(&a4, &b4), 2.5));
    // Unequal lengths: the common prefix. a4 has 4 rounds, b 3: ratios 0.5, 1, 3 -> 1.
    assert!(close(paired_ratio(&a4, &b), 1.0));
    assert!(close(paired_ratio(&b, &a4), 1.0));
    // A zero (or non-finite) baseline run is skipped: ratios 4/2 and 9/3 -> 2.5.
    let b0 = r(&[2.0, 0.0, 3.0]);
    assert!(close(paired_ratio(&a, &b0), 2.5));
    assert_eq!(
        paired_ratios(&[4.0, 2.0, 9.0], &[2.0, f64::NAN, 3.0]),
        [2.0, 3.0]
    );
    // ... but a zero model run counts: ratios 0, 0.5, 3 -> 0.5.
    let a0 = r(&[0.0, 2.0, 9.0]);
    assert!(close(paired_ratio(&a0, &b), 0.5));
    // None: no rounds in common, or every baseline run zero.
    let empty = Record::new("crossbeam", Workload::OneWay, 64, 1, 1, "cross-cpu");
    assert_eq!(paired_ratio(&a, &empty), None);
    assert_eq!(paired_ratio(&empty, &a), None);
    assert_eq!(paired_ratio(&a, &r(&[0.0, 0.0])), None);
    assert_eq!(paired_median(&[], &[]), None);
    // One round: its ratio.
    assert!(close(paired_ratio(&r(&[3.0]), &r(&[4.0, 1.0])), 0.75));
}

/// asyncmsg/64 and crossbeam one-way records (64 B, 1 producer, cross-cpu) with these runs'
/// rates, in millions of messages per second, and the one target (c) they give.
fn crossbeam_target(async_m: &[f64], xbeam_m: &[f64]) -> (TargetCheck, String) {
    let m = |v: &[f64]| v.iter().map(|x| x * 1e6).collect::<Vec<f64>>();
    let v = vec![
        with_runs(
            rec("asyncmsg", Workload::OneWay, 64, 64, 1, "cross-cpu", 0.0),
            &m(async_m),
        ),
        with_runs(
            rec("crossbeam", Workload::OneWay, 64, 1, 1, "cross-cpu", 0.0),
            &m(xbeam_m),
        ),
    ];
    let t = check_targets(&v);
    assert_eq!(t.len(), 1, "{t:#?}");
    let text = targets_text(&t);
    (t[0].clone(), text)
}

/// The target line of `name` in `text`, and the line under it.
fn target_lines<'a>(text: &'a str, name: &str) -> (&'a str, &'a str) {
    let lines: Vec<&str> = text.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.ends_with(name))
        .unwrap_or_else(|| panic!("{name} in\n{text}"));
    (lines[i], lines[i + 1])
}

#[test]
fn target_met_on_paired_ratio_though_ratio_of_medians_misses() {
    // Round 2: a neighbour halved asyncmsg's run only. asyncmsg's median (12M) is its round 1,
    // crossbeam's (20M) its round 2: 0.6. Per round: 1.2, 0.55, 1.143 -> 1.143.
    let (c, text) = crossbeam_target(&[12.0, 11.0, 24.0], &[10.0, 20.0, 21.0]);
    assert!((c.ratio_of_medians.expect("ratio") - 0.6).abs() < 1e-9);
    assert!((c.value - 24.0 / 21.0).abs() < 1e-9);
    assert!(c.met && c.paired_rounds == 3);
    let (line, value) = target_lines(&text, &c.name);
    assert!(line.trim_start().starts_with("met "), "{text}");
    assert!(line.contains("1.14") && line.contains(">= 1.00"), "{text}");
    assert_eq!(
        value.trim(),
        "value: 1.14 (paired, per-round median of 3 rounds; ratio of medians 0.600)"
    );
    assert!(!text.contains("MISSED"), "{text}");
    assert!(text.contains("1 of 1 targets met."), "{text}");
}

#[test]
fn target_missed_on_paired_ratio_though_ratio_of_medians_meets() {
    // Round 2: crossbeam's run was slowed, asyncmsg's was not. Medians 24M and 20M: 1.2. Per
    // round: 0.8, 4.0, 0.9 -> 0.9.
    let (c, text) = crossbeam_target(&[24.0, 40.0, 18.0], &[30.0, 10.0, 20.0]);
    assert!((c.ratio_of_medians.expect("ratio") - 1.2).abs() < 1e-9);
    assert!((c.value - 0.9).abs() < 1e-9);
    assert!(!c.met && c.paired_rounds == 3);
    let (line, value) = target_lines(&text, &c.name);
    assert!(line.trim_start().starts_with("MISSED "), "{text}");
    assert!(line.contains("0.900") && line.contains(">= 1.00"), "{text}");
    assert_eq!(
        value.trim(),
        "value: 0.900 (paired, per-round median of 3 rounds; ratio of medians 1.20)"
    );
    assert!(text.contains("0 of 1 targets met."), "{text}");
    assert!(
        text.contains("MISSED:\n  one-way asyncmsg/64 vs crossbeam"),
        "{text}"
    );
}

#[test]
fn target_without_common_rounds_uses_ratio_of_medians() {
    // Records without runs (or a baseline whose every run is zero): the ratio of medians is
    // judged, and the text says so.
    let mut a = rec("asyncmsg", Workload::OneWay, 64, 64, 1, "cross-cpu", 12e6);
    let mut b = rec("crossbeam", Workload::OneWay, 64, 1, 1, "cross-cpu", 10e6);
    a.run_msgs_per_s.clear();
    b.run_msgs_per_s = vec![0.0; 5];
    let t = check_targets(&[a, b]);
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].paired_rounds, 0);
    assert!((t[0].value - 1.2).abs() < 1e-9 && t[0].met);
    assert_eq!(t[0].ratio_of_medians, Some(t[0].value));
    let text = targets_text(&t);
    assert!(
        text.contains("value: 1.20 (ratio of medians; no paired rounds)"),
        "{text}"
    );
}

#[test]
fn paired_targets_pair_the_right_way_round() {
    use Workload::*;
    // (a) spin-futex / SRR per round: 5, 4, 4.4 -> 4.4 (medians: 4.0M / 1.0M = 4.0).
    // (b) SRR / futex per round: 8, 12.5, 10 -> 10 (medians: 1.0M / 0.1M = 10).
    // (c) same-cpu futex / SRR per round: 1.5, 1.25, 1.2 -> 1.25 (medians: 1.2M / 1.0M = 1.2).
    // (f) 16 producers / 1 per round: 0.7, 0.9, 0.85 -> 0.85 (medians: 0.81M / 0.9M = 0.9).
    // (g) 64 clients / 1 per round: 0.5, 1.0, 0.8 -> 0.8 (medians: 0.8M / 1.0M = 0.8).
    let v = vec![
        with_runs(
            rec("SRR", RoundTrip, 64, 1, 1, "cross-cpu", 0.0),
            &[0.8e6, 1.0e6, 1.0e6],
        ),
        with_runs(
            rec("spin-futex", RoundTrip, 64, 1, 1, "cross-cpu", 0.0),
            &[4.0e6, 4.0e6, 4.4e6],
        ),
        with_runs(
            rec("futex", RoundTrip, 64, 1, 1, "cross-cpu", 0.0),
            &[0.1e6, 0.08e6, 0.1e6],
        ),
        with_runs(
            rec("SRR", RoundTrip, 64, 1, 1, "same-cpu", 0.0),
            &[0.8e6, 1.0e6, 1.0e6],
        ),
        with_runs(
            rec("futex", RoundTrip, 64, 1, 1, "same-cpu", 0.0),
            &[1.2e6, 1.25e6, 1.2e6],
        ),
        with_runs(
            rec("asyncmsg", OneWay, 64, 64, 1, "cross-cpu", 0.0),
            &[0.7e6, 0.9e6, 1.0e6],
        ),
        with_runs(
            rec("asyncmsg", OneWay, 64, 64, 16, "cross-cpu", 0.0),
            &[0.49e6, 0.81e6, 0.85e6],
        ),
        with_runs(
            rec("SRR", OneWay, 64, 1, 1, "cross-cpu", 0.0),
            &[1.0e6, 0.8e6, 1.0e6],
        ),
        with_runs(
            rec("SRR", OneWay, 64, 1, 64, "cross-cpu", 0.0),
            &[0.5e6, 0.8e6, 0.8e6],
        ),
    ];
    let t = check_targets(&v);
    let find = |part: &str| {
        t.iter()
            .find(|c| c.name.contains(part))
            .unwrap_or_else(|| panic!("{part} in {t:#?}"))
    };
    let a = find("spin-futex rate / SRR rate");
    assert!((a.value - 4.4).abs() < 1e-9 && a.met, "{a:?}");
    assert!((a.ratio_of_medians.unwrap() - 4.0).abs() < 1e-9, "{a:?}");
    let b = find("SRR rate / futex rate");
    assert!((b.value - 10.0).abs() < 1e-9 && b.met, "{b:?}");
    assert!((b.ratio_of_medians.unwrap() - 10.0).abs() < 1e-9, "{b:?}");
    let c = find("on one CPU");
    assert!((c.value - 1.25).abs() < 1e-9 && !c.met, "{c:?}");
    assert!((c.ratio_of_medians.unwrap() - 1.2).abs() < 1e-9);
    let f = find("asyncmsg/64 with 16 producers");
    assert!((f.value - 0.85).abs() < 1e-9 && f.met, "{f:?}");
    assert!((f.ratio_of_medians.unwrap() - 0.9).abs() < 1e-9, "{f:?}");
    let g = find("64 clients");
    assert!((g.value - 0.8).abs() < 1e-9 && g.met, "{g:?}");
    assert!((g.ratio_of_medians.unwrap() - 0.8).abs() < 1e-9, "{g:?}");
    assert_eq!(t.len(), 5, "{t:#?}");
}

#[test]
fn targets_skipped_when_records_absent() {
    use Workload::*;
    assert!(check_targets(&[]).is_empty());
    // SRR without futex or spin-futex at its size and placement, spin-futex on one CPU (no
    // target there), futex across CPUs without SRR, asyncmsg without baselines or sender
    // counts, 16 and 64 producers without 1: nothing to check.
    let v = vec![
        rec("SRR", RoundTrip, 64, 1, 1, "cross-cpu", 1e6),
        rec("futex", RoundTrip, 128, 1, 1, "cross-cpu", 1e6),
        rec("SRR", RoundTrip, 64, 1, 1, "same-cpu", 1e6),
        rec("spin-futex", RoundTrip, 64, 1, 1, "same-cpu", 1e6),
        rec("futex", RoundTrip, 64, 1, 1, "unpinned", 1e6),
        rec("asyncmsg", OneWay, 64, 64, 1, "cross-cpu", 1e7),
        rec("SRR", OneWay, 64, 1, 16, "cross-cpu", 1e6),
        rec("SRR", OneWay, 64, 1, 64, "cross-cpu", 1e6),
        rec("crossbeam", OneWay, 64, 1, 1, "same-cpu", 1e7),
    ];
    let t = check_targets(&v);
    assert!(t.is_empty(), "{t:#?}");
    assert!(targets_text(&t).contains("none checked"));
}

#[test]
fn target_on_zero_rate_is_missed() {
    let v = vec![
        rec("SRR", Workload::RoundTrip, 64, 1, 1, "same-cpu", 0.0),
        rec("futex", Workload::RoundTrip, 64, 1, 1, "same-cpu", 1e6),
    ];
    let t = check_targets(&v);
    assert_eq!(t.len(), 1);
    assert!(!t[0].met && t[0].value.is_infinite());
}

#[test]
fn table_shows_every_row_and_dashes() {
    let mut v = sample();
    add_ratios(&mut v);
    let text = table(&machine(), &meta(), &v);
    for r in &v {
        assert!(text.contains(&r.label()), "{}", r.label());
    }
    for needle in [
        "Test \"CPU\" @ 3GHz",
        "2 cores online",
        "allowed CPUs 0-1",
        "Linux 6.1 #1 SMP x86_64",
        "quick",
        "median of 5 runs",
        "consumer CPU 0, producer CPU 1",
        "a note",
        "== Round trip",
        "== One-way",
        "== Paced",
        "x futex 0.833",
        "x pipe 2.50",
        "x xbeam 0.600",
        "x SRR 30.0",
        "x spin 0.250",
        "x batch 0.150",
        "1.20M",
        "min-max",
        "not an IQR",
        "spin:       the simulated kernel spins up to 20 µs before sleeping",
        "PACE MISSED: 10.0k/s of 20.0k/s (50%)",
        "Columns:",
        "ratios of medians",
    ] {
        assert!(text.contains(needle), "{needle} missing from\n{text}");
    }
    // Only the paced row that missed its pace is flagged (the legend explains the flag).
    let flagged: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("PACE MISSED:") && !l.starts_with(' '))
        .collect();
    assert_eq!(flagged.len(), 1, "{text}");
    assert!(flagged[0].starts_with("asyncmsg/64"), "{}", flagged[0]);
    // SRR cross-cpu 64 B round trip: p50 2.50, p99 7.25, p999 "-".
    let line = text
        .lines()
        .find(|l| l.starts_with("SRR") && l.contains("cross-cpu") && l.contains("2.50"))
        .expect("SRR line");
    let cells: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        &cells[..10],
        [
            "SRR",
            "64",
            "1",
            "1",
            "cross-cpu",
            "1.00M",
            "1.00-1.00M",
            "2.50",
            "7.25",
            "-"
        ]
    );
    // Rows are in the section of their workload.
    let one_way = text.find("== One-way").expect("one-way");
    let paced = text.find("== Paced").expect("paced");
    let spsc = text.find("spsc-ring").expect("ring");
    assert!(one_way < spsc && spsc < paced);
    for l in text
        .lines()
        .filter(|l| !l.starts_with("notes:") && !l.starts_with(' '))
    {
        assert!(l.chars().count() <= 200, "line too long: {l}");
    }
    // The legend states the pace tolerance the records use.
    let pct = format!("{:.0}%", crate::compare::record::PACE_TOLERANCE * 100.0);
    assert!(LEGEND.iter().any(|l| l.contains(&pct)), "{pct}");
}

#[test]
fn table_shows_each_rows_range_over_runs() {
    let r = with_runs(
        rec("crossbeam", Workload::OneWay, 64, 1, 1, "cross-cpu", 0.0),
        &[9.19e6, 14.5e6, 11.0e6],
    );
    let text = table(&machine(), &meta(), &[r]);
    let line = text
        .lines()
        .find(|l| l.starts_with("crossbeam"))
        .expect("crossbeam line");
    let cells: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(cells[5..7], ["11.0M", "9.19-14.5M"], "{line}");
    // Ends on different suffixes, or no runs at all.
    assert_eq!(human_range(Some((950e3, 1.02e6))), "950k-1.02M");
    assert_eq!(human_range(Some((12.0, 480.0))), "12-480");
    assert_eq!(human_range(None), "-");
    assert_eq!(human_range(Some((f64::NAN, 1.0))), "-");
}

#[test]
fn spin_budget_in_words() {
    assert_eq!(spin_text(20_000), "20 µs");
    assert_eq!(spin_text(1_500), "1500 ns");
    assert_eq!(spin_text(0), "off (0)");
}

#[test]
fn human_figures() {
    assert_eq!(human_rate(4_200_000.0), "4.20M");
    assert_eq!(human_rate(61_300.0), "61.3k");
    assert_eq!(human_rate(999.0), "999");
    assert_eq!(human_rate(2.5e9), "2.50G");
    assert_eq!(sig3(0.015625), "0.0156");
    assert_eq!(sig3(123.4), "123");
    assert_eq!(opt(None), "-");
}

#[test]
fn json_carries_schema_commit_and_date() {
    let text = to_json(&machine(), &meta(), &sample(), (&[], &[]));
    let doc = Parser::parse_document(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(doc.get("schema_version").num(), f64::from(SCHEMA_VERSION));
    assert_eq!(SCHEMA_VERSION, 3, "docs/outputs.md describes version 3");
    assert_eq!(
        doc.get("commit").str(),
        "0123456789abcdef0123456789abcdef01234567"
    );
    assert_eq!(doc.get("dirty"), &J::Bool(true));
    assert_eq!(doc.get("commit_source").str(), "git");
    assert_eq!(doc.get("build_commit").str(), "unknown");
    assert_eq!(doc.get("build_dirty"), &J::Null);
    assert_eq!(doc.get("started_utc").str(), "2026-11-25T14:03:07Z");
    // The stamp leads the document, schema version first.
    let J::Obj(fields) = &doc else {
        panic!("not an object")
    };
    let keys: Vec<&str> = fields.iter().take(8).map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "schema_version",
            "commit",
            "dirty",
            "commit_source",
            "build_commit",
            "build_dirty",
            "started_utc",
            "machine"
        ]
    );
}

#[test]
fn csv_stamps_every_line_with_schema_commit_date_and_machine() {
    let mut m = meta();
    m.provenance.dirty = None;
    let text = to_csv(&machine(), &m, &sample());
    let rows = parse_csv(&text);
    let col = |name: &str| rows[0].iter().position(|h| h == name).expect(name);
    assert_eq!(rows.len(), sample().len() + 1);
    for row in &rows[1..] {
        assert_eq!(row.len(), rows[0].len());
        assert_eq!(row[col("schema_version")], SCHEMA_VERSION.to_string());
        assert_eq!(
            row[col("commit")],
            "0123456789abcdef0123456789abcdef01234567"
        );
        assert_eq!(row[col("dirty")], "", "unknown is empty");
        assert_eq!(row[col("started_utc")], "2026-11-25T14:03:07Z");
        assert_eq!(row[col("mode")], "quick");
        assert_eq!(row[col("cpu_model")], "Test \"CPU\" @ 3GHz");
        assert_eq!(row[col("cpus_online")], "2");
        assert_eq!(row[col("cpus_allowed")], "0-1");
        assert_eq!(row[col("kernel")], "Linux 6.1 #1 SMP x86_64");
    }
    // Each line's placement described; a placement the run did not describe is empty.
    let place = |i: usize| {
        (
            rows[i][col("placement")].clone(),
            rows[i][col("placement_detail")].clone(),
        )
    };
    assert_eq!(
        place(1),
        ("cross-cpu".into(), "consumer CPU 0, producer CPU 1".into())
    );
    assert_eq!(
        place(4),
        ("same-cpu".into(), "consumer CPU 0, producer CPU 0".into())
    );
    m.placements.clear();
    let bare = parse_csv(&to_csv(&machine(), &m, &sample()));
    assert_eq!(bare[1][col("placement_detail")], "");
    // dirty is true or false when known.
    assert_eq!(
        parse_csv(&to_csv(&machine(), &meta(), &sample()))[1][col("dirty")],
        "true"
    );
    // No records: the header alone.
    assert_eq!(to_csv(&machine(), &meta(), &[]).lines().count(), 1);
}

#[test]
fn table_header_names_the_commit_and_start() {
    let text = table(&machine(), &meta(), &sample());
    assert!(
        text.contains("commit:     0123456789ab (dirty), run started 2026-11-25T14:03:07Z"),
        "{text}"
    );
}

#[test]
fn outputs_doc_names_every_json_key_and_csv_column() {
    let doc = include_str!("../../../docs/outputs.md");
    let mut v = sample();
    add_ratios(&mut v);
    let targets = check_targets(&v);
    let text = to_json(&machine(), &meta(), &v, (&targets, &[]));
    let json = Parser::parse_document(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let keys = |j: &J| -> Vec<String> {
        match j {
            J::Obj(fields) => fields.iter().map(|(k, _)| k.clone()).collect(),
            _ => panic!("not an object: {j:?}"),
        }
    };
    let mut names = keys(&json);
    names.extend(keys(json.get("machine")));
    names.extend(keys(&json.get("results").arr()[0]));
    names.extend(keys(&json.get("targets").arr()[0]));
    let csv = to_csv(&machine(), &meta(), &v);
    names.extend(parse_csv(&csv)[0].iter().cloned());
    for name in names {
        assert!(
            doc.contains(&format!("`{name}`")),
            "docs/outputs.md does not describe `{name}`"
        );
    }
    assert!(doc.contains(&format!("now **{SCHEMA_VERSION}**")));
}

/// Records between two processes on every placement: round trips (SRR 1.1x slower than futex
/// on one CPU, 0.9x across CPUs, 1.5x unpinned) and one-way asyncmsg/64 against both rings.
fn between_processes() -> Vec<Record> {
    use Workload::*;
    let mut v = vec![
        rec("SRR", RoundTrip, 64, 1, 1, "xproc-same-cpu", 300_000.0),
        rec("futex", RoundTrip, 64, 1, 1, "xproc-same-cpu", 330_000.0),
        rec("pipe", RoundTrip, 64, 1, 1, "xproc-same-cpu", 310_000.0),
        rec("SRR", RoundTrip, 64, 1, 1, "xproc-cross-cpu", 450_000.0),
        rec("futex", RoundTrip, 64, 1, 1, "xproc-cross-cpu", 405_000.0),
        rec("SRR", RoundTrip, 64, 1, 1, "xproc-unpinned", 200_000.0),
        rec("futex", RoundTrip, 64, 1, 1, "xproc-unpinned", 300_000.0),
        rec(
            "asyncmsg",
            OneWay,
            64,
            64,
            1,
            "xproc-cross-cpu",
            2_000_000.0,
        ),
        rec(
            "spsc-ring",
            OneWay,
            64,
            1,
            1,
            "xproc-cross-cpu",
            10_000_000.0,
        ),
        rec(
            "spsc-batch",
            OneWay,
            64,
            256,
            1,
            "xproc-cross-cpu",
            40_000_000.0,
        ),
    ];
    v[7].sender_entries_per_msg = Some(1.0 / 64.0 + 0.002);
    v
}

#[test]
fn round_trip_between_processes_is_held_to_1_2x_futex_on_pinned_placements_only() {
    let mut v = between_processes();
    add_ratios(&mut v);
    let t = check_targets(&v);
    let rt: Vec<&TargetCheck> = t
        .iter()
        .filter(|x| x.name.contains("between two processes"))
        .collect();
    // One CPU: futex/SRR = 1.1 <= 1.2, met; across CPUs 0.9, met; unpinned: no target.
    assert_eq!(rt.len(), 2, "{t:#?}");
    let same = rt.iter().find(|x| x.placement == "xproc-same-cpu").unwrap();
    assert!((same.value - 1.1).abs() < 1e-9 && same.met && same.bound == 1.2);
    assert_eq!((same.op.as_str(), same.paired_rounds), ("<=", 5));
    assert!(same.basis.contains("SRR 300k/s") && same.basis.contains("futex 330k/s"));
    let cross = rt
        .iter()
        .find(|x| x.placement == "xproc-cross-cpu")
        .unwrap();
    assert!((cross.value - 0.9).abs() < 1e-9 && cross.met);
    assert!(!t.iter().any(|x| x.placement == "xproc-unpinned"), "{t:#?}");
    // The targets of the placements between threads do not apply between processes.
    assert!(!t.iter().any(|x| x.name.contains("on one CPU")
        || x.name.contains("spin-then-futex")
        || x.name.contains("10x faster")));
    // Slower than 1.2x: missed.
    let mut slow = between_processes();
    slow[0] = rec(
        "SRR",
        Workload::RoundTrip,
        64,
        1,
        1,
        "xproc-same-cpu",
        250_000.0,
    );
    let t = check_targets(&slow);
    let same = t
        .iter()
        .find(|x| x.placement == "xproc-same-cpu" && x.name.contains("between two processes"))
        .unwrap();
    assert!((same.value - 1.32).abs() < 1e-9 && !same.met, "{same:?}");
    // asyncmsg's sender entries are checked between processes as everywhere.
    assert!(t
        .iter()
        .any(|x| x.placement == "xproc-cross-cpu" && x.name.contains("asyncmsg/64 sender")));
}

#[test]
fn asyncmsg_between_processes_is_reported_against_both_rings() {
    let mut v = between_processes();
    add_ratios(&mut v);
    let r = reported(&v);
    // Against the per-message ring (0.2) and the batch ring (0.05); no one-way SRR here.
    assert_eq!(r.len(), 2, "{r:#?}");
    assert!(
        r[0].name.contains("SPSC ring publishing every message"),
        "{r:#?}"
    );
    assert!((r[0].value - 0.2).abs() < 1e-9 && r[0].paired_rounds == 5);
    assert!(r[1].name.contains("batch-publishing SPSC ring"), "{r:#?}");
    assert!((r[1].value - 0.05).abs() < 1e-9);
    assert!(r.iter().all(|x| x.placement == "xproc-cross-cpu"));
    // The table's ratio columns too.
    let a = &v[7];
    assert!((a.ratio("spsc-ring").unwrap() - 0.2).abs() < 1e-9);
    assert!((a.ratio("spsc-batch").unwrap() - 0.05).abs() < 1e-9);
    // Between threads, the per-message ring is not reported (as before).
    let mut s = sample();
    add_ratios(&mut s);
    assert!(!reported(&s)
        .iter()
        .any(|x| x.name.contains("publishing every message")));
}

#[test]
fn table_widens_the_placement_column_for_placements_between_processes() {
    let mut v = sample();
    v.extend(between_processes());
    add_ratios(&mut v);
    let text = table(&machine(), &meta(), &v);
    // Every row's columns line up: `msgs/s` ends at the same column in every data row.
    let header = text
        .lines()
        .find(|l| l.starts_with("model "))
        .expect("a header");
    let end = header.find("msgs/s").expect("msgs/s column") + "msgs/s".len();
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(" xproc-") || l.contains(" cross-cpu ") || l.contains(" same-cpu "))
        .filter(|l| !l.starts_with(' ') && !l.starts_with("placements"))
        .collect();
    assert!(rows.iter().any(|l| l.contains("xproc-cross-cpu")), "{text}");
    for l in &rows {
        let before: String = l.chars().take(end).collect();
        let after: String = l.chars().skip(end).take(1).collect();
        assert!(
            before.ends_with(|c: char| c.is_ascii_alphanumeric()) && after == " ",
            "misaligned: {l}\n{header}"
        );
    }
    // Without placements between processes the layout is as it was: `placement` 9 wide.
    let plain = table(&machine(), &meta(), &sample());
    let h = plain.lines().find(|l| l.starts_with("model ")).unwrap();
    assert!(h.contains(" prod placement  msgs/s"), "{h}");
    // The targets and reported ratios line up their placements too.
    let t = targets_text(&check_targets(&v));
    assert!(t.contains("  met     xproc-cross-cpu  "), "{t}");
    assert!(t.contains("  met     cross-cpu        "), "{t}");
}
