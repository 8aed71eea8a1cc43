//! Photo spec profiles (rules.md §7): data, not code. The embedded
//! `data/profiles.json` holds the Intake default and the reference profiles;
//! an operator may load another JSON document of the same shape.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::report::Text;

/// A background colour a profile allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Background {
    /// White (the default everywhere).
    White,
    /// ID-photo blue.
    Blue,
    /// ID-photo red.
    Red,
}

impl Background {
    /// The colour's name in both languages.
    pub fn name(self) -> (&'static str, &'static str) {
        match self {
            Background::White => ("白色", "white"),
            Background::Blue => ("蓝色", "blue"),
            Background::Red => ("红色", "red"),
        }
    }
}

/// Head geometry bounds, as fractions of the output picture.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HeadSpec {
    /// Smallest head width / picture width.
    pub width_min: f32,
    /// Largest head width / picture width.
    pub width_max: f32,
    /// What the automatic crop aims for.
    pub width_target: f32,
    /// Smallest gap above the head / picture height.
    pub top_min: f32,
    /// Largest gap above the head / picture height.
    pub top_max: f32,
    /// What the automatic crop aims for.
    pub top_target: f32,
    /// Largest horizontal offset of the head centre from the picture centre / picture width.
    pub centre_tolerance: f32,
}

/// One versioned photo spec profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhotoProfile {
    /// Stable identifier, e.g. `intake-default`.
    pub id: String,
    /// Bumped whenever a number changes.
    pub version: u32,
    /// Display name.
    pub name: Text,
    /// Where the numbers come from.
    pub source: String,
    /// Minimum width in pixels; smaller photos are refused, never enlarged.
    pub min_width: u32,
    /// Minimum height in pixels.
    pub min_height: u32,
    /// Maximum width as given, if any.
    pub max_width: Option<u32>,
    /// Maximum height as given, if any.
    pub max_height: Option<u32>,
    /// Aspect ratio numerator (width).
    pub aspect_w: u32,
    /// Aspect ratio denominator (height).
    pub aspect_h: u32,
    /// Relative tolerance on the aspect ratio.
    pub aspect_tolerance: f32,
    /// The fix's output width.
    pub target_width: u32,
    /// The fix's output height.
    pub target_height: u32,
    /// Smallest accepted file, bytes.
    pub min_bytes: usize,
    /// Largest accepted file, bytes.
    pub max_bytes: usize,
    /// Allowed background colours.
    pub backgrounds: Vec<Background>,
    /// Head geometry.
    pub head: HeadSpec,
}

impl PhotoProfile {
    /// The aspect ratio width / height.
    pub fn aspect(&self) -> f32 {
        self.aspect_w as f32 / self.aspect_h as f32
    }

    /// Checks the profile's own consistency; a broken profile is a configuration error.
    pub fn validate(&self) -> Result<(), String> {
        let fail = |what: &str| Err(format!("profile {}: {what}", self.id));
        if self.id.is_empty() {
            return fail("empty id");
        }
        if self.aspect_w == 0 || self.aspect_h == 0 || !(0.0..0.2).contains(&self.aspect_tolerance) {
            return fail("bad aspect");
        }
        if self.target_width < self.min_width || self.target_height < self.min_height {
            return fail("target smaller than the minimum");
        }
        if let (Some(w), Some(h)) = (self.max_width, self.max_height)
            && (w < self.target_width || h < self.target_height)
        {
            return fail("maximum smaller than the target");
        }
        let target_aspect = self.target_width as f32 / self.target_height as f32;
        if (target_aspect / self.aspect() - 1.0).abs() > self.aspect_tolerance {
            return fail("target pixels outside the aspect tolerance");
        }
        if self.min_bytes >= self.max_bytes {
            return fail("empty byte range");
        }
        if self.backgrounds.is_empty() {
            return fail("no background colour allowed");
        }
        let h = &self.head;
        if !(h.width_min <= h.width_target && h.width_target <= h.width_max && h.width_max <= 1.0) {
            return fail("head width bounds");
        }
        if !(h.top_min <= h.top_target && h.top_target <= h.top_max && h.top_max < 0.5) {
            return fail("head top bounds");
        }
        Ok(())
    }
}

/// A set of profiles with a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileSet {
    /// The id of the active profile.
    pub default: String,
    /// All profiles.
    pub profiles: Vec<PhotoProfile>,
}

impl ProfileSet {
    /// Parses and validates a profile document (the shape of `data/profiles.json`).
    pub fn from_json(json: &str) -> Result<ProfileSet, String> {
        let set: ProfileSet = serde_json::from_str(json).map_err(|e| format!("profiles: {e}"))?;
        for p in &set.profiles {
            p.validate()?;
        }
        if set.get(&set.default).is_none() {
            return Err(format!("profiles: default {:?} is not defined", set.default));
        }
        Ok(set)
    }

    /// The embedded profiles.
    pub fn embedded() -> &'static ProfileSet {
        static SET: OnceLock<ProfileSet> = OnceLock::new();
        SET.get_or_init(|| {
            ProfileSet::from_json(include_str!("../data/profiles.json")).expect("embedded profiles are valid (tested)")
        })
    }

    /// A profile by id.
    pub fn get(&self, id: &str) -> Option<&PhotoProfile> {
        self.profiles.iter().find(|p| p.id == id)
    }

    /// The default profile.
    pub fn default_profile(&self) -> &PhotoProfile {
        self.get(&self.default).unwrap_or(&self.profiles[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_profiles_are_valid_and_include_the_references() {
        let set = ProfileSet::embedded();
        assert_eq!(set.default_profile().id, "intake-default");
        for id in ["intake-default", "mof-exam", "ga461-id-photo"] {
            assert!(set.get(id).is_some(), "{id}");
        }
        let d = set.default_profile();
        assert_eq!((d.min_width, d.min_height, d.target_width, d.target_height), (295, 413, 295, 413));
        assert_eq!((d.min_bytes, d.max_bytes), (10 * 1024, 200 * 1024));
        assert_eq!(d.backgrounds, vec![Background::White]);
    }

    #[test]
    fn broken_profiles_are_refused() {
        let json = include_str!("../data/profiles.json");
        assert!(ProfileSet::from_json(&json.replacen("\"target_width\": 295", "\"target_width\": 200", 1)).is_err());
        assert!(
            ProfileSet::from_json(&json.replacen("\"default\": \"intake-default\"", "\"default\": \"x\"", 1)).is_err()
        );
        assert!(ProfileSet::from_json("{").is_err());
    }
}
