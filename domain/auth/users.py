"""Users as the stores keep them: an email, one management role, a password hash.

Authentication itself belongs to the adapters that speak a protocol; the domain owns
what a user record is and how its password is kept (`passwords`), so every store and
every adapter agree on both.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from bdbexport.domain.principal import Principal


class User(BaseModel):
    """A user; `password_hash` is an encoded salted slow hash, never a password."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    email: str = Field(min_length=3, max_length=254, pattern=r"^[^\s:@]+@[^\s:@]+$")
    role: str = Field(min_length=1, max_length=64)
    password_hash: str = Field(min_length=1, repr=False)

    @property
    def principal(self) -> Principal:
        return Principal(self.email, self.role)
