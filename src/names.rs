//! Choices a user picks by name (a colormap, a reduction, a blend device…): one spelling in
//! the CLI, JSON, the window and the docs, with `-` and `_` both accepted.

/// An enum whose values have user-facing names.
pub trait Named: Copy + PartialEq + Sized + 'static {
    /// Every value, in the order menus list them.
    const VALUES: &'static [Self];

    fn name(self) -> &'static str;

    /// The value named `s` (any case, `-` or `_`).
    fn from_name(s: &str) -> Option<Self> {
        let wanted = s.trim().to_ascii_lowercase().replace('-', "_");
        Self::VALUES.iter().copied().find(|v| v.name() == wanted)
    }

    /// "a, b or c", for messages.
    fn choices() -> String {
        let names: Vec<&str> = Self::VALUES.iter().map(|v| v.name()).collect();
        match names.split_last() {
            Some((last, [])) => (*last).to_string(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        }
    }
}

/// `Display` and `FromStr` through [`Named`], for the enums that implement it.
macro_rules! named_display_from_str {
    ($($t:ty),*) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str($crate::names::Named::name(*self))
            }
        }

        impl std::str::FromStr for $t {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, String> {
                <$t as $crate::names::Named>::from_name(s).ok_or_else(|| {
                    format!(
                        "'{s}' is not one of {}",
                        <$t as $crate::names::Named>::choices()
                    )
                })
            }
        }
    )*};
}

named_display_from_str!(
    crate::ops::ReduceOp,
    crate::load::Scaling,
    crate::audio::Style,
    crate::display::Colormap,
    crate::interp::BlendDevice
);

impl Named for crate::ops::ReduceOp {
    const VALUES: &'static [Self] = &[
        Self::Mean,
        Self::Sum,
        Self::Max,
        Self::Min,
        Self::Std,
        Self::Median,
    ];

    fn name(self) -> &'static str {
        crate::ops::ReduceOp::name(self)
    }
}

impl Named for crate::load::Scaling {
    const VALUES: &'static [Self] = &[Self::MinMax, Self::FullRange];

    fn name(self) -> &'static str {
        match self {
            Self::MinMax => "min_max",
            Self::FullRange => "full_range",
        }
    }
}

impl Named for crate::audio::Style {
    const VALUES: &'static [Self] = &Self::ALL;

    fn name(self) -> &'static str {
        crate::audio::Style::name(self)
    }
}

impl Named for crate::display::Colormap {
    const VALUES: &'static [Self] = &Self::ALL;

    fn name(self) -> &'static str {
        crate::display::Colormap::name(self)
    }
}

impl Named for crate::interp::BlendDevice {
    const VALUES: &'static [Self] = &[Self::Auto, Self::Gpu, Self::Cpu];

    fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Gpu => "gpu",
            Self::Cpu => "cpu",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::Scaling;
    use crate::ops::ReduceOp;

    #[test]
    fn names_round_trip_and_take_either_separator() {
        for &op in ReduceOp::VALUES {
            assert_eq!(op.to_string().parse::<ReduceOp>().unwrap(), op);
        }
        assert_eq!("full-range".parse::<Scaling>().unwrap(), Scaling::FullRange);
        assert_eq!("MIN_MAX".parse::<Scaling>().unwrap(), Scaling::MinMax);
        let e = "average".parse::<ReduceOp>().unwrap_err();
        assert!(e.contains("std or median"), "{e}");
        // The names are the JSON spellings.
        assert_eq!(
            serde_json::to_value(Scaling::FullRange).unwrap(),
            serde_json::json!(Scaling::FullRange.to_string())
        );
    }
}
