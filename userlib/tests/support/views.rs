//! Recording a scenario through the kernel's trace ring into the student views, for the tests
//! of what those views draw (`use support::views::record;`).

use userlib::Kernel;

/// Records `scenario` through the kernel's trace ring (as `pidin-sim --trace` does): the
/// timeline's JSON (written to a temporary file, removed) and the chart's SVG.
pub fn record(k: &Kernel, scenario: impl FnOnce()) -> (serde_json::Value, String) {
    let path = std::env::temp_dir().join(format!(
        "userlib-views-{}-{:?}.json",
        std::process::id(),
        std::thread::current().id()
    ));
    struct Rm(std::path::PathBuf);
    impl Drop for Rm {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let _rm = Rm(path.clone());
    let (tl, tl_guard) = userlib::timeline::TimelineLayer::new(&path).expect("timeline");
    let (chart, chart_guard) = userlib::seqchart::memory(userlib::seqchart::Options::default());
    let (mut reader, before) = k
        .trace_start(std::process::id() as i32)
        .expect("trace_start");
    let mut batch = userlib::trace::Decoded::states_of(&before, userlib::trace::monotonic_ns());
    scenario();
    reader.finish_into(&mut batch);
    assert_eq!(reader.lost(), 0, "the ring was lapped");
    drop(reader);
    for d in &batch {
        tl.record_decoded(d);
        chart.record_decoded(d);
    }
    tl_guard.finish().expect("writing the timeline");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("the timeline file"))
            .expect("the timeline is JSON");
    (json, chart_guard.svg())
}
