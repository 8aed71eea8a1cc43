//! The Intake collection widget: a Yew component compiled to WebAssembly.
//!
//! This crate is still the skeleton of the widget issue: it mounts a Yew
//! component that renders the active photo spec profile straight from
//! `intake-rules`, proving the one-rules-crate build for wasm32. The
//! collection flow, the image worker and the embed arrive with the widget issue.

use intake_rules::profile::{PhotoProfile, ProfileSet};
use wasm_bindgen::prelude::*;
use yew::prelude::*;

/// The photo requirements as the page shows them, zh-CN first.
pub fn profile_summary(p: &PhotoProfile) -> (String, String) {
    let kb = |b: usize| b / 1024;
    let colours_zh: Vec<&str> = p.backgrounds.iter().map(|b| b.name().0).collect();
    let colours_en: Vec<&str> = p.backgrounds.iter().map(|b| b.name().1).collect();
    (
        format!(
            "JPEG 格式，至少 {}×{} 像素（宽高比 {}:{}），文件大小 {}–{} KB，{}背景。",
            p.min_width,
            p.min_height,
            p.aspect_w,
            p.aspect_h,
            kb(p.min_bytes),
            kb(p.max_bytes),
            colours_zh.join("、")
        ),
        format!(
            "JPEG, at least {}×{} pixels (aspect {}:{}), {}–{} KB, {} background.",
            p.min_width,
            p.min_height,
            p.aspect_w,
            p.aspect_h,
            kb(p.min_bytes),
            kb(p.max_bytes),
            colours_en.join(" or ")
        ),
    )
}

/// The skeleton component: the active profile's requirements.
#[component]
pub fn App() -> Html {
    let profile = ProfileSet::embedded().default_profile();
    let (zh, en) = profile_summary(profile);
    html! {
        <section class="intake-collection" lang="zh-CN">
            <h2>{ "标准证件照要求" }</h2>
            <p>{ zh }</p>
            <p lang="en">{ en }</p>
        </section>
    }
}

/// Mounts the widget into `element`.
#[wasm_bindgen]
pub fn mount(element: web_sys::Element) {
    yew::Renderer::<App>::with_root(element).render();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_states_the_default_profile_numbers() {
        let (zh, en) = profile_summary(ProfileSet::embedded().default_profile());
        assert!(zh.contains("295×413") && zh.contains("10–200 KB") && zh.contains("白色"), "{zh}");
        assert!(en.contains("white background"), "{en}");
    }
}
