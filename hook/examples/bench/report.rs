//! The benchmark's table: every figure with min / median / max over its repeats, and the ratio
//! of its median to a reference measured in the same run.

use std::fmt::Write as _;

use serde_json::{json, Value};

/// Milliseconds since `start`, the unit of the timing figures.
pub fn ms_since(start: std::time::Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}

/// Samples of one quantity, one per repeat.
#[derive(Debug, Clone, Default)]
pub struct Samples(pub Vec<f64>);

impl Samples {
    pub fn push(&mut self, value: f64) {
        self.0.push(value);
    }

    pub fn min(&self) -> f64 {
        self.0.iter().copied().fold(f64::INFINITY, f64::min)
    }

    pub fn max(&self) -> f64 {
        self.0.iter().copied().fold(f64::NEG_INFINITY, f64::max)
    }

    pub fn median(&self) -> f64 {
        let mut sorted = self.0.clone();
        sorted.sort_by(f64::total_cmp);
        match sorted.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => sorted[n / 2],
            n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        }
    }

    /// Element-wise `self - other`: paired differences, one per round.
    pub fn minus(&self, other: &Samples) -> Samples {
        Samples(self.0.iter().zip(&other.0).map(|(a, b)| a - b).collect())
    }
}

/// One line of the table.
pub struct Row {
    pub figure: &'static str,
    pub name: String,
    pub unit: &'static str,
    pub samples: Samples,
    /// What the median is divided by: a label and its samples from the same run.
    pub reference: Option<(String, Samples)>,
}

impl Row {
    fn ratio(&self) -> Option<f64> {
        self.reference
            .as_ref()
            .map(|(_, r)| self.samples.median() / r.median())
    }
}

#[derive(Default)]
pub struct Report {
    pub rows: Vec<Row>,
}

impl Report {
    pub fn add(
        &mut self,
        figure: &'static str,
        name: impl Into<String>,
        unit: &'static str,
        samples: Samples,
        reference: Option<(&str, &Samples)>,
    ) {
        self.rows.push(Row {
            figure,
            name: name.into(),
            unit,
            samples,
            reference: reference.map(|(label, s)| (label.to_owned(), s.clone())),
        });
    }

    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "| figure | measurement | unit | n | min | median | max | reference (median) | ratio |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|");
        for row in &self.rows {
            let s = &row.samples;
            let reference = match &row.reference {
                Some((label, r)) => format!("{label} ({})", fmt(r.median())),
                None => "-".to_owned(),
            };
            let ratio = row.ratio().map_or("-".to_owned(), |r| format!("{r:.2}x"));
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                row.figure,
                row.name,
                row.unit,
                s.0.len(),
                fmt(s.min()),
                fmt(s.median()),
                fmt(s.max()),
                reference,
                ratio
            );
        }
        out
    }

    pub fn json(&self, header: Value) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|row| {
                json!({
                    "figure": row.figure,
                    "name": row.name,
                    "unit": row.unit,
                    "n": row.samples.0.len(),
                    "min": row.samples.min(),
                    "median": row.samples.median(),
                    "max": row.samples.max(),
                    "reference": row.reference.as_ref().map(|(label, r)| json!({
                        "name": label,
                        "median": r.median(),
                    })),
                    "ratio": row.ratio(),
                })
            })
            .collect();
        json!({ "machine": header, "rows": rows })
    }
}

/// Three significant-ish digits whatever the magnitude.
fn fmt(value: f64) -> String {
    match value.abs() {
        v if v >= 100.0 => format!("{value:.0}"),
        v if v >= 10.0 => format!("{value:.1}"),
        _ => format!("{value:.2}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_even_and_odd_counts() {
        assert_eq!(Samples(vec![3.0, 1.0, 2.0]).median(), 2.0);
        assert_eq!(Samples(vec![4.0, 1.0, 2.0, 3.0]).median(), 2.5);
    }
}
