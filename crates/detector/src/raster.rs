//! 8-bit RGB images: the one in-memory form, plus JPEG/PNG encoding and decoding.

use std::io::Cursor;

/// A packed 8-bit RGB image, row-major, 3 bytes per pixel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbImage {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

/// Photo container formats the endpoint and the generator speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoFormat {
    Jpeg,
    Png,
}

impl PhotoFormat {
    /// The file extension used for this format.
    pub fn extension(self) -> &'static str {
        match self {
            PhotoFormat::Jpeg => "jpg",
            PhotoFormat::Png => "png",
        }
    }

    /// Recognises the format from the first bytes of a file.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(PhotoFormat::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(PhotoFormat::Png)
        } else {
            None
        }
    }
}

/// Why a photo could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum RasterError {
    #[error("unsupported image format (expected JPEG or PNG)")]
    UnsupportedFormat,
    #[error("image dimensions {width}x{height} are not supported")]
    BadDimensions { width: u32, height: u32 },
    #[error("JPEG decoding failed: {0}")]
    JpegDecode(#[from] jpeg_decoder::Error),
    #[error("JPEG encoding failed: {0}")]
    JpegEncode(#[from] jpeg_encoder::EncodingError),
    #[error("PNG decoding failed: {0}")]
    PngDecode(#[from] png::DecodingError),
    #[error("PNG encoding failed: {0}")]
    PngEncode(#[from] png::EncodingError),
    #[error("unsupported pixel layout: {0}")]
    PixelLayout(&'static str),
}

/// A decoded photo: its pixels (possibly downscaled while decoding) and its original size.
#[derive(Debug, Clone)]
pub struct DecodedPhoto {
    pub pixels: RgbImage,
    pub original_width: u32,
    pub original_height: u32,
}

impl RgbImage {
    /// A black image of the given size.
    pub fn new(width: u32, height: u32) -> Self {
        Self {
            width,
            height,
            data: vec![0; width as usize * height as usize * 3],
        }
    }

    /// Encodes as baseline JPEG at `quality` (1–100).
    pub fn encode_jpeg(&self, quality: u8) -> Result<Vec<u8>, RasterError> {
        let (w, h) = self.dimensions_u16()?;
        let mut out = Vec::new();
        jpeg_encoder::Encoder::new(&mut out, quality).encode(
            &self.data,
            w,
            h,
            jpeg_encoder::ColorType::Rgb,
        )?;
        Ok(out)
    }

    /// Encodes as 8-bit RGB PNG.
    pub fn encode_png(&self) -> Result<Vec<u8>, RasterError> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, self.width, self.height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&self.data)?;
        writer.finish()?;
        Ok(out)
    }

    /// Encodes in `format` (JPEG at quality 92).
    pub fn encode(&self, format: PhotoFormat) -> Result<Vec<u8>, RasterError> {
        match format {
            PhotoFormat::Jpeg => self.encode_jpeg(92),
            PhotoFormat::Png => self.encode_png(),
        }
    }

    fn dimensions_u16(&self) -> Result<(u16, u16), RasterError> {
        match (u16::try_from(self.width), u16::try_from(self.height)) {
            (Ok(w), Ok(h)) => Ok((w, h)),
            _ => Err(RasterError::BadDimensions {
                width: self.width,
                height: self.height,
            }),
        }
    }
}

/// Decodes a JPEG or PNG photo to RGB. A JPEG may be decoded at a reduced DCT scale, never below
/// `min_side` pixels on its shorter side, which makes large photos cheap when the model input is small.
pub fn decode_photo(bytes: &[u8], min_side: u16) -> Result<DecodedPhoto, RasterError> {
    match PhotoFormat::sniff(bytes) {
        Some(PhotoFormat::Jpeg) => decode_jpeg(bytes, min_side),
        Some(PhotoFormat::Png) => decode_png(bytes),
        None => Err(RasterError::UnsupportedFormat),
    }
}

fn decode_jpeg(bytes: &[u8], min_side: u16) -> Result<DecodedPhoto, RasterError> {
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    decoder.read_info()?;
    let info = decoder
        .info()
        .ok_or(RasterError::PixelLayout("JPEG without a frame header"))?;
    let (ow, oh) = (info.width, info.height);
    if ow == 0 || oh == 0 {
        return Err(RasterError::BadDimensions {
            width: ow.into(),
            height: oh.into(),
        });
    }
    // Ask for the smallest DCT scale whose shorter side still covers `min_side`.
    let shorter = ow.min(oh);
    let factor = if shorter <= min_side {
        1
    } else {
        (shorter / min_side.max(1)).clamp(1, 8)
    };
    let (w, h) = decoder.scale(ow.div_ceil(factor), oh.div_ceil(factor))?;
    let raw = decoder.decode()?;
    let info = decoder
        .info()
        .ok_or(RasterError::PixelLayout("JPEG without a frame header"))?;
    let data = match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => raw,
        jpeg_decoder::PixelFormat::L8 => raw.iter().flat_map(|&v| [v, v, v]).collect(),
        jpeg_decoder::PixelFormat::L16 => raw
            .chunks_exact(2)
            .flat_map(|c| [c[0], c[0], c[0]])
            .collect(),
        jpeg_decoder::PixelFormat::CMYK32 => return Err(RasterError::PixelLayout("CMYK JPEG")),
    };
    let pixels = RgbImage {
        width: w.into(),
        height: h.into(),
        data,
    };
    check_len(&pixels)?;
    Ok(DecodedPhoto {
        pixels,
        original_width: ow.into(),
        original_height: oh.into(),
    })
}

fn decode_png(bytes: &[u8]) -> Result<DecodedPhoto, RasterError> {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info()?;
    let size = reader
        .output_buffer_size()
        .ok_or(RasterError::PixelLayout("PNG too large"))?;
    let mut buf = vec![0; size];
    let frame = reader.next_frame(&mut buf)?;
    buf.truncate(frame.buffer_size());
    let data = match frame.color_type {
        png::ColorType::Rgb => buf,
        png::ColorType::Rgba => buf
            .chunks_exact(4)
            .flat_map(|c| [c[0], c[1], c[2]])
            .collect(),
        png::ColorType::Grayscale => buf.iter().flat_map(|&v| [v, v, v]).collect(),
        png::ColorType::GrayscaleAlpha => buf
            .chunks_exact(2)
            .flat_map(|c| [c[0], c[0], c[0]])
            .collect(),
        png::ColorType::Indexed => {
            return Err(RasterError::PixelLayout("indexed PNG not expanded"));
        }
    };
    let pixels = RgbImage {
        width: frame.width,
        height: frame.height,
        data,
    };
    check_len(&pixels)?;
    Ok(DecodedPhoto {
        original_width: pixels.width,
        original_height: pixels.height,
        pixels,
    })
}

fn check_len(img: &RgbImage) -> Result<(), RasterError> {
    if img.width == 0
        || img.height == 0
        || img.data.len() != img.width as usize * img.height as usize * 3
    {
        return Err(RasterError::BadDimensions {
            width: img.width,
            height: img.height,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: u32, h: u32) -> RgbImage {
        let mut img = RgbImage::new(w, h);
        for (i, px) in img.data.chunks_exact_mut(3).enumerate() {
            let (x, y) = (i as u32 % w, i as u32 / w);
            px.copy_from_slice(&[(x * 255 / w) as u8, (y * 255 / h) as u8, 128]);
        }
        img
    }

    #[test]
    fn png_round_trip_is_lossless() {
        let img = gradient(37, 21);
        let decoded = decode_photo(&img.encode_png().unwrap(), 16).unwrap();
        assert_eq!(decoded.pixels, img);
        assert_eq!((decoded.original_width, decoded.original_height), (37, 21));
    }

    #[test]
    fn jpeg_round_trip_is_close_and_scaled_decode_keeps_original_size() {
        let img = gradient(320, 240);
        let bytes = img.encode_jpeg(95).unwrap();
        let full = decode_photo(&bytes, 240).unwrap();
        assert_eq!((full.pixels.width, full.pixels.height), (320, 240));
        let max_err = full
            .pixels
            .data
            .iter()
            .zip(&img.data)
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap();
        assert!(max_err < 12, "max error {max_err}");
        let small = decode_photo(&bytes, 60).unwrap();
        assert_eq!((small.pixels.width, small.pixels.height), (80, 60));
        assert_eq!((small.original_width, small.original_height), (320, 240));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(matches!(
            decode_photo(b"hello", 10),
            Err(RasterError::UnsupportedFormat)
        ));
        assert!(decode_photo(&[0xFF, 0xD8, 0xFF, 0, 1, 2], 10).is_err());
        assert!(decode_photo(b"\x89PNG\r\n\x1a\n\0\0", 10).is_err());
    }
}
