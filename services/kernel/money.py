"""Splitting an amount of money across lines: by largest remainder, so the parts add up exactly.

An order's amount is split across its lines by grams; a refund across the lines it repays, none
above what a line has left.
"""

from __future__ import annotations

from services.kernel.errors import Conflict


def split_amount(total_fen: int, weights: list[int]) -> list[int]:
    """Split `total_fen` in proportion to `weights` by largest remainder; the parts add up exactly."""
    whole = sum(weights)
    shares = [total_fen * w // whole for w in weights]
    remainders = sorted(range(len(weights)), key=lambda i: (total_fen * weights[i]) % whole, reverse=True)
    for i in remainders[: total_fen - sum(shares)]:
        shares[i] += 1
    return shares


def split_fen(total_fen: int, weights: list[int], caps: list[int]) -> list[int]:
    """Split `total_fen` by `weights` (largest remainder), none above its cap; the parts add up exactly."""
    if total_fen > sum(caps):
        raise Conflict(f"A refund of {total_fen} fen is more than the order's lines have left ({sum(caps)}).")
    if total_fen == 0:
        return [0] * len(caps)
    if not any(weights):
        weights = caps
    shares = [min(share, cap) for share, cap in zip(split_amount(total_fen, weights), caps, strict=True)]
    excess = total_fen - sum(shares)
    # Rounding may put a fen on a line that has none left: move it to the heaviest line with room.
    for i in sorted(range(len(caps)), key=lambda i: weights[i], reverse=True):
        if not excess:
            break
        room = min(excess, caps[i] - shares[i])
        shares[i] += room
        excess -= room
    return shares
