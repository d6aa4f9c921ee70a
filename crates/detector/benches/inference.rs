//! End-to-end local inference per photo on one core (tract runs single-threaded): JPEG decode,
//! letterbox, model, decoding, NMS, boxes mapped back. Criterion's estimate plus p50/p95 over every
//! timed call, printed at the end.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use detector::{Detector, SynthConfig, generate};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn end_to_end(c: &mut Criterion) {
    let model = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models/damage-detector.onnx");
    let detector = Detector::load(model).unwrap();
    let mut group = c.benchmark_group("detect");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(10));
    for (name, width, height) in [("640x480", 640, 480), ("4032x3024", 4032, 3024)] {
        let photos: Vec<Vec<u8>> = (0..8)
            .map(|seed| {
                generate(
                    seed,
                    &SynthConfig {
                        width,
                        height,
                        ..SynthConfig::default()
                    },
                )
            })
            .map(|p| p.image.encode_jpeg(90).unwrap())
            .collect();
        let mut timings = Vec::new();
        group.bench_function(format!("jpeg_{name}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for i in 0..iters {
                    let start = Instant::now();
                    let response = detector.detect(&photos[i as usize % photos.len()]).unwrap();
                    let elapsed = start.elapsed();
                    std::hint::black_box(response);
                    timings.push(elapsed);
                    total += elapsed;
                }
                total
            })
        });
        timings.sort();
        println!(
            "detect/jpeg_{name}: {} calls, p50 {:.1} ms, p95 {:.1} ms",
            timings.len(),
            percentile(&timings, 0.5).as_secs_f64() * 1e3,
            percentile(&timings, 0.95).as_secs_f64() * 1e3
        );
    }
    group.finish();
}

criterion_group!(benches, end_to_end);
criterion_main!(benches);
