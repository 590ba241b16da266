//! `Table` ⇄ Arrow `RecordBatch` conversions, public for callers that hold Arrow data.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, BooleanArray, DictionaryArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow_buffer::NullBuffer;
use arrow_schema::{DataType, Field as ArrowField, Schema as ArrowSchema};

use super::{
    ColumnBuilder, DEFAULT_MAX_CATEGORIES, Origin, TARGET_METADATA_KEY, metadata_target,
    plan_schema,
};
use crate::column::{Column, ColumnData, Table};
use crate::error::{DataError, Result};

impl Table {
    /// A table from an Arrow record batch (see the module docs of `kiln_data::arrow` for the
    /// type mapping; string columns with more than 1,024 distinct values become text). The
    /// target recorded under [`TARGET_METADATA_KEY`] is kept.
    pub fn from_record_batch(batch: &RecordBatch) -> Result<Self> {
        Self::from_record_batches(batch.schema().as_ref(), std::slice::from_ref(batch))
    }

    /// A table from Arrow record batches that share `schema` (e.g. the batches of a DataFusion
    /// or Polars result), concatenated in order.
    pub fn from_record_batches(schema: &ArrowSchema, batches: &[RecordBatch]) -> Result<Self> {
        const FILE: &str = "record batch";
        let plans = plan_schema(schema, FILE, &[], DEFAULT_MAX_CATEGORIES)?;
        let mut builders: Vec<ColumnBuilder> = schema
            .fields()
            .iter()
            .zip(&plans)
            .map(|(f, &p)| ColumnBuilder::new(f.name().clone(), p))
            .collect();
        let mut first_row = 0;
        for batch in batches {
            if batch.num_columns() != builders.len() {
                return Err(DataError::SchemaMismatch {
                    file: FILE.into(),
                    reason: format!(
                        "a batch has {} columns, the schema {}",
                        batch.num_columns(),
                        builders.len()
                    ),
                });
            }
            for (builder, array) in builders.iter_mut().zip(batch.columns()) {
                builder.append(
                    array.as_ref(),
                    Origin {
                        file: FILE,
                        first_row,
                    },
                )?;
            }
            first_row += batch.num_rows();
        }
        let table = Table::new(builders.into_iter().map(ColumnBuilder::finish).collect())?;
        match metadata_target(schema) {
            Some(target) if table.schema().index_of(target).is_ok() => table.with_target(target),
            _ => Ok(table),
        }
    }

    /// The table as one Arrow record batch (see the module docs for the type mapping).
    pub fn to_record_batch(&self) -> Result<RecordBatch> {
        let mut fields = Vec::with_capacity(self.columns().len());
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.columns().len());
        for column in self.columns() {
            let (array, data_type) = column_to_array(column)?;
            fields.push(ArrowField::new(
                column.name(),
                data_type,
                column.missing_count() > 0,
            ));
            arrays.push(array);
        }
        let mut metadata = HashMap::new();
        if let Some(target) = self.target() {
            metadata.insert(TARGET_METADATA_KEY.to_owned(), target.name().to_owned());
        }
        let schema = Arc::new(ArrowSchema::new_with_metadata(fields, metadata));
        RecordBatch::try_new(schema, arrays).map_err(|source| DataError::Arrow {
            context: "building a record batch from a table".into(),
            source,
        })
    }
}

fn column_to_array(column: &Column) -> Result<(ArrayRef, DataType)> {
    let nulls = (column.missing_count() > 0)
        .then(|| NullBuffer::from_iter((0..column.len()).map(|i| !column.is_missing(i))));
    let context = || format!("column `{}`", column.name());
    let arrow = |source| DataError::Arrow {
        context: context(),
        source,
    };
    Ok(match column.data() {
        ColumnData::Integer(v) => (
            Arc::new(Int64Array::try_new(v.clone().into(), nulls).map_err(arrow)?),
            DataType::Int64,
        ),
        ColumnData::Float(v) => (
            Arc::new(Float64Array::try_new(v.clone().into(), nulls).map_err(arrow)?),
            DataType::Float64,
        ),
        ColumnData::Boolean(v) => (
            Arc::new(BooleanArray::new(v.iter().copied().collect(), nulls)),
            DataType::Boolean,
        ),
        ColumnData::Categorical { codes, levels } => {
            let keys = arrow_array::Int32Array::try_new(
                codes
                    .iter()
                    .map(|&c| i32::try_from(c).unwrap_or(i32::MAX))
                    .collect(),
                nulls,
            )
            .map_err(arrow)?;
            let values: ArrayRef = Arc::new(StringArray::from_iter_values(levels));
            let array = DictionaryArray::<Int32Type>::try_new(keys, values).map_err(arrow)?;
            (
                Arc::new(array),
                DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            )
        }
        ColumnData::Text(v) => {
            let array = StringArray::from_iter(
                v.iter()
                    .enumerate()
                    .map(|(i, s)| (!column.is_missing(i)).then_some(s.as_str())),
            );
            (Arc::new(array), DataType::Utf8)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arrow::{Plan, plan_field};
    use crate::column_type::ColumnType;

    fn sample() -> Table {
        Table::new(vec![
            Column::new(
                "n",
                ColumnData::Integer(vec![1, 0, 3]),
                Some(vec![false, true, false]),
            ),
            Column::new("x", ColumnData::Float(vec![0.5, -1.0, 2.25]), None),
            Column::new("b", ColumnData::Boolean(vec![true, false, true]), None),
            Column::new(
                "c",
                ColumnData::Categorical {
                    codes: vec![0, 1, 0],
                    levels: vec!["a".into(), "b".into()],
                },
                None,
            ),
            Column::new(
                "t",
                ColumnData::Text(vec!["hello world".into(), String::new(), "x".into()]),
                Some(vec![false, true, false]),
            ),
        ])
        .unwrap()
        .with_target("c")
        .unwrap()
    }

    #[test]
    fn record_batch_round_trip_keeps_types_missing_values_and_target() {
        let table = sample();
        let batch = table.to_record_batch().unwrap();
        assert_eq!(batch.num_rows(), 3);
        assert_eq!(
            batch.schema().metadata().get(TARGET_METADATA_KEY).unwrap(),
            "c"
        );
        let back = Table::from_record_batch(&batch).unwrap();
        // Text with 2 distinct values reads back as categorical; everything else is equal.
        assert_eq!(back.target().unwrap().name(), "c");
        for (a, b) in table.columns().iter().zip(back.columns()).take(4) {
            assert_eq!(a, b);
        }
        let t = back.column("t").unwrap();
        assert!(t.is_missing(1));
        assert_eq!(t.text_at(0).unwrap(), "hello world");
    }

    #[test]
    fn strings_past_the_category_limit_become_text_and_parts_merge() {
        let mut a = ColumnBuilder::new("s", Plan::Strings(2));
        let origin = Origin {
            file: "f",
            first_row: 0,
        };
        a.append(&StringArray::from(vec!["x", "y", "x"]), origin)
            .unwrap();
        assert_eq!(a.column_type(), ColumnType::Categorical);
        let mut b = ColumnBuilder::new("s", Plan::Strings(2));
        b.append(&StringArray::from(vec![Some("z"), None]), origin)
            .unwrap();
        a.extend(b);
        let column = a.finish();
        assert_eq!(column.column_type(), ColumnType::Text);
        assert_eq!(column.len(), 5);
        assert!(column.is_missing(4));
        assert_eq!(column.text_at(3).unwrap(), "z");
    }

    #[test]
    fn nan_is_missing_and_unsigned_overflow_names_the_row() {
        let mut f = ColumnBuilder::new("f", Plan::Float);
        let origin = Origin {
            file: "data.parquet",
            first_row: 10,
        };
        f.append(&Float64Array::from(vec![1.0, f64::NAN]), origin)
            .unwrap();
        assert!(f.finish().is_missing(1));
        let mut u = ColumnBuilder::new("u", Plan::Integer);
        let err = u
            .append(&arrow_array::UInt64Array::from(vec![1, u64::MAX]), origin)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("data.parquet") && err.contains("row 11"),
            "{err}"
        );
    }

    #[test]
    fn nested_columns_are_refused_by_name() {
        let field = ArrowField::new_list(
            "tags",
            ArrowField::new_list_field(DataType::Utf8, true),
            true,
        );
        let err = plan_field(&field, "f.parquet", None, 8)
            .unwrap_err()
            .to_string();
        assert!(err.contains("f.parquet") && err.contains("`tags`"), "{err}");
    }
}
