//! Validating and extracting features from a 12-megapixel phone photo (4032×3024), the
//! requirement being at most 60 ms on one core. The photos are generated here, not committed.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use validate::photo::{PhotoRules, inspect};
use validate::synth::Scene;

fn twelve_megapixels(c: &mut Criterion) {
    let rules = PhotoRules::default();
    let scene = Scene::new(4032, 3024, 7);
    let baseline = scene.jpeg(88, false);
    let progressive = scene.jpeg(88, true);
    let mut group = c.benchmark_group("inspect_12mp");
    group.sample_size(30);
    group.bench_function("jpeg_baseline", |b| {
        b.iter(|| inspect(black_box(&baseline), &rules))
    });
    group.bench_function("jpeg_progressive", |b| {
        b.iter(|| inspect(black_box(&progressive), &rules))
    });
    group.finish();
}

criterion_group!(benches, twelve_megapixels);
criterion_main!(benches);
