//! CSV loading with schema inference, parallel parsing and streaming chunks.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, RwLock, mpsc};

use crate::column::Table;
use crate::column_type::ColumnType;
use crate::csv::blocks::{
    BLOCK_BYTES, Block, BlockFailure, BlockReader, BlockSpec, for_each_record, parse_block,
    parse_error,
};
use crate::csv::chunks::CsvChunks;
use crate::csv::parse::{Builder, TypeGuess, classify, into_table, join, new_builders};
use crate::error::{DataError, Result};
use crate::schema::{Field, Schema};
use crate::source::{decode, open_file};

/// Values read as missing unless [`CsvLoader::with_missing_values`] says otherwise.
pub const DEFAULT_MISSING: &[&str] = &["", "NA", "N/A", "NaN", "nan", "null", "NULL"];

/// Records read to guess column types before parsing starts.
const SAMPLE_ROWS: usize = 10_000;

/// Loads CSV files (plain or gzip) with a header row into [`Table`]s.
///
/// Column types are inferred (integer, float, boolean, categorical, text; missing values
/// allowed in any) unless fixed by [`with_schema`](Self::with_schema) or
/// [`with_column_type`](Self::with_column_type). Loading is one pass in the common case: the
/// first records give a first guess, blocks of whole records are parsed on several threads
/// straight into typed columns, and a value that does not fit its column widens the type
/// (integer → float in place; anything else re-reads the file with the wider type pinned), so
/// the result is the same as inferring over the whole file first. Memory stays near the
/// typed size of the data. Gzip input is recognised by its magic bytes.
///
/// ```no_run
/// use kiln_data::{ColumnType, CsvLoader};
///
/// let table = CsvLoader::new()
///     .with_column_type("year", ColumnType::Categorical)
///     .with_target("label")
///     .load("datasets/tabular/penguins.csv")?;
/// println!("{} rows\n{}", table.rows(), table.schema());
/// # Ok::<(), kiln_data::DataError>(())
/// ```
#[derive(Debug, Clone)]
pub struct CsvLoader {
    delimiter: u8,
    missing: Vec<Vec<u8>>,
    overrides: Vec<(String, ColumnType)>,
    schema: Option<Schema>,
    target: Option<String>,
    max_categories: usize,
    threads: usize,
    block_bytes: usize,
}

impl Default for CsvLoader {
    fn default() -> Self {
        Self::new()
    }
}

/// What a column's type is known to be during loading.
#[derive(Debug, Clone, Copy)]
struct Pin {
    column_type: ColumnType,
    /// Declared by the user: a value that does not parse is an error, not a reason to widen.
    declared: bool,
}

enum Pass {
    Done(Table),
    Restart,
}

impl CsvLoader {
    /// A loader for comma-separated files with default missing tokens and inference.
    pub fn new() -> Self {
        Self {
            delimiter: b',',
            missing: DEFAULT_MISSING
                .iter()
                .map(|s| s.as_bytes().to_vec())
                .collect(),
            overrides: Vec::new(),
            schema: None,
            target: None,
            max_categories: 1024,
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            block_bytes: BLOCK_BYTES,
        }
    }

    /// Sets the field delimiter (default `,`).
    pub fn with_delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// Sets the exact strings read as missing values (default [`DEFAULT_MISSING`]).
    pub fn with_missing_values<S: AsRef<str>>(mut self, tokens: &[S]) -> Self {
        self.missing = tokens
            .iter()
            .map(|s| s.as_ref().as_bytes().to_vec())
            .collect();
        self
    }

    /// Fixes the type of one column; the others are still inferred.
    pub fn with_column_type(mut self, name: impl Into<String>, column_type: ColumnType) -> Self {
        self.overrides.push((name.into(), column_type));
        self
    }

    /// Fixes every column's type: values that do not parse are errors.
    pub fn with_schema(mut self, schema: Schema) -> Self {
        self.schema = Some(schema);
        self
    }

    /// Marks a column as the target of the loaded table.
    pub fn with_target(mut self, name: impl Into<String>) -> Self {
        self.target = Some(name.into());
        self
    }

    /// Columns of strings with more distinct values than this are text, not categorical
    /// (default 1024).
    pub fn with_max_categories(mut self, max: usize) -> Self {
        self.max_categories = max;
        self
    }

    /// Parses with this many threads (default: the available parallelism; at least 1).
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Sets the bytes of input per parallel work unit (default 4 MiB; at least 1).
    pub fn with_block_size(mut self, bytes: usize) -> Self {
        self.block_bytes = bytes.max(1);
        self
    }

    /// Infers the schema of a file in one streaming pass over every row.
    pub fn infer_schema(&self, path: impl AsRef<Path>) -> Result<Schema> {
        let path = path.as_ref();
        let file = display(path);
        let mut reader = BlockReader::new(&file, open_file(path)?);
        let (names, rest) = self.read_header(&file, &mut reader)?;
        let pins = self.declared_pins(&names)?;
        let mut guesses: Vec<TypeGuess> = names.iter().map(|_| TypeGuess::new()).collect();
        let mut next_line = rest.first_line;
        let mut block = Some(rest);
        while let Some(mut b) = block {
            b.first_line = next_line;
            next_line += b.newlines();
            self.observe(&file, &names, &b, &pins, &mut guesses, usize::MAX)?;
            block = reader.next_block(self.block_bytes)?;
        }
        Ok(self.decide(names, &pins, &guesses))
    }

    /// Loads a whole file.
    pub fn load(&self, path: impl AsRef<Path>) -> Result<Table> {
        let path = path.as_ref();
        self.load_with(&display(path), &|| open_file(path))
    }

    /// Loads CSV text held in memory; `name` stands for the file in errors.
    pub fn load_bytes(&self, name: &str, bytes: &[u8]) -> Result<Table> {
        self.load_with(name, &|| Ok(decode(BufReader::new(bytes))))
    }

    /// Streams a file as tables of at most `rows_per_chunk` rows, all with one schema
    /// (inferred over the whole file first unless fixed). Categorical codes are per chunk.
    pub fn chunks(&self, path: impl AsRef<Path>, rows_per_chunk: usize) -> Result<CsvChunks> {
        if rows_per_chunk == 0 {
            return Err(DataError::config("rows_per_chunk", "must be at least 1"));
        }
        let path = path.as_ref();
        let file = display(path);
        let schema = match &self.schema {
            Some(schema) => schema.clone(),
            None => self.infer_schema(path)?,
        };
        let mut reader = BlockReader::new(&file, open_file(path)?);
        let (names, rest) = self.read_header(&file, &mut reader)?;
        check_schema(&file, &names, &schema)?;
        let types: Vec<ColumnType> = schema.fields().iter().map(|f| f.column_type).collect();
        Ok(CsvChunks {
            builders: new_builders(&types),
            reader,
            file,
            names,
            types,
            missing: self.missing.clone(),
            delimiter: self.delimiter,
            pending: Some(rest),
            ready: VecDeque::new(),
            rows_per_chunk,
            target: self.target.clone(),
            done: false,
            next_line: 0,
        })
    }

    fn load_with<'a>(
        &self,
        file: &str,
        open: &dyn Fn() -> Result<Box<dyn Read + Send + 'a>>,
    ) -> Result<Table> {
        let mut pins: HashMap<String, Pin> = HashMap::new();
        loop {
            match self.load_pass(file, open()?, &mut pins)? {
                Pass::Done(table) => {
                    return match &self.target {
                        Some(target) => table.with_target(target),
                        None => Ok(table),
                    };
                }
                // A column widened beyond what can be converted in place: read again with
                // the wider type pinned. Types only widen, so this ends.
                Pass::Restart => {}
            }
        }
    }

    /// One pass over the input; `pins` carries column types across passes.
    fn load_pass(
        &self,
        file: &str,
        input: Box<dyn Read + Send + '_>,
        pins: &mut HashMap<String, Pin>,
    ) -> Result<Pass> {
        let mut reader = BlockReader::new(file, input);
        let (names, rest) = self.read_header(file, &mut reader)?;
        if pins.is_empty() {
            for (name, pin) in names.iter().zip(self.declared_pins(&names)?) {
                if let Some(pin) = pin {
                    pins.insert(name.clone(), pin);
                }
            }
        }
        // First guess for the other columns from the first records.
        let known: Vec<Option<Pin>> = names.iter().map(|n| pins.get(n).copied()).collect();
        let mut guesses: Vec<TypeGuess> = names.iter().map(|_| TypeGuess::new()).collect();
        self.observe(file, &names, &rest, &known, &mut guesses, SAMPLE_ROWS)?;
        let mut types = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            let pin = *pins.entry(name.clone()).or_insert(Pin {
                column_type: guesses[i].decide(self.max_categories),
                declared: false,
            });
            types.push(pin.column_type);
        }

        let declared: Vec<bool> = names.iter().map(|n| pins[n].declared).collect();
        let shared = SharedTypes(RwLock::new(types));
        let fast_numbers = BlockSpec::fast_numbers(&self.missing);
        let outcome =
            self.pipeline(file, &names, &declared, &shared, fast_numbers, reader, rest)?;
        let builders = match outcome {
            Ok(builders) => builders,
            Err((column, line, text)) => {
                let types = shared.read();
                let pin = pins[&names[column]];
                if pin.declared {
                    let spec = BlockSpec {
                        file,
                        names: &names,
                        types: &types,
                        missing: &self.missing,
                        delimiter: self.delimiter,
                        fast_numbers,
                    };
                    return Err(parse_error(&spec, column, line, &text));
                }
                // Widen the type and read again with it pinned. Types only widen, so this
                // ends; a good first guess makes it rare.
                let wider = join(types[column], classify(&text));
                pins.insert(
                    names[column].clone(),
                    Pin {
                        column_type: wider,
                        declared: false,
                    },
                );
                return Ok(Pass::Restart);
            }
        };
        for (name, column_type) in names.iter().zip(shared.read().iter()) {
            if *column_type == ColumnType::Text {
                pins.insert(
                    name.clone(),
                    Pin {
                        column_type: ColumnType::Text,
                        declared: pins[name].declared,
                    },
                );
            }
        }
        Ok(Pass::Done(into_table(&names, builders, None)?))
    }

    /// Parses the blocks of `reader` (after `first`) on worker threads while a reader thread
    /// cuts blocks and this thread appends results in file order. Returns the column builders,
    /// or the first value that did not fit its column's type (column, line, text).
    #[allow(clippy::too_many_arguments)]
    fn pipeline(
        &self,
        file: &str,
        names: &[String],
        declared: &[bool],
        shared: &SharedTypes,
        fast_numbers: bool,
        mut reader: BlockReader<'_>,
        first: Block,
    ) -> Result<std::result::Result<Vec<Builder>, Mismatch>> {
        let mut builders = new_builders(&shared.read());
        let first_line = first.first_line;
        let stop = AtomicBool::new(false);
        let (block_tx, block_rx) = mpsc::sync_channel::<(usize, Block)>(self.threads);
        let block_rx = Mutex::new(block_rx);
        let (result_tx, result_rx) = mpsc::channel::<(usize, Parsed)>();
        let block_bytes = self.block_bytes;
        std::thread::scope(|scope| {
            // The reader: cuts the input into blocks of whole records.
            let stop_reader = &stop;
            let reader_thread = scope.spawn(move || -> Result<()> {
                if block_tx.send((0, first)).is_err() {
                    return Ok(());
                }
                let mut seq = 1;
                while !stop_reader.load(Ordering::Relaxed) {
                    let Some(block) = reader.next_block(block_bytes)? else {
                        break;
                    };
                    if block_tx.send((seq, block)).is_err() {
                        break;
                    }
                    seq += 1;
                }
                Ok(())
            });
            // The workers: parse blocks with the column types current when they start.
            for _ in 0..self.threads {
                let (block_rx, result_tx, stop) = (&block_rx, result_tx.clone(), &stop);
                scope.spawn(move || {
                    loop {
                        let next = match block_rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => break,
                        };
                        let Ok((seq, block)) = next else { break };
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let types = shared.read().clone();
                        let spec = BlockSpec {
                            file,
                            names,
                            types: &types,
                            missing: &self.missing,
                            delimiter: self.delimiter,
                            fast_numbers,
                        };
                        let newlines = block.newlines();
                        let result = parse_block(&spec, &block, newlines);
                        let done = Parsed {
                            first_line: block.first_line,
                            newlines,
                            result,
                        };
                        if result_tx.send((seq, done)).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(result_tx);
            // This thread: collect in file order, fixing line numbers (block k starts where
            // block k-1 ended). Numeric columns keep their pieces, concatenated once at the
            // end; categorical and text columns append now, to track their levels.
            let deferred: Vec<bool> = shared
                .read()
                .iter()
                .map(|t| {
                    matches!(
                        t,
                        ColumnType::Integer | ColumnType::Float | ColumnType::Boolean
                    )
                })
                .collect();
            let mut pieces: Vec<Vec<Builder>> = deferred.iter().map(|_| Vec::new()).collect();
            let mut waiting: BTreeMap<usize, Parsed> = BTreeMap::new();
            let mut next = 0;
            let mut line = first_line;
            let mut outcome = Ok(Ok(()));
            'collect: for (seq, parsed) in result_rx.iter() {
                waiting.insert(seq, parsed);
                while let Some(parsed) = waiting.remove(&next) {
                    next += 1;
                    let shift = line - parsed.first_line;
                    line += parsed.newlines;
                    match parsed.result.map_err(|f| f.shifted(shift)) {
                        Ok(block) => {
                            for (i, piece) in block.into_iter().enumerate() {
                                if deferred[i] {
                                    pieces[i].push(piece);
                                } else {
                                    builders[i].append(piece);
                                }
                            }
                        }
                        Err(BlockFailure::Data(e)) => {
                            outcome = Err(e);
                            break 'collect;
                        }
                        Err(BlockFailure::Mismatch { column, line, text }) => {
                            outcome = Ok(Err((column, line, text)));
                            break 'collect;
                        }
                    }
                    self.widen_to_text(&mut builders, declared, shared);
                }
            }
            if matches!(outcome, Ok(Ok(()))) {
                concat_parallel(&mut builders, pieces, self.threads);
            }
            stop.store(true, Ordering::Relaxed);
            drop(result_rx);
            // Unblock the reader if it waits on a full queue.
            if let Ok(rx) = block_rx.lock() {
                while rx.try_recv().is_ok() {}
            }
            let read = match reader_thread.join() {
                Ok(read) => read,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            match outcome {
                Err(e) => Err(e),
                Ok(Err(mismatch)) => Ok(Err(mismatch)),
                Ok(Ok(())) => read.map(|()| Ok(builders)),
            }
        })
    }

    /// Categorical columns that outgrew categories (too many, or too long) become text, and
    /// later blocks parse them as text.
    fn widen_to_text(&self, builders: &mut [Builder], declared: &[bool], shared: &SharedTypes) {
        for (i, builder) in builders.iter_mut().enumerate() {
            if !declared[i] && builder.needs_text(self.max_categories) {
                builder.promote(ColumnType::Text);
                if let Ok(mut types) = shared.0.write() {
                    types[i] = ColumnType::Text;
                }
            }
        }
    }

    /// Reads the header record and returns the column names and the rest of the first block.
    fn read_header(
        &self,
        file: &str,
        reader: &mut BlockReader<'_>,
    ) -> Result<(Vec<String>, Block)> {
        let Some(first) = reader.next_block(self.block_bytes)? else {
            return Err(DataError::EmptyFile { file: file.into() });
        };
        let (header, rest) = first.split_first_record();
        let mut raw_names: Option<Vec<Vec<u8>>> = None;
        for_each_record(&header, self.delimiter, |_, bytes, fields| {
            raw_names
                .get_or_insert_with(|| fields.iter().map(|r| bytes[r.clone()].to_vec()).collect());
            Ok::<(), ()>(())
        })
        .ok();
        let Some(raw_names) = raw_names else {
            return Err(DataError::EmptyFile { file: file.into() });
        };
        let mut names: Vec<String> = Vec::with_capacity(raw_names.len());
        for (i, raw) in raw_names.iter().enumerate() {
            let name = std::str::from_utf8(raw).map_err(|e| DataError::InvalidUtf8 {
                file: file.into(),
                line: 1,
                column: format!("header field {}", i + 1),
                detail: e.to_string(),
            })?;
            let name = match name.trim_start_matches('\u{feff}').trim() {
                "" => format!("column_{}", i + 1),
                trimmed => trimmed.to_owned(),
            };
            if let Some(first) = names.iter().position(|n| *n == name) {
                return Err(DataError::DuplicateHeader {
                    file: file.into(),
                    name,
                    first: first + 1,
                    second: i + 1,
                });
            }
            names.push(name);
        }
        if let Some(schema) = &self.schema {
            check_schema(file, &names, schema)?;
        }
        Ok((names, rest))
    }

    /// The declared type of each column (schema, then per-column overrides), if any.
    fn declared_pins(&self, names: &[String]) -> Result<Vec<Option<Pin>>> {
        for (name, _) in &self.overrides {
            if !names.contains(name) {
                return Err(DataError::UnknownColumn {
                    column: name.clone(),
                    available: names.join(", "),
                });
            }
        }
        Ok(names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let declared = |column_type| Pin {
                    column_type,
                    declared: true,
                };
                self.overrides
                    .iter()
                    .rev()
                    .find(|(o, _)| o == name)
                    .map(|(_, t)| declared(*t))
                    .or_else(|| {
                        self.schema
                            .as_ref()
                            .map(|s| declared(s.fields()[i].column_type))
                    })
            })
            .collect())
    }

    /// Feeds up to `limit` records of a block to the type guesses of unpinned columns.
    fn observe(
        &self,
        file: &str,
        names: &[String],
        block: &Block,
        pins: &[Option<Pin>],
        guesses: &mut [TypeGuess],
        limit: usize,
    ) -> Result<()> {
        let mut seen = 0usize;
        let result = for_each_record(block, self.delimiter, |line, bytes, fields| {
            if seen >= limit {
                return Err(None);
            }
            seen += 1;
            if fields.len() != names.len() {
                return Err(Some(DataError::RaggedRow {
                    file: file.into(),
                    line,
                    expected: names.len(),
                    found: fields.len(),
                }));
            }
            for (i, range) in fields.iter().enumerate() {
                let raw = &bytes[range.clone()];
                if pins[i].is_some() || self.missing.iter().any(|m| m.as_slice() == raw) {
                    continue;
                }
                guesses[i].observe(raw, self.max_categories).map_err(|e| {
                    Some(DataError::InvalidUtf8 {
                        file: file.into(),
                        line,
                        column: names[i].clone(),
                        detail: e.to_string(),
                    })
                })?;
            }
            Ok(())
        });
        match result {
            Err(Some(e)) => Err(e),
            _ => Ok(()),
        }
    }

    fn decide(&self, names: Vec<String>, pins: &[Option<Pin>], guesses: &[TypeGuess]) -> Schema {
        let fields = names
            .into_iter()
            .zip(pins.iter().zip(guesses))
            .map(|(name, (pin, guess))| {
                let column_type =
                    pin.map_or_else(|| guess.decide(self.max_categories), |p| p.column_type);
                Field::new(name, column_type)
            })
            .collect();
        // Names were checked for duplicates when the header was read.
        Schema::new(fields).unwrap_or_default()
    }
}

/// A value that did not fit its column's type: (column, line, text).
type Mismatch = (usize, u64, Vec<u8>);

/// A worker's result for one block.
struct Parsed {
    /// The line the worker numbered the block from.
    first_line: u64,
    /// Line feeds in the block.
    newlines: u64,
    result: std::result::Result<Vec<Builder>, BlockFailure>,
}

/// Concatenates each column's pieces into its builder, columns spread over `threads`.
fn concat_parallel(builders: &mut [Builder], pieces: Vec<Vec<Builder>>, threads: usize) {
    let mut jobs: Vec<(&mut Builder, Vec<Builder>)> = builders
        .iter_mut()
        .zip(pieces)
        .filter(|(_, p)| !p.is_empty())
        .collect();
    let per_thread = jobs.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|scope| {
        while !jobs.is_empty() {
            let batch: Vec<_> = jobs.drain(..per_thread.min(jobs.len())).collect();
            scope.spawn(move || {
                for (builder, pieces) in batch {
                    let rows: usize = pieces.iter().map(Builder::rows).sum();
                    builder.reserve(rows);
                    for piece in pieces {
                        builder.append(piece);
                    }
                }
            });
        }
    });
}

/// Column types that widen while a file is parsed, read by every worker.
struct SharedTypes(RwLock<Vec<ColumnType>>);

impl SharedTypes {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<ColumnType>> {
        // A poisoned lock means a worker panicked, which `scope` re-raises anyway.
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn check_schema(file: &str, names: &[String], schema: &Schema) -> Result<()> {
    if names.iter().map(String::as_str).ne(schema.names()) {
        return Err(DataError::config(
            "schema",
            format!(
                "{file}: the header has columns [{}] but the schema has [{}]",
                names.join(", "),
                schema.names().join(", ")
            ),
        ));
    }
    Ok(())
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
