//! The words a storyboard's summary line is built from, in the languages it has: class
//! names with their plurals, and the fixed phrases around them. A fixed template over
//! counted facts, so the line says nothing the analyzers did not find.

/// The languages the summary template has (ISO 639-1).
pub const TEMPLATE_LANGUAGES: &[&str] = &["en", "de"];

/// COCO's classes as detectors name them: English singular and plural, German singular
/// and plural.
const CLASSES: &[(&str, &str, &str, &str)] = &[
    ("person", "people", "Person", "Personen"),
    ("bicycle", "bicycles", "Fahrrad", "Fahrräder"),
    ("car", "cars", "Auto", "Autos"),
    ("motorcycle", "motorcycles", "Motorrad", "Motorräder"),
    ("airplane", "airplanes", "Flugzeug", "Flugzeuge"),
    ("bus", "buses", "Bus", "Busse"),
    ("train", "trains", "Zug", "Züge"),
    ("truck", "trucks", "Lastwagen", "Lastwagen"),
    ("boat", "boats", "Boot", "Boote"),
    ("traffic light", "traffic lights", "Ampel", "Ampeln"),
    ("fire hydrant", "fire hydrants", "Hydrant", "Hydranten"),
    ("stop sign", "stop signs", "Stoppschild", "Stoppschilder"),
    ("parking meter", "parking meters", "Parkuhr", "Parkuhren"),
    ("bench", "benches", "Bank", "Bänke"),
    ("bird", "birds", "Vogel", "Vögel"),
    ("cat", "cats", "Katze", "Katzen"),
    ("dog", "dogs", "Hund", "Hunde"),
    ("horse", "horses", "Pferd", "Pferde"),
    ("sheep", "sheep", "Schaf", "Schafe"),
    ("cow", "cows", "Kuh", "Kühe"),
    ("elephant", "elephants", "Elefant", "Elefanten"),
    ("bear", "bears", "Bär", "Bären"),
    ("zebra", "zebras", "Zebra", "Zebras"),
    ("giraffe", "giraffes", "Giraffe", "Giraffen"),
    ("backpack", "backpacks", "Rucksack", "Rucksäcke"),
    ("umbrella", "umbrellas", "Regenschirm", "Regenschirme"),
    ("handbag", "handbags", "Handtasche", "Handtaschen"),
    ("tie", "ties", "Krawatte", "Krawatten"),
    ("suitcase", "suitcases", "Koffer", "Koffer"),
    ("frisbee", "frisbees", "Frisbee", "Frisbees"),
    ("skis", "pairs of skis", "Paar Ski", "Paar Ski"),
    ("snowboard", "snowboards", "Snowboard", "Snowboards"),
    ("sports ball", "balls", "Ball", "Bälle"),
    ("kite", "kites", "Drachen", "Drachen"),
    (
        "baseball bat",
        "baseball bats",
        "Baseballschläger",
        "Baseballschläger",
    ),
    (
        "baseball glove",
        "baseball gloves",
        "Baseballhandschuh",
        "Baseballhandschuhe",
    ),
    ("skateboard", "skateboards", "Skateboard", "Skateboards"),
    ("surfboard", "surfboards", "Surfbrett", "Surfbretter"),
    (
        "tennis racket",
        "tennis rackets",
        "Tennisschläger",
        "Tennisschläger",
    ),
    ("bottle", "bottles", "Flasche", "Flaschen"),
    ("wine glass", "wine glasses", "Weinglas", "Weingläser"),
    ("cup", "cups", "Tasse", "Tassen"),
    ("fork", "forks", "Gabel", "Gabeln"),
    ("knife", "knives", "Messer", "Messer"),
    ("spoon", "spoons", "Löffel", "Löffel"),
    ("bowl", "bowls", "Schüssel", "Schüsseln"),
    ("banana", "bananas", "Banane", "Bananen"),
    ("apple", "apples", "Apfel", "Äpfel"),
    ("sandwich", "sandwiches", "Sandwich", "Sandwiches"),
    ("orange", "oranges", "Orange", "Orangen"),
    ("broccoli", "heads of broccoli", "Brokkoli", "Brokkoli"),
    ("carrot", "carrots", "Karotte", "Karotten"),
    ("hot dog", "hot dogs", "Hotdog", "Hotdogs"),
    ("pizza", "pizzas", "Pizza", "Pizzen"),
    ("donut", "donuts", "Donut", "Donuts"),
    ("cake", "cakes", "Kuchen", "Kuchen"),
    ("chair", "chairs", "Stuhl", "Stühle"),
    ("couch", "couches", "Sofa", "Sofas"),
    (
        "potted plant",
        "potted plants",
        "Topfpflanze",
        "Topfpflanzen",
    ),
    ("bed", "beds", "Bett", "Betten"),
    ("dining table", "dining tables", "Esstisch", "Esstische"),
    ("toilet", "toilets", "Toilette", "Toiletten"),
    ("tv", "TVs", "Fernseher", "Fernseher"),
    ("laptop", "laptops", "Laptop", "Laptops"),
    ("mouse", "mice", "Maus", "Mäuse"),
    ("remote", "remotes", "Fernbedienung", "Fernbedienungen"),
    ("keyboard", "keyboards", "Tastatur", "Tastaturen"),
    ("cell phone", "cell phones", "Handy", "Handys"),
    ("microwave", "microwaves", "Mikrowelle", "Mikrowellen"),
    ("oven", "ovens", "Ofen", "Öfen"),
    ("toaster", "toasters", "Toaster", "Toaster"),
    ("sink", "sinks", "Spüle", "Spülen"),
    (
        "refrigerator",
        "refrigerators",
        "Kühlschrank",
        "Kühlschränke",
    ),
    ("book", "books", "Buch", "Bücher"),
    ("clock", "clocks", "Uhr", "Uhren"),
    ("vase", "vases", "Vase", "Vasen"),
    ("scissors", "pairs of scissors", "Schere", "Scheren"),
    ("teddy bear", "teddy bears", "Teddybär", "Teddybären"),
    ("hair drier", "hair driers", "Föhn", "Föhne"),
    ("toothbrush", "toothbrushes", "Zahnbürste", "Zahnbürsten"),
];

/// The template language for a spoken-language code: German for `de`, English otherwise.
pub fn template_language(code: Option<&str>) -> &'static str {
    match code {
        Some(c) if c.eq_ignore_ascii_case("de") => "de",
        _ => "en",
    }
}

/// "1 person", "3 people", "2 Fahrräder"; a class outside the table keeps its own name
/// ("2 × FACE_FEMALE").
pub fn count_phrase(class: &str, n: usize, language: &str) -> String {
    let german = language == "de";
    match CLASSES.iter().find(|c| c.0 == class) {
        Some(&(en, en_pl, de, de_pl)) => {
            let word = match (german, n == 1) {
                (false, true) => en,
                (false, false) => en_pl,
                (true, true) => de,
                (true, false) => de_pl,
            };
            format!("{n} {word}")
        }
        None => format!("{n} × {class}"),
    }
}

/// The on-screen text part: `text 'Sale 50%'`, `Text „Sale 50%“`, with "+N more" beyond two.
pub fn text_phrase(lines: &[&str], language: &str) -> Option<String> {
    const SHOWN: usize = 2;
    const LONGEST: usize = 40;
    if lines.is_empty() {
        return None;
    }
    let shorten = |s: &str| {
        let s = s.trim();
        match s.char_indices().nth(LONGEST) {
            Some((at, _)) => format!("{}…", &s[..at]),
            None => s.to_owned(),
        }
    };
    let quoted: Vec<String> = lines
        .iter()
        .take(SHOWN)
        .map(|l| match language {
            "de" => format!("„{}“", shorten(l)),
            _ => format!("'{}'", shorten(l)),
        })
        .collect();
    let more = lines.len().saturating_sub(SHOWN);
    let (word, more_word) = match language {
        "de" => ("Text", "weitere"),
        _ => ("text", "more"),
    };
    let tail = if more > 0 {
        format!(" (+{more} {more_word})")
    } else {
        String::new()
    };
    Some(format!("{word} {}{tail}", quoted.join(", ")))
}

/// The speech part: "42 words at 168 wpm", "42 Wörter, 168 pro Minute"; one word has no rate.
pub fn speech_phrase(words: usize, per_minute: Option<f64>, language: &str) -> Option<String> {
    if words == 0 {
        return None;
    }
    let german = language == "de";
    let noun = match (german, words == 1) {
        (false, true) => "word",
        (false, false) => "words",
        (true, true) => "Wort",
        (true, false) => "Wörter",
    };
    Some(match per_minute {
        Some(rate) if german => format!("{words} {noun}, {rate:.0} pro Minute"),
        Some(rate) => format!("{words} {noun} at {rate:.0} wpm"),
        None => format!("{words} {noun}"),
    })
}

/// What a scene with nothing found says.
pub fn nothing(language: &str) -> &'static str {
    match language {
        "de" => "nichts erkannt",
        _ => "nothing detected",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_take_the_plural_each_language_has() {
        assert_eq!(count_phrase("person", 1, "en"), "1 person");
        assert_eq!(count_phrase("person", 3, "en"), "3 people");
        assert_eq!(count_phrase("bicycle", 2, "de"), "2 Fahrräder");
        assert_eq!(count_phrase("knife", 2, "en"), "2 knives");
        assert_eq!(count_phrase("FACE_FEMALE", 2, "de"), "2 × FACE_FEMALE");
    }

    #[test]
    fn every_coco_class_has_words() {
        for (_, name) in crate::analyze::ssd_convert::COCO {
            assert!(CLASSES.iter().any(|c| c.0 == name), "{name}");
        }
    }

    #[test]
    fn text_and_speech_phrases_read_as_sentences() {
        assert_eq!(text_phrase(&["Sale 50%"], "en").unwrap(), "text 'Sale 50%'");
        assert_eq!(
            text_phrase(&["a", "b", "c"], "de").unwrap(),
            "Text „a“, „b“ (+1 weitere)"
        );
        let long = "x".repeat(60);
        assert!(text_phrase(&[&long], "en").unwrap().ends_with("…'"));
        assert_eq!(
            speech_phrase(42, Some(168.4), "en").unwrap(),
            "42 words at 168 wpm"
        );
        assert_eq!(speech_phrase(1, None, "de").unwrap(), "1 Wort");
        assert_eq!(speech_phrase(0, None, "en"), None);
        assert_eq!(template_language(Some("DE")), "de");
        assert_eq!(template_language(Some("fr")), "en");
    }
}
