//! The Python side of the Postgres and Redis session interop tests
//! (`crates/agents/tests/python_shared_sessions.rs`): the dependencies of
//! the `sqlalchemy` and `redis` extras of the pinned `openai-agents`
//! (`openai-agents[sqlalchemy,redis]`), each pinned, installed into
//! `target/py-venv` next to `openai-agents` itself. `SQLAlchemySession`
//! reaches Postgres through asyncpg (and SQLAlchemy's asyncio support,
//! which needs greenlet); `RedisSession` uses redis-py.
//!
//! Under `CI=true` a missing venv or a failed install is a failure; outside
//! CI the interop tests skip with a note.

use crate::peer_pip::{pip_pinned, Pinned};

const PURPOSE: &str = "the Postgres and Redis session interop tests will skip";

/// The pinned packages, compatible with `openai-agents` 0.24.0's extras
/// (`sqlalchemy`: `sqlalchemy[asyncio]>=2.0`, `asyncpg>=0.29.0`; `redis`:
/// `redis>=7`).
pub(crate) const SESSION_EXTRAS: [Pinned; 4] = [
    Pinned {
        package: "SQLAlchemy",
        import: "sqlalchemy.ext.asyncio",
        version: "2.1.9",
        purpose: PURPOSE,
    },
    Pinned {
        package: "greenlet",
        import: "greenlet",
        version: "3.5.6",
        purpose: PURPOSE,
    },
    Pinned {
        package: "asyncpg",
        import: "asyncpg",
        version: "0.32.0",
        purpose: PURPOSE,
    },
    Pinned {
        package: "redis",
        import: "redis.asyncio",
        version: "8.1.0",
        purpose: PURPOSE,
    },
];

/// Installs [`SESSION_EXTRAS`] into `target/py-venv` (each skipped when its
/// pinned version is there already).
pub(crate) fn python_session_extras() -> Result<(), String> {
    for pin in &SESSION_EXTRAS {
        pip_pinned(pin)?;
    }
    Ok(())
}
