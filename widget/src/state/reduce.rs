//! The reducer: [`State::apply`], one match over [`Action`].

use intake_rules::form::{Section, fields};

use super::{Action, Load, PartState, Slot, State, Step, Upload, prefill, set_field};

impl State {
    /// Applies one action.
    pub fn apply(&mut self, action: Action) {
        let from = self.step;
        self.apply_step(action);
        if self.step != from {
            self.summary = 0;
        }
    }

    fn apply_step(&mut self, action: Action) {
        if matches!(
            action,
            Action::SetLang(_)
                | Action::Field(..)
                | Action::Touch(_)
                | Action::Next
                | Action::Back
                | Action::Goto(_)
                | Action::Checked(..)
                | Action::Remove(..)
                | Action::Ack(..)
                | Action::Submitted(_)
                | Action::Restore(..)
                | Action::Navigate(_)
                | Action::AuthRequired
        ) {
            self.revision += 1;
        }
        match action {
            Action::SetLang(lang) => self.lang = lang,
            Action::Loaded(session) => {
                self.raw = prefill(&session.me, session.archive.as_ref(), session.today);
                let earlier = session
                    .submissions
                    .iter()
                    .find(|v| v.status != intake_rules::wire::SubmissionStatus::NeedsAttention)
                    .cloned();
                if let Some(v) = earlier.filter(|_| !session.config.features.modification_open) {
                    self.already_submitted = true;
                    self.receipt = Some(v);
                    self.step = Step::Receipt;
                } else {
                    self.step = Step::Identity;
                }
                self.load = Load::Ready(session);
                self.say("已加载", "Loaded");
            }
            Action::LoadFailed(f) => self.load = Load::Failed(f),
            Action::Reload => self.load = Load::Loading,
            Action::Field(name, value) => {
                if name == "working_years" && self.working_years_locked() {
                    return;
                }
                // The identity is iXiamen's (FAQ 4): shown read-only, never set from the page.
                if fields::field(&name).is_some_and(|f| f.section == Section::Identity) {
                    return;
                }
                set_field(&mut self.raw, &name, &value);
                self.touched.insert(name);
                self.bundle_changed();
            }
            Action::Touch(name) => {
                self.touched.insert(name);
            }
            Action::Next => match self.step {
                Step::Form if self.form_check().is_err() => {
                    self.show_all = true;
                    self.stuck();
                }
                Step::Documents if !self.document_blockers().is_empty() => self.stuck(),
                Step::Review => {}
                step => self.step = step.next(),
            },
            Action::Back => {
                if self.step != Step::Receipt {
                    self.step = self.step.prev();
                }
            }
            Action::Goto(step) => {
                if step < self.step && self.step != Step::Receipt {
                    self.step = step;
                }
            }
            Action::Checking(part, index, file_name) => {
                let slots = self.parts.entry(part).or_default();
                let slot = Slot::Checking { file_name: file_name.clone() };
                if index < slots.len() {
                    slots[index] = slot;
                } else {
                    slots.push(slot);
                }
                self.acks.remove(&part);
                self.bundle_changed();
                self.say(format!("正在检查 {file_name}"), format!("Checking {file_name}"));
            }
            Action::Checked(part, index, result) => {
                if let Some(slot) = self.parts.get_mut(&part).and_then(|s| s.get_mut(index)) {
                    // Ignore a late result for a slot that was replaced since.
                    if matches!(slot, Slot::Checking { file_name } if *file_name == result.file_name) {
                        *slot = Slot::Done(result);
                    }
                }
                let (zh, en) = part.labels();
                let (szh, sen) = match self.part_state(part) {
                    PartState::Ok => ("检查通过", "passed the checks"),
                    PartState::Warning => ("通过，但有提示需要确认", "passed with warnings to acknowledge"),
                    PartState::Error => ("未通过检查", "did not pass the checks"),
                    _ => ("", ""),
                };
                self.say(format!("{zh}{szh}"), format!("The {en} {sen}"));
            }
            Action::Remove(part, index) => {
                if let Some(slots) = self.parts.get_mut(&part)
                    && index < slots.len()
                {
                    slots.remove(index);
                }
                self.acks.remove(&part);
                self.bundle_changed();
            }
            Action::Ack(part, yes) => {
                if yes {
                    self.acks.insert(part);
                } else {
                    self.acks.remove(&part);
                }
            }
            Action::Submit(fresh) => {
                if !self.blockers().is_empty() || matches!(self.upload, Upload::Sending { .. }) {
                    return;
                }
                if self.key.is_none() {
                    self.key = Some(fresh);
                }
                self.upload = Upload::Sending { progress: 0.0, attempt: 1 };
                self.say("正在提交", "Submitting");
            }
            Action::Progress(attempt, progress) => {
                if matches!(self.upload, Upload::Sending { .. } | Upload::Waiting { .. }) {
                    self.upload = Upload::Sending { progress: progress.clamp(0.0, 1.0), attempt };
                }
            }
            Action::Waiting(attempt, seconds) => {
                self.upload = Upload::Waiting { attempt, seconds };
                self.say(
                    format!("网络中断，{seconds} 秒后自动重试（不会重复提交）"),
                    format!("Network lost; retrying in {seconds} s (it will not be submitted twice)"),
                );
            }
            Action::Failed(f) => {
                self.upload = Upload::Failed(f);
                self.say("提交失败", "Submission failed");
            }
            Action::Submitted(v) => {
                self.upload = Upload::Idle;
                self.receipt = Some(v);
                self.step = Step::Receipt;
                self.say("提交成功", "Submitted");
            }
            Action::Status(v) => {
                if self.receipt.as_ref().is_some_and(|r| r.id == v.id) {
                    self.receipt = Some(v);
                }
            }
            Action::Restore(person, restored) => {
                self.person = (!person.is_empty()).then_some(person);
                if let Some(r) = restored {
                    self.restore(&r);
                }
                self.draft_ready = true;
            }
            Action::DraftSaved(status) => self.draft_status = status,
            Action::AuthRequired => {
                self.auth_required = true;
                if self.uploading() || matches!(self.upload, Upload::Failed(_)) {
                    self.upload = Upload::Idle;
                }
                self.say(
                    "登录已过期，请重新登录；已填写的内容已保存",
                    "Your sign-in has expired: sign in again; your work is saved",
                );
            }
            Action::Resume { same } => {
                if !self.auth_required {
                    return;
                }
                if same && self.session().is_some() {
                    self.auth_required = false;
                    self.say("已重新登录，可以继续", "Signed in again: carry on");
                } else {
                    *self = State::new(self.lang);
                }
            }
            Action::Navigate(step) => {
                if self.step == Step::Receipt || self.session().is_none() {
                    return;
                }
                if step < self.step {
                    self.step = step;
                }
                // Forward (the browser's forward button): only as far as "next" would go.
                while self.step < step {
                    let before = self.step;
                    self.apply(Action::Next);
                    if self.step == before {
                        break;
                    }
                }
            }
        }
    }
}
