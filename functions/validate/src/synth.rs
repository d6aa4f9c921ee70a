//! Synthetic listing photos for tests, benchmarks and the memory example (feature `synth`).
//!
//! A scene is drawn analytically in normalised coordinates (sky, ground, a car body with windows,
//! wheels and a grille), so the same scene at two resolutions is the same picture, and a JPEG of
//! any size is encoded row by row without holding the image in memory.

use jpeg_encoder::{Encoder, ImageBuffer, JpegColorType, rgb_to_ycbcr};

/// A picture to draw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scene {
    pub width: u32,
    pub height: u32,
    /// Changes the layout and colours: different seeds are different photos.
    pub seed: u64,
    /// Multiplies every channel (under 1 darkens).
    pub gain: f64,
    /// Added to every channel after the gain (over 0 washes out).
    pub lift: f64,
    /// Width of every edge ramp in normalised units; 0 is sharp, 0.03 is badly out of focus.
    pub softness: f64,
}

impl Scene {
    /// A well-exposed, sharp photo.
    pub fn new(width: u32, height: u32, seed: u64) -> Self {
        Self {
            width,
            height,
            seed,
            gain: 1.0,
            lift: 0.0,
            softness: 0.0,
        }
    }

    pub fn dark(self) -> Self {
        Self { gain: 0.12, ..self }
    }

    pub fn bright(self) -> Self {
        Self {
            lift: 190.0,
            ..self
        }
    }

    pub fn blurred(self) -> Self {
        Self {
            softness: 0.03,
            ..self
        }
    }

    fn layout(&self) -> f64 {
        // A small deterministic offset per seed, in -0.15..0.15.
        let mixed = self.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
        (mixed % 1000) as f64 / 1000.0 * 0.3 - 0.15
    }

    /// Inside-ness of `d` (positive inside), a hard step or a ramp of width `softness`.
    fn step(&self, d: f64) -> f64 {
        if self.softness == 0.0 {
            f64::from(u8::from(d > 0.0))
        } else {
            let t = ((d + self.softness) / (2.0 * self.softness)).clamp(0.0, 1.0);
            t * t * (3.0 - 2.0 * t)
        }
    }

    fn rect(&self, u: f64, v: f64, [u0, v0, u1, v1]: [f64; 4]) -> f64 {
        self.step((u - u0).min(u1 - u).min(v - v0).min(v1 - v))
    }

    /// Buildings behind the car: six blocks whose place, size and shade follow the seed.
    fn backdrop(&self) -> [([f64; 4], f64); 6] {
        let mut state = self.seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as f64 / f64::from(1u32 << 31)
        };
        [(); 6].map(|_| {
            let (u0, w) = (next() * 0.9, 0.05 + next() * 0.2);
            let (v0, h) = (next() * 0.3, 0.1 + next() * 0.25);
            ([u0, v0, u0 + w, v0 + h], 40.0 + next() * 180.0)
        })
    }

    fn painter(&self) -> Painter {
        Painter {
            scene: *self,
            backdrop: self.backdrop(),
            shift: self.layout(),
        }
    }

    /// RGB bytes of the whole picture (for formats that need a buffer).
    pub fn rgb(&self) -> Vec<u8> {
        let painter = self.painter();
        let mut out = Vec::with_capacity(self.width as usize * self.height as usize * 3);
        for y in 0..self.height {
            for x in 0..self.width {
                out.extend_from_slice(&painter.pixel(x, y));
            }
        }
        out
    }

    /// A JPEG (4:2:0), encoded row by row.
    pub fn jpeg(&self, quality: u8, progressive: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = Encoder::new(&mut out, quality);
        encoder.set_progressive(progressive);
        encoder
            .encode_image(Rows(self.painter()))
            .expect("synthetic JPEG dimensions fit in 16 bits");
        out
    }

    /// A PNG (the encoder writes no interlaced PNGs).
    pub fn png(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, self.width, self.height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().expect("writing to a Vec");
        writer
            .write_image_data(&self.rgb())
            .expect("writing to a Vec");
        writer.finish().expect("writing to a Vec");
        out
    }

    /// A lossless WebP: a format validate refuses, since the endpoint cannot take it.
    pub fn webp(&self) -> Vec<u8> {
        let mut out = Vec::new();
        image_webp::WebPEncoder::new(&mut out)
            .encode(
                &self.rgb(),
                self.width,
                self.height,
                image_webp::ColorType::Rgb8,
            )
            .expect("writing to a Vec");
        out
    }
}

/// A scene with its per-picture layout worked out once.
struct Painter {
    scene: Scene,
    backdrop: [([f64; 4], f64); 6],
    shift: f64,
}

impl Painter {
    /// The colour at pixel `(x, y)`.
    fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let scene = &self.scene;
        let u = (f64::from(x) + 0.5) / f64::from(scene.width);
        let v = (f64::from(y) + 0.5) / f64::from(scene.height);
        let shift = self.shift;
        let hue = (scene.seed % 5) as f64 * 40.0;
        let mix = |a: [f64; 3], b: [f64; 3], t: f64| [0, 1, 2].map(|i| a[i] + (b[i] - a[i]) * t);
        let mut c = [120.0 + 60.0 * v, 160.0 + 40.0 * v, 220.0];
        for (block, shade) in self.backdrop {
            c = mix(
                c,
                [shade, shade * 0.9, shade * 0.8],
                scene.rect(u, v, block),
            );
        }
        c = mix(c, [95.0, 92.0, 88.0], scene.step(v - 0.55));
        let body = [0.2 + shift, 0.42, 0.8 + shift, 0.74];
        c = mix(c, [60.0 + hue, 40.0, 200.0 - hue], scene.rect(u, v, body));
        let window = [0.32 + shift, 0.46, 0.62 + shift, 0.56];
        c = mix(c, [30.0, 35.0, 45.0], scene.rect(u, v, window));
        // A grille of thin bars: fine detail that only a sharp photo keeps.
        let grille = scene.rect(u, v, [0.66 + shift, 0.6, 0.78 + shift, 0.7]);
        if grille > 0.0 && scene.softness == 0.0 && ((u * 200.0) as i64) % 2 == 0 {
            c = mix(c, [230.0, 230.0, 230.0], grille);
        }
        for wheel_u in [0.3 + shift, 0.7 + shift] {
            let r = ((u - wheel_u).powi(2) * 1.8 + (v - 0.75).powi(2)).sqrt();
            c = mix(c, [15.0, 15.0, 15.0], scene.step(0.07 - r));
        }
        c.map(|ch| (ch * scene.gain + scene.lift).clamp(0.0, 255.0) as u8)
    }
}

/// Feeds the encoder one row at a time.
struct Rows(Painter);

impl ImageBuffer for Rows {
    fn get_jpeg_color_type(&self) -> JpegColorType {
        JpegColorType::Ycbcr
    }

    fn width(&self) -> u16 {
        self.0.scene.width as u16
    }

    fn height(&self) -> u16 {
        self.0.scene.height as u16
    }

    fn fill_buffers(&self, y: u16, buffers: &mut [Vec<u8>; 4]) {
        for x in 0..self.0.scene.width {
            let [r, g, b] = self.0.pixel(x, u32::from(y));
            let (luma, cb, cr) = rgb_to_ycbcr(r, g, b);
            buffers[0].push(luma);
            buffers[1].push(cb);
            buffers[2].push(cr);
        }
    }
}
