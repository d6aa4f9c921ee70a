//! A numeric table with a row id: what the generators write, the training job reads and the
//! evaluation scores. Stored as CSV with a header, `id` first, numbers only in the other columns
//! (no quoting: an id or a name with a comma, a quote or a line break is refused when written).

use std::fmt::Write as _;

/// Largest CSV text read (a generated training set is a few MB).
pub const MAX_CSV_BYTES: usize = 256 * 1024 * 1024;

/// Columns of numbers, each row named by an id.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    pub ids: Vec<String>,
    pub names: Vec<String>,
    /// One vector per column, each `ids.len()` long.
    pub columns: Vec<Vec<f64>>,
}

/// A table that cannot be read or written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TableError {
    #[error("the CSV is empty: it needs a header line `id,<column>,...`")]
    Empty,
    #[error("the CSV header must start with `id`, found {0:?}")]
    NoIdColumn(String),
    #[error("column {0:?} appears twice in the header")]
    DuplicateColumn(String),
    #[error("line {line}: {found} fields where the header has {expected}")]
    FieldCount {
        line: usize,
        expected: usize,
        found: usize,
    },
    #[error("line {line}, column {column:?}: {text:?} is not a finite number")]
    NotANumber {
        line: usize,
        column: String,
        text: String,
    },
    #[error("the CSV is {0} bytes, more than the {MAX_CSV_BYTES} read")]
    TooLarge(usize),
    #[error("{0:?} cannot be written unquoted (comma, quote or line break)")]
    Unwritable(String),
    #[error("no column named {0:?}")]
    MissingColumn(String),
}

fn writable(text: &str) -> Result<&str, TableError> {
    if text.contains([',', '"', '\n', '\r']) {
        Err(TableError::Unwritable(text.to_string()))
    } else {
        Ok(text)
    }
}

impl Table {
    /// An empty table with these columns.
    pub fn with_columns(names: &[&str]) -> Self {
        Self {
            ids: Vec::new(),
            names: names.iter().map(|n| n.to_string()).collect(),
            columns: vec![Vec::new(); names.len()],
        }
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Appends a row; `values` in column order.
    pub fn push(&mut self, id: String, values: &[f64]) {
        debug_assert_eq!(values.len(), self.columns.len());
        self.ids.push(id);
        for (column, v) in self.columns.iter_mut().zip(values) {
            column.push(*v);
        }
    }

    /// The column of that name.
    pub fn column(&self, name: &str) -> Result<&[f64], TableError> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| self.columns[i].as_slice())
            .ok_or_else(|| TableError::MissingColumn(name.to_string()))
    }

    /// The columns of these names, in that order.
    pub fn select(&self, names: &[String]) -> Result<Vec<&[f64]>, TableError> {
        names.iter().map(|n| self.column(n)).collect()
    }

    /// The rows whose index `keep` accepts, in order.
    pub fn filter(&self, mut keep: impl FnMut(usize) -> bool) -> Self {
        let rows: Vec<usize> = (0..self.len()).filter(|&i| keep(i)).collect();
        Self {
            ids: rows.iter().map(|&i| self.ids[i].clone()).collect(),
            names: self.names.clone(),
            columns: self
                .columns
                .iter()
                .map(|c| rows.iter().map(|&i| c[i]).collect())
                .collect(),
        }
    }

    /// Row `i` of the named columns.
    pub fn row(&self, columns: &[&[f64]], i: usize) -> Vec<f64> {
        columns.iter().map(|c| c[i]).collect()
    }

    /// The table as CSV text.
    pub fn to_csv(&self) -> Result<String, TableError> {
        let mut out = String::from("id");
        for name in &self.names {
            out.push(',');
            out.push_str(writable(name)?);
        }
        out.push('\n');
        for (i, id) in self.ids.iter().enumerate() {
            out.push_str(writable(id)?);
            for column in &self.columns {
                // `{}` prints the shortest text that reads back as the same f64.
                let _ = write!(out, ",{}", column[i]);
            }
            out.push('\n');
        }
        Ok(out)
    }

    /// Reads CSV text written by [`Table::to_csv`] (or by hand: blank lines are skipped, `\r\n`
    /// line ends accepted). Every value must be a finite number.
    pub fn from_csv(text: &str) -> Result<Self, TableError> {
        if text.len() > MAX_CSV_BYTES {
            return Err(TableError::TooLarge(text.len()));
        }
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let (_, header) = lines.next().ok_or(TableError::Empty)?;
        let mut fields = header.split(',').map(str::trim);
        let first = fields.next().unwrap_or_default();
        if first != "id" {
            return Err(TableError::NoIdColumn(first.to_string()));
        }
        let names: Vec<String> = fields.map(str::to_string).collect();
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                return Err(TableError::DuplicateColumn(name.clone()));
            }
        }
        let mut table = Self {
            ids: Vec::new(),
            columns: vec![Vec::new(); names.len()],
            names,
        };
        for (index, line) in lines {
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            if fields.len() != table.names.len() + 1 {
                return Err(TableError::FieldCount {
                    line: index + 1,
                    expected: table.names.len() + 1,
                    found: fields.len(),
                });
            }
            table.ids.push(fields[0].to_string());
            for ((column, name), text) in
                table.columns.iter_mut().zip(&table.names).zip(&fields[1..])
            {
                let value = text
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| TableError::NotANumber {
                        line: index + 1,
                        column: name.clone(),
                        text: text.to_string(),
                    })?;
                column.push(value);
            }
        }
        Ok(table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_round_trips_exactly() {
        let mut t = Table::with_columns(&["a", "b"]);
        t.push("r1".into(), &[0.1, -3.0]);
        t.push("r2".into(), &[1e-12, 2.5]);
        let back = Table::from_csv(&t.to_csv().unwrap()).unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn bad_csv_gets_named_errors() {
        assert_eq!(Table::from_csv(""), Err(TableError::Empty));
        assert!(matches!(
            Table::from_csv("x,a\n1,2\n"),
            Err(TableError::NoIdColumn(_))
        ));
        assert!(matches!(
            Table::from_csv("id,a,a\n"),
            Err(TableError::DuplicateColumn(_))
        ));
        assert!(matches!(
            Table::from_csv("id,a\nr,1,2\n"),
            Err(TableError::FieldCount { line: 2, .. })
        ));
        for bad in ["NaN", "inf", "", "1.2.3"] {
            assert!(matches!(
                Table::from_csv(&format!("id,a\nr,{bad}\n")),
                Err(TableError::NotANumber { .. })
            ));
        }
        let mut t = Table::with_columns(&["a"]);
        t.push("x,y".into(), &[1.0]);
        assert!(matches!(t.to_csv(), Err(TableError::Unwritable(_))));
    }

    #[test]
    fn filter_and_select_keep_rows_aligned() {
        let mut t = Table::with_columns(&["a", "b"]);
        for i in 0..5 {
            t.push(format!("r{i}"), &[i as f64, 10.0 * i as f64]);
        }
        let even = t.filter(|i| i % 2 == 0);
        assert_eq!(even.ids, ["r0", "r2", "r4"]);
        let cols = even.select(&["b".into(), "a".into()]).unwrap();
        assert_eq!(even.row(&cols, 1), vec![20.0, 2.0]);
        assert!(matches!(t.column("c"), Err(TableError::MissingColumn(_))));
    }
}
