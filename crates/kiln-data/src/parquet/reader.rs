//! [`ParquetLoader`]: Parquet files and directories into tables.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use ::parquet::arrow::ProjectionMask;
use ::parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field as ArrowField, Schema as ArrowSchema};

use crate::arrow::{ColumnBuilder, DEFAULT_MAX_CATEGORIES, Origin, Plan, metadata_target};
use crate::column::Table;
use crate::column_type::ColumnType;
use crate::error::{DataError, Result};
use crate::schema::{Field, Schema};

/// Rows decoded per Arrow batch when a whole file is read.
const BATCH_ROWS: usize = 64 * 1024;

/// Reads Parquet into [`Table`]s: one file, or a directory of part files (every `*.parquet`,
/// `*.parq` or `*.pq` below it, in path order, skipping names that start with `_` or `.`, such
/// as Spark's `_SUCCESS`). Row groups are decoded on several threads; [`chunks`](Self::chunks)
/// streams a dataset larger than memory in bounded tables.
///
/// Types map as `kiln_data::arrow` documents: integers, floats, booleans, strings (categorical
/// up to [`with_max_categories`](Self::with_max_categories) distinct values, else text) and
/// dictionary-encoded strings (categorical); dates as days and timestamps as seconds since
/// 1970; decimals as floats; nulls (and float NaNs) are missing. A file's recorded target
/// column (written by [`ParquetWriter`](crate::ParquetWriter)) is kept unless another is set.
///
/// ```no_run
/// use kiln_data::ParquetLoader;
///
/// let table = ParquetLoader::new()
///     .with_columns(["age", "income", "churned"])
///     .with_target("churned")
///     .load("exports/customers/")?;
/// # Ok::<(), kiln_data::DataError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ParquetLoader {
    columns: Option<Vec<String>>,
    declared: Vec<(String, ColumnType)>,
    target: Option<String>,
    max_categories: usize,
    threads: usize,
}

impl Default for ParquetLoader {
    fn default() -> Self {
        Self::new()
    }
}

impl ParquetLoader {
    /// Every column, types from the file, one thread per core.
    pub fn new() -> Self {
        Self {
            columns: None,
            declared: Vec::new(),
            target: None,
            max_categories: DEFAULT_MAX_CATEGORIES,
            threads: std::thread::available_parallelism().map_or(1, usize::from),
        }
    }

    /// Reads only these columns, in this order (the target is added when not among them).
    pub fn with_columns<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.columns = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Reads column `name` as `column_type`: a string column as categorical or text, an
    /// integer column as float.
    pub fn with_column_type(mut self, name: impl Into<String>, column_type: ColumnType) -> Self {
        self.declared.push((name.into(), column_type));
        self
    }

    /// Marks column `name` as the target.
    pub fn with_target(mut self, name: impl Into<String>) -> Self {
        self.target = Some(name.into());
        self
    }

    /// String columns with more distinct values than this load as text (default 1,024).
    pub fn with_max_categories(mut self, max: usize) -> Self {
        self.max_categories = max;
        self
    }

    /// Decodes on at most `threads` threads (default: one per core).
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// The schema a load would give, with string columns typed by their first 10,000 rows.
    pub fn infer_schema(&self, path: impl AsRef<Path>) -> Result<Schema> {
        let mut chunks = self.chunks(path, 10_000)?;
        match chunks.next() {
            Some(chunk) => Ok(chunk?.schema().clone()),
            None => Ok(chunks.schema()),
        }
    }

    /// The files a load of `path` reads, in order: `path` itself, or the `.parquet`, `.parq`
    /// and `.pq` files below a directory (names starting with `_` or `.` skipped); an empty
    /// directory is an error.
    pub fn files(path: impl AsRef<Path>) -> Result<Vec<PathBuf>> {
        part_files(path.as_ref())
    }

    /// Whether `path` is Parquet by name (`.parquet`, `.parq`, `.pq`), or a directory that
    /// holds such files.
    pub fn is_parquet(path: impl AsRef<Path>) -> bool {
        let path = path.as_ref();
        if path.is_dir() {
            part_files(path).is_ok()
        } else {
            has_parquet_name(path)
        }
    }

    /// Reads the whole file or directory into one table.
    ///
    /// With at least as many columns as threads, each thread decodes a set of whole columns
    /// (balanced by compressed bytes), so no column is copied twice and few large row groups
    /// still use every core; with fewer columns, threads take runs of row groups.
    pub fn load(&self, path: impl AsRef<Path>) -> Result<Table> {
        let dataset = self.open(path.as_ref())?;
        let units = dataset.row_groups();
        let selection: Vec<usize> = (0..dataset.names.len()).collect();
        if self.threads > 1 && selection.len() >= self.threads {
            let groups = dataset.column_groups(self.threads);
            let parts = in_parallel(&groups, |columns| dataset.read(columns, &units));
            let mut slots: Vec<Option<ColumnBuilder>> = selection.iter().map(|_| None).collect();
            for (columns, part) in groups.iter().zip(parts) {
                for (&c, builder) in columns.iter().zip(part?) {
                    slots[c] = Some(builder);
                }
            }
            return dataset.table(slots.into_iter().flatten().collect());
        }
        let total: usize = units.iter().map(|u| u.rows).sum();
        let groups = split_even(&units, self.threads, total);
        let mut parts = in_parallel(&groups, |group| dataset.read(&selection, group)).into_iter();
        let mut builders = match parts.next() {
            Some(first) => first?,
            None => dataset.builders(&selection, 0),
        };
        for part in parts {
            for (builder, other) in builders.iter_mut().zip(part?) {
                builder.extend(other);
            }
        }
        dataset.table(builders)
    }

    /// Streams the file or directory as tables of at most `rows_per_chunk` rows (a chunk does
    /// not span two files). String columns keep the type their first chunk gave them.
    pub fn chunks(&self, path: impl AsRef<Path>, rows_per_chunk: usize) -> Result<ParquetChunks> {
        if rows_per_chunk == 0 {
            return Err(DataError::config("rows_per_chunk", "must be at least 1"));
        }
        Ok(ParquetChunks {
            dataset: self.open(path.as_ref())?,
            next_file: 0,
            reader: None,
            rows_per_chunk,
            file_row: 0,
        })
    }

    fn open(&self, path: &Path) -> Result<Dataset> {
        let files = part_files(path)?
            .into_iter()
            .map(|path| {
                let file = File::open(&path).map_err(|e| DataError::io(&path, e))?;
                let metadata = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new())
                    .map_err(|source| DataError::Parquet {
                        path: path.clone(),
                        action: "reading",
                        source,
                    })?;
                Ok(PartFile {
                    name: path.display().to_string(),
                    path,
                    metadata,
                    columns: Vec::new(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let first = &files[0];
        let schema = first.metadata.schema();
        let mut names: Vec<String> = match &self.columns {
            Some(names) => names.clone(),
            None => schema.fields().iter().map(|f| f.name().clone()).collect(),
        };
        let target = self
            .target
            .clone()
            .or_else(|| metadata_target(schema).map(str::to_owned))
            .filter(|t| self.target.is_some() || names.contains(t));
        if let Some(t) = &target
            && !names.contains(t)
        {
            names.push(t.clone());
        }
        let declared = |name: &str| {
            self.declared
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .map(|(_, t)| *t)
        };
        let mut plans = Vec::with_capacity(names.len());
        let mut dataset_files = Vec::with_capacity(files.len());
        for (i, mut file) in files.into_iter().enumerate() {
            let schema = file.metadata.schema().clone();
            for (k, name) in names.iter().enumerate() {
                let index = match schema.index_of(name) {
                    Ok(index) => index,
                    Err(_) if i == 0 => {
                        return Err(DataError::UnknownColumn {
                            column: name.clone(),
                            available: format!(
                                "{} (in {})",
                                schema
                                    .fields()
                                    .iter()
                                    .map(|f| f.name().as_str())
                                    .collect::<Vec<_>>()
                                    .join(", "),
                                file.name
                            ),
                        });
                    }
                    Err(_) => {
                        return Err(DataError::SchemaMismatch {
                            file: file.name.clone(),
                            reason: format!(
                                "has no column `{name}`, which {} has; all part files of a \
                                 dataset need the same columns",
                                dataset_files
                                    .first()
                                    .map_or("the first file", |f: &PartFile| f.name.as_str())
                            ),
                        });
                    }
                };
                let plan = crate::arrow::plan_field(
                    schema.field(index),
                    &file.name,
                    declared(name),
                    self.max_categories,
                )?;
                if i == 0 {
                    plans.push(plan);
                } else if plan.column_type() != plans[k].column_type() {
                    return Err(DataError::SchemaMismatch {
                        file: file.name.clone(),
                        reason: format!(
                            "column `{name}` is {} ({}) here but {} in {}",
                            plan.column_type(),
                            schema.field(index).data_type(),
                            plans[k].column_type(),
                            dataset_files[0].name
                        ),
                    });
                }
                file.columns.push(index);
            }
            dataset_files.push(file);
        }
        Ok(Dataset {
            files: dataset_files,
            names,
            plans,
            target,
        })
    }
}

/// Whether `path`'s name ends in `.parquet`, `.parq` or `.pq` (any case).
pub(crate) fn has_parquet_name(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    [".parquet", ".parq", ".pq"]
        .iter()
        .any(|e| name.ends_with(e))
}

/// Every Parquet file at `path`: the file itself, or the part files below a directory.
fn part_files(path: &Path) -> Result<Vec<PathBuf>> {
    let meta = fs::metadata(path).map_err(|e| DataError::io(path, e))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let mut files = Vec::new();
    let mut dirs = vec![path.to_owned()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).map_err(|e| DataError::io(&dir, e))? {
            let entry = entry.map_err(|e| DataError::io(&dir, e))?;
            let name = entry.file_name().to_string_lossy().to_lowercase();
            if name.starts_with('_') || name.starts_with('.') {
                continue;
            }
            let file_type = entry
                .file_type()
                .map_err(|e| DataError::io(entry.path(), e))?;
            if file_type.is_dir() {
                dirs.push(entry.path());
            } else if has_parquet_name(&entry.path()) {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(DataError::io(
            path,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no .parquet files in this directory (or below it)",
            ),
        ));
    }
    Ok(files)
}

/// One file of a dataset, its footer read.
struct PartFile {
    path: PathBuf,
    name: String,
    metadata: ArrowReaderMetadata,
    /// Root index of each selected column in this file.
    columns: Vec<usize>,
}

impl PartFile {
    /// A reader of the selected columns at positions `selection` over `row_groups`.
    fn reader(
        &self,
        row_groups: Vec<usize>,
        batch_rows: usize,
        selection: &[usize],
    ) -> Result<ParquetRecordBatchReader> {
        let file = File::open(&self.path).map_err(|e| DataError::io(&self.path, e))?;
        let mask = ProjectionMask::roots(
            self.metadata.parquet_schema(),
            selection.iter().map(|&s| self.columns[s]),
        );
        // Strings decode as dictionaries: Parquet stores most string columns dictionary-encoded,
        // so each distinct value is looked up once per batch instead of once per row.
        let fields: Vec<ArrowField> = self
            .metadata
            .schema()
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                    f.as_ref().clone().with_data_type(DataType::Dictionary(
                        Box::new(DataType::Int32),
                        Box::new(f.data_type().clone()),
                    ))
                }
                _ => f.as_ref().clone(),
            })
            .collect();
        let schema =
            ArrowSchema::new_with_metadata(fields, self.metadata.schema().metadata().clone());
        let metadata = ArrowReaderMetadata::try_new(
            self.metadata.metadata().clone(),
            ArrowReaderOptions::new().with_schema(Arc::new(schema)),
        )
        .map_err(|source| DataError::Parquet {
            path: self.path.clone(),
            action: "reading",
            source,
        })?;
        ParquetRecordBatchReaderBuilder::new_with_metadata(file, metadata)
            .with_projection(mask)
            .with_row_groups(row_groups)
            .with_batch_size(batch_rows)
            .build()
            .map_err(|source| DataError::Parquet {
                path: self.path.clone(),
                action: "reading",
                source,
            })
    }

    /// The columns at positions `selection` of a batch read with that selection, in
    /// selection order (the projection keeps file order).
    fn selected<'a>(
        &self,
        batch: &'a RecordBatch,
        selection: &[usize],
    ) -> Vec<&'a dyn arrow_array::Array> {
        let mut sorted: Vec<usize> = selection.iter().map(|&s| self.columns[s]).collect();
        sorted.sort_unstable();
        selection
            .iter()
            .map(|&s| {
                let position = sorted.binary_search(&self.columns[s]).unwrap_or(0);
                batch.column(position).as_ref()
            })
            .collect()
    }

    /// Compressed bytes of the column at each selection position, over all row groups.
    fn compressed_bytes(&self) -> Vec<u64> {
        let metadata = self.metadata.metadata();
        let schema = metadata.file_metadata().schema_descr();
        let mut by_root = vec![0u64; schema.root_schema().get_fields().len()];
        for rg in metadata.row_groups() {
            for (leaf, chunk) in rg.columns().iter().enumerate() {
                let root = schema.get_column_root_idx(leaf);
                by_root[root] += u64::try_from(chunk.compressed_size()).unwrap_or(0);
            }
        }
        self.columns.iter().map(|&c| by_root[c]).collect()
    }
}

/// A row group of one file.
#[derive(Debug, Clone, Copy)]
struct RowGroup {
    file: usize,
    index: usize,
    rows: usize,
    /// Row of its first row within the file.
    first_row: usize,
}

/// An opened file or directory: its files, the selected columns and how each is read.
struct Dataset {
    files: Vec<PartFile>,
    names: Vec<String>,
    plans: Vec<Plan>,
    target: Option<String>,
}

impl Dataset {
    fn row_groups(&self) -> Vec<RowGroup> {
        let mut units = Vec::new();
        for (f, file) in self.files.iter().enumerate() {
            let mut first_row = 0;
            for (index, rg) in file.metadata.metadata().row_groups().iter().enumerate() {
                let rows = usize::try_from(rg.num_rows()).unwrap_or(0);
                units.push(RowGroup {
                    file: f,
                    index,
                    rows,
                    first_row,
                });
                first_row += rows;
            }
        }
        units
    }

    /// Fresh builders for the columns at positions `selection`.
    fn builders(&self, selection: &[usize], reserve: usize) -> Vec<ColumnBuilder> {
        selection
            .iter()
            .map(|&s| {
                let mut builder = ColumnBuilder::new(self.names[s].clone(), self.plans[s]);
                builder.reserve(reserve);
                builder
            })
            .collect()
    }

    /// The selection positions cut into at most `parts` sets of about equal compressed size
    /// (largest first, each to the lightest set), each set in selection order.
    fn column_groups(&self, parts: usize) -> Vec<Vec<usize>> {
        let mut weights = vec![0u64; self.names.len()];
        for file in &self.files {
            for (w, bytes) in weights.iter_mut().zip(file.compressed_bytes()) {
                *w += bytes;
            }
        }
        let mut order: Vec<usize> = (0..weights.len()).collect();
        order.sort_by_key(|&c| std::cmp::Reverse(weights[c]));
        let mut groups = vec![(0u64, Vec::new()); parts.clamp(1, weights.len().max(1))];
        for c in order {
            if let Some(lightest) = groups.iter_mut().min_by_key(|(total, _)| *total) {
                lightest.0 += weights[c];
                lightest.1.push(c);
            }
        }
        groups
            .into_iter()
            .map(|(_, mut columns)| {
                columns.sort_unstable();
                columns
            })
            .filter(|columns| !columns.is_empty())
            .collect()
    }

    /// Decodes the columns at positions `selection` of consecutive row groups into fresh
    /// builders.
    fn read(&self, selection: &[usize], units: &[RowGroup]) -> Result<Vec<ColumnBuilder>> {
        let mut builders = self.builders(selection, units.iter().map(|u| u.rows).sum());
        for same_file in units.chunk_by(|a, b| a.file == b.file) {
            let file = &self.files[same_file[0].file];
            let row_groups = same_file.iter().map(|u| u.index).collect();
            let reader = file.reader(row_groups, BATCH_ROWS, selection)?;
            let mut row = same_file[0].first_row;
            for batch in reader {
                let batch = batch.map_err(|source| DataError::Arrow {
                    context: format!("{}: reading Parquet", file.name),
                    source,
                })?;
                append_batch(&mut builders, file, &batch, row, selection)?;
                row += batch.num_rows();
            }
        }
        Ok(builders)
    }

    fn table(&self, builders: Vec<ColumnBuilder>) -> Result<Table> {
        let table = Table::new(builders.into_iter().map(ColumnBuilder::finish).collect())?;
        match &self.target {
            Some(t) => table.with_target(t),
            None => Ok(table),
        }
    }
}

fn append_batch(
    builders: &mut [ColumnBuilder],
    file: &PartFile,
    batch: &RecordBatch,
    first_row: usize,
    selection: &[usize],
) -> Result<()> {
    let origin = Origin {
        file: &file.name,
        first_row,
    };
    for (builder, array) in builders.iter_mut().zip(file.selected(batch, selection)) {
        builder.append(array, origin)?;
    }
    Ok(())
}

/// `task` run on each of `inputs`, the first on this thread and the rest on scoped threads,
/// results in input order (a panic in a task is resumed here).
fn in_parallel<T: Sync, R: Send>(inputs: &[T], task: impl Fn(&T) -> R + Sync) -> Vec<R> {
    std::thread::scope(|scope| {
        let task = &task;
        let handles: Vec<_> = inputs
            .iter()
            .skip(1)
            .map(|input| scope.spawn(move || task(input)))
            .collect();
        let mut results: Vec<R> = inputs.first().map(task).into_iter().collect();
        results.extend(handles.into_iter().map(|h| {
            h.join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        }));
        results
    })
}

/// `units` cut into at most `parts` consecutive runs of about equal rows.
fn split_even(units: &[RowGroup], parts: usize, total: usize) -> Vec<&[RowGroup]> {
    let parts = parts.clamp(1, units.len().max(1));
    let per_part = total.div_ceil(parts).max(1);
    let mut groups = Vec::with_capacity(parts);
    let mut start = 0;
    let mut rows = 0;
    for (i, unit) in units.iter().enumerate() {
        rows += unit.rows;
        if rows >= per_part * (groups.len() + 1) && groups.len() + 1 < parts {
            groups.push(&units[start..=i]);
            start = i + 1;
        }
    }
    if start < units.len() || groups.is_empty() {
        groups.push(&units[start..]);
    }
    groups
}

/// Iterator over a Parquet file or directory in tables of bounded size; see
/// [`ParquetLoader::chunks`].
pub struct ParquetChunks {
    dataset: Dataset,
    next_file: usize,
    reader: Option<(usize, ParquetRecordBatchReader)>,
    rows_per_chunk: usize,
    file_row: usize,
}

impl std::fmt::Debug for ParquetChunks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetChunks")
            .field("files", &self.dataset.files.len())
            .field("columns", &self.dataset.names)
            .field("rows_per_chunk", &self.rows_per_chunk)
            .finish_non_exhaustive()
    }
}

impl ParquetChunks {
    /// The schema every chunk has (string columns not yet seen are listed as categorical).
    pub fn schema(&self) -> Schema {
        Schema::new(
            self.dataset
                .names
                .iter()
                .zip(&self.dataset.plans)
                .map(|(n, p)| Field::new(n.clone(), p.column_type()))
                .collect(),
        )
        .unwrap_or_default()
    }

    fn next_chunk(&mut self) -> Result<Option<Table>> {
        let all: Vec<usize> = (0..self.dataset.names.len()).collect();
        loop {
            if self.reader.is_none() {
                let Some(file) = self.dataset.files.get(self.next_file) else {
                    return Ok(None);
                };
                let groups = file.metadata.metadata().num_row_groups();
                let reader = file.reader((0..groups).collect(), self.rows_per_chunk, &all)?;
                self.reader = Some((self.next_file, reader));
                self.next_file += 1;
                self.file_row = 0;
            }
            let Some((f, reader)) = &mut self.reader else {
                continue;
            };
            let file = &self.dataset.files[*f];
            match reader.next() {
                None => self.reader = None,
                Some(Err(source)) => {
                    return Err(DataError::Arrow {
                        context: format!("{}: reading Parquet", file.name),
                        source,
                    });
                }
                Some(Ok(batch)) => {
                    let mut builders = self.dataset.builders(&all, batch.num_rows());
                    append_batch(&mut builders, file, &batch, self.file_row, &all)?;
                    self.file_row += batch.num_rows();
                    // Later chunks keep the string types this one settled.
                    for (plan, builder) in self.dataset.plans.iter_mut().zip(&builders) {
                        if matches!(plan, Plan::Strings(_)) {
                            *plan = match builder.column_type() {
                                ColumnType::Text => Plan::Text,
                                _ => Plan::Categorical,
                            };
                        }
                    }
                    return self.dataset.table(builders).map(Some);
                }
            }
        }
    }
}

impl Iterator for ParquetChunks {
    type Item = Result<Table>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_chunk() {
            Ok(chunk) => chunk.map(Ok),
            Err(e) => {
                self.next_file = self.dataset.files.len();
                self.reader = None;
                Some(Err(e))
            }
        }
    }
}
