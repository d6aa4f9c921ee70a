//! Reading samples from files: a JSON array of numbers, or CSV text with one numeric column and
//! an optional header line. The format is recognised from the first non-blank character (`[`
//! means JSON). Both are read incrementally, so a window of any size can be streamed in chunks
//! into a [`crate::Histogram`] with constant memory.

use std::io::BufRead;

use serde::de::{Deserializer as _, SeqAccess, Visitor};
use thiserror::Error;

/// Why a sample could not be read.
#[derive(Debug, Error)]
pub enum SampleError {
    #[error("read failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("invalid JSON sample (expected an array of numbers): {0}")]
    Json(#[source] serde_json::Error),
    #[error("line {line}: `{text}` is not a number")]
    CsvValue { line: usize, text: String },
    #[error("line {line}: more than one column")]
    CsvColumns { line: usize },
}

impl SampleError {
    /// Stable machine-readable name of the variant.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Io(_) => "Io",
            Self::Json(_) => "Json",
            Self::CsvValue { .. } => "CsvValue",
            Self::CsvColumns { .. } => "CsvColumns",
        }
    }
}

/// Number of values handed to the callback at a time by [`read_chunks`].
pub const DEFAULT_CHUNK_LEN: usize = 65_536;

/// Reads every value of a sample, handing them to `sink` in chunks of at most `chunk_len`
/// values; returns how many values were read. NaN and ±∞ are passed through (CSV `nan`, `inf`):
/// deciding what they mean is the statistic's job.
pub fn read_chunks<R: BufRead>(
    mut reader: R,
    chunk_len: usize,
    mut sink: impl FnMut(&[f64]),
) -> Result<u64, SampleError> {
    let chunk_len = chunk_len.max(1);
    let mut chunker = Chunker {
        buffer: Vec::with_capacity(chunk_len),
        chunk_len,
        sink: &mut sink,
        count: 0,
    };
    if starts_with_bracket(&mut reader)? {
        let mut de = serde_json::Deserializer::from_reader(reader);
        de.deserialize_seq(ChunkVisitor(&mut chunker))
            .map_err(SampleError::Json)?;
        de.end().map_err(SampleError::Json)?;
    } else {
        read_csv(reader, &mut chunker)?;
    }
    chunker.flush();
    Ok(chunker.count)
}

/// Reads a whole sample into memory.
pub fn read_values<R: BufRead>(reader: R) -> Result<Vec<f64>, SampleError> {
    let mut values = Vec::new();
    read_chunks(reader, DEFAULT_CHUNK_LEN, |chunk| {
        values.extend_from_slice(chunk)
    })?;
    Ok(values)
}

fn starts_with_bracket<R: BufRead>(reader: &mut R) -> std::io::Result<bool> {
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(false);
        }
        let skip = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
        if skip < buf.len() {
            let first = buf[skip];
            reader.consume(skip);
            return Ok(first == b'[');
        }
        let len = buf.len();
        reader.consume(len);
    }
}

struct Chunker<'a, F: FnMut(&[f64])> {
    buffer: Vec<f64>,
    chunk_len: usize,
    sink: &'a mut F,
    count: u64,
}

impl<F: FnMut(&[f64])> Chunker<'_, F> {
    fn push(&mut self, value: f64) {
        self.buffer.push(value);
        self.count += 1;
        if self.buffer.len() == self.chunk_len {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if !self.buffer.is_empty() {
            (self.sink)(&self.buffer);
            self.buffer.clear();
        }
    }
}

struct ChunkVisitor<'c, 'a, F: FnMut(&[f64])>(&'c mut Chunker<'a, F>);

impl<'de, F: FnMut(&[f64])> Visitor<'de> for ChunkVisitor<'_, '_, F> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of numbers")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(value) = seq.next_element::<f64>()? {
            self.0.push(value);
        }
        Ok(())
    }
}

fn read_csv<R: BufRead, F: FnMut(&[f64])>(
    mut reader: R,
    chunker: &mut Chunker<'_, F>,
) -> Result<(), SampleError> {
    let mut line = String::new();
    let mut line_number = 0;
    let mut seen_content = false;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        line_number += 1;
        let text = line.trim().trim_start_matches('\u{feff}');
        if text.is_empty() {
            continue;
        }
        if text.contains(',') {
            return Err(SampleError::CsvColumns { line: line_number });
        }
        let field = text.trim_matches('"').trim();
        match field.parse::<f64>() {
            Ok(value) => chunker.push(value),
            // The first non-blank line may be a header.
            Err(_) if !seen_content => {}
            Err(_) => {
                return Err(SampleError::CsvValue {
                    line: line_number,
                    text: field.to_owned(),
                });
            }
        }
        seen_content = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_array() {
        assert_eq!(
            read_values(" [1, 2.5, -3e-2]\n".as_bytes()).unwrap(),
            vec![1.0, 2.5, -0.03]
        );
        assert_eq!(read_values("[]".as_bytes()).unwrap(), Vec::<f64>::new());
    }

    #[test]
    fn json_errors() {
        assert_eq!(
            read_values("[1, \"a\"]".as_bytes()).unwrap_err().name(),
            "Json"
        );
        assert_eq!(
            read_values("[1, null]".as_bytes()).unwrap_err().name(),
            "Json"
        );
        assert_eq!(
            read_values("[1, 2] 3".as_bytes()).unwrap_err().name(),
            "Json"
        );
        assert_eq!(read_values("[1, 2".as_bytes()).unwrap_err().name(), "Json");
    }

    #[test]
    fn csv_with_and_without_header() {
        assert_eq!(
            read_values("1\n2.5\r\n\n-3\n".as_bytes()).unwrap(),
            vec![1.0, 2.5, -3.0]
        );
        assert_eq!(
            read_values("confidence\n0.9\n\"0.8\"\n".as_bytes()).unwrap(),
            vec![0.9, 0.8]
        );
        let with_nan = read_values("x\nnan\ninf\n1\n".as_bytes()).unwrap();
        assert!(with_nan[0].is_nan() && with_nan[1] == f64::INFINITY && with_nan[2] == 1.0);
        assert_eq!(read_values("".as_bytes()).unwrap(), Vec::<f64>::new());
    }

    #[test]
    fn csv_errors_name_the_line() {
        match read_values("x\n1\nabc\n".as_bytes()) {
            Err(SampleError::CsvValue { line, text }) => {
                assert_eq!((line, text.as_str()), (3, "abc"))
            }
            other => panic!("{other:?}"),
        }
        match read_values("1,2\n".as_bytes()) {
            Err(SampleError::CsvColumns { line }) => assert_eq!(line, 1),
            other => panic!("{other:?}"),
        }
        // Only the first line may be a header.
        assert_eq!(
            read_values("a\nb\n".as_bytes()).unwrap_err().name(),
            "CsvValue"
        );
    }

    #[test]
    fn chunks_cover_every_value_once() {
        let text: String = (0..10).map(|i| format!("{i}\n")).collect();
        let mut chunks = Vec::new();
        let count = read_chunks(text.as_bytes(), 4, |c| chunks.push(c.to_vec())).unwrap();
        assert_eq!(count, 10);
        assert_eq!(
            chunks.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![4, 4, 2]
        );
        let json = format!(
            "[{}]",
            (0..10).map(|i| i.to_string()).collect::<Vec<_>>().join(",")
        );
        let mut total = 0.0;
        read_chunks(json.as_bytes(), 3, |c| total += c.iter().sum::<f64>()).unwrap();
        assert_eq!(total, 45.0);
    }
}
