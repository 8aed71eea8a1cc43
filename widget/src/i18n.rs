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
