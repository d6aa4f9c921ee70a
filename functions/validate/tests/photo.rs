//! Every photo check on real encoded files: accepted photos with their measures, quality flags,
//! and each bad input ending in a named rejection (never a panic).

use validate::photo::{Format, PhotoRules, QualityFlag, inspect};
use validate::rejection::RejectReason;
use validate::synth::Scene;

fn rules() -> PhotoRules {
    PhotoRules::default()
}

fn rejection(bytes: &[u8]) -> RejectReason {
    match inspect(bytes, &rules()) {
        Ok(report) => panic!("expected a rejection, got {report:?}"),
        Err(r) => r.reason,
    }
}

#[test]
fn sharp_well_exposed_photos_are_accepted_in_every_format() {
    // Every accepted format, as validate writes it into the inspection input, is one pricing
    // sends to the endpoint.
    for format in [Format::Jpeg, Format::Png] {
        let name = serde_json::to_value(format).unwrap();
        assert_eq!(
            pricing::input::content_type(name.as_str().unwrap()),
            Some(format.content_type())
        );
    }
    let scene = Scene::new(1280, 960, 3);
    for (bytes, format) in [
        (scene.jpeg(90, false), Format::Jpeg),
        (scene.jpeg(90, true), Format::Jpeg),
        (scene.png(), Format::Png),
    ] {
        let report = inspect(&bytes, &rules()).unwrap();
        eprintln!(
            "{format:?}: sharpness {:.0}, mean {:.0}",
            report.sharpness, report.exposure.mean
        );
        assert_eq!(report.format, format);
        assert_eq!((report.width, report.height), (1280, 960));
        assert!(report.quality_flags.is_empty(), "{format:?}: {report:?}");
        assert!(!report.retake());
        assert_eq!(report.sha256.len(), 64);
        assert_eq!(report.exposure.histogram.len(), 32);
    }
}

#[test]
fn quality_problems_are_flagged_for_retake() {
    let base = Scene::new(1280, 960, 3);
    let cases = [
        (base.dark(), QualityFlag::Underexposed),
        (base.bright(), QualityFlag::Overexposed),
        (base.blurred(), QualityFlag::Blurry),
        (Scene::new(1000, 700, 3), QualityFlag::LowResolution),
    ];
    for (scene, flag) in cases {
        let report = inspect(&scene.jpeg(90, false), &rules()).unwrap();
        // A dark or washed-out photo also loses contrast, so it may be flagged blurry as well.
        assert!(report.quality_flags.contains(&flag), "{flag:?}: {report:?}");
        assert!(report.retake());
    }
    let sharp = inspect(&base.jpeg(90, false), &rules()).unwrap().sharpness;
    let soft = inspect(&base.blurred().jpeg(90, false), &rules())
        .unwrap()
        .sharpness;
    assert!(sharp > 5.0 * soft, "sharp {sharp} soft {soft}");
}

#[test]
fn perceptual_hash_matches_across_resolution_and_quality_not_across_scenes() {
    let a = inspect(&Scene::new(1600, 1200, 5).jpeg(92, false), &rules()).unwrap();
    let a_small = inspect(&Scene::new(800, 600, 5).jpeg(60, true), &rules()).unwrap();
    let b = inspect(&Scene::new(1600, 1200, 6).jpeg(92, false), &rules()).unwrap();
    assert!(
        (a.dhash ^ a_small.dhash).count_ones() <= 3,
        "{:016x} {:016x}",
        a.dhash,
        a_small.dhash
    );
    assert_ne!(a.sha256, a_small.sha256);
    assert!(
        (a.dhash ^ b.dhash).count_ones() > 3,
        "{:016x} {:016x}",
        a.dhash,
        b.dhash
    );
}

#[test]
fn bad_inputs_are_rejected_with_a_reason() {
    let jpeg = Scene::new(1280, 960, 1).jpeg(85, false);
    assert_eq!(rejection(b""), RejectReason::Empty);
    assert_eq!(
        rejection(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic"),
        RejectReason::UnsupportedFormat
    );
    assert_eq!(
        rejection(b"GIF89a\x01\0\x01\0"),
        RejectReason::UnsupportedFormat
    );
    // WebP decodes, but the endpoint cannot take it: refused at intake so the seller is asked
    // for a JPEG or PNG instead of the listing going to a person.
    let webp = inspect(&Scene::new(640, 480, 1).webp(), &rules()).unwrap_err();
    assert_eq!(webp.reason, RejectReason::UnsupportedFormat);
    assert_eq!(webp.detail, "WebP is not accepted; upload JPEG or PNG");
    assert_eq!(
        rejection(b"plain text, not a photo"),
        RejectReason::UnknownFormat
    );
    assert_eq!(rejection(&jpeg[..jpeg.len() / 2]), RejectReason::Truncated);
    assert_eq!(rejection(&jpeg[..300]), RejectReason::Truncated);
    assert_eq!(
        rejection(&Scene::new(600, 400, 1).jpeg(85, false)),
        RejectReason::TooSmall
    );
    // Scrambled entropy-coded data after a valid header.
    let mut corrupt = jpeg.clone();
    let scan = corrupt.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    for b in &mut corrupt[scan + 20..scan + 400] {
        *b = 0xFF;
    }
    assert!(matches!(
        rejection(&corrupt),
        RejectReason::Corrupt | RejectReason::Truncated
    ));
    let png = Scene::new(700, 500, 1).png();
    assert_eq!(rejection(&png[..png.len() - 40]), RejectReason::Truncated);
}

#[test]
fn size_limit_uses_the_bytes_not_the_name() {
    let small_limit = PhotoRules {
        max_bytes: 1000,
        ..rules()
    };
    let err = inspect(&Scene::new(700, 500, 1).jpeg(85, false), &small_limit).unwrap_err();
    assert_eq!(err.reason, RejectReason::TooLarge);
}

/// A PNG header claiming `width`×`height`, with no image data behind it.
fn png_header_only(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    bytes.extend_from_slice(&width.to_be_bytes());
    bytes.extend_from_slice(&height.to_be_bytes());
    bytes.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
    bytes
}

#[test]
fn decompression_bombs_are_refused_from_the_header() {
    assert_eq!(
        rejection(&png_header_only(40_000, 40_000)),
        RejectReason::SideTooLong
    );
    assert_eq!(
        rejection(&png_header_only(10_000, 10_000)),
        RejectReason::TooManyPixels
    );
    // A header within limits but nothing behind it: found by the decoder.
    assert!(matches!(
        rejection(&png_header_only(4000, 3000)),
        RejectReason::Truncated | RejectReason::Corrupt
    ));
}

#[test]
fn a_real_49_megapixel_bomb_is_decoded_row_by_row() {
    // 10000×4900 one-bit black: a few kilobytes that expand to 49 million pixels.
    let mut bomb = Vec::new();
    let mut encoder = png::Encoder::new(&mut bomb, 10_000, 4_900);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    let mut writer = encoder.write_header().unwrap();
    writer
        .write_image_data(&vec![0; 10_000 / 8 * 4_900])
        .unwrap();
    writer.finish().unwrap();
    assert!(bomb.len() < 200_000, "{}", bomb.len());
    let report = inspect(&bomb, &rules()).unwrap();
    assert!(report.quality_flags.contains(&QualityFlag::Underexposed));
}

#[test]
fn progressive_jpeg_over_the_decoder_budget_is_refused_before_decoding() {
    let tight = PhotoRules {
        decode_budget_bytes: 4 * 1024 * 1024,
        ..rules()
    };
    // 2000×1500 4:2:0 keeps about 9 MB of coefficients.
    let progressive = Scene::new(2000, 1500, 1).jpeg(80, true);
    assert_eq!(
        inspect(&progressive, &tight).unwrap_err().reason,
        RejectReason::DecodeMemoryLimit
    );
    // Baseline JPEG is decoded at 1/8 scale and needs no coefficient planes.
    assert!(inspect(&Scene::new(2000, 1500, 1).jpeg(80, false), &tight).is_ok());
}

/// An Adam7-interlaced RGB PNG (the png crate writes none), stored uncompressed.
fn interlaced_png(width: u32, height: u32, rgb: &[u8]) -> Vec<u8> {
    const PASSES: [(u32, u32, u32, u32); 7] = [
        (0, 0, 8, 8),
        (4, 0, 8, 8),
        (0, 4, 4, 8),
        (2, 0, 4, 4),
        (0, 2, 2, 4),
        (1, 0, 2, 2),
        (0, 1, 1, 2),
    ];
    let mut raw = Vec::new();
    for (x0, y0, dx, dy) in PASSES {
        if x0 >= width || y0 >= height {
            continue;
        }
        for y in (y0..height).step_by(dy as usize) {
            raw.push(0);
            for x in (x0..width).step_by(dx as usize) {
                let at = ((y * width + x) * 3) as usize;
                raw.extend_from_slice(&rgb[at..at + 3]);
            }
        }
    }
    let mut zlib = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        zlib.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &raw {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    zlib.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let crc = |data: &[u8]| {
        let mut c = !0u32;
        for &byte in data {
            c ^= u32::from(byte);
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    (c >> 1) ^ 0xEDB8_8320
                } else {
                    c >> 1
                };
            }
        }
        !c
    };
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 1]);
    for (kind, data) in [(&b"IHDR"[..], ihdr), (b"IDAT", zlib), (b"IEND", Vec::new())] {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(&data);
        png.extend_from_slice(&body);
        png.extend_from_slice(&crc(&body).to_be_bytes());
    }
    png
}

#[test]
fn interlaced_png_is_analysed_from_its_first_pass() {
    let scene = Scene::new(1280, 960, 4);
    let interlaced = inspect(&interlaced_png(1280, 960, &scene.rgb()), &rules()).unwrap();
    let plain = inspect(&scene.png(), &rules()).unwrap();
    assert_eq!((interlaced.width, interlaced.height), (1280, 960));
    assert!(!interlaced.quality_flags.contains(&QualityFlag::Blurry));
    let distance = (interlaced.dhash ^ plain.dhash).count_ones();
    assert!(distance <= 3, "{distance}");
    let mut cut = interlaced_png(1280, 960, &scene.rgb());
    cut.truncate(cut.len() / 2);
    assert_eq!(
        inspect(&cut, &rules()).unwrap_err().reason,
        RejectReason::Truncated
    );
}
