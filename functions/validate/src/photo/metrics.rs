//! Quality measures and the perceptual hash, computed on the grey-scale analysis copy.

use super::decode::Luma;

/// Bins of the luminance histogram kept in the features record.
pub const HISTOGRAM_BINS: usize = 32;
/// A pixel at or below this is clipped to black.
const DARK_CLIP: u8 = 16;
/// A pixel at or above this is clipped to white.
const BRIGHT_CLIP: u8 = 240;

/// Exposure of an image.
#[derive(Debug, Clone, PartialEq)]
pub struct Exposure {
    /// Mean luminance, 0 to 255.
    pub mean: f64,
    /// Fraction of pixels clipped to black.
    pub dark_fraction: f64,
    /// Fraction of pixels clipped to white.
    pub bright_fraction: f64,
    /// Fractions of pixels per luminance bin (sums to 1).
    pub histogram: Vec<f64>,
}

/// Histogram, mean and clipped fractions of the luminance.
pub fn exposure(image: &Luma) -> Exposure {
    let mut counts = [0u64; 256];
    for &p in &image.pixels {
        counts[usize::from(p)] += 1;
    }
    let total = image.pixels.len().max(1) as f64;
    let sum: u64 = counts.iter().enumerate().map(|(v, &c)| v as u64 * c).sum();
    let dark: u64 = counts[..=usize::from(DARK_CLIP)].iter().sum();
    let bright: u64 = counts[usize::from(BRIGHT_CLIP)..].iter().sum();
    let histogram = counts
        .chunks(256 / HISTOGRAM_BINS)
        .map(|bin| bin.iter().sum::<u64>() as f64 / total)
        .collect();
    Exposure {
        mean: sum as f64 / total,
        dark_fraction: dark as f64 / total,
        bright_fraction: bright as f64 / total,
        histogram,
    }
}

/// Sharpness: variance of the 4-neighbour Laplacian over the interior pixels. Low means blurry.
pub fn laplacian_variance(image: &Luma) -> f64 {
    let (w, h) = (image.width as usize, image.height as usize);
    if w < 3 || h < 3 {
        return 0.0;
    }
    let p = |x: usize, y: usize| i64::from(image.pixels[y * w + x]);
    let (mut sum, mut sum_sq) = (0i64, 0i64);
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let lap = p(x - 1, y) + p(x + 1, y) + p(x, y - 1) + p(x, y + 1) - 4 * p(x, y);
            sum += lap;
            sum_sq += lap * lap;
        }
    }
    let n = ((w - 2) * (h - 2)) as f64;
    let mean = sum as f64 / n;
    sum_sq as f64 / n - mean * mean
}

/// Difference hash: the image averaged down to 9×8 cells, one bit per horizontally adjacent pair
/// (set when the left cell is brighter). Robust to scaling, recompression and small edits.
pub fn dhash(image: &Luma) -> u64 {
    const COLS: usize = 9;
    const ROWS: usize = 8;
    let (w, h) = (image.width as usize, image.height as usize);
    if w == 0 || h == 0 {
        return 0;
    }
    let span = |i: usize, cells: usize, len: usize| {
        let start = (i * len / cells).min(len - 1);
        let end = ((i + 1) * len / cells).max(start + 1);
        start..end
    };
    let mut cells = [[0u64; COLS]; ROWS];
    for (r, row) in cells.iter_mut().enumerate() {
        let ys = span(r, ROWS, h);
        for (c, cell) in row.iter_mut().enumerate() {
            let xs = span(c, COLS, w);
            let mut sum = 0u64;
            for y in ys.clone() {
                sum += image.pixels[y * w + xs.start..y * w + xs.end]
                    .iter()
                    .map(|&p| u64::from(p))
                    .sum::<u64>();
            }
            *cell = sum * 64 / (ys.len() * xs.len()) as u64;
        }
    }
    let mut hash = 0u64;
    for row in &cells {
        for pair in row.windows(2) {
            hash = hash << 1 | u64::from(pair[0] > pair[1]);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(width: u32, height: u32, f: impl Fn(u32, u32) -> u8) -> Luma {
        let pixels = (0..height)
            .flat_map(|y| (0..width).map(move |x| (x, y)))
            .map(|(x, y)| f(x, y))
            .collect();
        Luma {
            width,
            height,
            pixels,
        }
    }

    #[test]
    fn exposure_of_flat_images() {
        let black = exposure(&image(10, 10, |_, _| 0));
        assert_eq!(
            (black.mean, black.dark_fraction, black.bright_fraction),
            (0.0, 1.0, 0.0)
        );
        assert_eq!(black.histogram[0], 1.0);
        let half = exposure(&image(10, 10, |x, _| if x < 5 { 255 } else { 128 }));
        assert!((half.mean - 191.5).abs() < 1e-9);
        assert_eq!(half.bright_fraction, 0.5);
        assert!((half.histogram.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn laplacian_sees_edges_not_gradients() {
        assert_eq!(
            laplacian_variance(&image(20, 20, |x, _| (x * 10) as u8)),
            0.0
        );
        let checker = laplacian_variance(&image(
            20,
            20,
            |x, y| if (x + y) % 2 == 0 { 255 } else { 0 },
        ));
        assert!(checker > 100_000.0, "{checker}");
        assert_eq!(laplacian_variance(&image(2, 2, |_, _| 9)), 0.0);
    }

    #[test]
    fn dhash_is_stable_under_scaling_and_differs_between_images() {
        let scene = |scale: u32| {
            image(90 * scale, 80 * scale, move |x, y| {
                ((x / scale * 7 + y / scale * 3) % 251) as u8
            })
        };
        let small = dhash(&scene(1));
        let large = dhash(&scene(4));
        assert!(
            (small ^ large).count_ones() <= 2,
            "{small:016x} {large:016x}"
        );
        let other = dhash(&image(90, 80, |x, y| ((y * 13 + x) % 199) as u8));
        assert!((small ^ other).count_ones() > 10);
        // Tiny images do not panic.
        let _ = dhash(&image(1, 1, |_, _| 3));
    }
}
