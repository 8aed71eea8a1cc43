//! Languages. Every string the widget shows is written as a zh-CN / English
//! pair at the place it is used (`lang.pick("下一步", "Next")`), so English is
//! complete by construction; rules' problems carry both texts themselves.

use intake_rules::report::Text;

/// The widget's language: zh-CN by default, English on request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// 简体中文 (default).
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// Parses `zh-CN`, `zh`, `en`, `en-US`…; anything else is zh-CN.
    pub fn parse(s: &str) -> Lang {
        if s.trim().to_ascii_lowercase().starts_with("en") { Lang::En } else { Lang::Zh }
    }

    /// The BCP 47 tag for `lang` attributes.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The other language (the switch).
    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    /// Picks one of a zh-CN / English pair.
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    /// Picks from a `(zh, en)` tuple, as rules' `labels()` return them.
    pub fn pair<'a>(self, labels: (&'a str, &'a str)) -> &'a str {
        self.pick(labels.0, labels.1)
    }

    /// Picks from a rules [`Text`].
    pub fn text(self, t: &Text) -> &str {
        self.pick(&t.zh, &t.en)
    }
}

/// Where the person's language choice is kept across reloads (the page's `localStorage`).
const LANG_KEY: &str = "intake.lang";

/// The language the person chose last on this device, if the browser keeps it.
pub fn stored() -> Option<Lang> {
    let storage = web_sys::window()?.local_storage().ok()??;
    storage.get_item(LANG_KEY).ok()?.map(|s| Lang::parse(&s))
}

/// Keeps the person's choice for the next visit (silently nothing where storage is refused).
pub fn store(lang: Lang) {
    if let Some(s) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = s.set_item(LANG_KEY, lang.tag());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tags_and_defaults_to_chinese() {
        assert_eq!(Lang::parse("en-US"), Lang::En);
        assert_eq!(Lang::parse("EN"), Lang::En);
        assert_eq!(Lang::parse("zh-CN"), Lang::Zh);
        assert_eq!(Lang::parse(""), Lang::Zh);
        assert_eq!(Lang::parse("fr"), Lang::Zh);
        assert_eq!(Lang::default().tag(), "zh-CN");
        assert_eq!(Lang::En.other(), Lang::Zh);
        assert_eq!(Lang::En.pick("是", "yes"), "yes");
    }
}
