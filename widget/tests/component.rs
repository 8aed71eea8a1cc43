//! The mounted widget in headless Chromium's main thread (wasm-bindgen-test):
//! `mount` renders into an open shadow root with its own styles, explains an
//! unreachable server with a stable code in both languages, and switches language.
#![cfg(target_arch = "wasm32")]

use js_sys::{Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;
use web_sys::{HtmlElement, ShadowRoot};

wasm_bindgen_test_configure!(run_in_browser);

async fn until(root: &ShadowRoot, selector: &str) -> web_sys::Element {
    for _ in 0..200 {
        if let Some(e) = root.query_selector(selector).expect("selector") {
            return e;
        }
        intake_widget::sleep_ms(50).await;
    }
    panic!("{selector} never appeared");
}

#[wasm_bindgen_test]
async fn mount_renders_in_a_shadow_root_and_explains_an_unreachable_server() {
    let document = web_sys::window().unwrap().document().unwrap();
    let host = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&host).unwrap();
    let options = Object::new();
    // Port 9 (discard) is closed on 127.0.0.1: every call fails at the network level.
    Reflect::set(&options, &"apiBase".into(), &"http://127.0.0.1:9".into()).unwrap();
    Reflect::set(&options, &"token".into(), &"not-used".into()).unwrap();
    intake_widget::mount(host.clone(), JsValue::from(options)).expect("mount");

    let root = host.shadow_root().expect("an open shadow root");
    let step = until(&root, "[data-step='error']").await;
    assert!(step.text_content().unwrap().contains("无法加载"), "zh-CN by default");
    let problem = root.query_selector("li[data-code='network.unavailable']").unwrap().expect("the stable code");
    assert!(problem.text_content().unwrap().contains("网络"));
    assert!(root.query_selector("[data-action='retry']").unwrap().is_some(), "a way forward");

    // The widget's styles live in its shadow root only.
    let style = root.query_selector("style").unwrap().expect("styles in the shadow root");
    assert!(style.text_content().unwrap().contains(".ix-root"));
    let styles = document.query_selector_all("style").unwrap();
    for i in 0..styles.length() {
        let text = styles.item(i).unwrap().text_content().unwrap_or_default();
        assert!(!text.contains(".ix-root"), "no widget style leaks into the document");
    }

    // The language switch.
    root.query_selector("[data-action='lang']").unwrap().unwrap().dyn_into::<HtmlElement>().unwrap().click();
    for _ in 0..100 {
        if step_text(&root).contains("Could not load") {
            break;
        }
        intake_widget::sleep_ms(50).await;
    }
    assert!(step_text(&root).contains("Could not load"), "{}", step_text(&root));
    assert!(step_text(&root).contains("network connection was lost"), "{}", step_text(&root));
    host.remove();
}

fn step_text(root: &ShadowRoot) -> String {
    root.query_selector("[data-step='error']")
        .unwrap()
        .map(|e| e.text_content().unwrap_or_default())
        .unwrap_or_default()
}
