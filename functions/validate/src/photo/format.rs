//! The real format of a file from its first bytes, and its dimensions from its header, read
//! without decoding or allocating pixels.

/// The formats validate accepts: exactly those the endpoint contract takes, so every accepted
/// photo can be priced.
pub use platform::listing::PhotoFormat as Format;

/// What the magic bytes say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    Supported(Format),
    /// A known image (or document) format that is not accepted; the name goes into the reason.
    Unsupported(&'static str),
    Unknown,
}

/// Identifies the format from the magic bytes, ignoring name and content type.
pub fn sniff(bytes: &[u8]) -> Sniffed {
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
    match bytes {
        [0xFF, 0xD8, 0xFF, ..] => Sniffed::Supported(Format::Jpeg),
        b if b.starts_with(PNG) => Sniffed::Supported(Format::Png),
        [
            b'R',
            b'I',
            b'F',
            b'F',
            _,
            _,
            _,
            _,
            b'W',
            b'E',
            b'B',
            b'P',
            ..,
        ] => Sniffed::Unsupported("WebP"),
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Sniffed::Unsupported("GIF"),
        [b'B', b'M', ..] => Sniffed::Unsupported("BMP"),
        [b'I', b'I', 0x2A, 0x00, ..] | [b'M', b'M', 0x00, 0x2A, ..] => Sniffed::Unsupported("TIFF"),
        [_, _, _, _, b'f', b't', b'y', b'p', brand @ ..] if brand.len() >= 4 => {
            Sniffed::Unsupported(iso_brand(&brand[..4]))
        }
        [0xFF, 0x0A, ..] | [0, 0, 0, 0x0C, b'J', b'X', b'L', b' ', ..] => {
            Sniffed::Unsupported("JPEG XL")
        }
        [b'%', b'P', b'D', b'F', ..] => Sniffed::Unsupported("PDF"),
        _ => Sniffed::Unknown,
    }
}

/// Names an ISO base media file by its major brand (HEIC and AVIF photos come from phones).
fn iso_brand(brand: &[u8]) -> &'static str {
    match brand {
        b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" => "HEIC",
        b"mif1" | b"msf1" => "HEIF",
        b"avif" | b"avis" => "AVIF",
        _ => "ISO media (video)",
    }
}

/// Dimensions and the few header facts the decoder's memory depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub format: Format,
    pub width: u32,
    pub height: u32,
    /// JPEG only: progressive (and other multi-scan) JPEGs keep every coefficient in memory.
    pub progressive: bool,
    /// Bytes the decoder will hold whatever the output scale (JPEG coefficient planes).
    pub decoder_bytes: u64,
}

/// Why a header could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("file ends inside its header")]
    Truncated,
    #[error("corrupt header: {0}")]
    Corrupt(&'static str),
    #[error("unsupported encoding: {0}")]
    Unsupported(&'static str),
}

/// Reads the dimensions of a file whose format is already known.
pub fn read_header(bytes: &[u8], format: Format) -> Result<Header, HeaderError> {
    let header = match format {
        Format::Jpeg => jpeg_header(bytes)?,
        Format::Png => png_header(bytes)?,
    };
    if header.width == 0 || header.height == 0 {
        return Err(HeaderError::Corrupt("zero width or height"));
    }
    Ok(header)
}

fn u16_be(bytes: &[u8], at: usize) -> Result<u16, HeaderError> {
    bytes
        .get(at..at + 2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .ok_or(HeaderError::Truncated)
}

fn byte(bytes: &[u8], at: usize) -> Result<u8, HeaderError> {
    bytes.get(at).copied().ok_or(HeaderError::Truncated)
}

/// Walks the JPEG marker segments up to the frame header (SOFn).
fn jpeg_header(bytes: &[u8]) -> Result<Header, HeaderError> {
    let mut pos = 2;
    loop {
        if byte(bytes, pos)? != 0xFF {
            return Err(HeaderError::Corrupt("JPEG marker expected"));
        }
        while byte(bytes, pos)? == 0xFF {
            pos += 1;
        }
        let marker = byte(bytes, pos)?;
        pos += 1;
        match marker {
            // Standalone markers carry no length.
            0x01 | 0xD0..=0xD7 => continue,
            0xD9 | 0xDA => {
                return Err(HeaderError::Corrupt(
                    "JPEG has no frame header before its data",
                ));
            }
            _ => {}
        }
        let length = usize::from(u16_be(bytes, pos)?);
        if length < 2 {
            return Err(HeaderError::Corrupt("JPEG segment length under 2"));
        }
        let is_frame = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_frame {
            return jpeg_frame(bytes, marker, pos);
        }
        pos += length;
    }
}

fn jpeg_frame(bytes: &[u8], marker: u8, pos: usize) -> Result<Header, HeaderError> {
    if matches!(marker, 0xC5..=0xC7 | 0xCD..=0xCF) {
        return Err(HeaderError::Unsupported("hierarchical JPEG"));
    }
    let height = u16_be(bytes, pos + 3)?;
    let width = u16_be(bytes, pos + 5)?;
    if height == 0 {
        return Err(HeaderError::Unsupported(
            "JPEG height defined after the first scan (DNL)",
        ));
    }
    let components = byte(bytes, pos + 7)?;
    if components == 0 || components > 4 {
        return Err(HeaderError::Corrupt("JPEG component count outside 1..=4"));
    }
    let mut sampling = [(1u8, 1u8); 4];
    for (i, s) in sampling
        .iter_mut()
        .enumerate()
        .take(usize::from(components))
    {
        let factors = byte(bytes, pos + 8 + i * 3 + 1)?;
        let (h, v) = (factors >> 4, factors & 0x0F);
        if !(1..=4).contains(&h) || !(1..=4).contains(&v) {
            return Err(HeaderError::Corrupt("JPEG sampling factor outside 1..=4"));
        }
        *s = (h, v);
    }
    let sampling = &sampling[..usize::from(components)];
    let progressive = matches!(marker, 0xC2 | 0xCA);
    let decoder_bytes = if progressive {
        coefficient_bytes(u32::from(width), u32::from(height), sampling)
    } else {
        0
    };
    Ok(Header {
        format: Format::Jpeg,
        width: u32::from(width),
        height: u32::from(height),
        progressive,
        decoder_bytes,
    })
}

/// Bytes of the DCT coefficient planes a progressive decode keeps: 64 `i16` per 8×8 block of
/// every component, padded to whole MCUs.
fn coefficient_bytes(width: u32, height: u32, sampling: &[(u8, u8)]) -> u64 {
    let h_max = u64::from(sampling.iter().map(|s| s.0).max().unwrap_or(1));
    let v_max = u64::from(sampling.iter().map(|s| s.1).max().unwrap_or(1));
    let mcus_x = u64::from(width).div_ceil(8 * h_max);
    let mcus_y = u64::from(height).div_ceil(8 * v_max);
    sampling
        .iter()
        .map(|&(h, v)| mcus_x * u64::from(h) * mcus_y * u64::from(v) * 64 * 2)
        .sum()
}

fn png_header(bytes: &[u8]) -> Result<Header, HeaderError> {
    let ihdr = bytes.get(8..33).ok_or(HeaderError::Truncated)?;
    if &ihdr[4..8] != b"IHDR" {
        return Err(HeaderError::Corrupt("PNG does not start with IHDR"));
    }
    let dim = |at: usize| u32::from_be_bytes([ihdr[at], ihdr[at + 1], ihdr[at + 2], ihdr[at + 3]]);
    Ok(Header {
        format: Format::Png,
        width: dim(8),
        height: dim(12),
        progressive: false,
        decoder_bytes: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_magic_bytes() {
        assert_eq!(
            sniff(b"\xFF\xD8\xFF\xE0rest"),
            Sniffed::Supported(Format::Jpeg)
        );
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\nrest"),
            Sniffed::Supported(Format::Png)
        );
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Sniffed::Unsupported("WebP"));
        assert_eq!(
            sniff(b"\0\0\0\x18ftypheic\0\0\0\0"),
            Sniffed::Unsupported("HEIC")
        );
        assert_eq!(sniff(b"\0\0\0\x1cftypavif"), Sniffed::Unsupported("AVIF"));
        assert_eq!(sniff(b"GIF89a.."), Sniffed::Unsupported("GIF"));
        assert_eq!(sniff(b"BM...."), Sniffed::Unsupported("BMP"));
        assert_eq!(sniff(b"II*\0...."), Sniffed::Unsupported("TIFF"));
        assert_eq!(sniff(b"hello"), Sniffed::Unknown);
        assert_eq!(sniff(b""), Sniffed::Unknown);
    }

    #[test]
    fn jpeg_frame_header_after_other_segments() {
        // SOI, APP0 of 4 bytes, fill bytes, SOF2 640x480 with 3 components 2x2,1x1,1x1.
        let bytes = [
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0xAA, 0xBB, 0xFF, 0xFF, 0xC2, 0x00, 0x11, 0x08,
            0x01, 0xE0, 0x02, 0x80, 0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01,
        ];
        let header = read_header(&bytes, Format::Jpeg).unwrap();
        assert_eq!(
            (header.width, header.height, header.progressive),
            (640, 480, true)
        );
        // 40x30 MCUs: luma 4 blocks each, chroma 1 each → 6 blocks × 128 bytes per MCU.
        assert_eq!(header.decoder_bytes, 40 * 30 * 6 * 128);
        assert_eq!(
            read_header(&bytes[..15], Format::Jpeg),
            Err(HeaderError::Truncated)
        );
    }

    #[test]
    fn jpeg_without_frame_is_corrupt() {
        let bytes = [0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02];
        assert!(matches!(
            read_header(&bytes, Format::Jpeg),
            Err(HeaderError::Corrupt(_))
        ));
        let zero_len = [0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x00];
        assert!(matches!(
            read_header(&zero_len, Format::Jpeg),
            Err(HeaderError::Corrupt(_))
        ));
    }
}
