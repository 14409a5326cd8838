"""Staff accounts, roles and API tokens.

Passwords are kept only as salted hashes (werkzeug's scrypt); API tokens only
as their sha256. Users are the people who run the service, never respondents.

Must never: log a password or a token.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ..context import ServiceContext
from ..errors import Conflict, InvalidInput, NotFound
from ..store.models import ROLES, ApiToken, User, UserRole, utcnow

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,79}$")
MIN_PASSWORD = 10
TOKEN_PREFIX = "fst_"


@dataclass(frozen=True)
class UserInfo:
    id: int
    name: str
    roles: frozenset[str]
    active: bool
    must_change_password: bool = False

    def has(self, *roles: str) -> bool:
        """True when the user holds any of ``roles`` (administrators hold them all)."""
        return "administrator" in self.roles or any(r in self.roles for r in roles)


def _info(user: User) -> UserInfo:
    return UserInfo(user.id, user.name, frozenset(user.role_names), user.active, bool(user.must_change_password))


def check_roles(roles: list[str] | tuple[str, ...]) -> list[str]:
    if not roles:
        raise InvalidInput(f"Give a user at least one role: {', '.join(ROLES)}.")
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise InvalidInput(
            f"{', '.join(repr(r) for r in unknown)} is not a role; the roles are {', '.join(ROLES)}."
        )
    return sorted(set(roles))


def check_password(password: str) -> str:
    """A password long enough and not one of the 20,000 most common (``data/common-passwords``)."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"A password needs at least {MIN_PASSWORD} characters.")
    if password.lower().strip() in _common_passwords():
        raise InvalidInput("That password is one of the most common ones, tried first by anyone guessing: "
                           "choose another.")
    return password


@cache
def _common_passwords() -> frozenset[str]:
    raw = resources.files("forms_service").joinpath("data", "common-passwords.txt.gz").read_bytes()
    return frozenset(line.strip().lower() for line in gzip.decompress(raw).decode("utf-8").splitlines())


def add_user(ctx: ServiceContext, name: str, roles: list[str], password: str) -> UserInfo:
    if not NAME_RE.match(name):
        raise InvalidInput(
            "A user name has 2 to 80 letters, digits, '.', '_', '@' or '-', starting with a letter or digit."
        )
    roles = check_roles(roles)
    check_password(password)
    with ctx.db.session() as s:
        if s.scalar(select(User).where(User.name == name)) is not None:
            raise Conflict(f"There is already a user called {name!r}.")
        user = User(name=name, password_hash=generate_password_hash(password))
        user.roles = [UserRole(role=r) for r in roles]
        s.add(user)
        s.flush()
        return _info(user)


def list_users(ctx: ServiceContext) -> list[UserInfo]:
    with ctx.db.session() as s:
        return [_info(u) for u in s.scalars(select(User).order_by(User.name))]


def get_user(ctx: ServiceContext, user_id: int) -> UserInfo | None:
    with ctx.db.session() as s:
        user = s.get(User, user_id)
        return _info(user) if user is not None and user.active else None


def _by_name(s: Session, name: str) -> User:
    user = s.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFound(f"There is no user called {name!r}; 'forms-service user list' shows them.")
    return user


def authenticate(ctx: ServiceContext, name: str, password: str) -> UserInfo | None:
    with ctx.db.session() as s:
        user = s.scalar(select(User).where(User.name == name))
        if user is None or not user.active:
            # spend the same time as a real check, so names cannot be probed by timing
            check_password_hash(_DUMMY_HASH, password)
            return None
        if not check_password_hash(user.password_hash, password):
            return None
        return _info(user)


def set_password(ctx: ServiceContext, name: str, password: str, *, generated: bool = False) -> None:
    """A new password; ``generated`` (made up for them) must be replaced at the next sign-in."""
    check_password(password)
    with ctx.db.session() as s:
        user = _by_name(s, name)
        user.password_hash = generate_password_hash(password)
        user.must_change_password = generated


def set_roles(ctx: ServiceContext, name: str, roles: list[str]) -> UserInfo:
    roles = check_roles(roles)
    with ctx.db.session() as s:
        user = _by_name(s, name)
        if "administrator" not in roles and "administrator" in user.role_names:
            others = s.scalars(
                select(UserRole).where(UserRole.role == "administrator", UserRole.user_id != user.id)
            ).first()
            if others is None:
                raise Conflict("This is the only administrator; give another user that role first.")
        user.roles = [UserRole(role=r) for r in roles]
        s.flush()
        return _info(user)


def set_active(ctx: ServiceContext, name: str, active: bool) -> None:
    """Disable (or enable again) an account: a disabled one cannot sign in or use its tokens."""
    with ctx.db.session() as s:
        user = _by_name(s, name)
        if not active and "administrator" in user.role_names:
            others = s.scalars(select(User).join(UserRole).where(
                UserRole.role == "administrator", User.id != user.id, User.active.is_(True))).first()
            if others is None:
                raise Conflict("This is the only active administrator; give another user that role first.")
        user.active = active


def create_token(ctx: ServiceContext, name: str) -> str:
    """Make a new API token for user ``name`` and return it (shown once, never stored)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with ctx.db.session() as s:
        user = _by_name(s, name)
        s.add(ApiToken(user_id=user.id, token_sha256=_sha(token)))
    return token


@dataclass(frozen=True)
class TokenInfo:
    id: int
    user: str
    created_at: datetime
    last_used_at: datetime | None
    revoked: bool


def list_tokens(ctx: ServiceContext) -> list[TokenInfo]:
    """Every API token (never its value: only a hash is kept), oldest first."""
    with ctx.db.session() as s:
        return [TokenInfo(t.id, t.user.name, t.created_at, t.last_used_at, t.revoked)
                for t in s.scalars(select(ApiToken).order_by(ApiToken.id))]


def revoke_token(ctx: ServiceContext, token_id: int) -> TokenInfo:
    """Stop a token working at once (kept in the list as revoked)."""
    with ctx.db.session() as s:
        row = s.get(ApiToken, token_id)
        if row is None:
            raise NotFound(f"There is no API token {token_id}; 'forms-service token list' shows them.")
        row.revoked = True
        return TokenInfo(row.id, row.user.name, row.created_at, row.last_used_at, True)


def user_for_token(ctx: ServiceContext, token: str) -> UserInfo | None:
    with ctx.db.session() as s:
        row = s.scalar(select(ApiToken).where(ApiToken.token_sha256 == _sha(token)))
        if row is None or row.revoked or not row.user.active:
            return None
        row.last_used_at = utcnow()
        return _info(row.user)


def ensure_administrator(ctx: ServiceContext, name: str = "admin") -> str | None:
    """Make sure an administrator exists; if one had to be made, return its password."""
    with ctx.db.session() as s:
        if s.scalars(select(UserRole).where(UserRole.role == "administrator")).first() is not None:
            return None
    password = secrets.token_urlsafe(12)
    add_user(ctx, name, ["administrator"], password)
    set_password(ctx, name, password, generated=True)  # to be replaced at the first sign-in
    return password


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_DUMMY_HASH = generate_password_hash("not-a-real-password")
