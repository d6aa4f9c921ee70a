//! Synthetic listing photos with labelled damage, fully determined by a seed.
//!
//! A photo is a painted car-body panel rendered with a small physically-flavoured shader: the panel
//! is a height field (curvature, a body crease, dents), its normals drive a diffuse term, a specular
//! highlight and a mirror reflection of an environment (sky, skyline, ground, with a crisp horizon
//! line). A dent is a Gaussian depression of the height field, so it shows as a local distortion of the
//! shading and of the reflected horizon; a scratch is a thin irregular stroke, lighter (clear coat) or
//! darker (primer) than the paint. Door gaps, wheel arches and the background are the distractors.
//! Lighting presets change the scene's radiance, colour and noise, so luminance statistics really move.

use std::f32::consts::PI;
use std::str::FromStr;

use crate::boxes::{BoundingBox, DamageClass, GroundTruth};
use crate::raster::RgbImage;
use crate::rng::SplitMix64;

/// Lighting of the scene.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lighting {
    /// Clear day: blue sky, sun, strong reflections.
    Day,
    /// Overcast winter: snow on the ground, flat bright light, cold tint, low contrast.
    Winter,
    /// Night under a sodium street lamp: dark, orange, noisy.
    Night,
}

impl Lighting {
    pub fn name(self) -> &'static str {
        match self {
            Lighting::Day => "day",
            Lighting::Winter => "winter",
            Lighting::Night => "night",
        }
    }
}

/// An unknown lighting name.
#[derive(Debug, thiserror::Error)]
#[error("unknown lighting {0:?} (expected day, winter or night)")]
pub struct UnknownLighting(pub String);

impl FromStr for Lighting {
    type Err = UnknownLighting;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "day" => Ok(Lighting::Day),
            "winter" => Ok(Lighting::Winter),
            "night" => Ok(Lighting::Night),
            other => Err(UnknownLighting(other.to_string())),
        }
    }
}

/// The knobs of the generator.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthConfig {
    pub width: u32,
    pub height: u32,
    pub lighting: Lighting,
    /// Gaussian blur sigma in pixels of the output (0 = sharp).
    pub blur_sigma: f32,
    /// Inclusive range of the number of scratches per photo.
    pub scratches: (u32, u32),
    /// Inclusive range of the number of dents per photo.
    pub dents: (u32, u32),
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self {
            width: 640,
            height: 480,
            lighting: Lighting::Day,
            blur_sigma: 0.0,
            scratches: (0, 3),
            dents: (0, 2),
        }
    }
}

/// A generated photo and its labels (boxes in pixels of the photo).
#[derive(Debug, Clone)]
pub struct SyntheticPhoto {
    pub image: RgbImage,
    pub damage: Vec<GroundTruth>,
}

impl SyntheticPhoto {
    /// The YOLO label file: one `class cx cy w h` line per damage, normalised.
    pub fn yolo_labels(&self) -> String {
        self.damage
            .iter()
            .map(|d| d.yolo_line(self.image.width, self.image.height) + "\n")
            .collect()
    }
}

type Rgb = [f32; 3];

/// Radiance and camera constants of a lighting preset.
struct Preset {
    zenith: Rgb,
    horizon: Rgb,
    ground_near: Rgb,
    ground_far: Rgb,
    skyline: Rgb,
    light: Rgb,
    light_dir: [f32; 3],
    ambient: f32,
    diffuse: f32,
    specular: f32,
    exposure: f32,
    tint: Rgb,
    contrast: f32,
    noise: f32,
}

fn preset(lighting: Lighting) -> Preset {
    match lighting {
        Lighting::Day => Preset {
            zenith: [0.30, 0.50, 0.90],
            horizon: [0.85, 0.90, 0.95],
            ground_near: [0.30, 0.29, 0.27],
            ground_far: [0.50, 0.47, 0.42],
            skyline: [0.18, 0.24, 0.18],
            light: [1.0, 0.97, 0.90],
            light_dir: [0.35, -0.75, 0.55],
            ambient: 0.35,
            diffuse: 0.75,
            specular: 0.9,
            exposure: 1.0,
            tint: [1.0, 1.0, 1.0],
            contrast: 1.0,
            noise: 0.008,
        },
        Lighting::Winter => Preset {
            zenith: [0.78, 0.80, 0.86],
            horizon: [0.92, 0.93, 0.96],
            ground_near: [0.90, 0.92, 0.97],
            ground_far: [0.85, 0.87, 0.92],
            skyline: [0.45, 0.47, 0.52],
            light: [0.88, 0.92, 1.0],
            light_dir: [0.1, -0.9, 0.4],
            ambient: 0.70,
            diffuse: 0.35,
            specular: 0.15,
            exposure: 1.15,
            tint: [0.94, 0.99, 1.08],
            contrast: 0.75,
            noise: 0.012,
        },
        Lighting::Night => Preset {
            zenith: [0.010, 0.012, 0.030],
            horizon: [0.060, 0.050, 0.055],
            ground_near: [0.025, 0.022, 0.020],
            ground_far: [0.045, 0.040, 0.035],
            skyline: [0.012, 0.012, 0.016],
            light: [1.0, 0.68, 0.32],
            light_dir: [-0.5, -0.6, 0.6],
            ambient: 0.05,
            diffuse: 0.55,
            specular: 1.0,
            exposure: 0.85,
            tint: [1.0, 0.95, 0.9],
            contrast: 1.0,
            noise: 0.035,
        },
    }
}

const PAINTS: [Rgb; 8] = [
    [0.85, 0.85, 0.84], // white
    [0.55, 0.57, 0.60], // silver
    [0.05, 0.05, 0.06], // black
    [0.62, 0.06, 0.05], // red
    [0.07, 0.17, 0.45], // blue
    [0.28, 0.29, 0.31], // grey
    [0.07, 0.24, 0.14], // green
    [0.80, 0.58, 0.08], // yellow
];

/// A dent: a Gaussian depression of the panel.
struct Dent {
    cx: f32,
    cy: f32,
    sx: f32,
    sy: f32,
    depth: f32,
}

/// The sampled geometry of one photo's scene.
struct Scene {
    w: f32,
    h: f32,
    focal: f32,
    paint: Rgb,
    top: [f32; 3],
    bottom: [f32; 2],
    left: f32,
    right: f32,
    wheel: Option<(f32, f32, f32)>,
    gap: Option<(f32, f32)>,
    slope: [f32; 4],
    crease: (f32, f32, f32),
    horizon: f32,
    skyline: [f32; 48],
    reflectivity: f32,
    dents: Vec<Dent>,
}

impl Scene {
    fn sample(rng: &mut SplitMix64, config: &SynthConfig) -> Self {
        let (w, h) = (config.width as f32, config.height as f32);
        let mut paint = PAINTS[rng.int_inclusive(0, PAINTS.len() as u32 - 1) as usize];
        for c in &mut paint {
            *c = (*c * rng.range(0.85, 1.15)).clamp(0.0, 1.0);
        }
        let wheel = rng.chance(0.5).then(|| {
            let r = h * rng.range(0.14, 0.24);
            (w * rng.range(0.15, 0.85), h * rng.range(0.85, 1.05), r)
        });
        let gap = rng
            .chance(0.6)
            .then(|| (w * rng.range(0.1, 0.9), rng.range(-0.15, 0.15)));
        let mut skyline = [0.0; 48];
        for s in &mut skyline {
            *s = if rng.chance(0.35) {
                0.0
            } else {
                rng.range(0.01, 0.12)
            };
        }
        Self {
            w,
            h,
            focal: 1.5 * w.max(h),
            paint,
            top: [
                h * rng.range(0.02, 0.28),
                h * rng.range(0.0, 0.05),
                rng.range(0.5, 3.0),
            ],
            bottom: [h * rng.range(0.78, 1.02), h * rng.range(-0.08, 0.08)],
            left: if rng.chance(0.5) {
                -1.0
            } else {
                w * rng.range(0.0, 0.12)
            },
            right: if rng.chance(0.5) {
                w + 1.0
            } else {
                w * rng.range(0.88, 1.0)
            },
            wheel,
            gap,
            slope: [
                rng.range(-0.25, 0.25),
                rng.range(-0.15, 0.15),
                rng.range(0.1, 0.45),
                rng.range(-0.2, 0.2),
            ],
            crease: (
                h * rng.range(0.3, 0.7),
                h * rng.range(0.01, 0.03),
                rng.range(-0.3, 0.3),
            ),
            horizon: rng.range(-0.2, 0.2),
            skyline,
            reflectivity: rng.range(0.12, 0.3),
            dents: Vec::new(),
        }
    }

    fn top_at(&self, x: f32) -> f32 {
        self.top[0] + self.top[1] * (x / self.w * self.top[2] * PI).sin()
    }

    fn bottom_at(&self, x: f32) -> f32 {
        self.bottom[0] + self.bottom[1] * (x / self.w - 0.5)
    }

    /// Whether a pixel shows painted panel (and not background, ground or wheel).
    fn on_panel(&self, x: f32, y: f32) -> bool {
        if x < self.left || x > self.right || y < self.top_at(x) || y > self.bottom_at(x) {
            return false;
        }
        !self
            .wheel
            .is_some_and(|(cx, cy, r)| (x - cx).powi(2) + (y - cy).powi(2) < r * r)
    }

    /// Whether a box (pixels) lies on the panel, checked on its corners and centre.
    fn box_on_panel(&self, b: &BoundingBox) -> bool {
        let (mx, my) = ((b.x1 + b.x2) / 2.0, (b.y1 + b.y2) / 2.0);
        [
            (b.x1, b.y1),
            (b.x2, b.y1),
            (b.x1, b.y2),
            (b.x2, b.y2),
            (mx, my),
        ]
        .iter()
        .all(|&(x, y)| self.on_panel(x, y))
    }

    /// The slope of the panel's height field `(dh/dx, dh/dy)` at a pixel.
    fn gradient(&self, x: f32, y: f32) -> (f32, f32) {
        let (xn, yn) = (x / self.w * 2.0 - 1.0, y / self.h * 2.0 - 1.0);
        let [ax, bx, ay, by] = self.slope;
        let mut gx = ax * xn + bx;
        let (cy, cw, ck) = self.crease;
        let mut gy = ay * yn + by + ck / (1.0 + (-(y - cy) / cw).exp());
        for d in &self.dents {
            let (dx, dy) = (x - d.cx, y - d.cy);
            let g = (-(dx * dx / (d.sx * d.sx) + dy * dy / (d.sy * d.sy)) / 2.0).exp();
            if g > 1e-4 {
                gx += d.depth * dx / (d.sx * d.sx) * g;
                gy += d.depth * dy / (d.sy * d.sy) * g;
            }
        }
        (gx, gy)
    }

    /// Radiance of the environment seen along direction `r` (x right, y down, z toward camera).
    fn environment(&self, p: &Preset, r: [f32; 3]) -> Rgb {
        let up = -r[1] - self.horizon;
        let azimuth = r[0].atan2(r[2].abs());
        let bin = ((azimuth + PI) / (2.0 * PI) * self.skyline.len() as f32) as usize;
        let building = self.skyline[bin.min(self.skyline.len() - 1)];
        if up > building {
            let t = smoothstep(0.0, 0.6, up);
            mix(p.horizon, p.zenith, t)
        } else if up > 0.0 {
            p.skyline
        } else {
            mix(p.ground_far, p.ground_near, smoothstep(0.0, 0.3, -up))
        }
    }

    /// Scene radiance at a pixel: the shaded panel, the wheel, or the background.
    fn radiance(&self, p: &Preset, x: f32, y: f32) -> Rgb {
        let d = normalize([
            (x - self.w / 2.0) / self.focal,
            (y - self.h / 2.0) / self.focal,
            -1.0,
        ]);
        if !self.on_panel(x, y) {
            if let Some((cx, cy, r)) = self.wheel {
                let dist = ((x - cx).powi(2) + (y - cy).powi(2)).sqrt();
                if dist < r && y >= self.top_at(x) {
                    let rim = if dist < 0.6 * r { 0.35 } else { 0.03 };
                    return scale(p.light, rim * (p.ambient + 0.3 * p.diffuse));
                }
            }
            // The background is the environment seen straight ahead.
            return self.environment(p, [d[0], d[1] + 0.15, -d[2]]);
        }
        let (gx, gy) = self.gradient(x, y);
        let n = normalize([-gx, -gy, 1.0]);
        let dn = dot(d, n);
        let r = [
            d[0] - 2.0 * dn * n[0],
            d[1] - 2.0 * dn * n[1],
            d[2] - 2.0 * dn * n[2],
        ];
        let l = normalize(p.light_dir);
        let diffuse = dot(n, l).max(0.0);
        let highlight = dot(r, l).max(0.0).powf(60.0) * p.specular;
        let fresnel =
            self.reflectivity + (1.0 - self.reflectivity) * (1.0 + dn).clamp(0.0, 1.0).powi(5);
        let env = self.environment(p, r);
        let mut c = [0.0; 3];
        for i in 0..3 {
            let body = self.paint[i] * (p.ambient + p.diffuse * diffuse) * p.light[i];
            c[i] = body * (1.0 - fresnel) + fresnel * env[i] + highlight * p.light[i];
        }
        if let Some((gx0, lean)) = self.gap {
            let gap_x = gx0 + lean * (y - self.h / 2.0);
            let width = self.h / 320.0;
            let t = ((x - gap_x).abs() / width).min(1.0);
            c = scale(c, 0.15 + 0.85 * t);
        }
        c
    }
}

/// Generates one photo from `seed`.
pub fn generate(seed: u64, config: &SynthConfig) -> SyntheticPhoto {
    let mut rng = SplitMix64::new(seed);
    let mut scene_rng = rng.fork();
    let mut damage_rng = rng.fork();
    let mut noise_rng = rng.fork();
    let p = preset(config.lighting);
    let mut scene = Scene::sample(&mut scene_rng, config);
    let size = scene.h.min(scene.w) / 480.0;
    let mut damage = Vec::new();

    let dents = damage_rng.int_inclusive(config.dents.0, config.dents.1);
    for _ in 0..dents {
        if let Some(dent) = place_dent(&mut damage_rng, &scene, size) {
            damage.push(GroundTruth {
                class: DamageClass::Dent,
                bbox: BoundingBox::from_center(dent.cx, dent.cy, 4.0 * dent.sx, 4.0 * dent.sy),
            });
            scene.dents.push(dent);
        }
    }

    let (w, h) = (config.width as usize, config.height as usize);
    let mut radiance = vec![[0.0f32; 3]; w * h];
    for y in 0..h {
        for x in 0..w {
            radiance[y * w + x] = scene.radiance(&p, x as f32 + 0.5, y as f32 + 0.5);
        }
    }

    let scratches = damage_rng.int_inclusive(config.scratches.0, config.scratches.1);
    for _ in 0..scratches {
        if let Some(bbox) = draw_scratch(&mut damage_rng, &scene, &p, size, &mut radiance) {
            damage.push(GroundTruth {
                class: DamageClass::Scratch,
                bbox,
            });
        }
    }

    let mut image = tone_map(&radiance, &p, config, &mut noise_rng);
    if config.blur_sigma > 0.0 {
        gaussian_blur(&mut image, config.blur_sigma);
    }
    SyntheticPhoto { image, damage }
}

/// Places a dent whose whole box lies on the panel; `None` after a few failed tries.
fn place_dent(rng: &mut SplitMix64, scene: &Scene, size: f32) -> Option<Dent> {
    for _ in 0..20 {
        let sx = size * rng.range(12.0, 32.0);
        let sy = sx * rng.range(0.6, 1.3);
        let dent = Dent {
            cx: rng.range(0.0, scene.w),
            cy: rng.range(0.0, scene.h),
            sx,
            sy,
            depth: sx.min(sy) * rng.range(0.35, 0.7),
        };
        let bbox = BoundingBox::from_center(dent.cx, dent.cy, 4.0 * sx, 4.0 * sy);
        let overlaps = scene
            .dents
            .iter()
            .any(|o| BoundingBox::from_center(o.cx, o.cy, 4.0 * o.sx, 4.0 * o.sy).iou(&bbox) > 0.1);
        if scene.box_on_panel(&bbox) && !overlaps {
            return Some(dent);
        }
    }
    None
}

/// Draws one scratch into the radiance buffer and returns its box (pixels), or `None` when no visible
/// stroke fits on the panel.
fn draw_scratch(
    rng: &mut SplitMix64,
    scene: &Scene,
    p: &Preset,
    size: f32,
    radiance: &mut [Rgb],
) -> Option<BoundingBox> {
    let (w, h) = (scene.w as usize, scene.h as usize);
    for _ in 0..20 {
        let length = size * rng.range(40.0, 180.0);
        let width = size * rng.range(1.3, 3.0);
        let segments = rng.int_inclusive(5, 10);
        let (mut x, mut y) = (rng.range(0.0, scene.w), rng.range(0.0, scene.h));
        let mut angle = rng.range(-0.6, 0.6) + if rng.chance(0.3) { PI / 2.0 } else { 0.0 };
        let mut points = vec![(x, y, 1.0)];
        for _ in 0..segments {
            angle += 0.25 * rng.normal();
            x += angle.cos() * length / segments as f32;
            y += angle.sin() * length / segments as f32;
            let alpha = if rng.chance(0.12) {
                0.0
            } else {
                rng.range(0.55, 1.0)
            };
            points.push((x, y, alpha));
        }
        let bbox = points.iter().fold(
            BoundingBox {
                x1: f32::MAX,
                y1: f32::MAX,
                x2: f32::MIN,
                y2: f32::MIN,
            },
            |b, &(px, py, _)| BoundingBox {
                x1: b.x1.min(px),
                y1: b.y1.min(py),
                x2: b.x2.max(px),
                y2: b.y2.max(py),
            },
        );
        let padded = BoundingBox {
            x1: bbox.x1 - width,
            y1: bbox.y1 - width,
            x2: bbox.x2 + width,
            y2: bbox.y2 + width,
        };
        if !scene.box_on_panel(&padded) {
            continue;
        }
        let lighter = rng.chance(0.6);
        let albedo = if lighter {
            rng.range(0.75, 0.95)
        } else {
            rng.range(0.02, 0.08)
        };
        let x0 = padded.x1.max(0.0) as usize;
        let y0 = padded.y1.max(0.0) as usize;
        let x1 = (padded.x2.ceil() as usize).min(w);
        let y1 = (padded.y2.ceil() as usize).min(h);
        let stroke = scale(p.light, albedo * (p.ambient + 0.8 * p.diffuse));
        for py in y0..y1 {
            for px in x0..x1 {
                let (fx, fy) = (px as f32 + 0.5, py as f32 + 0.5);
                let coverage = points
                    .windows(2)
                    .map(|s| {
                        let dist = segment_distance(fx, fy, s[0].0, s[0].1, s[1].0, s[1].1);
                        s[1].2 * (width / 2.0 + 0.5 - dist).clamp(0.0, 1.0)
                    })
                    .fold(0.0f32, f32::max);
                if coverage > 0.0 {
                    let c = &mut radiance[py * w + px];
                    *c = mix(*c, stroke, coverage);
                }
            }
        }
        return Some(padded.clip(scene.w, scene.h));
    }
    None
}

/// Exposure, tint, contrast, sensor noise and gamma: radiance to 8-bit sRGB-like values.
fn tone_map(radiance: &[Rgb], p: &Preset, config: &SynthConfig, rng: &mut SplitMix64) -> RgbImage {
    let mut image = RgbImage::new(config.width, config.height);
    for (px, c) in image.data.chunks_exact_mut(3).zip(radiance) {
        let grain = p.noise * rng.normal();
        for i in 0..3 {
            let v = c[i] * p.exposure * p.tint[i];
            let v = ((v - 0.5) * p.contrast + 0.5).max(0.0).powf(1.0 / 2.2);
            let v = v + grain + 0.3 * p.noise * rng.normal();
            px[i] = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
        }
    }
    image
}

/// In-place Gaussian blur approximated by three box blurs per axis.
pub fn gaussian_blur(image: &mut RgbImage, sigma: f32) {
    // Box width giving the same variance with three passes: w = sqrt(12 sigma^2 / 3 + 1).
    let radius = (((4.0 * sigma * sigma + 1.0).sqrt() - 1.0) / 2.0).round() as usize;
    if radius == 0 {
        return;
    }
    let (w, h) = (image.width as usize, image.height as usize);
    for _ in 0..3 {
        box_blur_lines(&mut image.data, w, h, 3, w * 3, radius);
        box_blur_lines(&mut image.data, h, w, w * 3, 3, radius);
    }
}

/// Box-blurs `lines` lines of `len` pixels each; pixel `i` of line `l` is at `l * line_stride + i * step`.
fn box_blur_lines(
    data: &mut [u8],
    len: usize,
    lines: usize,
    step: usize,
    line_stride: usize,
    radius: usize,
) {
    let mut line = vec![[0u32; 3]; len];
    for l in 0..lines {
        for (i, px) in line.iter_mut().enumerate() {
            let at = l * line_stride + i * step;
            *px = [data[at].into(), data[at + 1].into(), data[at + 2].into()];
        }
        let mut sum = [0u32; 3];
        let sample = |i: isize| line[i.clamp(0, len as isize - 1) as usize];
        let r = radius as isize;
        for i in -r..=r {
            let s = sample(i);
            (0..3).for_each(|c| sum[c] += s[c]);
        }
        let window = (2 * radius + 1) as u32;
        for i in 0..len as isize {
            let at = l * line_stride + i as usize * step;
            for c in 0..3 {
                data[at + c] = ((sum[c] + window / 2) / window) as u8;
            }
            let (add, sub) = (sample(i + r + 1), sample(i - r));
            (0..3).for_each(|c| sum[c] = sum[c] + add[c] - sub[c]);
        }
    }
}

fn segment_distance(px: f32, py: f32, ax: f32, ay: f32, bx: f32, by: f32) -> f32 {
    let (dx, dy) = (bx - ax, by - ay);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((px - ax) * dx + (py - ay) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    ((px - ax - t * dx).powi(2) + (py - ay - t * dy).powi(2)).sqrt()
}

fn smoothstep(e0: f32, e1: f32, x: f32) -> f32 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

fn mix(a: Rgb, b: Rgb, t: f32) -> Rgb {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

fn scale(a: Rgb, k: f32) -> Rgb {
    [a[0] * k, a[1] * k, a[2] * k]
}

fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn normalize(a: [f32; 3]) -> [f32; 3] {
    scale(a, 1.0 / dot(a, a).sqrt().max(1e-12))
}

/// Mean luminance (Rec. 601 weights, 0–255) of an image.
pub fn mean_luminance(image: &RgbImage) -> f32 {
    let total: f64 = image
        .data
        .chunks_exact(3)
        .map(|p| 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]))
        .sum();
    (total / (image.width as f64 * image.height as f64)) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(lighting: Lighting) -> SynthConfig {
        SynthConfig {
            width: 160,
            height: 120,
            lighting,
            ..SynthConfig::default()
        }
    }

    #[test]
    fn same_seed_gives_same_photo_and_labels() {
        let config = SynthConfig {
            scratches: (2, 2),
            dents: (1, 1),
            ..small(Lighting::Day)
        };
        let a = generate(42, &config);
        let b = generate(42, &config);
        let c = generate(43, &config);
        assert_eq!(a.image, b.image);
        assert_eq!(a.yolo_labels(), b.yolo_labels());
        assert_ne!(a.image, c.image);
    }

    #[test]
    fn damage_counts_follow_the_knobs_and_boxes_stay_inside() {
        let config = SynthConfig {
            width: 320,
            height: 240,
            scratches: (3, 3),
            dents: (2, 2),
            ..small(Lighting::Day)
        };
        let mut scratches = 0;
        let mut dents = 0;
        for seed in 0..10 {
            let photo = generate(seed, &config);
            for d in &photo.damage {
                assert!(
                    d.bbox.x1 >= 0.0
                        && d.bbox.y1 >= 0.0
                        && d.bbox.x2 <= 320.0
                        && d.bbox.y2 <= 240.0
                );
                assert!(d.bbox.area() > 4.0);
                match d.class {
                    DamageClass::Scratch => scratches += 1,
                    DamageClass::Dent => dents += 1,
                }
            }
            assert!(photo.damage.len() <= 5);
        }
        // Placement may fail on a photo whose panel is small, but not often.
        assert!(scratches >= 24, "{scratches} scratches");
        assert!(dents >= 14, "{dents} dents");
        let none = SynthConfig {
            scratches: (0, 0),
            dents: (0, 0),
            ..config
        };
        assert!(generate(1, &none).damage.is_empty());
    }

    #[test]
    fn a_scratch_changes_the_pixels_inside_its_box_only() {
        let clean = SynthConfig {
            scratches: (0, 0),
            dents: (0, 0),
            ..small(Lighting::Day)
        };
        let scratched = SynthConfig {
            scratches: (1, 1),
            ..clean.clone()
        };
        // Same seed: same scene and noise; only the stroke differs.
        let (a, b) = (generate(9, &clean), generate(9, &scratched));
        let bbox = b.damage[0].bbox;
        let mut inside = 0;
        for (i, (pa, pb)) in a
            .image
            .data
            .chunks_exact(3)
            .zip(b.image.data.chunks_exact(3))
            .enumerate()
        {
            if pa != pb {
                let (x, y) = ((i % 160) as f32 + 0.5, (i / 160) as f32 + 0.5);
                assert!(
                    x >= bbox.x1 - 1.0
                        && x <= bbox.x2 + 1.0
                        && y >= bbox.y1 - 1.0
                        && y <= bbox.y2 + 1.0
                );
                inside += 1;
            }
        }
        assert!(inside > 10);
    }

    #[test]
    fn lighting_shifts_mean_luminance_and_histogram() {
        // Mean luminance, share of dark pixels (< 64) and of bright pixels (> 192) over a few photos.
        let stats = |lighting| {
            let (mut mean, mut dark, mut bright, mut n) = (0.0, 0.0, 0.0, 0.0);
            for seed in 0..6 {
                let img = generate(seed, &small(lighting)).image;
                mean += mean_luminance(&img) / 6.0;
                for p in img.data.chunks_exact(3) {
                    let y = 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32;
                    dark += f32::from(y < 64.0);
                    bright += f32::from(y > 192.0);
                    n += 1.0;
                }
            }
            (mean, dark / n, bright / n)
        };
        let (day, day_dark, day_bright) = stats(Lighting::Day);
        let (winter, winter_dark, winter_bright) = stats(Lighting::Winter);
        let (night, night_dark, night_bright) = stats(Lighting::Night);
        assert!(night + 60.0 < day, "night {night} vs day {day}");
        assert!(day + 20.0 < winter, "day {day} vs winter {winter}");
        assert!(
            night_dark > 0.4 && night_dark > 10.0 * day_dark,
            "dark share {night_dark} vs {day_dark}"
        );
        assert!(
            winter_dark < day_dark,
            "dark share {winter_dark} vs {day_dark}"
        );
        assert!(
            winter_bright > 2.0 * day_bright,
            "bright share {winter_bright} vs {day_bright}"
        );
        assert!(night_bright < 0.02, "bright share at night {night_bright}");
    }

    #[test]
    fn blur_smooths_without_moving_the_mean() {
        let config = small(Lighting::Day);
        let sharp = generate(5, &config).image;
        let blurred = generate(
            5,
            &SynthConfig {
                blur_sigma: 2.0,
                ..config
            },
        )
        .image;
        let roughness = |img: &RgbImage| {
            img.data
                .windows(4)
                .map(|w| w[0].abs_diff(w[3]) as u64)
                .sum::<u64>()
        };
        assert!(roughness(&blurred) * 2 < roughness(&sharp));
        assert!((mean_luminance(&sharp) - mean_luminance(&blurred)).abs() < 2.0);
    }

    #[test]
    fn lighting_names_parse() {
        for l in [Lighting::Day, Lighting::Winter, Lighting::Night] {
            assert_eq!(l.name().parse::<Lighting>().unwrap(), l);
        }
        assert!("dusk".parse::<Lighting>().is_err());
    }
}
