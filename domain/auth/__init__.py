"""Authentication, a bounded context of its own beside the action lifecycle.

Who may sign in and how sign-ins are counted: user records and their salted slow
hashes (`users`, `passwords`), the lockout rule (`lockout`), the audit events of
sign-ins (`events`) and the ports its stores implement (`ports`). Pure like the rest of
the domain, and independent of the lifecycle: it shares only the domain's kernel
(`errors`, `events`, `principal`) and knows no bdb, action or rule (an import-linter
contract in pyproject.toml checks both directions). A signed-in user becomes a
`Principal`; from there the lifecycle's rules take over.
"""

from .events import AccountLocked, AccountUnlocked, AuthenticationEvent, LoginFailed, TokenIssued
from .lockout import (
    DEFAULT_ADDRESS_THROTTLE,
    DEFAULT_LOCKOUT,
    LockoutPolicy,
    LoginRecord,
    LoginSubject,
    SubjectKind,
    address_subject,
    user_subject,
)
from .passwords import hash_password, verify_password
from .ports import AsyncLoginAttempts, AsyncUserDirectory, LoginAttempts, UserDirectory
from .users import User

__all__ = [
    "DEFAULT_ADDRESS_THROTTLE",
    "DEFAULT_LOCKOUT",
    "AccountLocked",
    "AccountUnlocked",
    "AsyncLoginAttempts",
    "AsyncUserDirectory",
    "AuthenticationEvent",
    "LockoutPolicy",
    "LoginAttempts",
    "LoginFailed",
    "LoginRecord",
    "LoginSubject",
    "SubjectKind",
    "TokenIssued",
    "User",
    "UserDirectory",
    "address_subject",
    "hash_password",
    "user_subject",
    "verify_password",
]
