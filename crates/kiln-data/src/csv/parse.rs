//! Field-level CSV parsing shared by the loaders: fast number parsers, type guessing, and
//! typed column builders that can be appended and promoted.

use std::collections::{HashMap, HashSet};

use crate::column::{Column, ColumnData, Table, level_code, remap_levels};
use crate::column_type::ColumnType;
use crate::error::Result;

const TRUE_TOKENS: &[&[u8]] = &[b"true", b"True", b"TRUE"];
const FALSE_TOKENS: &[&[u8]] = &[b"false", b"False", b"FALSE"];
/// Strings longer than this make a column text rather than categorical.
pub(crate) const MAX_CATEGORY_LEN: usize = 256;

/// Exact powers of ten representable in an `f64`.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

pub(crate) fn parse_bool(raw: &[u8]) -> Option<bool> {
    if TRUE_TOKENS.contains(&raw) {
        Some(true)
    } else if FALSE_TOKENS.contains(&raw) {
        Some(false)
    } else {
        None
    }
}

/// Parses an `i64` as `str::parse` does (optional sign, ASCII digits).
pub(crate) fn parse_i64(raw: &[u8]) -> Option<i64> {
    match parse_i64_prefix(raw) {
        Some((value, used)) if used == raw.len() => Some(value),
        // Possibly near the range limits: let the standard parser decide.
        _ if raw.len() > 18 => std::str::from_utf8(raw).ok()?.parse().ok(),
        _ => None,
    }
}

/// Parses an `f64` exactly as `str::parse` does: plain decimals through the fast path of
/// [`parse_f64_prefix`], everything else (exponents, long mantissas, `inf`) through `std`.
pub(crate) fn parse_f64(raw: &[u8]) -> Option<f64> {
    match parse_f64_prefix(raw) {
        Some((value, used)) if used == raw.len() => Some(value),
        _ => std::str::from_utf8(raw).ok()?.parse().ok(),
    }
}

/// Parses a plain decimal (`-12.5`, `7`, `.25`) at the start of `bytes`, stopping at the
/// first other byte; returns the value and the bytes used. `None` when the prefix is not a
/// plain decimal that Clinger's fast path converts exactly (the caller then falls back to
/// [`parse_f64`] on the whole field, which agrees with `str::parse`).
#[inline]
pub(crate) fn parse_f64_prefix(bytes: &[u8]) -> Option<(f64, usize)> {
    let negative = bytes.first() == Some(&b'-');
    let mut i = usize::from(negative || bytes.first() == Some(&b'+'));
    let mut mantissa: u64 = 0;
    let int_digits = scan_digits(bytes, &mut i, &mut mantissa);
    let mut fraction = 0;
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        fraction = scan_digits(bytes, &mut i, &mut mantissa);
    }
    let any_digit = int_digits + fraction > 0;
    // At most 15 digits in all cannot overflow and stay below 2^53; longer ones take the
    // slow path, as do exponents (the caller sees the `e` as an unexpected byte).
    if !any_digit || int_digits + fraction > 15 || fraction >= POW10.len() {
        return None;
    }
    let value = mantissa as f64 / POW10[fraction];
    Some((if negative { -value } else { value }, i))
}

/// Accumulates the ASCII digits at `bytes[*i..]` into `value` (wrapping; callers bound the
/// count) and returns how many there were.
#[inline]
fn scan_digits(bytes: &[u8], i: &mut usize, value: &mut u64) -> usize {
    let start = *i;
    while let Some(&b) = bytes.get(*i) {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        *value = value.wrapping_mul(10).wrapping_add(u64::from(d));
        *i += 1;
    }
    *i - start
}

/// Parses ASCII digits (optionally signed, at most 18) at the start of `bytes`; returns the
/// value and the bytes used.
#[inline]
pub(crate) fn parse_i64_prefix(bytes: &[u8]) -> Option<(i64, usize)> {
    let negative = bytes.first() == Some(&b'-');
    let mut i = usize::from(negative || bytes.first() == Some(&b'+'));
    let mut value: u64 = 0;
    let digits = scan_digits(bytes, &mut i, &mut value);
    if digits == 0 || digits > 18 {
        return None;
    }
    // At most 18 digits: below 10^18 < i64::MAX.
    let value = value as i64;
    Some((if negative { -value } else { value }, i))
}

/// The narrowest type a single present value fits.
pub(crate) fn classify(raw: &[u8]) -> ColumnType {
    if parse_bool(raw).is_some() {
        ColumnType::Boolean
    } else if parse_i64(raw).is_some() {
        ColumnType::Integer
    } else if parse_f64(raw).is_some() {
        ColumnType::Float
    } else if raw.len() > MAX_CATEGORY_LEN {
        ColumnType::Text
    } else {
        ColumnType::Categorical
    }
}

/// The narrowest type that holds values of both types.
pub(crate) fn join(a: ColumnType, b: ColumnType) -> ColumnType {
    use ColumnType::{Categorical, Float, Integer, Text};
    match (a, b) {
        _ if a == b => a,
        (Integer, Float) | (Float, Integer) => Float,
        (Text, _) | (_, Text) => Text,
        _ => Categorical,
    }
}

/// What the values of one column seen so far could be.
pub(crate) struct TypeGuess {
    seen: bool,
    boolean: bool,
    integer: bool,
    float: bool,
    long: bool,
    distinct: HashSet<Vec<u8>>,
}

impl TypeGuess {
    pub(crate) fn new() -> Self {
        Self {
            seen: false,
            boolean: true,
            integer: true,
            float: true,
            long: false,
            distinct: HashSet::new(),
        }
    }

    /// Records one present value; fails on invalid UTF-8 in a non-numeric value.
    pub(crate) fn observe(
        &mut self,
        raw: &[u8],
        max_categories: usize,
    ) -> std::result::Result<(), std::str::Utf8Error> {
        self.seen = true;
        if self.boolean && parse_bool(raw).is_none() {
            self.boolean = false;
        }
        if self.integer && parse_i64(raw).is_none() {
            self.integer = false;
        }
        if !self.integer && self.float && parse_f64(raw).is_none() {
            self.float = false;
        }
        if !(self.integer || self.float || self.boolean) {
            std::str::from_utf8(raw)?;
        }
        self.long |= raw.len() > MAX_CATEGORY_LEN;
        if !self.long && self.distinct.len() <= max_categories && !self.distinct.contains(raw) {
            self.distinct.insert(raw.to_vec());
        }
        Ok(())
    }

    pub(crate) fn decide(&self, max_categories: usize) -> ColumnType {
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

/// Why a value could not be appended.
pub(crate) enum PushError {
    /// The value does not parse as the builder's type.
    Mismatch,
    /// A string value is not UTF-8.
    Utf8(std::str::Utf8Error),
}

/// A typed column under construction, with its missing mask.
pub(crate) struct Builder {
    data: Data,
    /// `None` until the first missing value; then one flag per row.
    missing: Option<Vec<bool>>,
    rows: usize,
}

enum Data {
    Integer(Vec<i64>),
    Float(Vec<f64>),
    Boolean(Vec<bool>),
    Categorical {
        codes: Vec<u32>,
        levels: Vec<String>,
        index: HashMap<String, u32>,
        long: bool,
    },
    Text(Vec<String>),
}

impl Builder {
    pub(crate) fn new(column_type: ColumnType, capacity: usize) -> Self {
        let data = match column_type {
            ColumnType::Integer => Data::Integer(Vec::with_capacity(capacity)),
            ColumnType::Float => Data::Float(Vec::with_capacity(capacity)),
            ColumnType::Boolean => Data::Boolean(Vec::with_capacity(capacity)),
            ColumnType::Categorical => Data::Categorical {
                codes: Vec::with_capacity(capacity),
                levels: Vec::new(),
                index: HashMap::new(),
                long: false,
            },
            ColumnType::Text => Data::Text(Vec::with_capacity(capacity)),
        };
        Self {
            data,
            missing: None,
            rows: 0,
        }
    }

    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    pub(crate) fn reserve(&mut self, additional: usize) {
        match &mut self.data {
            Data::Integer(v) => v.reserve(additional),
            Data::Float(v) => v.reserve(additional),
            Data::Boolean(v) => v.reserve(additional),
            Data::Categorical { codes, .. } => codes.reserve(additional),
            Data::Text(v) => v.reserve(additional),
        }
    }

    pub(crate) fn push_missing(&mut self) {
        match &mut self.data {
            Data::Integer(v) => v.push(0),
            Data::Float(v) => v.push(f64::NAN),
            Data::Boolean(v) => v.push(false),
            Data::Categorical { codes, .. } => codes.push(0),
            Data::Text(v) => v.push(String::new()),
        }
        let rows = self.rows;
        self.missing
            .get_or_insert_with(|| vec![false; rows])
            .push(true);
        self.rows += 1;
    }

    /// Parses and appends one present value.
    pub(crate) fn push(&mut self, raw: &[u8]) -> std::result::Result<(), PushError> {
        match &mut self.data {
            Data::Boolean(v) => v.push(parse_bool(raw).ok_or(PushError::Mismatch)?),
            Data::Integer(v) => v.push(parse_i64(raw).ok_or(PushError::Mismatch)?),
            Data::Float(v) => v.push(parse_f64(raw).ok_or(PushError::Mismatch)?),
            Data::Categorical {
                codes,
                levels,
                index,
                long,
            } => {
                let text = std::str::from_utf8(raw).map_err(PushError::Utf8)?;
                let known = levels.len();
                let code = level_code(levels, index, text);
                *long |= code as usize >= known && text.len() > MAX_CATEGORY_LEN;
                codes.push(code);
            }
            Data::Text(v) => v.push(
                std::str::from_utf8(raw)
                    .map_err(PushError::Utf8)?
                    .to_owned(),
            ),
        }
        if let Some(m) = &mut self.missing {
            m.push(false);
        }
        self.rows += 1;
        Ok(())
    }

    /// Parses the field at the start of `rest` (up to `delimiter` or the end) and appends it;
    /// returns the field's length. Numbers take a fused scan-and-parse path when `fast`.
    #[inline]
    pub(crate) fn push_field(
        &mut self,
        rest: &[u8],
        delimiter: u8,
        missing: &[Vec<u8>],
        fast: bool,
    ) -> std::result::Result<usize, PushError> {
        if fast {
            let parsed = match &mut self.data {
                Data::Float(v) => parse_f64_prefix(rest)
                    .filter(|&(_, k)| rest.get(k).is_none_or(|&b| b == delimiter))
                    .map(|(x, k)| {
                        v.push(x);
                        k
                    }),
                Data::Integer(v) => parse_i64_prefix(rest)
                    .filter(|&(_, k)| rest.get(k).is_none_or(|&b| b == delimiter))
                    .map(|(x, k)| {
                        v.push(x);
                        k
                    }),
                _ => None,
            };
            if let Some(k) = parsed {
                if let Some(m) = &mut self.missing {
                    m.push(false);
                }
                self.rows += 1;
                return Ok(k);
            }
        }
        let len = memchr::memchr(delimiter, rest).unwrap_or(rest.len());
        let raw = &rest[..len];
        if missing.iter().any(|m| m.as_slice() == raw) {
            self.push_missing();
        } else {
            self.push(raw)?;
        }
        Ok(len)
    }

    /// Appends another builder of the same type (categorical codes are remapped).
    ///
    /// # Panics
    /// If the types differ (a bug in the caller).
    pub(crate) fn append(&mut self, other: Self) {
        match (&mut self.data, other.data) {
            (Data::Integer(a), Data::Integer(b)) => a.extend(b),
            (Data::Float(a), Data::Float(b)) => a.extend(b),
            (Data::Boolean(a), Data::Boolean(b)) => a.extend(b),
            (Data::Text(a), Data::Text(b)) => a.extend(b),
            // A piece parsed before its column was widened to text.
            (Data::Text(a), Data::Categorical { codes, levels, .. }) => {
                a.extend(codes.iter().enumerate().map(|(i, &c)| {
                    if other.missing.as_ref().is_some_and(|m| m[i]) {
                        String::new()
                    } else {
                        levels[c as usize].clone()
                    }
                }));
            }
            (
                Data::Categorical {
                    codes,
                    levels,
                    index,
                    long,
                },
                Data::Categorical {
                    codes: other_codes,
                    levels: other_levels,
                    ..
                },
            ) => {
                let known = levels.len();
                let remap = remap_levels(levels, index, &other_levels);
                *long |= levels[known..].iter().any(|l| l.len() > MAX_CATEGORY_LEN);
                codes.extend(other_codes.iter().map(|&c| remap[c as usize]));
            }
            _ => panic!("appending builders of different types"),
        }
        match (&mut self.missing, other.missing) {
            (Some(a), Some(b)) => a.extend(b),
            (Some(a), None) => a.resize(a.len() + other.rows, false),
            (None, Some(b)) => {
                let mut mask = vec![false; self.rows];
                mask.extend(b);
                self.missing = Some(mask);
            }
            (None, None) => {}
        }
        self.rows += other.rows;
    }

    /// Whether a categorical column has outgrown categories (too many or too long).
    pub(crate) fn needs_text(&self, max_categories: usize) -> bool {
        matches!(&self.data, Data::Categorical { levels, long, .. }
            if *long || levels.len() > max_categories)
    }

    /// Converts integers to floats, or categories to text, in place (both exact).
    pub(crate) fn promote(&mut self, to: ColumnType) {
        let data = std::mem::replace(&mut self.data, Data::Boolean(Vec::new()));
        self.data = match (data, to) {
            (Data::Integer(v), ColumnType::Float) => Data::Float(
                v.iter()
                    .enumerate()
                    .map(|(i, &x)| {
                        if self.missing.as_ref().is_some_and(|m| m[i]) {
                            f64::NAN
                        } else {
                            x as f64
                        }
                    })
                    .collect(),
            ),
            (Data::Categorical { codes, levels, .. }, ColumnType::Text) => Data::Text(
                codes
                    .iter()
                    .enumerate()
                    .map(|(i, &c)| {
                        if self.missing.as_ref().is_some_and(|m| m[i]) {
                            String::new()
                        } else {
                            levels[c as usize].clone()
                        }
                    })
                    .collect(),
            ),
            (data, _) => data,
        };
    }

    /// The finished column data and missing mask.
    pub(crate) fn finish(self) -> (ColumnData, Option<Vec<bool>>) {
        let data = match self.data {
            Data::Integer(v) => ColumnData::Integer(v),
            Data::Float(v) => ColumnData::Float(v),
            Data::Boolean(v) => ColumnData::Boolean(v),
            Data::Categorical { codes, levels, .. } => ColumnData::Categorical { codes, levels },
            Data::Text(v) => ColumnData::Text(v),
        };
        (data, self.missing)
    }
}

/// Finishes builders into a table, marking `target` if given.
pub(crate) fn into_table(
    names: &[String],
    builders: Vec<Builder>,
    target: Option<&str>,
) -> Result<Table> {
    let columns = names
        .iter()
        .zip(builders)
        .map(|(name, builder)| {
            let (data, missing) = builder.finish();
            Column::new(name.clone(), data, missing)
        })
        .collect();
    let table = Table::new(columns)?;
    match target {
        Some(t) => table.with_target(t),
        None => Ok(table),
    }
}

/// One empty builder per column type.
pub(crate) fn new_builders(types: &[ColumnType]) -> Vec<Builder> {
    types.iter().map(|&t| Builder::new(t, 0)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_number_parsers_agree_with_std() {
        let cases = [
            "0",
            "-0",
            "1",
            "-1",
            "+7",
            "12345678901234567",
            "999999999999999999",
            "9223372036854775807",
            "-9223372036854775808",
            "9223372036854775808",
            "1.5",
            "-2.25",
            ".5",
            "5.",
            "0.1",
            "0.30000000000000004",
            "123456.789012",
            "3.14159265358979323846",
            "1e10",
            "-1.5E-3",
            "inf",
            "NaN",
            "abc",
            "",
            ".",
            "-",
            "1.2.3",
            "1,5",
            "٣",
            "00012",
            "4503599627370497.5",
            "0.0000000000000000000001",
            "9007199254740993",
        ];
        for text in cases {
            assert_eq!(
                parse_i64(text.as_bytes()),
                text.parse::<i64>().ok(),
                "i64 {text:?}"
            );
            if let Some((x, k)) = parse_f64_prefix(text.as_bytes())
                && k == text.len()
            {
                assert_eq!(
                    Some(x.to_bits()),
                    text.parse::<f64>().ok().map(f64::to_bits)
                );
            }
            if let Some((x, k)) = parse_i64_prefix(text.as_bytes())
                && k == text.len()
            {
                assert_eq!(Some(x), text.parse::<i64>().ok(), "{text}");
            }
            let ours = parse_f64(text.as_bytes());
            let std = text.parse::<f64>().ok();
            assert_eq!(
                ours.map(f64::to_bits),
                std.map(f64::to_bits),
                "f64 {text:?}: {ours:?} vs {std:?}"
            );
        }
    }

    #[test]
    fn fast_float_path_is_correctly_rounded_on_many_values() {
        // A deterministic sweep of decimals with 1-17 significant digits.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let digits = 1 + (state % 17) as u32;
            let mantissa = (state >> 8) % 10u64.pow(digits);
            let scale = ((state >> 40) % 20) as usize;
            let text = format!("{mantissa}");
            let text = if scale >= text.len() {
                format!("0.{}{text}", "0".repeat(scale - text.len()))
            } else if scale > 0 {
                format!(
                    "{}.{}",
                    &text[..text.len() - scale],
                    &text[text.len() - scale..]
                )
            } else {
                text
            };
            let want = text.parse::<f64>().ok().map(f64::to_bits);
            assert_eq!(parse_f64(text.as_bytes()).map(f64::to_bits), want, "{text}");
            if let Some((x, k)) = parse_f64_prefix(text.as_bytes()) {
                assert_eq!((Some(x.to_bits()), k), (want, text.len()), "{text}");
            }
        }
    }

    #[test]
    fn join_and_classify() {
        use ColumnType::*;
        assert_eq!(classify(b"true"), Boolean);
        assert_eq!(classify(b"12"), Integer);
        assert_eq!(classify(b"1.5"), Float);
        assert_eq!(classify(b"x"), Categorical);
        assert_eq!(join(Integer, Float), Float);
        assert_eq!(join(Boolean, Integer), Categorical);
        assert_eq!(join(Float, Categorical), Categorical);
        assert_eq!(join(Categorical, Text), Text);
    }
}
