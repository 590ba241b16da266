//! Streaming CSV loading with schema inference.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use csv::{ByteRecord, ReaderBuilder};
use flate2::read::MultiGzDecoder;

use crate::column::{Column, ColumnData, Table};
use crate::error::{DataError, Result, excerpt};
use crate::schema::{ColumnType, Field, Schema};

/// Values read as missing unless [`CsvLoader::with_missing_values`] says otherwise.
pub const DEFAULT_MISSING: &[&str] = &["", "NA", "N/A", "NaN", "nan", "null", "NULL"];

const TRUE_TOKENS: &[&[u8]] = &[b"true", b"True", b"TRUE"];
const FALSE_TOKENS: &[&[u8]] = &[b"false", b"False", b"FALSE"];
/// Strings longer than this make a column text rather than categorical.
const MAX_CATEGORY_LEN: usize = 256;

/// Loads CSV files (plain or gzip) with a header row into [`Table`]s.
///
/// Column types are inferred in a first streaming pass (integer, float, boolean, categorical,
/// text; missing values allowed in any), unless [`with_schema`](Self::with_schema) fixes them.
/// The second pass parses straight into typed column vectors sized from the first pass, so
/// memory stays near the data's typed size. Gzip input is recognised by its magic bytes.
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
}

impl Default for CsvLoader {
    fn default() -> Self {
        Self::new()
    }
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

    /// Fixes every column's type: no inference pass, and values that do not parse are errors.
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

    /// Infers the schema of a file in one streaming pass.
    pub fn infer_schema(&self, path: impl AsRef<Path>) -> Result<Schema> {
        let path = path.as_ref();
        Ok(self.infer(&display(path), open_file(path)?)?.0)
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
            None => self.infer(&file, open_file(path)?)?.0,
        };
        let mut reader = self.csv_reader(open_file(path)?);
        self.check_header(&file, &mut reader, &schema)?;
        Ok(CsvChunks {
            reader,
            parser: RowParser::new(file, schema, &self.missing, 0),
            rows_per_chunk,
            target: self.target.clone(),
            done: false,
        })
    }

    fn load_with<'a>(
        &self,
        file: &str,
        open: &dyn Fn() -> Result<Box<dyn Read + 'a>>,
    ) -> Result<Table> {
        let (schema, rows) = match &self.schema {
            Some(schema) => (schema.clone(), 0),
            None => self.infer(file, open()?)?,
        };
        let mut reader = self.csv_reader(open()?);
        self.check_header(file, &mut reader, &schema)?;
        let mut parser = RowParser::new(file.to_owned(), schema, &self.missing, rows);
        let mut record = ByteRecord::new();
        while read_record(file, &mut reader, &mut record)? {
            parser.push(&record)?;
        }
        let table = Table::new(parser.finish())?;
        match &self.target {
            Some(target) => table.with_target(target),
            None => Ok(table),
        }
    }

    fn csv_reader<'a>(&self, input: Box<dyn Read + 'a>) -> csv::Reader<Box<dyn Read + 'a>> {
        ReaderBuilder::new()
            .delimiter(self.delimiter)
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(1 << 18)
            .from_reader(input)
    }

    /// Reads and validates the header, returning the column names.
    fn read_header(
        &self,
        file: &str,
        reader: &mut csv::Reader<Box<dyn Read + '_>>,
    ) -> Result<Vec<String>> {
        let mut record = ByteRecord::new();
        if !read_record(file, reader, &mut record)? {
            return Err(DataError::EmptyFile { file: file.into() });
        }
        let mut names: Vec<String> = Vec::with_capacity(record.len());
        for (i, raw) in record.iter().enumerate() {
            let name = std::str::from_utf8(raw).map_err(|e| DataError::InvalidUtf8 {
                file: file.into(),
                line: 1,
                column: format!("header field {}", i + 1),
                detail: e.to_string(),
            })?;
            let name = match name.trim() {
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
        Ok(names)
    }

    fn check_header(
        &self,
        file: &str,
        reader: &mut csv::Reader<Box<dyn Read + '_>>,
        schema: &Schema,
    ) -> Result<()> {
        let names = self.read_header(file, reader)?;
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

    /// The inference pass: returns the schema and the number of data rows.
    fn infer(&self, file: &str, input: Box<dyn Read + '_>) -> Result<(Schema, usize)> {
        let mut reader = self.csv_reader(input);
        let names = self.read_header(file, &mut reader)?;
        for (name, _) in &self.overrides {
            if !names.contains(name) {
                return Err(DataError::UnknownColumn {
                    column: name.clone(),
                    available: names.join(", "),
                });
            }
        }
        let fixed: Vec<Option<ColumnType>> = names
            .iter()
            .map(|n| {
                self.overrides
                    .iter()
                    .rev()
                    .find(|(o, _)| o == n)
                    .map(|(_, t)| *t)
            })
            .collect();
        let mut guesses: Vec<TypeGuess> = (0..names.len()).map(|_| TypeGuess::new()).collect();
        let mut record = ByteRecord::new();
        let mut rows = 0;
        while read_record(file, &mut reader, &mut record)? {
            let line = line_of(&record);
            check_width(file, line, names.len(), &record)?;
            for (i, raw) in record.iter().enumerate() {
                if fixed[i].is_some() || self.is_missing(raw) {
                    continue;
                }
                guesses[i].observe(raw, self.max_categories).map_err(|e| {
                    DataError::InvalidUtf8 {
                        file: file.into(),
                        line,
                        column: names[i].clone(),
                        detail: e.to_string(),
                    }
                })?;
            }
            rows += 1;
        }
        let fields = names
            .into_iter()
            .zip(fixed.iter().zip(&guesses))
            .map(|(name, (fixed, guess))| {
                Field::new(
                    name,
                    fixed.unwrap_or_else(|| guess.decide(self.max_categories)),
                )
            })
            .collect();
        Ok((Schema::new(fields)?, rows))
    }

    fn is_missing(&self, raw: &[u8]) -> bool {
        self.missing.iter().any(|m| m == raw)
    }
}

/// Iterator over a CSV file in tables of bounded size; see [`CsvLoader::chunks`].
pub struct CsvChunks {
    reader: csv::Reader<Box<dyn Read>>,
    parser: RowParser,
    rows_per_chunk: usize,
    target: Option<String>,
    done: bool,
}

impl std::fmt::Debug for CsvChunks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvChunks")
            .field("file", &self.parser.file)
            .field("schema", &self.parser.schema)
            .field("rows_per_chunk", &self.rows_per_chunk)
            .finish_non_exhaustive()
    }
}

impl CsvChunks {
    /// The schema every chunk has.
    pub fn schema(&self) -> &Schema {
        &self.parser.schema
    }

    fn next_chunk(&mut self) -> Result<Option<Table>> {
        let mut record = ByteRecord::new();
        let mut rows = 0;
        while rows < self.rows_per_chunk {
            if !read_record(&self.parser.file, &mut self.reader, &mut record)? {
                self.done = true;
                break;
            }
            self.parser.push(&record)?;
            rows += 1;
        }
        if rows == 0 {
            return Ok(None);
        }
        let table = Table::new(self.parser.take_columns())?;
        Ok(Some(match &self.target {
            Some(t) => table.with_target(t)?,
            None => table,
        }))
    }
}

impl Iterator for CsvChunks {
    type Item = Result<Table>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_chunk() {
            Ok(chunk) => chunk.map(Ok),
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// What the values of one column seen so far could be.
struct TypeGuess {
    seen: bool,
    boolean: bool,
    integer: bool,
    float: bool,
    long: bool,
    distinct: HashSet<Vec<u8>>,
}

impl TypeGuess {
    fn new() -> Self {
        Self {
            seen: false,
            boolean: true,
            integer: true,
            float: true,
            long: false,
            distinct: HashSet::new(),
        }
    }

    fn observe(
        &mut self,
        raw: &[u8],
        max_categories: usize,
    ) -> std::result::Result<(), std::str::Utf8Error> {
        self.seen = true;
        if self.boolean && parse_bool(raw).is_none() {
            self.boolean = false;
        }
        if self.integer || self.float {
            let text = std::str::from_utf8(raw)?;
            if self.integer && text.parse::<i64>().is_err() {
                self.integer = false;
            }
            if !self.integer && self.float && text.parse::<f64>().is_err() {
                self.float = false;
            }
        }
        // Distinct strings are counted once the column cannot be numeric or boolean, which
        // keeps the pass cheap for numeric columns; numbers seen before do not count.
        if !self.integer && !self.float && !self.boolean {
            std::str::from_utf8(raw)?;
            self.long |= raw.len() > MAX_CATEGORY_LEN;
            if !self.long && self.distinct.len() <= max_categories && !self.distinct.contains(raw) {
                self.distinct.insert(raw.to_vec());
            }
        }
        Ok(())
    }

    fn decide(&self, max_categories: usize) -> ColumnType {
        if !self.seen {
            ColumnType::Float
        } else if self.boolean {
            ColumnType::Boolean
        } else if self.integer {
            ColumnType::Integer
        } else if self.float {
            ColumnType::Float
        } else if self.long || self.distinct.len() > max_categories {
            ColumnType::Text
        } else {
            ColumnType::Categorical
        }
    }
}

/// Typed column under construction.
enum Builder {
    Integer(Vec<i64>),
    Float(Vec<f64>),
    Boolean(Vec<bool>),
    Categorical {
        codes: Vec<u32>,
        levels: Vec<String>,
        index: HashMap<String, u32>,
    },
    Text(Vec<String>),
}

impl Builder {
    fn new(column_type: ColumnType, capacity: usize) -> Self {
        match column_type {
            ColumnType::Integer => Self::Integer(Vec::with_capacity(capacity)),
            ColumnType::Float => Self::Float(Vec::with_capacity(capacity)),
            ColumnType::Boolean => Self::Boolean(Vec::with_capacity(capacity)),
            ColumnType::Categorical => Self::Categorical {
                codes: Vec::with_capacity(capacity),
                levels: Vec::new(),
                index: HashMap::new(),
            },
            ColumnType::Text => Self::Text(Vec::with_capacity(capacity)),
        }
    }

    fn push_missing(&mut self) {
        match self {
            Self::Integer(v) => v.push(0),
            Self::Float(v) => v.push(f64::NAN),
            Self::Boolean(v) => v.push(false),
            Self::Categorical { codes, .. } => codes.push(0),
            Self::Text(v) => v.push(String::new()),
        }
    }

    /// Parses and appends one value; `Err(None)` means "does not parse", `Err(Some)` bad UTF-8.
    fn push(&mut self, raw: &[u8]) -> std::result::Result<(), Option<std::str::Utf8Error>> {
        match self {
            Self::Boolean(v) => v.push(parse_bool(raw).ok_or(None)?),
            Self::Integer(v) => v.push(utf8(raw)?.parse().map_err(|_| None)?),
            Self::Float(v) => v.push(utf8(raw)?.parse().map_err(|_| None)?),
            Self::Categorical {
                codes,
                levels,
                index,
            } => {
                let text = utf8(raw)?;
                let code = match index.get(text) {
                    Some(&code) => code,
                    None => {
                        let code = levels.len() as u32;
                        levels.push(text.to_owned());
                        index.insert(text.to_owned(), code);
                        code
                    }
                };
                codes.push(code);
            }
            Self::Text(v) => v.push(utf8(raw)?.to_owned()),
        }
        Ok(())
    }

    fn finish(self) -> ColumnData {
        match self {
            Self::Integer(v) => ColumnData::Integer(v),
            Self::Float(v) => ColumnData::Float(v),
            Self::Boolean(v) => ColumnData::Boolean(v),
            Self::Categorical { codes, levels, .. } => ColumnData::Categorical { codes, levels },
            Self::Text(v) => ColumnData::Text(v),
        }
    }
}

/// Parses records into typed columns under a fixed schema.
struct RowParser {
    file: String,
    schema: Schema,
    missing_tokens: Vec<Vec<u8>>,
    builders: Vec<Builder>,
    missing: Vec<Option<Vec<bool>>>,
    rows: usize,
}

impl RowParser {
    fn new(file: String, schema: Schema, missing_tokens: &[Vec<u8>], capacity: usize) -> Self {
        let builders = schema
            .fields()
            .iter()
            .map(|f| Builder::new(f.column_type, capacity))
            .collect();
        let missing = vec![None; schema.len()];
        Self {
            file,
            schema,
            missing_tokens: missing_tokens.to_vec(),
            builders,
            missing,
            rows: 0,
        }
    }

    fn push(&mut self, record: &ByteRecord) -> Result<()> {
        let line = line_of(record);
        check_width(&self.file, line, self.schema.len(), record)?;
        for (i, raw) in record.iter().enumerate() {
            let is_missing = self.missing_tokens.iter().any(|m| m == raw);
            if is_missing {
                self.builders[i].push_missing();
                self.missing[i]
                    .get_or_insert_with(|| vec![false; self.rows])
                    .push(true);
                continue;
            }
            if let Err(cause) = self.builders[i].push(raw) {
                let field = &self.schema.fields()[i];
                return Err(match cause {
                    Some(e) => DataError::InvalidUtf8 {
                        file: self.file.clone(),
                        line,
                        column: field.name.clone(),
                        detail: e.to_string(),
                    },
                    None => DataError::Parse {
                        file: self.file.clone(),
                        line,
                        column: field.name.clone(),
                        text: excerpt(&String::from_utf8_lossy(raw)),
                        expected: field.column_type,
                    },
                });
            }
            if let Some(m) = &mut self.missing[i] {
                m.push(false);
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// The columns parsed so far; the parser starts over empty.
    fn take_columns(&mut self) -> Vec<Column> {
        let fields = self.schema.fields();
        let columns = self
            .builders
            .iter_mut()
            .zip(&mut self.missing)
            .zip(fields)
            .map(|((builder, missing), field)| {
                let fresh = Builder::new(field.column_type, 0);
                let data = std::mem::replace(builder, fresh).finish();
                Column::new(field.name.clone(), data, missing.take())
            })
            .collect();
        self.rows = 0;
        columns
    }

    fn finish(mut self) -> Vec<Column> {
        self.take_columns()
    }
}

fn parse_bool(raw: &[u8]) -> Option<bool> {
    if TRUE_TOKENS.contains(&raw) {
        Some(true)
    } else if FALSE_TOKENS.contains(&raw) {
        Some(false)
    } else {
        None
    }
}

fn utf8(raw: &[u8]) -> std::result::Result<&str, Option<std::str::Utf8Error>> {
    std::str::from_utf8(raw).map_err(Some)
}

fn line_of(record: &ByteRecord) -> u64 {
    record.position().map_or(0, csv::Position::line)
}

fn check_width(file: &str, line: u64, expected: usize, record: &ByteRecord) -> Result<()> {
    if record.len() == expected {
        Ok(())
    } else {
        Err(DataError::RaggedRow {
            file: file.into(),
            line,
            expected,
            found: record.len(),
        })
    }
}

fn read_record<R: Read>(
    file: &str,
    reader: &mut csv::Reader<R>,
    record: &mut ByteRecord,
) -> Result<bool> {
    reader
        .read_byte_record(record)
        .map_err(|source| DataError::Csv {
            file: file.into(),
            source,
        })
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

/// Opens a file, transparently decompressing gzip.
pub(crate) fn open_file(path: &Path) -> Result<Box<dyn Read>> {
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    Ok(decode(BufReader::with_capacity(1 << 18, file)))
}

/// Wraps a reader in a gzip decoder when it starts with the gzip magic bytes.
pub(crate) fn decode<'a, R: BufRead + 'a>(mut reader: R) -> Box<dyn Read + 'a> {
    let is_gzip = matches!(reader.fill_buf(), Ok(head) if head.starts_with(&[0x1f, 0x8b]));
    if is_gzip {
        Box::new(MultiGzDecoder::new(reader))
    } else {
        Box::new(reader)
    }
}
