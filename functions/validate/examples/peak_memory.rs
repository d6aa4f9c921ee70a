//! Peak heap memory of checking one photo, measured with a counting allocator around
//! `inspect` alone (generating the photo is not counted). The requirement is at most 128 MB for
//! a 12-megapixel JPEG and for a 50-megapixel photo.
//!
//! `cargo run --release -p validate --example peak_memory`

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use validate::photo::{PhotoRules, inspect};
use validate::synth::Scene;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator and only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn measure(label: &str, bytes: &[u8], rules: &PhotoRules) {
    let before = CURRENT.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let start = Instant::now();
    let outcome = inspect(bytes, rules);
    let elapsed = start.elapsed();
    let peak = PEAK.load(Ordering::Relaxed) - before;
    let verdict = match &outcome {
        Ok(report) => format!(
            "accepted {}x{} flags {:?}",
            report.width, report.height, report.quality_flags
        ),
        Err(rejection) => format!("rejected {:?}: {}", rejection.reason, rejection.detail),
    };
    println!(
        "{label:<28} {:>7.1} MB file  peak {:>6.1} MiB  {:>7.1} ms  {verdict}",
        bytes.len() as f64 / 1e6,
        peak as f64 / (1024.0 * 1024.0),
        elapsed.as_secs_f64() * 1000.0,
    );
}

fn main() {
    let rules = PhotoRules::default();
    let twelve = Scene::new(4032, 3024, 1);
    measure("12 MP JPEG baseline", &twelve.jpeg(88, false), &rules);
    measure("12 MP JPEG progressive", &twelve.jpeg(88, true), &rules);
    let fifty = Scene::new(8160, 6120, 2);
    measure("50 MP JPEG baseline", &fifty.jpeg(85, false), &rules);
    measure("50 MP JPEG progressive", &fifty.jpeg(85, true), &rules);
    measure("12 MP PNG", &twelve.png(), &rules);
    measure("50 MP PNG", &fifty.png(), &rules);
}
