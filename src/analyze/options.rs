//! Every option the analyzers take, in one struct that the command line and the window both
//! fill in; [`AnalyzerOptions::settings`] turns it into one analyzer's settings. The same
//! choices therefore give the same settings (and results) from either.

use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::frames::{DuplicateSkip, Region, Sampling};
use super::objects::ObjectsSettings;
use super::ocr::TextOverlaySettings;
use super::scenes::ScenesSettings;
use super::storyboard::StoryboardSettings;
use super::{AnalyzeError, SpeechRateSettings, VadSettings};

/// The analyzers, by the one name used in the CLI, JSON, CSV, the window and the docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnalyzerName {
    Vad,
    SpeechRate,
    TextOverlay,
    Objects,
    Scenes,
    Storyboard,
}

impl AnalyzerName {
    pub const ALL: [Self; 6] = [
        Self::Vad,
        Self::SpeechRate,
        Self::TextOverlay,
        Self::Objects,
        Self::Scenes,
        Self::Storyboard,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Vad => "vad",
            Self::SpeechRate => "speech_rate",
            Self::TextOverlay => "text_overlay",
            Self::Objects => "objects",
            Self::Scenes => "scenes",
            Self::Storyboard => "storyboard",
        }
    }
}

impl std::fmt::Display for AnalyzerName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl crate::names::Named for AnalyzerName {
    const VALUES: &'static [Self] = &Self::ALL;

    fn name(self) -> &'static str {
        AnalyzerName::name(self)
    }
}

impl FromStr for AnalyzerName {
    type Err = AnalyzeError;

    /// The name with `_` or `-` (`speech_rate`, `speech-rate`), any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        <Self as crate::names::Named>::from_name(s).ok_or_else(|| {
            AnalyzeError::Settings(format!(
                "unknown analyzer `{s}`; there are: {}",
                Self::ALL.map(Self::name).join(", ")
            ))
        })
    }
}

/// The analyzers' options. Durations are in seconds unless the name says `_ms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AnalyzerOptions {
    /// Speech probability at which speech starts (VAD).
    pub vad_threshold: f32,
    pub min_speech_ms: u32,
    pub min_silence_ms: u32,
    pub pad_ms: u32,
    /// Longest speech segment before it is split (`None`: 28 s for speech_rate, unlimited
    /// for vad).
    pub max_speech_s: Option<f32>,
    /// A whisper.cpp ggml file or an installed whisper model's name (`None`: whisper-base).
    pub whisper_model: Option<PathBuf>,
    /// The spoken language (ISO 639-1) or `auto`.
    pub language: String,
    pub whisper_threads: usize,
    /// speech_rate: transcribe only the speech the VAD found.
    pub use_vad: bool,
    pub rate_window_s: f64,
    pub rate_step_s: f64,
    pub min_pause_ms: u32,

    /// Frames per second text_overlay and objects look at (0: every frame).
    pub sample_fps: f64,
    /// Frames per second scenes looks at (0: every frame).
    pub scene_fps: f64,
    pub start_s: f64,
    pub end_s: Option<f64>,
    /// Skip look-alike frames; `None`: each analyzer's default (text_overlay on, objects off).
    pub skip_duplicates: Option<bool>,
    pub duplicate_bits: u32,
    pub hash_region: Option<Region>,
    pub max_side: usize,
    pub min_text_confidence: f64,
    /// text_overlay's installed OCR model (`ppocr-v6`, `ppocr-v4`).
    pub ocr_model: String,
    /// A YOLO-format detector (`None`: the installed default).
    pub model: Option<PathBuf>,
    /// Detector input size, a multiple of 32 (0: the model's).
    pub input_size: usize,
    pub confidence: f64,
    pub iou: f64,
    /// Frames (objects) or text crops (text_overlay) per inference (0: sized to the provider).
    pub batch: usize,
    pub scene_threshold: f64,
    pub min_scene_s: f64,
    /// The storyboard's summary language: `auto` (the spoken one where it has it), `en`, `de`.
    pub summary_language: String,
}

impl Default for AnalyzerOptions {
    fn default() -> Self {
        let vad = VadSettings::default();
        let speech = SpeechRateSettings::default();
        let text = TextOverlaySettings::default();
        let objects = ObjectsSettings::default();
        let scenes = ScenesSettings::default();
        Self {
            vad_threshold: vad.threshold,
            min_speech_ms: vad.min_speech_ms,
            min_silence_ms: vad.min_silence_ms,
            pad_ms: vad.pad_ms,
            max_speech_s: None,
            whisper_model: None,
            language: speech.language,
            whisper_threads: speech.whisper_threads,
            use_vad: speech.use_vad,
            rate_window_s: speech.window_s,
            rate_step_s: speech.step_s,
            min_pause_ms: speech.min_pause_ms,
            sample_fps: Sampling::default().fps,
            scene_fps: scenes.sampling.fps,
            start_s: 0.0,
            end_s: None,
            skip_duplicates: None,
            duplicate_bits: text.duplicates.threshold,
            hash_region: None,
            max_side: text.max_side,
            min_text_confidence: text.min_confidence,
            ocr_model: text.model.clone(),
            model: None,
            input_size: objects.size,
            confidence: objects.confidence,
            iou: objects.iou,
            batch: 0,
            scene_threshold: scenes.threshold,
            min_scene_s: scenes.min_scene,
            summary_language: StoryboardSettings::default().language,
        }
    }
}

impl AnalyzerOptions {
    fn vad(&self, max_default: f32) -> VadSettings {
        VadSettings {
            threshold: self.vad_threshold,
            neg_threshold: None,
            min_speech_ms: self.min_speech_ms,
            min_silence_ms: self.min_silence_ms,
            pad_ms: self.pad_ms,
            max_speech_s: self.max_speech_s.unwrap_or(max_default),
        }
    }

    fn sampling(&self, fps: f64) -> Sampling {
        Sampling {
            fps,
            start: self.start_s,
            end: self.end_s,
        }
    }

    fn duplicates(&self, default_on: bool) -> DuplicateSkip {
        DuplicateSkip {
            enabled: self.skip_duplicates.unwrap_or(default_on),
            threshold: self.duplicate_bits,
            region: self.hash_region,
        }
    }

    /// The settings of analyzer `name`, as the JSON [`super::by_name`] takes.
    pub fn settings(&self, name: AnalyzerName) -> Result<serde_json::Value, AnalyzeError> {
        let value = match name {
            AnalyzerName::Vad => serde_json::to_value(self.vad(f32::MAX)),
            AnalyzerName::SpeechRate => serde_json::to_value(SpeechRateSettings {
                vad: self.vad(SpeechRateSettings::default().vad.max_speech_s),
                use_vad: self.use_vad,
                whisper_model: self.whisper_model.clone(),
                language: self.language.clone(),
                whisper_threads: self.whisper_threads,
                window_s: self.rate_window_s,
                step_s: self.rate_step_s,
                min_pause_ms: self.min_pause_ms,
            }),
            AnalyzerName::TextOverlay => serde_json::to_value(TextOverlaySettings {
                sampling: self.sampling(self.sample_fps),
                duplicates: self.duplicates(true),
                max_side: self.max_side,
                min_confidence: self.min_text_confidence,
                model: self.ocr_model.clone(),
                batch: self.batch,
                ..TextOverlaySettings::default()
            }),
            AnalyzerName::Objects => serde_json::to_value(ObjectsSettings {
                sampling: self.sampling(self.sample_fps),
                duplicates: self.duplicates(false),
                model: self.model.clone(),
                size: self.input_size,
                confidence: self.confidence,
                iou: self.iou,
                batch: self.batch,
            }),
            AnalyzerName::Scenes => serde_json::to_value(ScenesSettings {
                sampling: self.sampling(self.scene_fps),
                threshold: self.scene_threshold,
                min_scene: self.min_scene_s,
            }),
            AnalyzerName::Storyboard => serde_json::to_value(StoryboardSettings {
                language: self.summary_language.clone(),
                ..StoryboardSettings::default()
            }),
        };
        value.map_err(|e| AnalyzeError::Settings(format!("{name}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_take_either_separator_and_say_what_exists() {
        assert_eq!(
            "speech-rate".parse::<AnalyzerName>().unwrap(),
            AnalyzerName::SpeechRate
        );
        assert_eq!(
            "Text_Overlay".parse::<AnalyzerName>().unwrap(),
            AnalyzerName::TextOverlay
        );
        let e = "faces".parse::<AnalyzerName>().unwrap_err().to_string();
        assert!(e.contains("speech_rate") && e.contains("faces"), "{e}");
        assert_eq!(
            serde_json::to_value(AnalyzerName::TextOverlay).unwrap(),
            serde_json::json!("text_overlay")
        );
    }

    #[test]
    fn defaults_are_each_analyzers_own() {
        let o = AnalyzerOptions::default();
        let text: TextOverlaySettings =
            serde_json::from_value(o.settings(AnalyzerName::TextOverlay).unwrap()).unwrap();
        assert_eq!(text, TextOverlaySettings::default());
        let objects: ObjectsSettings =
            serde_json::from_value(o.settings(AnalyzerName::Objects).unwrap()).unwrap();
        assert_eq!(objects, ObjectsSettings::default());
        let scenes: ScenesSettings =
            serde_json::from_value(o.settings(AnalyzerName::Scenes).unwrap()).unwrap();
        assert_eq!(scenes, ScenesSettings::default());
        let speech: SpeechRateSettings =
            serde_json::from_value(o.settings(AnalyzerName::SpeechRate).unwrap()).unwrap();
        assert_eq!(speech, SpeechRateSettings::default());
    }

    #[test]
    fn sampling_and_duplicates_go_where_they_belong() {
        let o = AnalyzerOptions {
            sample_fps: 5.0,
            skip_duplicates: Some(false),
            input_size: 640,
            ..AnalyzerOptions::default()
        };
        let text = o.settings(AnalyzerName::TextOverlay).unwrap();
        assert_eq!(text["sampling"]["fps"], 5.0);
        assert_eq!(text["duplicates"]["enabled"], false);
        let objects = o.settings(AnalyzerName::Objects).unwrap();
        assert_eq!(objects["size"], 640);
        // Scenes keep looking at every frame.
        assert_eq!(
            o.settings(AnalyzerName::Scenes).unwrap()["sampling"]["fps"],
            0.0
        );
    }
}
