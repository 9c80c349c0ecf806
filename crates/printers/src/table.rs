//! Column alignment like kubectl's tab writer: each column but the last is
//! padded to its widest cell plus three spaces. Watch mode prints rows one
//! at a time, so the widths are kept and only ever grow. An empty header is
//! not printed (`--no-headers`), and then sizes no column.

use std::io::{self, Write};

/// Rows of cells under a header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// cells that size the columns without being printed (watch mode keeps
    /// room for `MODIFIED`)
    pub reserve: Vec<String>,
}

const PADDING: usize = 3;

impl Table {
    pub fn new(header: Vec<String>) -> Self {
        Table { header, rows: Vec::new(), reserve: Vec::new() }
    }

    /// Column widths (padding included) that fit every row.
    pub fn widths(&self) -> Vec<usize> {
        let mut widths = vec![0; self.header.len()];
        widen(&mut widths, &self.header);
        widen(&mut widths, &self.reserve);
        for row in &self.rows {
            widen(&mut widths, row);
        }
        widths
    }

    /// The aligned text, header first (when there is one).
    pub fn render(&self) -> String {
        let widths = self.widths();
        let mut out = if self.header.is_empty() { String::new() } else { line(&self.header, &widths) };
        for row in &self.rows {
            out.push_str(&line(row, &widths));
        }
        out
    }
}

/// Grows `widths` to fit `cells`.
pub fn widen(widths: &mut Vec<usize>, cells: &[String]) {
    if widths.len() < cells.len() {
        widths.resize(cells.len(), 0);
    }
    for (w, cell) in widths.iter_mut().zip(cells) {
        *w = (*w).max(cell.chars().count() + PADDING);
    }
}

/// One aligned line, ending in a newline; the last cell is not padded.
pub fn line(cells: &[String], widths: &[usize]) -> String {
    let mut out = String::new();
    for (i, cell) in cells.iter().enumerate() {
        if i + 1 == cells.len() {
            out.push_str(cell);
        } else {
            let width = widths.get(i).copied().unwrap_or(0);
            out.push_str(&format!("{cell:<width$}"));
        }
    }
    let mut out = out.trim_end_matches(' ').to_string();
    out.push('\n');
    out
}

/// Prints rows as they come (watch mode), keeping columns aligned with what
/// was printed before whenever the new cells fit.
#[derive(Debug, Default)]
pub struct Streamer {
    widths: Vec<usize>,
    /// a header not printed yet: it goes out with the first row
    header: Option<Vec<String>>,
}

impl Streamer {
    /// Prints the table (if it has rows) and remembers its widths.
    pub fn start(table: &Table, out: &mut dyn Write) -> io::Result<Streamer> {
        if table.rows.is_empty() {
            let header = Some(table.header.clone()).filter(|h| !h.is_empty());
            return Ok(Streamer { widths: table.widths(), header });
        }
        out.write_all(table.render().as_bytes())?;
        out.flush()?;
        Ok(Streamer { widths: table.widths(), header: None })
    }

    pub fn row(&mut self, cells: &[String], out: &mut dyn Write) -> io::Result<()> {
        widen(&mut self.widths, cells);
        if let Some(header) = self.header.take() {
            widen(&mut self.widths, &header);
            out.write_all(line(&header, &self.widths).as_bytes())?;
        }
        out.write_all(line(cells, &self.widths).as_bytes())?;
        out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(c: &[&str]) -> Vec<String> {
        c.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn columns_pad_to_the_widest_cell_plus_three() {
        let mut table = Table::new(cells(&["NAME", "READY", "STATUS"]));
        table.rows.push(cells(&["web-1", "1/1", "Running"]));
        table.rows.push(cells(&["a-much-longer-name", "0/1", "Pending"]));
        assert_eq!(
            table.render(),
            "NAME                 READY   STATUS\n\
             web-1                1/1     Running\n\
             a-much-longer-name   0/1     Pending\n"
        );
    }

    #[test]
    fn an_empty_header_is_left_out() {
        let mut table = Table::new(Vec::new());
        table.rows.push(cells(&["web-1", "1/1", "Running"]));
        table.rows.push(cells(&["a-much-longer-name", "0/1", "Pending"]));
        assert_eq!(
            table.render(),
            "web-1                1/1   Running
a-much-longer-name   0/1   Pending
"
        );
        let mut out = Vec::new();
        let mut s = Streamer::start(&Table::new(Vec::new()), &mut out).expect("print");
        s.row(&cells(&["ADDED", "web"]), &mut out).expect("print");
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "ADDED   web
"
        );
    }

    #[test]
    fn streamed_rows_keep_the_widths() {
        let mut table = Table::new(cells(&["NAME", "AGE"]));
        table.rows.push(cells(&["a", "1s"]));
        let mut out = Vec::new();
        let mut s = Streamer::start(&table, &mut out).expect("print");
        s.row(&cells(&["b", "2s"]), &mut out).expect("print");
        assert_eq!(String::from_utf8(out).expect("utf8"), "NAME   AGE\na      1s\nb      2s\n");
    }

    #[test]
    fn an_empty_table_prints_its_header_with_the_first_row() {
        let mut out = Vec::new();
        let mut s = Streamer::start(&Table::new(cells(&["EVENT", "NAME"])), &mut out).expect("print");
        assert!(out.is_empty());
        s.row(&cells(&["ADDED", "web"]), &mut out).expect("print");
        assert_eq!(String::from_utf8(out).expect("utf8"), "EVENT   NAME\nADDED   web\n");

        let mut table = Table::new(cells(&["EVENT", "NAME"]));
        table.reserve = cells(&["MODIFIED"]);
        let mut out = Vec::new();
        let mut s = Streamer::start(&table, &mut out).expect("print");
        s.row(&cells(&["ADDED", "web"]), &mut out).expect("print");
        s.row(&cells(&["MODIFIED", "web"]), &mut out).expect("print");
        assert_eq!(String::from_utf8(out).expect("utf8"), "EVENT      NAME\nADDED      web\nMODIFIED   web\n");
    }
}
