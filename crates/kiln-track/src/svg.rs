//! Small SVG charts for reports: no script, no external resource.

use std::fmt::Write;

/// Ten distinguishable colours (Tableau 10).
pub(crate) const COLORS: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac",
];

const W: f64 = 640.0;
const H: f64 = 320.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 32.0;
const BOTTOM: f64 = 48.0;
const LEGEND: f64 = 150.0;

/// Escapes text for HTML and SVG.
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A number as short text.
pub(crate) fn num(v: f64) -> String {
    if v == 0.0 || (1e-3..1e5).contains(&v.abs()) {
        let s = format!("{v:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_owned()
    } else {
        format!("{v:.3e}")
    }
}

/// A linear map from data to pixels.
#[derive(Clone, Copy)]
struct Scale {
    lo: f64,
    hi: f64,
    from: f64,
    to: f64,
}

impl Scale {
    fn new(values: impl Iterator<Item = f64>, from: f64, to: f64) -> Self {
        let (mut lo, mut hi) = values
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(v), b.max(v))
            });
        if !lo.is_finite() {
            (lo, hi) = (0.0, 1.0);
        }
        if hi - lo < 1e-12 * lo.abs().max(1.0) {
            (lo, hi) = (lo - 0.5, hi + 0.5);
        }
        let pad = (hi - lo) * 0.04;
        Self {
            lo: lo - pad,
            hi: hi + pad,
            from,
            to,
        }
    }

    fn at(&self, v: f64) -> f64 {
        self.from + (v - self.lo) / (self.hi - self.lo) * (self.to - self.from)
    }

    fn ticks(&self) -> Vec<f64> {
        let span = self.hi - self.lo;
        let raw = span / 5.0;
        let mag = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .iter()
            .map(|m| m * mag)
            .find(|s| span / s <= 6.0)
            .unwrap_or(10.0 * mag);
        let mut t = (self.lo / step).ceil() * step;
        let mut out = Vec::new();
        while t <= self.hi && out.len() < 12 {
            out.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
            t += step;
        }
        out
    }
}

fn open(out: &mut String, id: &str, title: &str, w: f64, h: f64) {
    let _ = write!(
        out,
        r#"<figure class="chart"><svg id="{id}" xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{t}"><text x="{x}" y="20" class="title" text-anchor="middle">{t}</text>"#,
        t = esc(title),
        x = w / 2.0
    );
}

fn axes(out: &mut String, xs: &Scale, ys: &Scale, x_label: &str, y_label: &str) {
    let (x0, x1, y0, y1) = (LEFT, xs.to, H - BOTTOM, TOP);
    let _ = write!(
        out,
        r#"<line class="axis" x1="{x0}" y1="{y0}" x2="{x1}" y2="{y0}"/><line class="axis" x1="{x0}" y1="{y0}" x2="{x0}" y2="{y1}"/>"#
    );
    for t in xs.ticks() {
        let x = xs.at(t);
        let _ = write!(
            out,
            r#"<line class="grid" x1="{x:.1}" y1="{y0}" x2="{x:.1}" y2="{y1}"/><text x="{x:.1}" y="{ty}" text-anchor="middle" class="tick">{}</text>"#,
            num(t),
            ty = y0 + 16.0
        );
    }
    for t in ys.ticks() {
        let y = ys.at(t);
        let _ = write!(
            out,
            r#"<line class="grid" x1="{x0}" y1="{y:.1}" x2="{x1}" y2="{y:.1}"/><text x="{tx}" y="{y:.1}" text-anchor="end" dominant-baseline="middle" class="tick">{}</text>"#,
            num(t),
            tx = x0 - 6.0
        );
    }
    let _ = write!(
        out,
        r#"<text x="{}" y="{}" text-anchor="middle" class="label">{}</text><text transform="translate(14 {}) rotate(-90)" text-anchor="middle" class="label">{}</text>"#,
        (x0 + x1) / 2.0,
        H - 10.0,
        esc(x_label),
        (y0 + y1) / 2.0,
        esc(y_label)
    );
}

fn legend(out: &mut String, names: &[&str]) {
    for (i, name) in names.iter().enumerate().take(COLORS.len()) {
        let y = TOP + 6.0 + 14.0 * i as f64;
        let _ = write!(
            out,
            r#"<g class="legend"><rect x="{x}" y="{y}" width="10" height="10" fill="{c}"/><text x="{tx}" y="{ty}" class="tick">{n}</text></g>"#,
            x = W - RIGHT - LEGEND + 10.0,
            c = COLORS[i % COLORS.len()],
            tx = W - RIGHT - LEGEND + 24.0,
            ty = y + 9.0,
            n = esc(name)
        );
    }
}

fn close(out: &mut String, caption: &str) {
    let _ = write!(
        out,
        "</svg><figcaption>{}</figcaption></figure>",
        esc(caption)
    );
}

/// Lines, one per series.
pub(crate) fn lines(
    id: &str,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[(String, Vec<(f64, f64)>)],
) -> String {
    let mut out = String::new();
    let xs = Scale::new(
        series.iter().flat_map(|s| s.1.iter().map(|p| p.0)),
        LEFT,
        W - RIGHT - LEGEND,
    );
    let ys = Scale::new(
        series.iter().flat_map(|s| s.1.iter().map(|p| p.1)),
        H - BOTTOM,
        TOP,
    );
    open(&mut out, id, title, W, H);
    axes(&mut out, &xs, &ys, x_label, y_label);
    for (i, (name, points)) in series.iter().enumerate() {
        let c = COLORS[i % COLORS.len()];
        let d: Vec<String> = points
            .iter()
            .filter(|p| p.1.is_finite())
            .map(|&(x, y)| format!("{:.1},{:.1}", xs.at(x), ys.at(y)))
            .collect();
        let _ = write!(
            out,
            r#"<polyline class="series" data-run="{}" fill="none" stroke="{c}" stroke-width="2" points="{}"/>"#,
            esc(name),
            d.join(" ")
        );
        for p in points.iter().filter(|p| p.1.is_finite()) {
            let _ = write!(
                out,
                r#"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="{c}"><title>{}: {} at {}</title></circle>"#,
                xs.at(p.0),
                ys.at(p.1),
                esc(name),
                num(p.1),
                num(p.0)
            );
        }
    }
    let names: Vec<&str> = series.iter().map(|s| s.0.as_str()).collect();
    legend(&mut out, &names);
    close(&mut out, &format!("{y_label} by {x_label}"));
    out
}

/// Points, with an optional line over them (e.g. best so far) and category names for x.
pub(crate) fn scatter(
    id: &str,
    title: &str,
    x_label: &str,
    y_label: &str,
    points: &[(f64, f64)],
    line: Option<&[(f64, f64)]>,
    x_categories: Option<&[String]>,
) -> String {
    let mut out = String::new();
    let xs = Scale::new(points.iter().map(|p| p.0), LEFT, W - RIGHT);
    let ys = Scale::new(
        points.iter().chain(line.unwrap_or(&[])).map(|p| p.1),
        H - BOTTOM,
        TOP,
    );
    open(&mut out, id, title, W, H);
    match x_categories {
        Some(cats) => {
            axes(&mut out, &Scale { lo: f64::NAN, ..xs }, &ys, "", y_label);
            for (i, c) in cats.iter().enumerate() {
                let _ = write!(
                    out,
                    r#"<text x="{:.1}" y="{}" text-anchor="middle" class="tick">{}</text>"#,
                    xs.at(i as f64),
                    H - BOTTOM + 16.0,
                    esc(c)
                );
            }
            let _ = write!(
                out,
                r#"<text x="{}" y="{}" text-anchor="middle" class="label">{}</text>"#,
                (LEFT + W - RIGHT) / 2.0,
                H - 10.0,
                esc(x_label)
            );
        }
        None => axes(&mut out, &xs, &ys, x_label, y_label),
    }
    for p in points.iter().filter(|p| p.1.is_finite()) {
        let _ = write!(
            out,
            r#"<circle class="point" cx="{:.1}" cy="{:.1}" r="3.5" fill="{}" fill-opacity="0.75"><title>{}: {}</title></circle>"#,
            xs.at(p.0),
            ys.at(p.1),
            COLORS[0],
            num(p.0),
            num(p.1)
        );
    }
    if let Some(line) = line {
        let d: Vec<String> = line
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", xs.at(x), ys.at(y)))
            .collect();
        let _ = write!(
            out,
            r#"<polyline class="best" fill="none" stroke="{}" stroke-width="2" points="{}"/>"#,
            COLORS[2],
            d.join(" ")
        );
    }
    close(&mut out, &format!("{y_label} by {x_label}"));
    out
}

/// Horizontal bars.
pub(crate) fn bars(id: &str, title: &str, items: &[(String, f64)]) -> String {
    let mut out = String::new();
    let h = TOP + 24.0 * items.len() as f64 + 16.0;
    open(&mut out, id, title, W, h);
    let max = items.iter().map(|i| i.1).fold(0.0, f64::max).max(1e-12);
    for (i, (name, v)) in items.iter().enumerate() {
        let y = TOP + 24.0 * i as f64;
        let w = (W - 200.0 - RIGHT) * v / max;
        let _ = write!(
            out,
            r#"<text x="150" y="{ty}" text-anchor="end" class="tick">{n}</text><rect class="bar" x="156" y="{y}" width="{w:.1}" height="16" fill="{c}"><title>{n}: {v}</title></rect><text x="{vx:.1}" y="{ty}" class="tick">{v}</text>"#,
            ty = y + 12.0,
            n = esc(name),
            c = COLORS[0],
            v = num(*v),
            vx = 160.0 + w
        );
    }
    close(&mut out, title);
    out
}

/// One axis of a parallel-coordinates plot or of a slice: a value per row, and category
/// names when the values are category indices.
#[derive(Debug, Clone)]
pub(crate) struct Dimension {
    pub name: String,
    pub values: Vec<f64>,
    pub categories: Option<Vec<String>>,
}

/// One vertical axis per dimension; each row a polyline across them, coloured by `color`.
pub(crate) fn parallel(id: &str, title: &str, axes_: &[Dimension], color: &[f64]) -> String {
    let mut out = String::new();
    open(&mut out, id, title, W, H);
    let n = axes_.len().max(2);
    let x_at = |i: usize| LEFT + (W - LEFT - RIGHT - 40.0) * i as f64 / (n - 1) as f64;
    let scales: Vec<Scale> = axes_
        .iter()
        .map(|a| Scale::new(a.values.iter().copied(), H - BOTTOM, TOP + 10.0))
        .collect();
    let cs = Scale::new(color.iter().copied(), 0.0, 1.0);
    for (r, &value) in color.iter().enumerate() {
        let pts: Vec<String> = axes_
            .iter()
            .zip(&scales)
            .enumerate()
            .map(|(i, (a, s))| format!("{:.1},{:.1}", x_at(i), s.at(a.values[r])))
            .collect();
        let t = cs.at(value).clamp(0.0, 1.0);
        // Blue (low) to orange (high).
        let c = format!(
            "rgb({},{},{})",
            (78.0 + t * (242.0 - 78.0)) as u8,
            (121.0 + t * (142.0 - 121.0)) as u8,
            (167.0 + t * (43.0 - 167.0)) as u8
        );
        let _ = write!(
            out,
            r#"<polyline class="row" fill="none" stroke="{c}" stroke-opacity="0.7" points="{}"/>"#,
            pts.join(" ")
        );
    }
    for (i, (dim, s)) in axes_.iter().zip(&scales).enumerate() {
        let (name, values, cats) = (&dim.name, &dim.values, &dim.categories);
        let x = x_at(i);
        let _ = write!(
            out,
            r#"<line class="axis" x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{}"/><text x="{x:.1}" y="{}" text-anchor="middle" class="label">{}</text>"#,
            H - BOTTOM,
            TOP + 10.0,
            H - BOTTOM + 18.0,
            esc(name)
        );
        match cats {
            Some(cats) => {
                for (k, c) in cats.iter().enumerate() {
                    let _ = write!(
                        out,
                        r#"<text x="{:.1}" y="{:.1}" class="tick">{}</text>"#,
                        x + 4.0,
                        s.at(k as f64),
                        esc(c)
                    );
                }
            }
            None => {
                let (lo, hi) = values
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                        (a.min(v), b.max(v))
                    });
                for v in [lo, hi] {
                    let _ = write!(
                        out,
                        r#"<text x="{:.1}" y="{:.1}" class="tick">{}</text>"#,
                        x + 4.0,
                        s.at(v),
                        num(v)
                    );
                }
            }
        }
    }
    close(&mut out, title);
    out
}

/// A grid of counts, darker for more.
pub(crate) fn heatmap(id: &str, title: &str, labels: &[String], counts: &[Vec<u64>]) -> String {
    let mut out = String::new();
    let n = labels.len();
    let cell = (360.0 / n.max(1) as f64).clamp(18.0, 48.0);
    let (x0, y0) = (120.0, 48.0);
    let (w, h) = (x0 + cell * n as f64 + 40.0, y0 + cell * n as f64 + 60.0);
    open(&mut out, id, title, w, h);
    let max = counts.iter().flatten().copied().max().unwrap_or(1).max(1) as f64;
    for (r, row) in counts.iter().enumerate() {
        for (c, &v) in row.iter().enumerate() {
            let t = v as f64 / max;
            let (x, y) = (x0 + cell * c as f64, y0 + cell * r as f64);
            let fill = format!(
                "rgb({},{},{})",
                (247.0 - t * 200.0) as u8,
                (251.0 - t * 170.0) as u8,
                (255.0 - t * 120.0) as u8
            );
            let _ = write!(
                out,
                r#"<rect class="cell" x="{x:.1}" y="{y:.1}" width="{cell:.1}" height="{cell:.1}" fill="{fill}" stroke="white"><title>true {} predicted {}: {v}</title></rect><text x="{:.1}" y="{:.1}" text-anchor="middle" dominant-baseline="middle" class="tick" fill="{}">{v}</text>"#,
                esc(&labels[r]),
                esc(&labels[c]),
                x + cell / 2.0,
                y + cell / 2.0,
                if t > 0.6 { "white" } else { "black" }
            );
        }
    }
    for (i, l) in labels.iter().enumerate() {
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end" dominant-baseline="middle" class="tick">{}</text><text x="{:.1}" y="{:.1}" text-anchor="middle" class="tick">{}</text>"#,
            x0 - 6.0,
            y0 + cell * (i as f64 + 0.5),
            esc(l),
            x0 + cell * (i as f64 + 0.5),
            y0 + cell * n as f64 + 16.0,
            esc(l)
        );
    }
    let _ = write!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" class="label">predicted</text><text transform="translate(16 {:.1}) rotate(-90)" text-anchor="middle" class="label">true</text>"#,
        x0 + cell * n as f64 / 2.0,
        y0 + cell * n as f64 + 40.0,
        y0 + cell * n as f64 / 2.0
    );
    close(&mut out, title);
    out
}
