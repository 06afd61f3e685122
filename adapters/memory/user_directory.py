"""A `UserDirectory` in a dict."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator

from bdbexport.domain.auth.users import User
from bdbexport.domain.errors import UserAlreadyExistsError


class InMemoryUserDirectory:
    def __init__(self, users: Iterable[User] = ()) -> None:
        self._by_email: dict[str, User] = {}
        self._lock = threading.Lock()
        for user in users:
            self.add(user)

    def get(self, email: str) -> User | None:
        return self._by_email.get(email)

    def add(self, user: User) -> None:
        with self._lock:
            if user.email in self._by_email:
                raise UserAlreadyExistsError(user.email)
            self._by_email[user.email] = user

    def replace(self, user: User) -> bool:
        with self._lock:
            if user.email not in self._by_email:
                return False
            self._by_email[user.email] = user
            return True

    def list(self) -> Iterator[User]:
        return iter(sorted(self._by_email.values(), key=lambda user: user.email))
