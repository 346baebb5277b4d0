//! Analyzer building blocks on 2 cores: Silero VAD over 60 s of audio, its streaming and its
//! sequence export, with 1 and 2 ONNX Runtime threads, and whisper tiny.en on one packed 29 s window. Needs the models
//! (`stackscope models install --all`); speech is espeak-ng's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use stackscope::Job;
use stackscope::analyze::vad::SileroVad;
use stackscope::analyze::whisper::Transcriber;
use stackscope::analyze::{self, ModelStore, Runtime, RuntimeSettings};

/// About 60 s of espeak-ng speech at 16 kHz (a paragraph spoken twice).
fn speech(dir: &std::path::Path) -> Vec<f32> {
    let wav = dir.join("speech.wav");
    let text = "Researchers open image stacks, look at them, analyse them and export them as \
                video. The weather is nice today and the sun is shining. Please open the \
                window before you leave the room. We measured the signal every second for ten \
                minutes. My brother bought a new car last week.";
    let ok = std::process::Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "150", "-w"])
        .arg(&wav)
        .arg(format!("{text} {text} {text}"))
        .status()
        .expect("espeak-ng is needed");
    assert!(ok.success());
    let mut audio = analyze::load_speech_audio(&wav, &Job::new()).unwrap();
    audio.resize(60 * 16_000, 0.0);
    audio
}

fn bench(c: &mut Criterion) {
    let store = ModelStore::default();
    let dir = tempfile::tempdir().unwrap();
    let audio = speech(dir.path());
    let mut group = c.benchmark_group("analyze");
    group.sample_size(10);
    for (export, file) in [
        ("streaming", analyze::models::VAD_STREAMING_FILE),
        ("sequence", analyze::models::VAD_SEQUENCE_FILE),
    ] {
        let vad_model = store
            .require("silero-vad", file)
            .expect("run `stackscope models install --all` first");
        for threads in [1, 2] {
            let settings = RuntimeSettings {
                threads,
                ..RuntimeSettings::default()
            };
            let rt = Runtime::get(&settings, &store).unwrap();
            let (session, _) = rt.session(&vad_model, &settings).unwrap();
            let mut vad = SileroVad::new(session).unwrap();
            group.bench_function(format!("vad_{export}_60s_{threads}_thread"), |b| {
                b.iter(|| vad.probabilities(&audio, &Job::new()).unwrap())
            });
        }
    }

    let window = &audio[..29 * 16_000];
    for (name, file) in analyze::WHISPER_MODELS {
        let model = store
            .require(name, file)
            .expect("run `stackscope models install --all` first");
        let whisper = Transcriber::open(&model, analyze::whisper::default_threads()).unwrap();
        group.bench_function(format!("{name}_29s_window"), |b| {
            b.iter(|| whisper.transcribe(window, true, "en", &Job::new()).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
