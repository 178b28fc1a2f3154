//! The per-run context handed to instructions, tools, guardrails and hooks.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use crate::usage::Usage;

/// What the runner keeps up to date on a run's context, shared by its clones.
#[derive(Default)]
struct RunShared {
    usage: Mutex<Usage>,
    /// The current agent and the turn number.
    position: Mutex<(Option<Arc<str>>, u32)>,
    /// Decisions recorded with [`RunContext::approve`] / [`RunContext::reject`],
    /// not yet taken by the loop.
    decisions: Mutex<Vec<ApprovalDecision>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A call waiting for a human's decision, as [`RunContext::approve`] and
/// [`RunContext::reject`] need it. The runner's `ToolApprovalItem`
/// implements it.
pub trait PendingApproval {
    /// The name the decision is recorded under (the tool's name; for a
    /// hosted MCP tool a name qualified with its server).
    fn approval_key(&self) -> Cow<'_, str>;
    /// The call's id.
    fn call_id(&self) -> &str;
}

/// A decision recorded on a [`RunContext`], which the loop applies at the
/// next approval gate (or stores in the run state).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApprovalDecision {
    /// The name the decision is recorded under ([`PendingApproval::approval_key`]).
    pub key: String,
    /// The call's id.
    pub call_id: String,
    /// Approved (`true`) or rejected.
    pub approve: bool,
    /// The message the model reads for a rejection.
    pub message: Option<String>,
    /// Whether the decision also covers later calls of the same tool.
    pub always: bool,
}

/// The context of one run: the user's context value plus what the run
/// knows about itself (usage so far, the current agent and turn) and
/// approvals recorded during the run.
///
/// Cheap to clone (two `Arc`s). The user context `C` is shared, not copied:
/// a [`RunSession`](https://docs.rs/agents-runner) bound to one user's context
/// hands the same value to every run. Mutate it through interior mutability
/// (a `Mutex` inside `C`), because tools of one turn run concurrently.
pub struct RunContext<C = ()> {
    context: Arc<C>,
    shared: Arc<RunShared>,
}

impl<C> Clone for RunContext<C> {
    fn clone(&self) -> Self {
        RunContext {
            context: Arc::clone(&self.context),
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<C: fmt::Debug> fmt::Debug for RunContext<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunContext")
            .field("context", &self.context)
            .field("usage", &self.usage())
            .field("agent", &self.agent_name())
            .field("turn", &self.turn())
            .finish()
    }
}

impl<C> RunContext<C> {
    /// A context with zero usage.
    pub fn new(context: C) -> Self {
        Self::from_arc(Arc::new(context))
    }

    /// A context sharing an existing user context value.
    pub fn from_arc(context: Arc<C>) -> Self {
        RunContext {
            context,
            shared: Arc::default(),
        }
    }

    /// The same user context with fresh usage (for a new run).
    pub fn fresh(&self) -> Self {
        Self::from_arc(Arc::clone(&self.context))
    }

    /// The user's context value.
    pub fn context(&self) -> &C {
        &self.context
    }

    /// The shared user context value.
    pub fn context_arc(&self) -> &Arc<C> {
        &self.context
    }

    /// A snapshot of the usage so far.
    pub fn usage(&self) -> Usage {
        lock(&self.shared.usage).clone()
    }

    /// Adds usage (model requests of this run, or of a nested run).
    pub fn add_usage(&self, f: impl FnOnce(&mut Usage)) {
        f(&mut lock(&self.shared.usage))
    }

    /// The name of the agent whose turn it is (`None` before the first turn).
    pub fn agent_name(&self) -> Option<Arc<str>> {
        lock(&self.shared.position).0.clone()
    }

    /// The current turn number: 1 during the first model call and its tools,
    /// 0 before it.
    pub fn turn(&self) -> u32 {
        lock(&self.shared.position).1
    }

    /// Records the current agent and turn. The runner calls this at the
    /// start of every turn.
    pub fn set_position(&self, agent: Arc<str>, turn: u32) {
        *lock(&self.shared.position) = (Some(agent), turn);
    }

    /// Approves a pending call (one of a run's interruptions), like
    /// `RunState::approve`; with `always`, later calls of the same tool too.
    /// The decision applies from the run's next approval gate (a turn
    /// resolving its calls, or the resumed run) and is kept in the run state.
    pub fn approve(&self, call: &impl PendingApproval, always: bool) {
        self.decide(call, true, None, always);
    }

    /// Rejects a pending call; the model reads `message` (or the default
    /// rejection message) as its output. See [`RunContext::approve`].
    pub fn reject(&self, call: &impl PendingApproval, message: Option<String>, always: bool) {
        self.decide(call, false, message, always);
    }

    fn decide(
        &self,
        call: &impl PendingApproval,
        approve: bool,
        message: Option<String>,
        always: bool,
    ) {
        lock(&self.shared.decisions).push(ApprovalDecision {
            key: call.approval_key().into_owned(),
            call_id: call.call_id().to_owned(),
            approve,
            message,
            always,
        });
    }

    /// Takes the decisions recorded since the last call, in order. The
    /// runner calls this to apply them.
    pub fn take_decisions(&self) -> Vec<ApprovalDecision> {
        std::mem::take(&mut *lock(&self.shared.decisions))
    }
}

impl<C: Default> Default for RunContext<C> {
    fn default() -> Self {
        Self::new(C::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Call(&'static str, &'static str);
    impl PendingApproval for Call {
        fn approval_key(&self) -> Cow<'_, str> {
            Cow::Borrowed(self.0)
        }
        fn call_id(&self) -> &str {
            self.1
        }
    }

    #[test]
    fn clones_share_position_usage_and_decisions_but_fresh_does_not() {
        let ctx = RunContext::new(());
        let clone = ctx.clone();
        assert_eq!((ctx.agent_name(), ctx.turn()), (None, 0));
        clone.set_position(Arc::from("triage"), 2);
        clone.add_usage(|u| u.requests += 1);
        assert_eq!(ctx.agent_name().as_deref(), Some("triage"));
        assert_eq!(ctx.turn(), 2);
        assert_eq!(ctx.usage().requests, 1);
        clone.approve(&Call("rm", "c1"), false);
        clone.reject(&Call("rm", "c2"), Some("no".into()), true);
        let taken = ctx.take_decisions();
        assert_eq!(taken.len(), 2);
        assert!(taken[0].approve && !taken[1].approve && taken[1].always);
        assert_eq!(taken[1].message.as_deref(), Some("no"));
        assert!(ctx.take_decisions().is_empty());
        let fresh = ctx.fresh();
        assert_eq!((fresh.turn(), fresh.usage().requests), (0, 0));
    }
}
