//! An export's rows as CSV (RFC 4180, by the `csv` crate) or NDJSON: the
//! cells of a row, its header, its lines.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa::openapi::{RefOr, Schema};

use super::ExportFormat;
use crate::http::error::ApiError;

/// Writes rows in an export's format.
pub(super) struct RowWriter {
    format: ExportFormat,
    /// The CSV columns: the row type's JSON fields, in order.
    fields: Vec<String>,
}

impl RowWriter {
    pub(super) fn new<Row: ToSchema>(format: ExportFormat) -> Result<Self, ApiError> {
        let fields = match Row::schema() {
            RefOr::T(Schema::Object(object)) => object.properties.keys().cloned().collect(),
            _ => {
                return Err(ApiError::Internal(anyhow::anyhow!(
                    "the rows of an export must have an object schema, which `{}` has not",
                    Row::name()
                )));
            }
        };
        Ok(RowWriter { format, fields })
    }

    pub(super) fn header(&self, out: &mut Vec<u8>) -> Result<(), ApiError> {
        if self.format == ExportFormat::Csv {
            write_csv(out, [self.fields.clone()])?;
        }
        Ok(())
    }

    pub(super) fn rows<Row: Serialize>(
        &self,
        rows: &[Row],
        out: &mut Vec<u8>,
    ) -> Result<(), ApiError> {
        let internal = |error: serde_json::Error| ApiError::Internal(error.into());
        match self.format {
            ExportFormat::Ndjson => {
                for row in rows {
                    serde_json::to_writer(&mut *out, row).map_err(internal)?;
                    out.push(b'\n');
                }
                Ok(())
            }
            ExportFormat::Csv => {
                let records = rows
                    .iter()
                    .map(|row| self.cells(serde_json::to_value(row).map_err(internal)?))
                    .collect::<Result<Vec<_>, _>>()?;
                write_csv(out, records)
            }
        }
    }

    /// A row's cells, in the header's order.
    fn cells(&self, row: Value) -> Result<Vec<String>, ApiError> {
        let Value::Object(mut members) = row else {
            return Err(ApiError::Internal(anyhow::anyhow!(
                "an exported row is not a JSON object"
            )));
        };
        let cells = self
            .fields
            .iter()
            .map(|field| members.remove(field).map(cell).unwrap_or_default())
            .collect();
        if let Some((unnamed, _)) = members.iter().next() {
            return Err(ApiError::Internal(anyhow::anyhow!(
                "an exported row has a field `{unnamed}` its schema does not name"
            )));
        }
        Ok(cells)
    }
}

/// A JSON value as a CSV cell: see the module's documentation.
fn cell(value: Value) -> String {
    match value {
        Value::String(text) => guarded(text),
        Value::Array(items) => guarded(
            items
                .into_iter()
                .map(list_item)
                .collect::<Vec<_>>()
                .join(";"),
        ),
        other => list_item(other),
    }
}

/// What a spreadsheet takes for the start of a formula (OWASP's "CSV
/// injection"): a text cell starting with one is written after a `'`, which
/// spreadsheets show as text and do not display. Numbers are never text
/// cells, so a negative count (there is none) would stay a number.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Text a person or a client wrote (a name, a query, an email list), made
/// safe to open in a spreadsheet.
fn guarded(text: String) -> String {
    if text.starts_with(FORMULA_STARTS) {
        format!("'{text}")
    } else {
        text
    }
}

fn list_item(value: Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text,
        other => other.to_string(),
    }
}

/// Appends `records` to `out` as RFC 4180 CSV.
fn write_csv(
    out: &mut Vec<u8>,
    records: impl IntoIterator<Item = Vec<String>>,
) -> Result<(), ApiError> {
    let internal = |error: csv::Error| ApiError::Internal(error.into());
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    for record in records {
        writer.write_record(&record).map_err(internal)?;
    }
    writer
        .flush()
        .map_err(|error| ApiError::Internal(error.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_is_the_value_lists_joined_and_null_empty() {
        use serde_json::json;
        assert_eq!(cell(json!("a, \"b\"\nc")), "a, \"b\"\nc");
        assert_eq!(cell(json!(5244)), "5244");
        assert_eq!(cell(json!(true)), "true");
        assert_eq!(cell(json!(null)), "");
        assert_eq!(cell(json!(["a@x.com", "b@x.com"])), "a@x.com;b@x.com");
        assert_eq!(cell(json!([])), "");
        assert_eq!(cell(json!({"href": "/x"})), r#"{"href":"/x"}"#);
    }

    #[test]
    fn text_a_spreadsheet_would_run_as_a_formula_is_written_as_text() {
        use serde_json::json;
        for formula in ["=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(cell(json!(formula)), format!("'{formula}"));
        }
        assert_eq!(cell(json!(["=a@x.com", "b@x.com"])), "'=a@x.com;b@x.com");
        assert_eq!(cell(json!(["a@x.com", "=b"])), "a@x.com;=b");
        assert_eq!(cell(json!("a=b")), "a=b");
        assert_eq!(cell(json!(-3)), "-3");
    }

    #[test]
    fn csv_quotes_what_must_be_quoted_and_ends_lines_with_crlf() {
        let mut out = Vec::new();
        write_csv(
            &mut out,
            [vec![
                "plain".into(),
                "a,b".into(),
                "say \"hi\"".into(),
                "x\ny".into(),
            ]],
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "plain,\"a,b\",\"say \"\"hi\"\"\",\"x\ny\"\r\n"
        );
    }
}
