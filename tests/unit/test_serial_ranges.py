"""Registry serials compress into ranges: consecutive serials of one batch are one printed line."""

from __future__ import annotations

import random

from services.certificates.certificate_text import SerialRange, compress_serials, serial_ranges


def serials(prefix: str, numbers, width: int = 7) -> list[str]:
    return [f"{prefix}{str(number).zfill(width)}" for number in numbers]


def test_consecutive_serials_are_one_range():
    assert compress_serials(serials("FFCER-2024-", range(1, 52))) == ["FFCER-2024-0000001–0000051"]


def test_a_gap_starts_a_new_range():
    numbers = [*range(1, 11), *range(12, 21), 40]
    assert compress_serials(serials("FFCER-2024-", numbers)) == [
        "FFCER-2024-0000001–0000010",
        "FFCER-2024-0000012–0000020",
        "FFCER-2024-0000040",
    ]


def test_a_single_serial_is_printed_alone():
    assert compress_serials(["FFCER-2024-0000007"]) == ["FFCER-2024-0000007"]
    assert compress_serials([]) == []


def test_different_prefixes_never_join_even_with_consecutive_numbers():
    lines = compress_serials([*serials("FFCER-2024-", [1, 2]), *serials("CCER-2024-", [3, 4])])
    assert lines == ["CCER-2024-0000003–0000004", "FFCER-2024-0000001–0000002"]


def test_different_widths_are_different_serials():
    assert compress_serials(["FJ-9", "FJ-10", "FJ-011"]) == ["FJ-9–10", "FJ-011"]


def test_the_order_given_does_not_matter():
    given = serials("FFCER-2024-", [*range(100, 200), *range(1, 50)])
    shuffled = given[:]
    random.Random(3).shuffle(shuffled)
    expected = ["FFCER-2024-0000001–0000049", "FFCER-2024-0000100–0000199"]
    assert compress_serials(given) == compress_serials(shuffled) == expected


def test_numbers_order_numerically_not_as_text():
    assert compress_serials(["X-9", "X-10", "X-12"]) == ["X-9–10", "X-12"]


def test_the_same_serial_twice_is_one_serial_with_its_grams_added():
    (only,) = serial_ranges([(1, "FJ-0001", 300), (1, "FJ-0001", 200), (1, "FJ-0002", 1_000_000)])
    assert only == SerialRange(1, "FJ-", "0001", "0002", 2, 1_000_500)
    assert only.text == "FJ-0001–0002"


def test_serials_of_different_groups_stay_apart():
    ranges = serial_ranges([(1, "FJ-0001", 1), (2, "FJ-0002", 1), (1, "FJ-0003", 1)])
    assert [(r.group, r.text) for r in ranges] == [(1, "FJ-0001"), (2, "FJ-0002"), (1, "FJ-0003")]


def test_a_serial_without_a_number_stands_alone():
    assert compress_serials(["BATCH-A", "BATCH-B", "BATCH-A"]) == ["BATCH-A", "BATCH-B"]


def test_thousands_of_slices_with_gaps_compress_to_their_runs():
    numbers = [n for n in range(1, 5_001) if n % 1_000]  # every thousandth missing
    lines = compress_serials(serials("FFCER-2024-", numbers))
    assert lines == [
        "FFCER-2024-0000001–0000999",
        "FFCER-2024-0001001–0001999",
        "FFCER-2024-0002001–0002999",
        "FFCER-2024-0003001–0003999",
        "FFCER-2024-0004001–0004999",
    ]
