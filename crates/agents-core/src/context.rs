//! The per-run context handed to instructions, tools, guardrails and hooks.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use crate::usage::Usage;

/// The context of one run: the user's context value plus the run's usage.
///
/// Cheap to clone (two `Arc`s). The user context `C` is shared, not copied:
/// a [`RunSession`](https://docs.rs/agents-runner) bound to one user's context
/// hands the same value to every run. Mutate it through interior mutability
/// (a `Mutex` inside `C`), because tools of one turn run concurrently.
pub struct RunContext<C = ()> {
    context: Arc<C>,
    usage: Arc<Mutex<Usage>>,
}

impl<C> Clone for RunContext<C> {
    fn clone(&self) -> Self {
        RunContext {
            context: Arc::clone(&self.context),
            usage: Arc::clone(&self.usage),
        }
    }
}

impl<C: fmt::Debug> fmt::Debug for RunContext<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunContext")
            .field("context", &self.context)
            .field("usage", &self.usage())
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
            usage: Arc::new(Mutex::new(Usage::default())),
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
        self.usage
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Adds usage (model requests of this run, or of a nested run).
    pub fn add_usage(&self, f: impl FnOnce(&mut Usage)) {
        f(&mut self.usage.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl<C: Default> Default for RunContext<C> {
    fn default() -> Self {
        Self::new(C::default())
    }
}
