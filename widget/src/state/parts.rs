//! The photo and documents: each part's results, problems (its files' and the pair's) and state,
//! what keeps the documents from being ready, and the files to upload.

use std::rc::Rc;

use intake_rules::report::{Problem, Severity};
use intake_rules::submission::Part;

use super::{PartState, Slot, State};
use crate::checked::{ImageResult, pair_problems};

impl State {
    /// The checked results of a part.
    pub fn results(&self, part: Part) -> Vec<Rc<ImageResult>> {
        self.parts
            .get(&part)
            .map(|slots| {
                slots
                    .iter()
                    .filter_map(|s| match s {
                        Slot::Done(r) => Some(Rc::clone(r)),
                        Slot::Checking { .. } => None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Problems between the two sides of the ID card or passport.
    pub fn pair_problems(&self, part: Part) -> Vec<Problem> {
        let pair = match part {
            Part::IdFront | Part::IdBack => (Part::IdFront, Part::IdBack),
            Part::PassportInfo | Part::PassportValidity => (Part::PassportInfo, Part::PassportValidity),
            _ => return Vec::new(),
        };
        match (self.results(pair.0).first(), self.results(pair.1).first()) {
            (Some(a), Some(b)) => pair_problems(a, b),
            _ => Vec::new(),
        }
    }

    /// Every problem of a part as it will be uploaded: each file's verdict, then pair problems.
    pub fn part_problems(&self, part: Part) -> Vec<Problem> {
        let mut out: Vec<Problem> = Vec::new();
        for r in self.results(part) {
            if r.output.is_none() {
                out.extend(r.before.problems().iter().cloned());
            } else {
                out.extend(r.verdict.problems().iter().cloned());
            }
        }
        // Both halves of a pair list the pair's problems; the second half owns them.
        if matches!(part, Part::IdBack | Part::PassportValidity) {
            out.extend(self.pair_problems(part));
        }
        out
    }

    /// The state of a part.
    pub fn part_state(&self, part: Part) -> PartState {
        let slots = self.parts.get(&part).map(Vec::as_slice).unwrap_or_default();
        if slots.is_empty() {
            return PartState::Empty;
        }
        if slots.iter().any(|s| matches!(s, Slot::Checking { .. })) {
            return PartState::Checking;
        }
        let problems = self.part_problems(part);
        let failed = self.results(part).iter().any(|r| r.output.is_none() || !r.verdict.passes());
        if failed || problems.iter().any(Problem::is_error) {
            PartState::Error
        } else if problems.iter().any(|p| p.severity == Severity::Warning) {
            PartState::Warning
        } else {
            PartState::Ok
        }
    }

    /// Why the photo and documents are not ready yet (empty when they are), zh / en.
    /// Parts not required by the current choices are not uploaded, so they never block.
    pub fn document_blockers(&self) -> Vec<(String, String)> {
        self.document_issues().into_iter().map(|(_, zh, en)| (zh, en)).collect()
    }

    /// [`State::document_blockers`] with the part each is about.
    pub fn document_issues(&self) -> Vec<(Part, String, String)> {
        let mut out = Vec::new();
        for req in self.requirements() {
            let (zh, en) = req.part.labels();
            let count = self.results(req.part).len();
            match self.part_state(req.part) {
                PartState::Checking => {
                    out.push((req.part, format!("{zh}正在检查"), format!("The {en} is being checked")));
                }
                PartState::Error => {
                    out.push((req.part, format!("{zh}不符合要求"), format!("The {en} does not meet the rules")));
                }
                PartState::Warning if !self.acks.contains(&req.part) => {
                    out.push((req.part, format!("请确认{zh}的提示"), format!("Acknowledge the warnings on the {en}")));
                }
                _ if count < req.min => out.push((req.part, format!("请上传{zh}"), format!("Upload the {en}"))),
                _ => {}
            }
        }
        out
    }

    /// The files to upload, in part order (only the parts the requirements allow).
    pub fn upload_files(&self) -> Vec<(Part, Rc<ImageResult>)> {
        let mut out = Vec::new();
        for req in self.requirements() {
            for r in self.results(req.part).into_iter().take(req.max) {
                if r.output.is_some() {
                    out.push((req.part, r));
                }
            }
        }
        out
    }
}
