# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A deadline fixed when a wait starts: how every loop and wait of the collection stays bounded.

A loop takes its :class:`Deadline` once, before its first round, and asks it how much time is
left; nothing the loop sees afterwards (an event, a retry, a run that looked fine) moves it.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Deadline:
    """``seconds`` from now on ``clock`` (monotonic by default); never moved once made."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = max(0.0, float(seconds))
        self.clock = clock
        self.end = clock() + self.seconds

    @classmethod
    def at(cls, end: float, clock: Callable[[], float] = time.time) -> Deadline:
        """The deadline at ``end`` on ``clock`` (epoch seconds by default: a time the daemon gave)."""
        return cls(end - clock(), clock)

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.end - self.clock())

    def expired(self) -> bool:
        return self.clock() >= self.end

    def cap(self, seconds: float) -> float:
        """``seconds``, but no more than what is left: a wait inside the loop never outlasts it."""
        return max(0.0, min(seconds, self.remaining()))
