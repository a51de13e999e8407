//! The dashboard's charts, drawn on the server as inline SVG.
//!
//! The SPEC asks for charts that are SVG drawn by the server, pages that work
//! without JavaScript, and a Content-Security-Policy that allows only the
//! server itself. So the chart is a plain `<svg>` string embedded in the page:
//! colours come from `class` attributes styled by `assets/dashboard.css`
//! (never `style=` attributes or a `<style>` element, which the CSP forbids),
//! and each point carries a `<title>` so hovering shows its value without
//! any script.
//!
//! This is a small module of our own rather than `plotters`: two or three
//! line series with labelled axes is a couple of hundred lines, while
//! plotters' SVG backend writes inline `style` attributes that the CSP
//! forbids and pulls in font handling we don't need.
//!
//! The output size depends only on the number of points (coordinates are
//! rounded to one decimal), so a year of three series stays well under
//! 200 KB.

use std::fmt::{self, Display, Write};

use super::format;

/// One line of a chart: its legend name, its CSS class (the stylesheet
/// colours it: `series-views`, `series-viewers`, `series-runs`), and one
/// value per date.
pub struct Series<'a> {
    pub name: &'a str,
    pub class: &'a str,
    pub values: Vec<u64>,
}

/// The SVG's user space; the browser scales it to the page's width.
const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 300.0;

/// The plot area inside the view box: room on the left for the y tick labels
/// and the rotated y title, at the top for the legend, at the bottom for the
/// date labels and the x title.
const PLOT_LEFT: f64 = 84.0;
const PLOT_RIGHT: f64 = 928.0;
const PLOT_TOP: f64 = 40.0;
const PLOT_BOTTOM: f64 = 250.0;

/// More date labels than this crowd each other at 1366 px wide.
const MAX_DATE_LABELS: usize = 10;

/// Below this many units between points (more than ~70 days), circles would
/// crowd the lines into a band, so they are drawn invisible (still
/// hoverable, see `.dense` in the stylesheet) and show only under the
/// pointer.
const DENSE_SPACING: f64 = 12.0;

/// A chart of daily values: `dates` label the x axis, one per point, as
/// ISO dates `YYYY-MM-DD` (ascending, consecutive days), and every series
/// has `dates.len()` values. `title` is the accessible title (`<title>` and
/// `aria-label`), `y_label` the y axis's ("Per day"). Returns an inline
/// `<svg>…</svg>`, ready to embed in HTML.
///
/// A series with fewer values than dates is drawn over the dates it has;
/// extra values are ignored.
pub fn daily_chart(title: &str, y_label: &str, dates: &[&str], series: &[Series<'_>]) -> String {
    let mut out = String::with_capacity(4096 + dates.len() * series.len() * 128);
    write_chart(&mut out, title, y_label, dates, series)
        .expect("writing into a String cannot fail");
    out
}

fn write_chart(
    out: &mut String,
    title: &str,
    y_label: &str,
    dates: &[&str],
    series: &[Series<'_>],
) -> fmt::Result {
    write_open(out, title)?;
    if dates.is_empty() {
        write!(
            out,
            r#"<text class="axis-label" x="{}" y="{}" text-anchor="middle">No data</text>"#,
            C(WIDTH / 2.0),
            C(HEIGHT / 2.0)
        )?;
        return out.write_str("</svg>");
    }
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().take(dates.len()))
        .copied()
        .max()
        .unwrap_or(0);
    let ticks = nice_ticks(max);
    let scale = Scale {
        points: dates.len(),
        top: ticks.last().copied().unwrap_or(1.0),
    };
    write_y_axis(out, y_label, &ticks, &scale)?;
    write_x_axis(out, dates, &scale)?;
    for s in series {
        write_series(out, dates, s, &scale)?;
    }
    write_legend(out, series)?;
    out.write_str("</svg>")
}

/// The `<svg>` element with its accessible name; `width="100%"` and the view
/// box let the stylesheet's `height: auto` keep the aspect ratio.
fn write_open(out: &mut String, title: &str) -> fmt::Result {
    let title = escape(title);
    write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" width="100%" role="img" aria-label="{title}" class="chart"><title>{title}</title>"#,
        C(WIDTH),
        C(HEIGHT)
    )
}

/// Maps point indexes and values to view-box coordinates.
struct Scale {
    points: usize,
    /// The top tick's value, always > 0.
    top: f64,
}

impl Scale {
    /// A single point sits in the middle rather than on the left edge.
    fn x(&self, index: usize) -> f64 {
        if self.points < 2 {
            return (PLOT_LEFT + PLOT_RIGHT) / 2.0;
        }
        PLOT_LEFT + (PLOT_RIGHT - PLOT_LEFT) * index as f64 / (self.points - 1) as f64
    }

    /// f64 so that values near `u64::MAX` scale without overflow.
    fn y(&self, value: f64) -> f64 {
        PLOT_BOTTOM - (PLOT_BOTTOM - PLOT_TOP) * (value / self.top).clamp(0.0, 1.0)
    }

    fn spacing(&self) -> f64 {
        if self.points < 2 {
            return PLOT_RIGHT - PLOT_LEFT;
        }
        (PLOT_RIGHT - PLOT_LEFT) / (self.points - 1) as f64
    }
}

/// Gridlines and labels for each tick, and the rotated y-axis title.
fn write_y_axis(out: &mut String, y_label: &str, ticks: &[f64], scale: &Scale) -> fmt::Result {
    out.write_str(r#"<g class="y-axis">"#)?;
    for &tick in ticks {
        let y = C(scale.y(tick));
        // The zero line is the x axis itself, drawn darker below.
        if tick > 0.0 {
            write!(
                out,
                r#"<line class="grid" x1="{}" y1="{y}" x2="{}" y2="{y}"/>"#,
                C(PLOT_LEFT),
                C(PLOT_RIGHT)
            )?;
        }
        write!(
            out,
            r#"<text class="tick-label" x="{}" y="{y}" dy="0.32em" text-anchor="end">{}</text>"#,
            C(PLOT_LEFT - 10.0),
            tick_label(tick, scale.top)
        )?;
    }
    let (x, y) = (C(14.0), C((PLOT_TOP + PLOT_BOTTOM) / 2.0));
    write!(
        out,
        r#"<text class="axis-label" x="{x}" y="{y}" text-anchor="middle" transform="rotate(-90 {x} {y})">{}</text></g>"#,
        escape(y_label)
    )
}

/// The baseline, a tick and a readable label for each labelled date, and
/// the x-axis title.
fn write_x_axis(out: &mut String, dates: &[&str], scale: &Scale) -> fmt::Result {
    write!(
        out,
        r#"<g class="x-axis"><line class="axis" x1="{}" y1="{b}" x2="{}" y2="{b}"/>"#,
        C(PLOT_LEFT),
        C(PLOT_RIGHT),
        b = C(PLOT_BOTTOM)
    )?;
    for index in label_indexes(dates.len()) {
        let x = C(scale.x(index));
        write!(
            out,
            r#"<line class="axis" x1="{x}" y1="{}" x2="{x}" y2="{}"/><text class="tick-label" x="{x}" y="{}" text-anchor="middle">{}</text>"#,
            C(PLOT_BOTTOM),
            C(PLOT_BOTTOM + 5.0),
            C(PLOT_BOTTOM + 20.0),
            escape(&date_label(dates[index]))
        )?;
    }
    write!(
        out,
        r#"<text class="axis-label" x="{}" y="{}" text-anchor="middle">Date (UTC)</text></g>"#,
        C((PLOT_LEFT + PLOT_RIGHT) / 2.0),
        C(HEIGHT - 5.0)
    )
}

/// One series: its line, then a circle per point whose `<title>` is the
/// hover tooltip ("2025-05-31: 1,234 views").
fn write_series(
    out: &mut String,
    dates: &[&str],
    series: &Series<'_>,
    scale: &Scale,
) -> fmt::Result {
    let class = escape(series.class);
    let noun = escape(&series.name.to_lowercase());
    let points: Vec<(f64, f64)> = series
        .values
        .iter()
        .take(dates.len())
        .enumerate()
        .map(|(i, &v)| (scale.x(i), scale.y(v as f64)))
        .collect();
    write!(
        out,
        r#"<g class="series {class}"><path class="line {class}" fill="none" d=""#
    )?;
    for (i, &(x, y)) in points.iter().enumerate() {
        let command = if i == 0 { 'M' } else { 'L' };
        write!(out, "{command}{},{}", C(x), C(y))?;
    }
    out.write_str(r#""/>"#)?;
    let (group, radius) = if scale.spacing() < DENSE_SPACING {
        ("points dense", 2.5)
    } else {
        ("points", 3.0)
    };
    write!(out, r#"<g class="{group}">"#)?;
    for ((&(x, y), &value), date) in points.iter().zip(&series.values).zip(dates) {
        write!(
            out,
            r#"<circle class="point {class}" cx="{}" cy="{}" r="{}"><title>{}: {} {noun}</title></circle>"#,
            C(x),
            C(y),
            C(radius),
            escape(date),
            format::count(value)
        )?;
    }
    out.write_str("</g></g>")
}

/// The legend sits top right, laid out right to left from estimated text
/// widths (an SVG string cannot measure text). 8 units per character is
/// generous at 11 px and still fits at the 19 px the stylesheet uses when
/// the chart is drawn small, thanks to the right margin.
fn write_legend(out: &mut String, series: &[Series<'_>]) -> fmt::Result {
    const SWATCH: f64 = 10.0;
    const GAP: f64 = 6.0;
    const ITEM_GAP: f64 = 18.0;
    const CHAR_WIDTH: f64 = 8.0;
    let widths: Vec<f64> = series
        .iter()
        .map(|s| SWATCH + GAP + s.name.chars().count() as f64 * CHAR_WIDTH)
        .collect();
    let total: f64 = widths.iter().sum::<f64>() + ITEM_GAP * widths.len().saturating_sub(1) as f64;
    let mut x = (PLOT_RIGHT - total).max(PLOT_LEFT);
    let y = 16.0;
    out.write_str(r#"<g class="legend">"#)?;
    for (s, width) in series.iter().zip(widths) {
        write!(
            out,
            r#"<rect class="swatch {}" x="{}" y="{}" width="{}" height="{}" rx="2"/><text class="legend-label" x="{}" y="{}" dy="0.32em">{}</text>"#,
            escape(s.class),
            C(x),
            C(y - SWATCH / 2.0),
            C(SWATCH),
            C(SWATCH),
            C(x + SWATCH + GAP),
            C(y),
            escape(s.name)
        )?;
        x += width + ITEM_GAP;
    }
    out.write_str("</g>")
}

/// The y ticks: 0 and then 4–6 equal round steps (1, 2, 2.5 or 5 × 10^k)
/// whose top is at least `max`. Steps are whole numbers, since the values
/// are counts; all zeros gives 0..4. f64 so that maxima near `u64::MAX`
/// cannot overflow.
fn nice_ticks(max: u64) -> Vec<f64> {
    let max = max as f64;
    let mut magnitude = 1.0_f64;
    let step = 'search: loop {
        for factor in [1.0, 2.0, 2.5, 5.0] {
            let step = factor * magnitude;
            if step.fract() == 0.0 && max / step <= 6.0 {
                break 'search step;
            }
        }
        magnitude *= 10.0;
    };
    let steps = ((max / step).ceil() as usize).max(4);
    (0..=steps).map(|i| i as f64 * step).collect()
}

/// Tick labels stay short so the left margin can stay narrow: thousands
/// separators ("12,000") while the top tick is below 100,000, otherwise
/// short forms for every tick ("25k", "1.25M", "2B"), so that one axis never
/// mixes "75,000" with "100k".
fn tick_label(value: f64, top: f64) -> String {
    const UNITS: [(f64, &str); 4] = [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")];
    if top < 1e5 || value < 1e3 {
        return format::count(value as u64);
    }
    match UNITS
        .iter()
        .find(|(size, _)| value >= *size && value < size * 1000.0)
    {
        Some((size, unit)) => format!("{}{unit}", trim_decimals(value / size)),
        // Beyond trillions nobody reads the digits; scientific is honest.
        None => {
            let exponent = value.log10().floor();
            format!("{}e{exponent}", trim_decimals(value / 10f64.powf(exponent)))
        }
    }
}

/// Up to two decimals without trailing zeros: 1.25, 2.5, 3.
fn trim_decimals(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// "2025-03-03" → "Mar 3". Anything that is not an ISO date is shown as is,
/// rather than guessed at.
fn date_label(date: &str) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let mut parts = date.splitn(3, '-');
    let (_, month, day) = (parts.next(), parts.next(), parts.next());
    let month = month.and_then(|m| m.parse::<usize>().ok());
    let day = day.and_then(|d| d.parse::<u32>().ok());
    match (month, day) {
        (Some(month @ 1..=12), Some(day @ 1..=31)) => format!("{} {day}", MONTHS[month - 1]),
        _ => date.to_owned(),
    }
}

/// Which dates get a label: at most [`MAX_DATE_LABELS`], a whole number of
/// days apart (1, 2, 3 days or whole weeks, so weekly labels fall on the
/// same weekday), counted back from the last date, which is always labelled
/// because it is the one people look for.
fn label_indexes(points: usize) -> Vec<usize> {
    if points == 0 {
        return Vec::new();
    }
    let span = points - 1;
    let fits = |step: usize| span / step < MAX_DATE_LABELS;
    let step = [1, 2, 3]
        .into_iter()
        .find(|&step| fits(step))
        .unwrap_or_else(|| {
            (1..)
                .map(|weeks| weeks * 7)
                .find(|&step| fits(step))
                .unwrap_or(span.max(1))
        });
    let mut indexes: Vec<usize> = (0..=span).rev().step_by(step).collect();
    indexes.reverse();
    indexes
}

/// Escapes text and attribute values for SVG embedded in HTML.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A coordinate written with at most one decimal ("12.3", "40"), which keeps
/// the SVG small without visible loss at any screen size.
struct C(f64);

impl Display for C {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tenths = (self.0 * 10.0).round() as i64;
        let sign = if tenths < 0 { "-" } else { "" };
        let (whole, tenth) = (tenths.abs() / 10, tenths.abs() % 10);
        if tenth == 0 {
            write!(f, "{sign}{whole}")
        } else {
            write!(f, "{sign}{whole}.{tenth}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dates(n: usize) -> Vec<String> {
        // Consecutive days from 2025-01-01, good enough for a year.
        const DAYS: [u32; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        let mut out = Vec::new();
        let (mut year, mut month, mut day) = (2025, 1, 1);
        while out.len() < n {
            out.push(format!("{year}-{month:02}-{day:02}"));
            day += 1;
            if day > DAYS[month - 1] {
                day = 1;
                month += 1;
                if month > 12 {
                    month = 1;
                    year += 1;
                }
            }
        }
        out
    }

    fn chart(n: usize, value: impl Fn(usize) -> u64) -> String {
        let owned = dates(n);
        let dates: Vec<&str> = owned.iter().map(String::as_str).collect();
        let series = [
            ("Views", "series-views"),
            ("Viewers", "series-viewers"),
            ("Runs", "series-runs"),
        ]
        .map(|(name, class)| Series {
            name,
            class,
            values: (0..n).map(&value).collect(),
        });
        daily_chart("Usage", "Per day", &dates, &series)
    }

    fn assert_well_formed(svg: &str) {
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.ends_with("</svg>"), "{svg}");
        assert_eq!(svg.matches("<g ").count(), svg.matches("</g>").count());
        assert_eq!(svg.matches("<svg").count(), 1);
        assert!(!svg.contains("style"), "no inline styles: {svg}");
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
    }

    #[test]
    fn nice_ticks_are_round_and_cover_the_maximum() {
        let cases: [(u64, &[f64]); 7] = [
            (0, &[0.0, 1.0, 2.0, 3.0, 4.0]),
            (1, &[0.0, 1.0, 2.0, 3.0, 4.0]),
            (7, &[0.0, 2.0, 4.0, 6.0, 8.0]),
            (10, &[0.0, 2.0, 4.0, 6.0, 8.0, 10.0]),
            (99, &[0.0, 20.0, 40.0, 60.0, 80.0, 100.0]),
            (1234, &[0.0, 250.0, 500.0, 750.0, 1000.0, 1250.0]),
            (
                1_000_000,
                &[0.0, 200_000.0, 400_000.0, 600_000.0, 800_000.0, 1_000_000.0],
            ),
        ];
        for (max, expected) in cases {
            assert_eq!(nice_ticks(max), expected, "max {max}");
        }
    }

    #[test]
    fn nice_ticks_always_have_four_to_six_steps() {
        for max in (0..5000).chain([12_345_678, u64::MAX / 4, u64::MAX]) {
            let ticks = nice_ticks(max);
            assert!((5..=7).contains(&ticks.len()), "max {max}: {ticks:?}");
            assert!(*ticks.last().unwrap() >= max as f64, "max {max}: {ticks:?}");
            assert_eq!(ticks[0], 0.0);
        }
    }

    #[test]
    fn tick_labels_are_readable() {
        assert_eq!(tick_label(0.0, 4.0), "0");
        assert_eq!(tick_label(1234.0, 1250.0), "1,234");
        assert_eq!(tick_label(12_000.0, 12_000.0), "12,000");
        assert_eq!(tick_label(75_000.0, 125_000.0), "75k");
        assert_eq!(tick_label(250_000.0, 250_000.0), "250k");
        assert_eq!(tick_label(0.0, 1e6), "0");
        assert_eq!(tick_label(1_000_000.0, 1e6), "1M");
        assert_eq!(tick_label(1_200_000.0, 1.2e6), "1.2M");
        assert_eq!(tick_label(1_250_000.0, 1.25e6), "1.25M");
        assert_eq!(tick_label(2_500_000_000.0, 2.5e9), "2.5B");
        assert_eq!(tick_label(5e18, 5e18), "5e18");
    }

    #[test]
    fn date_labels() {
        assert_eq!(date_label("2025-03-03"), "Mar 3");
        assert_eq!(date_label("2025-12-31"), "Dec 31");
        assert_eq!(date_label("2025-01-10"), "Jan 10");
        assert_eq!(date_label("yesterday"), "yesterday");
        assert_eq!(date_label("2025-13-01"), "2025-13-01");
    }

    #[test]
    fn at_most_ten_labels_evenly_spaced_and_last_included() {
        for n in 1..=400 {
            let indexes = label_indexes(n);
            assert!(
                !indexes.is_empty() && indexes.len() <= MAX_DATE_LABELS,
                "{n}"
            );
            assert_eq!(*indexes.last().unwrap(), n - 1, "{n}");
            let steps: Vec<usize> = indexes.windows(2).map(|w| w[1] - w[0]).collect();
            assert!(steps.windows(2).all(|w| w[0] == w[1]), "{n}: {indexes:?}");
        }
        assert_eq!(
            label_indexes(90).windows(2).next().map(|w| w[1] - w[0]),
            Some(14)
        );
        let thirty = label_indexes(30);
        assert!((3..=7).contains(&(thirty[1] - thirty[0])), "{thirty:?}");
    }

    #[test]
    fn chart_labels_dates_and_titles_points() {
        let svg = chart(30, |i| i as u64 * 100);
        assert_well_formed(&svg);
        assert!(svg.contains(r#"viewBox="0 0 960 300""#));
        assert!(svg.contains(r#"role="img""#) && svg.contains(r#"aria-label="Usage""#));
        assert!(svg.contains("<title>2025-01-30: 2,900 views</title>"));
        assert!(svg.contains("<title>2025-01-01: 0 runs</title>"));
        assert!(svg.contains(">Jan 30</text>"), "last date labelled");
        assert!(svg.contains(">Date (UTC)</text>") && svg.contains(">Per day</text>"));
        assert!(svg.contains(r#"class="line series-viewers""#));
        assert!(svg.contains(r#"class="swatch series-runs""#));
        assert!(svg.matches("tick-label").count() <= 7 + MAX_DATE_LABELS);
    }

    #[test]
    fn text_is_escaped() {
        let series = [Series {
            name: "<Views> & \"co\"",
            class: "series-views",
            values: vec![1],
        }];
        let svg = daily_chart("A & B's <chart>", "\"per\" day", &["2025-05-31"], &series);
        assert_well_formed(&svg);
        assert!(svg.contains("A &amp; B&#39;s &lt;chart&gt;"));
        assert!(svg.contains("&quot;per&quot; day"));
        assert!(svg.contains("&lt;Views&gt; &amp; &quot;co&quot;"));
        assert!(!svg.contains("<chart>") && !svg.contains("<Views>"));
    }

    #[test]
    fn edge_cases_do_not_panic() {
        let empty = daily_chart("Usage", "Per day", &[], &[]);
        assert_well_formed(&empty);
        assert!(empty.contains("No data"));

        let one = chart(1, |_| 5);
        assert_well_formed(&one);
        assert!(one.contains(">Jan 1</text>"));

        let zeros = chart(7, |_| 0);
        assert_well_formed(&zeros);
        assert!(zeros.contains(">4</text>"));

        let short = [Series {
            name: "Views",
            class: "series-views",
            values: vec![3],
        }];
        assert_well_formed(&daily_chart(
            "t",
            "y",
            &["2025-01-01", "2025-01-02"],
            &short,
        ));
        assert_well_formed(&daily_chart("t", "y", &["2025-01-01"], &[]));
    }

    #[test]
    fn a_year_of_huge_values_stays_small() {
        let svg = chart(366, |i| u64::MAX / 4 - i as u64);
        assert_well_formed(&svg);
        assert!(svg.len() < 200_000, "{} bytes", svg.len());
        let max = chart(366, |_| u64::MAX);
        assert_well_formed(&max);
        assert!(max.len() < 200_000, "{} bytes", max.len());
    }

    #[test]
    fn coordinates_have_at_most_one_decimal() {
        assert_eq!(C(12.34).to_string(), "12.3");
        assert_eq!(C(40.0).to_string(), "40");
        assert_eq!(C(0.04).to_string(), "0");
        assert_eq!(C(-1.25).to_string(), "-1.3");
    }
}
