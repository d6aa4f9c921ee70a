//! Decoding to a small grey-scale copy (at most [`ANALYSIS_MAX_SIDE`] pixels on its long side)
//! without ever holding the full-size image: JPEG at 1/8 to 1/2 scale inside the decoder, PNG row
//! by row through a box filter.

use std::io::{Cursor, ErrorKind};

use super::format::{Format, Header};

/// Long side of the copy the quality metrics and the perceptual hash are computed on.
pub const ANALYSIS_MAX_SIDE: u32 = 512;
/// JPEG is decoded at the smallest DCT scale whose long side still reaches this.
const JPEG_MIN_DECODED_SIDE: u32 = 384;

/// An 8-bit grey-scale image, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Luma {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
}

/// Why a file did not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("file ends before its image data does")]
    Truncated,
    #[error("corrupt image data: {0}")]
    Corrupt(String),
    #[error("unsupported encoding: {0}")]
    Unsupported(String),
    #[error("decoding would need {needed} bytes, over the budget of {budget}")]
    MemoryLimit { needed: u64, budget: u64 },
}

/// Decodes `bytes` (whose header was read already) to the analysis copy, refusing to use more
/// than about `budget` bytes for decoder state.
pub fn decode_luma(bytes: &[u8], header: &Header, budget: u64) -> Result<Luma, DecodeError> {
    if header.decoder_bytes > budget {
        return Err(DecodeError::MemoryLimit {
            needed: header.decoder_bytes,
            budget,
        });
    }
    match header.format {
        Format::Jpeg => decode_jpeg(bytes, header, budget),
        Format::Png => decode_png(bytes, budget),
    }
}

/// How decoded pixels are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    Gray,
    GrayAlpha,
    Gray16,
    Rgb,
    Rgba,
    Cmyk,
}

impl Layout {
    fn bytes_per_pixel(self) -> usize {
        match self {
            Self::Gray => 1,
            Self::GrayAlpha | Self::Gray16 => 2,
            Self::Rgb => 3,
            Self::Rgba | Self::Cmyk => 4,
        }
    }

    /// Rec. 601 luma of one pixel (alpha ignored).
    fn luma(self, px: &[u8]) -> u32 {
        let rgb =
            |r: u8, g: u8, b: u8| (77 * u32::from(r) + 150 * u32::from(g) + 29 * u32::from(b)) >> 8;
        match self {
            // 16-bit samples are big-endian: the first byte is the high one.
            Self::Gray | Self::GrayAlpha | Self::Gray16 => u32::from(px[0]),
            Self::Rgb | Self::Rgba => rgb(px[0], px[1], px[2]),
            Self::Cmyk => {
                let white = 255 - u32::from(px[3]);
                let channel = |ink: u8| ((255 - u32::from(ink)) * white / 255) as u8;
                rgb(channel(px[0]), channel(px[1]), channel(px[2]))
            }
        }
    }
}

/// Shrinks a stream of rows by an integer factor, averaging each factor×factor block.
struct BoxFilter {
    in_width: usize,
    in_height: usize,
    factor: usize,
    out_width: usize,
    sums: Vec<u32>,
    rows_in_band: usize,
    rows_seen: usize,
    out: Vec<u8>,
}

impl BoxFilter {
    fn new(in_width: u32, in_height: u32, max_side: u32) -> Self {
        let factor = in_width.max(in_height).div_ceil(max_side).max(1) as usize;
        let out_width = (in_width as usize).div_ceil(factor);
        Self {
            in_width: in_width as usize,
            in_height: in_height as usize,
            factor,
            out_width,
            sums: vec![0; out_width],
            rows_in_band: 0,
            rows_seen: 0,
            out: Vec::with_capacity(out_width * (in_height as usize).div_ceil(factor)),
        }
    }

    fn push_row(&mut self, row: &[u8], layout: Layout) {
        if self.rows_seen == self.in_height {
            return;
        }
        let pixels = row
            .chunks_exact(layout.bytes_per_pixel())
            .take(self.in_width);
        for (x, px) in pixels.enumerate() {
            self.sums[x / self.factor] += layout.luma(px);
        }
        self.rows_in_band += 1;
        self.rows_seen += 1;
        if self.rows_in_band == self.factor || self.rows_seen == self.in_height {
            self.flush_band();
        }
    }

    fn flush_band(&mut self) {
        for (i, sum) in self.sums.iter_mut().enumerate() {
            let columns = self.factor.min(self.in_width - i * self.factor);
            let count = (columns * self.rows_in_band) as u32;
            self.out.push((*sum / count) as u8);
            *sum = 0;
        }
        self.rows_in_band = 0;
    }

    fn finish(self) -> Result<Luma, DecodeError> {
        if self.rows_seen < self.in_height {
            return Err(DecodeError::Truncated);
        }
        Ok(Luma {
            width: self.out_width as u32,
            height: (self.out.len() / self.out_width.max(1)) as u32,
            pixels: self.out,
        })
    }
}

fn decode_jpeg(bytes: &[u8], header: &Header, budget: u64) -> Result<Luma, DecodeError> {
    let long_side = header.width.max(header.height);
    let denominator = [8, 4, 2]
        .into_iter()
        .find(|d| long_side.div_ceil(*d) >= JPEG_MIN_DECODED_SIDE)
        .unwrap_or(1);
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    decoder.set_max_decoding_buffer_size(usize::try_from(budget).unwrap_or(usize::MAX));
    let scaled = |side: u32| u16::try_from(side.div_ceil(denominator)).unwrap_or(u16::MAX);
    decoder
        .scale(scaled(header.width), scaled(header.height))
        .map_err(jpeg_error)?;
    let pixels = decoder.decode().map_err(jpeg_error)?;
    let info = decoder
        .info()
        .ok_or_else(|| DecodeError::Corrupt("JPEG decoder returned no frame".into()))?;
    let layout = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => Layout::Gray,
        jpeg_decoder::PixelFormat::L16 => Layout::Gray16,
        jpeg_decoder::PixelFormat::RGB24 => Layout::Rgb,
        jpeg_decoder::PixelFormat::CMYK32 => Layout::Cmyk,
    };
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    let mut filter = BoxFilter::new(width, height, ANALYSIS_MAX_SIDE);
    let row_bytes = width as usize * layout.bytes_per_pixel();
    for row in pixels.chunks_exact(row_bytes.max(1)) {
        filter.push_row(row, layout);
    }
    filter.finish()
}

fn jpeg_error(err: jpeg_decoder::Error) -> DecodeError {
    match err {
        jpeg_decoder::Error::Io(e) if e.kind() == ErrorKind::UnexpectedEof => {
            DecodeError::Truncated
        }
        jpeg_decoder::Error::Unsupported(feature) => {
            DecodeError::Unsupported(format!("{feature:?}"))
        }
        other => DecodeError::Corrupt(other.to_string()),
    }
}

fn decode_png(bytes: &[u8], budget: u64) -> Result<Luma, DecodeError> {
    let limits = png::Limits {
        bytes: usize::try_from(budget).unwrap_or(usize::MAX),
    };
    let mut decoder = png::Decoder::new_with_limits(Cursor::new(bytes), limits);
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    decoder.set_ignore_text_chunk(true);
    let mut reader = decoder.read_info().map_err(png_error)?;
    let layout = match reader.output_color_type().0 {
        png::ColorType::Grayscale => Layout::Gray,
        png::ColorType::GrayscaleAlpha => Layout::GrayAlpha,
        png::ColorType::Rgba => Layout::Rgba,
        png::ColorType::Rgb | png::ColorType::Indexed => Layout::Rgb,
    };
    let info = reader.info();
    // Interlaced: the first Adam7 pass alone is an exact 1/8 subsample; later passes are decoded
    // (so corruption is still found) but not kept.
    let (width, height) = if info.interlaced {
        (info.width.div_ceil(8), info.height.div_ceil(8))
    } else {
        (info.width, info.height)
    };
    let mut filter = BoxFilter::new(width, height, ANALYSIS_MAX_SIDE);
    while let Some(row) = reader.next_row().map_err(png_error)? {
        filter.push_row(row.data(), layout);
    }
    filter.finish()
}

fn png_error(err: png::DecodingError) -> DecodeError {
    match err {
        png::DecodingError::IoError(e) if e.kind() == ErrorKind::UnexpectedEof => {
            DecodeError::Truncated
        }
        png::DecodingError::LimitsExceeded => {
            DecodeError::Corrupt("PNG exceeds the decoder's memory limit".into())
        }
        other => DecodeError::Corrupt(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_filter_averages_blocks_and_keeps_edges() {
        // 5x3 grey image, factor 2 (max side 3): blocks 2x2, 2x2, 1x2 then 2x1, 2x1, 1x1.
        let rows: [[u8; 5]; 3] = [[0, 2, 4, 6, 8], [2, 4, 6, 8, 10], [100, 100, 50, 50, 7]];
        let mut filter = BoxFilter::new(5, 3, 3);
        for row in &rows {
            filter.push_row(row, Layout::Gray);
        }
        let luma = filter.finish().unwrap();
        assert_eq!((luma.width, luma.height), (3, 2));
        assert_eq!(luma.pixels, vec![2, 6, 9, 100, 50, 7]);
    }

    #[test]
    fn missing_rows_are_truncation() {
        let mut filter = BoxFilter::new(4, 4, 512);
        filter.push_row(&[1, 2, 3, 4], Layout::Gray);
        assert_eq!(filter.finish(), Err(DecodeError::Truncated));
    }

    #[test]
    fn luma_of_layouts() {
        assert_eq!(Layout::Rgb.luma(&[255, 255, 255]), 255);
        assert_eq!(Layout::Rgba.luma(&[0, 0, 0, 255]), 0);
        assert_eq!(Layout::Cmyk.luma(&[0, 0, 0, 0]), 255);
        assert_eq!(Layout::Cmyk.luma(&[0, 0, 0, 255]), 0);
    }
}
