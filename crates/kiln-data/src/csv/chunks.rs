//! Streaming a CSV file as tables of bounded size.

use std::collections::VecDeque;

use crate::column::Table;
use crate::column_type::ColumnType;
use crate::csv::blocks::{
    BLOCK_BYTES, Block, BlockFailure, BlockReader, BlockSpec, for_each_record, parse_error,
    push_record,
};
use crate::csv::parse::{Builder, into_table, new_builders};
use crate::error::Result;
use crate::schema::{Field, Schema};

/// Iterator over a CSV file in tables of bounded size; see [`CsvLoader::chunks`].
pub struct CsvChunks {
    pub(crate) reader: BlockReader<'static>,
    pub(crate) file: String,
    pub(crate) names: Vec<String>,
    pub(crate) types: Vec<ColumnType>,
    pub(crate) missing: Vec<Vec<u8>>,
    pub(crate) delimiter: u8,
    pub(crate) builders: Vec<Builder>,
    pub(crate) pending: Option<Block>,
    pub(crate) ready: VecDeque<Table>,
    pub(crate) rows_per_chunk: usize,
    pub(crate) target: Option<String>,
    pub(crate) done: bool,
    /// Line where the next block from the reader starts.
    pub(crate) next_line: u64,
}

impl std::fmt::Debug for CsvChunks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvChunks")
            .field("file", &self.file)
            .field("columns", &self.names)
            .field("rows_per_chunk", &self.rows_per_chunk)
            .finish_non_exhaustive()
    }
}

impl CsvChunks {
    /// The schema every chunk has.
    pub fn schema(&self) -> Schema {
        Schema::new(
            self.names
                .iter()
                .zip(&self.types)
                .map(|(n, &t)| Field::new(n.clone(), t))
                .collect(),
        )
        .unwrap_or_default()
    }

    /// Turns the rows collected so far into a table.
    fn flush(&mut self) -> Result<()> {
        let builders = std::mem::replace(&mut self.builders, new_builders(&self.types));
        let table = into_table(&self.names, builders, self.target.as_deref())?;
        self.ready.push_back(table);
        Ok(())
    }

    fn fill(&mut self) -> Result<()> {
        while self.ready.is_empty() && !self.done {
            let block = match self.pending.take() {
                Some(block) => block,
                None => match self.reader.next_block(BLOCK_BYTES)? {
                    Some(mut block) => {
                        block.first_line = self.next_line;
                        block
                    }
                    None => {
                        self.done = true;
                        if self.builders.first().is_some_and(|b| b.rows() > 0) {
                            self.flush()?;
                        }
                        break;
                    }
                },
            };
            self.next_line = block.first_line + block.newlines();
            let spec = BlockSpec {
                file: &self.file,
                names: &self.names,
                types: &self.types,
                missing: &self.missing,
                delimiter: self.delimiter,
                fast_numbers: false,
            };
            let mut full = Vec::new();
            let builders = &mut self.builders;
            let rows_per_chunk = self.rows_per_chunk;
            let types = &self.types;
            for_each_record(&block, self.delimiter, |line, bytes, fields| {
                push_record(&spec, builders, line, bytes, fields).map_err(|e| match e {
                    BlockFailure::Data(e) => e,
                    BlockFailure::Mismatch { column, line, text } => {
                        parse_error(&spec, column, line, &text)
                    }
                })?;
                if builders[0].rows() == rows_per_chunk {
                    full.push(std::mem::replace(builders, new_builders(types)));
                }
                Ok(())
            })?;
            for chunk in full {
                let table = into_table(&self.names, chunk, self.target.as_deref())?;
                self.ready.push_back(table);
            }
        }
        Ok(())
    }
}

impl Iterator for CsvChunks {
    type Item = Result<Table>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Err(e) = self.fill() {
            self.done = true;
            self.ready.clear();
            return Some(Err(e));
        }
        self.ready.pop_front().map(Ok)
    }
}
