//! Which export an `Accept` header prefers to the JSON page (RFC 9110,
//! section 12.5.1), for [`Representation`](super::Representation).

use axum::http::{HeaderMap, header};

use super::ExportFormat;

/// One media range of `Accept`, its quality in thousandths.
struct MediaRange {
    media_type: String,
    quality: u16,
}

impl MediaRange {
    /// `None` for what is not a media range, or has a bad `q`.
    fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split(';');
        let media_type = parts.next()?.trim().to_ascii_lowercase();
        if !media_type.contains('/') {
            return None;
        }
        let mut quality = 1000;
        for parameter in parts {
            let Some((name, value)) = parameter.split_once('=') else {
                continue;
            };
            if name.trim().eq_ignore_ascii_case("q") {
                let q: f32 = value.trim().parse().ok()?;
                if !(0.0..=1.0).contains(&q) {
                    return None;
                }
                quality = (q * 1000.0).round() as u16;
            }
        }
        Some(MediaRange {
            media_type,
            quality,
        })
    }

    /// 2 when the range names `media_type`, 1 for its `type/*`, 0 for `*/*`.
    fn specificity(&self, media_type: &str) -> Option<u8> {
        if self.media_type == media_type {
            return Some(2);
        }
        if self.media_type == "*/*" {
            return Some(0);
        }
        let (range_type, range_subtype) = self.media_type.split_once('/')?;
        let (wanted_type, _) = media_type.split_once('/')?;
        (range_subtype == "*" && range_type == wanted_type).then_some(1)
    }
}

/// How much `ranges` want any of `media_types`: the quality the most
/// specific matching range gives (RFC 9110 section 12.5.1), and whether
/// that range named the type itself. `(0, false)` when none matches.
fn preference(ranges: &[MediaRange], media_types: &[&str]) -> (u16, bool) {
    media_types
        .iter()
        .filter_map(|media_type| {
            let matching = ranges
                .iter()
                .filter_map(|range| Some((range.specificity(media_type)?, range.quality)));
            let specificity = matching.clone().map(|(specificity, _)| specificity).max()?;
            let quality = matching
                .filter(|(each, _)| *each == specificity)
                .map(|(_, quality)| quality)
                .max()?;
            Some((quality, specificity == 2))
        })
        .max()
        .unwrap_or((0, false))
}

/// The export `Accept` prefers to the JSON page, if any.
pub(super) fn accepted_export(headers: &HeaderMap) -> Option<ExportFormat> {
    let ranges: Vec<MediaRange> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(MediaRange::parse)
        .collect();
    let json = preference(&ranges, &["application/json", "application/hal+json"]);
    let csv = preference(&ranges, &["text/csv"]);
    let ndjson = preference(&ranges, &["application/x-ndjson"]);
    let (export, format) = if ndjson > csv {
        (ndjson, ExportFormat::Ndjson)
    } else {
        (csv, ExportFormat::Csv)
    };
    (export.0 > 0 && export > json).then_some(format)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn accept(values: &[&str]) -> Option<ExportFormat> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        }
        accepted_export(&headers)
    }

    #[test]
    fn accept_asks_for_an_export_only_when_it_prefers_one_to_json() {
        use ExportFormat::{Csv, Ndjson};
        for (values, expected) in [
            (&[][..], None),
            (&["application/json"], None),
            (&["application/hal+json"], None),
            (&["*/*"], None),
            (&["text/html"], None),
            (&["text/csv"], Some(Csv)),
            (&["TEXT/CSV; charset=utf-8"], Some(Csv)),
            (&["application/x-ndjson"], Some(Ndjson)),
            (&["text/csv, */*;q=0.8"], Some(Csv)),
            (&["text/csv", "*/*"], Some(Csv)),
            (&["text/csv, application/json"], None),
            (&["text/csv;q=0.5, application/json"], None),
            (&["application/json;q=0.5, text/csv"], Some(Csv)),
            (&["application/x-ndjson, text/csv;q=0.9"], Some(Ndjson)),
            (&["text/csv;q=0"], None),
            (&["text/*"], Some(Csv)),
            (&["text/csv;q=nonsense"], None),
            (&["application/*;q=0.9, text/csv;q=0.1"], None),
        ] {
            assert_eq!(accept(values), expected, "{values:?}");
        }
    }
}
