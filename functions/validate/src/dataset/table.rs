//! Tabular dataset checks of seed 001 ("Data Quality Validation"): completeness, value ranges,
//! 3-sigma outliers and duplicate rows, on a CSV file with a header row.

use std::collections::{BTreeMap, HashSet};

/// Cells that count as missing.
const MISSING: [&str; 4] = ["", "na", "nan", "null"];

/// A parsed CSV file.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Rows whose cell count differs from the header's (left out of `rows`).
    pub malformed_rows: usize,
}

/// Why CSV text has no table: only the header row can make it fail.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("no header row")]
    NoHeader,
    #[error("unreadable header row: {0}")]
    Header(#[source] csv::Error),
}

/// Parses CSV text (RFC 4180: fields may be quoted, holding commas, quotes and line breaks);
/// cells are trimmed. Fails only without a header.
pub fn parse_csv(text: &str) -> Result<Table, CsvError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    // A blank (or all-space) line is one empty field: not a row.
    let mut records = reader
        .records()
        .filter(|r| !r.as_ref().is_ok_and(|r| r.len() == 1 && r[0].is_empty()));
    let header = match records.next() {
        Some(Ok(header)) => header,
        Some(Err(e)) => return Err(CsvError::Header(e)),
        None => return Err(CsvError::NoHeader),
    };
    let columns: Vec<String> = header.iter().map(str::to_string).collect();
    let mut rows = Vec::new();
    let mut malformed_rows = 0;
    for record in records {
        match record {
            Ok(cells) if cells.len() == columns.len() => {
                rows.push(cells.iter().map(str::to_string).collect());
            }
            // A cell count other than the header's, or bytes that are not UTF-8.
            _ => malformed_rows += 1,
        }
    }
    Ok(Table {
        columns,
        rows,
        malformed_rows,
    })
}

fn is_missing(cell: &str) -> bool {
    MISSING.contains(&cell.to_ascii_lowercase().as_str())
}

impl Table {
    fn total_rows(&self) -> usize {
        self.rows.len() + self.malformed_rows
    }

    /// Fraction of malformed rows.
    pub fn malformed_fraction(&self) -> f64 {
        self.malformed_rows as f64 / self.total_rows().max(1) as f64
    }

    /// The largest fraction of missing cells in any column.
    pub fn worst_missing_fraction(&self) -> f64 {
        (0..self.columns.len())
            .map(|c| {
                self.rows.iter().filter(|r| is_missing(&r[c])).count() as f64
                    / self.rows.len().max(1) as f64
            })
            .fold(0.0, f64::max)
    }

    /// Values of a column that are present and numeric; `None` when the column does not exist or
    /// holds text.
    pub fn numeric(&self, column: &str) -> Option<Vec<f64>> {
        let c = self.columns.iter().position(|name| name == column)?;
        self.rows
            .iter()
            .filter(|r| !is_missing(&r[c]))
            .map(|r| r[c].parse::<f64>().ok().filter(|v| v.is_finite()))
            .collect()
    }

    /// Names of the columns whose present values are all numbers.
    pub fn numeric_columns(&self) -> Vec<&str> {
        self.columns
            .iter()
            .map(String::as_str)
            .filter(|c| self.numeric(c).is_some_and(|v| !v.is_empty()))
            .collect()
    }

    /// Fraction of rows identical to an earlier row.
    pub fn duplicate_fraction(&self) -> f64 {
        let mut seen = HashSet::new();
        let duplicates = self.rows.iter().filter(|r| !seen.insert(*r)).count();
        duplicates as f64 / self.rows.len().max(1) as f64
    }
}

/// Fraction of values outside `[min, max]`.
pub fn out_of_range_fraction(values: &[f64], min: f64, max: f64) -> f64 {
    let outside = values.iter().filter(|v| !(min..=max).contains(*v)).count();
    outside as f64 / values.len().max(1) as f64
}

/// Fraction of values more than three sample standard deviations from the mean.
pub fn outlier_fraction(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    if sd == 0.0 {
        return 0.0;
    }
    values
        .iter()
        .filter(|v| ((*v - mean) / sd).abs() > 3.0)
        .count() as f64
        / n
}

/// Per-column `[min, max]` ranges a table declares in the dataset manifest.
pub type Ranges = BTreeMap<String, [f64; 2]>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_measures() {
        let t = parse_csv("a,b,c\n1,2,x\n1,2,x\n3,NA,y\n4,5\n").unwrap();
        assert_eq!(t.rows.len(), 3);
        assert_eq!(t.malformed_rows, 1);
        assert!((t.malformed_fraction() - 0.25).abs() < 1e-12);
        assert!((t.worst_missing_fraction() - 1.0 / 3.0).abs() < 1e-12);
        assert!((t.duplicate_fraction() - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(t.numeric("a"), Some(vec![1.0, 1.0, 3.0]));
        assert_eq!(t.numeric("c"), None);
        assert_eq!(t.numeric_columns(), vec!["a", "b"]);
        assert!(matches!(parse_csv(""), Err(CsvError::NoHeader)));
        assert!(matches!(parse_csv("\n  \n"), Err(CsvError::NoHeader)));
        // Quoted fields may hold commas, quotes and line breaks.
        let q = parse_csv("\"a\",b\n\"x, \"\"y\"\"\",2\n\"two\nlines\",3\n").unwrap();
        assert_eq!(q.columns, ["a", "b"]);
        assert_eq!(q.rows, [["x, \"y\"", "2"], ["two\nlines", "3"]]);
        assert_eq!(q.malformed_rows, 0);
        // A row of empty cells is a row of missing values, not a blank line.
        let e = parse_csv("a,b\n1,2\n,\n").unwrap();
        assert_eq!(e.rows.len(), 2);
        assert!((e.worst_missing_fraction() - 0.5).abs() < 1e-12);
    }

    #[test]
    fn ranges_and_outliers() {
        assert_eq!(out_of_range_fraction(&[1.0, 2.0, 5.0, 9.0], 0.0, 5.0), 0.25);
        let mut values = vec![10.0; 40];
        values.push(1000.0);
        assert!((outlier_fraction(&values) - 1.0 / 41.0).abs() < 1e-12);
        assert_eq!(outlier_fraction(&[1.0, 1.0]), 0.0);
        assert_eq!(outlier_fraction(&[1.0]), 0.0);
    }
}
