# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backoff delays between retries: exponential or linear, capped, with optional full jitter."""

from __future__ import annotations

import random

STRATEGIES = ("exponential", "linear")


def delay_ms(
    attempt: int,
    strategy: str = "exponential",
    initial_ms: int = 1000,
    max_ms: int = 30000,
    jitter: bool = False,
    rng: random.Random | None = None,
) -> int:
    """Delay before retry number ``attempt`` (1-based).

    exponential: initial * 2^(attempt-1); linear: initial * attempt; both capped at ``max_ms``.
    Full jitter draws uniformly from [0, capped delay] so that concurrent retriers spread out.
    """
    if attempt < 1:
        raise ValueError("attempt must be >= 1")
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown backoff strategy {strategy!r}")
    if initial_ms < 0 or max_ms < 0:
        raise ValueError("delays must be >= 0")
    # Cap the exponent first: 2**attempt for a large attempt count would be a huge integer.
    factor = 2 ** min(attempt - 1, 62) if strategy == "exponential" else attempt
    capped = min(initial_ms * factor, max_ms)
    if jitter:
        return int((rng or random).uniform(0, capped))
    return int(capped)
