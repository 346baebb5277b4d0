//! The storyboard as one HTML page that needs nothing else: thumbnails are data URIs, the
//! style is inline, and there is no script at all (a Content-Security-Policy forbids any),
//! so it opens offline, can be mailed, and cannot run what a transcript or an on-screen
//! line happened to contain. Every text from a clip is escaped.

use std::fmt::Write;

use super::storyboard::{SceneRecord, records, spoken_language};
use super::{AnalysisResult, AnalyzeError};

const STYLE: &str = "\
body{font:15px/1.45 system-ui,sans-serif;margin:0;background:#f4f4f2;color:#1d1d1b}\
header{padding:18px 24px 8px;background:#fff;border-bottom:1px solid #ddd}\
h1{font-size:21px;margin:0 0 8px}\
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0;font-size:13px}\
dt{color:#666}dd{margin:0}dd ul{margin:0;padding-left:18px}\
nav.strip{display:flex;gap:2px;height:30px;margin:12px 24px;position:sticky;top:0}\
nav.strip a{display:block;min-width:4px;color:#fff;text-decoration:none;font-size:12px;\
line-height:30px;text-align:center;overflow:hidden;border-radius:3px;background:#3d6b8f}\
nav.strip a:nth-child(even){background:#8f5a3d}\
main{padding:0 24px 24px}\
section.card{display:flex;gap:16px;background:#fff;border:1px solid #ddd;border-radius:6px;\
padding:12px;margin:12px 0}\
section.card:target{outline:3px solid #3d6b8f}\
section.card img,section.card .noimg{width:320px;max-width:40vw;flex:none;border-radius:4px;\
align-self:flex-start}\
.noimg{height:180px;background:#ccc}\
h2{font-size:17px;margin:0 0 4px}h2 .span{font-weight:normal;color:#666;font-size:14px}\
h3{font-size:13px;margin:10px 0 2px;color:#555;text-transform:uppercase;letter-spacing:.04em}\
p.summary{font-size:16px;margin:2px 0 6px}\
ul.facts{margin:0;padding-left:18px}p{margin:2px 0}.meta{color:#666;font-size:13px}\
footer{color:#888;font-size:12px;padding:0 24px 24px}";

/// The page for the storyboard among `results`; the others give its header (the models, the
/// time each analyzer took).
pub fn html(results: &[AnalysisResult]) -> Result<String, AnalyzeError> {
    let board = results
        .iter()
        .find(|r| r.analyzer == "storyboard")
        .ok_or_else(|| {
            AnalyzeError::Storyboard(
                "there is no storyboard among these results to write a report of; run the \
                 storyboard analyzer"
                    .into(),
            )
        })?;
    let scenes = records(board);
    let name = board.source.file_name().map_or_else(
        || board.source.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let language = board
        .summary
        .get("summary_language")
        .and_then(|l| l.as_str())
        .unwrap_or("en");
    let mut page = String::with_capacity(4096 + 60_000 * scenes.len());
    let w = &mut page;
    // Writing to a String cannot fail.
    let _ = write!(
        w,
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         img-src data:; style-src 'unsafe-inline'\">\
         <title>Storyboard: {}</title><style>{STYLE}</style></head>\n<body>\n",
        escape(language),
        escape(&name)
    );
    header(w, board, results, &name, scenes.len());
    strip(w, &scenes, board.duration);
    w.push_str("<main>\n");
    for record in &scenes {
        card(w, record);
    }
    let _ = write!(
        w,
        "</main>\n<footer>stackscope {}: one card per scene; the summaries are built from \
         the analyzers' findings by a fixed template.</footer>\n</body></html>\n",
        env!("CARGO_PKG_VERSION")
    );
    Ok(page)
}

fn header(
    w: &mut String,
    board: &AnalysisResult,
    results: &[AnalysisResult],
    name: &str,
    scenes: usize,
) {
    let s = &board.summary;
    let _ = write!(
        w,
        "<header><h1>Storyboard: {}</h1><dl class=\"facts\">\
         <dt>File</dt><dd>{}</dd><dt>Duration</dt><dd>{} ({:.1} s)</dd>",
        escape(name),
        escape(&board.source.display().to_string()),
        clock(board.duration),
        board.duration
    );
    if let (Some(width), Some(height)) = (
        s.get("width").and_then(|v| v.as_u64()),
        s.get("height").and_then(|v| v.as_u64()),
    ) {
        let fps = s
            .get("fps")
            .and_then(|v| v.as_f64())
            .map_or(String::new(), |f| format!(" at {f} fps"));
        let _ = write!(w, "<dt>Frames</dt><dd>{width} × {height}{fps}</dd>");
    }
    let _ = write!(w, "<dt>Scenes</dt><dd>{scenes}</dd>");
    if let Some(code) = spoken_language(results) {
        let _ = write!(w, "<dt>Spoken language</dt><dd>{}</dd>", escape(&code));
    }
    let ran: Vec<String> = results
        .iter()
        .map(|r| format!("{} ({:.1} s)", escape(&r.analyzer), r.elapsed))
        .collect();
    let _ = write!(w, "<dt>Analyzers</dt><dd>{}</dd>", ran.join(", "));
    // An analyzer with two networks of one model (OCR's detector and recognizer) lists it
    // once.
    let mut models: Vec<String> = Vec::new();
    for m in results.iter().flat_map(|r| &r.models) {
        let line = format!("<li>{} on {}</li>", escape(&m.name), escape(&m.runtime));
        if !models.contains(&line) {
            models.push(line);
        }
    }
    if !models.is_empty() {
        let _ = write!(w, "<dt>Models</dt><dd><ul>{}</ul></dd>", models.concat());
    }
    w.push_str("</dl></header>\n");
}

/// The clip as a bar of scenes, each as wide as it is long, each a link to its card.
fn strip(w: &mut String, scenes: &[SceneRecord], duration: f64) {
    w.push_str("<nav class=\"strip\" aria-label=\"scenes over time\">");
    let total = duration.max(1e-9);
    for r in scenes {
        let _ = write!(
            w,
            "<a href=\"#scene-{n}\" style=\"flex-grow:{:.4}\" title=\"Scene {n}, {}–{}: {}\">{n}</a>",
            (r.duration / total).max(0.0),
            clock(r.start),
            clock(r.end),
            escape(&r.summary),
            n = r.scene
        );
    }
    w.push_str("</nav>\n");
}

fn card(w: &mut String, r: &SceneRecord) {
    let _ = write!(w, "<section class=\"card\" id=\"scene-{}\">", r.scene);
    match (&r.thumbnail, &r.frame) {
        (Some(uri), Some(frame)) if uri.starts_with("data:image/jpeg;base64,") => {
            let _ = write!(
                w,
                "<img src=\"{}\" alt=\"scene {} at {} (frame {})\">",
                escape(uri),
                r.scene,
                clock(frame.time),
                frame.index
            );
        }
        _ => w.push_str("<div class=\"noimg\"></div>"),
    }
    let _ = write!(
        w,
        "<div class=\"body\"><h2>Scene {} <span class=\"span\">{} – {} ({:.1} s)</span></h2>\
         <p class=\"summary\">{}</p>",
        r.scene,
        clock(r.start),
        clock(r.end),
        r.duration,
        escape(&r.summary)
    );
    if !r.objects.is_empty() {
        w.push_str("<h3>Objects</h3><ul class=\"facts\">");
        for o in &r.objects {
            let _ = write!(
                w,
                "<li>{}: {} – {}, in {:.0}% of the scene's sampled frames</li>",
                escape(&o.label),
                clock(o.first),
                clock(o.last),
                o.coverage * 100.0
            );
        }
        w.push_str("</ul>");
    }
    if !r.text.is_empty() {
        w.push_str("<h3>On-screen text</h3><ul class=\"facts\">");
        for t in &r.text {
            let _ = write!(
                w,
                "<li>“{}” {} – {}</li>",
                escape(&t.text),
                clock(t.start),
                clock(t.end)
            );
        }
        w.push_str("</ul>");
    }
    if let Some(sp) = r.speech.as_ref().filter(|s| s.words > 0) {
        let rate = sp
            .words_per_minute
            .map_or(String::new(), |r| format!(", {r:.0} words per minute"));
        let _ = write!(
            w,
            "<h3>Speech</h3><p class=\"transcript\">{}</p><p class=\"meta\">{}{rate}, {} \
             ({:.1} s)</p>",
            escape(&sp.transcript),
            counted(sp.words, "word", "words"),
            counted(sp.pauses, "pause", "pauses"),
            sp.pause_seconds
        );
    }
    w.push_str("</div></section>\n");
}

/// "1 pause", "3 pauses".
fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Text as HTML shows it, in content and in quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Seconds as `m:ss.s` (`h:mm:ss.s` from an hour on).
pub fn clock(seconds: f64) -> String {
    let tenths = (seconds.max(0.0) * 10.0).round() as u64;
    let (h, rest) = (tenths / 36_000, tenths % 36_000);
    let (m, t) = (rest / 600, rest % 600);
    if h > 0 {
        format!("{h}:{m:02}:{:02}.{}", t / 10, t % 10)
    } else {
        format!("{m}:{:02}.{}", t / 10, t % 10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::Event;

    #[test]
    fn text_from_a_clip_cannot_become_markup() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"y\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;"
        );
        assert_eq!(clock(62.35), "1:02.4");
        assert_eq!(clock(3725.0), "1:02:05.0");
    }

    #[test]
    fn the_page_has_a_card_per_scene_and_no_script() {
        let record = |n: usize, summary: &str| {
            serde_json::json!({
                "scene": n, "start": (n - 1) as f64, "end": n as f64, "duration": 1.0,
                "first_frame": 0, "last_frame": 0, "frame": null, "objects": [],
                "object_counts": {}, "text": [], "speech": null, "summary": summary,
            })
        };
        let board = AnalysisResult {
            analyzer: "storyboard".into(),
            source: "<b>clip</b>.mp4".into(),
            duration: 2.0,
            models: vec![],
            settings: serde_json::Value::Null,
            summary: serde_json::Map::new(),
            events: vec![
                Event::new("scene", 0.0, 1.0, "a").with_payload(record(1, "a")),
                Event::new("scene", 1.0, 2.0, "b")
                    .with_payload(record(2, "text '<script>alert(1)</script>'")),
            ],
            series: vec![],
            elapsed: 0.0,
        };
        let page = html(&[board]).unwrap();
        assert_eq!(page.matches("<section class=\"card\"").count(), 2);
        assert!(!page.contains("<script"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("&lt;b&gt;clip&lt;/b&gt;.mp4"));
        assert!(html(&[]).is_err());
    }
}
