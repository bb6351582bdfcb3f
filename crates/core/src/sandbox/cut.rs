//! [`CutAnswers`]: the conformance suite's [`AnswerCutter`] over a sandbox's faults.

use crate::conformance::{AnswerCutter, WritePath};

use super::{FaultPlan, SandboxControls};

/// An [`AnswerCutter`] over a running sandbox: cutting a write path sets a fault plan
/// that truncates every answer of that path's requests *after* the vendor handler ran
/// (so the write took effect), and leaves every other request whole; restoring puts
/// back the plan that was in force before.
///
/// Each path is named by the HTTP method and path prefix of its requests, as the
/// vendor's API has them:
///
/// ```no_run
/// use grantbridge_core::conformance::WritePath;
/// use grantbridge_core::sandbox::{CutAnswers, SandboxControls};
///
/// fn cutter(controls: SandboxControls) -> CutAnswers {
///     CutAnswers::new(controls)
///         .path(WritePath::Grant, "PUT", "/v1/admin/profiles/")
///         .path(WritePath::Revoke, "DELETE", "/v1/admin/profiles/")
/// }
/// ```
#[derive(Clone)]
pub struct CutAnswers {
    controls: SandboxControls,
    paths: Vec<(WritePath, &'static str, &'static str)>,
    saved: std::sync::Arc<std::sync::Mutex<Option<FaultPlan>>>,
}

impl std::fmt::Debug for CutAnswers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CutAnswers")
            .field("paths", &self.paths)
            .finish_non_exhaustive()
    }
}

impl CutAnswers {
    /// A cutter over `controls` that knows no path yet.
    pub fn new(controls: SandboxControls) -> Self {
        Self {
            controls,
            paths: Vec::new(),
            saved: Default::default(),
        }
    }

    /// Names the requests of `path`: HTTP `method` and raw path `prefix`. A path named
    /// more than once keeps the last.
    pub fn path(mut self, path: WritePath, method: &'static str, prefix: &'static str) -> Self {
        self.paths.retain(|(p, _, _)| *p != path);
        self.paths.push((path, method, prefix));
        self
    }
}

impl AnswerCutter for CutAnswers {
    /// # Panics
    ///
    /// When `path` was never named with [`CutAnswers::path`]: a test that cuts a path
    /// it did not describe would check nothing.
    fn cut(&self, path: WritePath) {
        let Some(&(_, method, prefix)) = self.paths.iter().find(|(p, _, _)| *p == path) else {
            panic!("CutAnswers: no requests named for {path:?}");
        };
        let mut saved = self.saved.lock().unwrap_or_else(|p| p.into_inner());
        saved.get_or_insert_with(|| self.controls.faults());
        self.controls.set_faults(
            FaultPlan::none()
                .with_truncated(1.0)
                .with_method(method)
                .with_path_prefix(prefix),
        );
    }

    fn restore(&self) {
        let mut saved = self.saved.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(plan) = saved.take() {
            self.controls.set_faults(plan);
        }
    }
}
