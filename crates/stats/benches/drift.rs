//! PSI and KS on 1,000,000 values.
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

use stats::{Histogram, ks_2samp, psi, quantile_edges, quantile_histogram};

/// Deterministic pseudo-normal values (sum of uniforms from a 64-bit LCG), shifted by `shift`.
fn feature(n: usize, seed: u64, shift: f64) -> Vec<f64> {
    let mut state = seed;
    let mut uniform = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..n)
        .map(|_| (0..4).map(|_| uniform()).sum::<f64>() - 2.0 + shift)
        .collect()
}

fn bench(c: &mut Criterion) {
    const N: usize = 1_000_000;
    let baseline = feature(N, 1, 0.0);
    let current = feature(N, 2, 0.05);
    let mut group = c.benchmark_group("1M values");
    group.sample_size(20);
    group.bench_function("psi: baseline profile + window histogram", |b| {
        b.iter(|| {
            let expected = quantile_histogram(black_box(&baseline), 10).unwrap();
            let mut actual = Histogram::new(expected.bins().clone());
            actual.extend_from_slice(black_box(&current));
            psi(&expected.proportions(), &actual, 1e-6).unwrap().psi
        })
    });
    group.bench_function("psi: baseline profile (quantile_histogram)", |b| {
        b.iter(|| {
            quantile_histogram(black_box(&baseline), 10)
                .unwrap()
                .total()
        })
    });
    let bins = quantile_edges(&baseline, 10).unwrap();
    group.bench_function("psi: window histogram in 64Ki chunks", |b| {
        b.iter(|| {
            let mut actual = Histogram::new(bins.clone());
            for chunk in black_box(&current).chunks(65_536) {
                actual.extend_from_slice(chunk);
            }
            actual.total()
        })
    });
    group.bench_function("psi: window histogram one push at a time", |b| {
        b.iter(|| {
            let mut actual = Histogram::new(bins.clone());
            for &v in black_box(&current) {
                actual.push(v);
            }
            actual.total()
        })
    });
    group.bench_function("ks_2samp", |b| {
        b.iter(|| {
            ks_2samp(black_box(&baseline), black_box(&current))
                .unwrap()
                .p_value
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
