"""Plain-text tables for benchmark output: first column left-aligned, the rest right-aligned."""
import math
from typing import Optional, Sequence


def format_number(value: Optional[float], digits: int = 3) -> str:
    """A fixed-point number, or 'n/a' for None/NaN (a method that cannot run on this data)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    for row in cells:
        if len(row) != len(headers):
            raise ValueError(f"table row {row} has {len(row)} cells; the header has {len(headers)}")
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row):
        parts = [row[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(row[1:], widths[1:])]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(cells[0]), rule] + [line(row) for row in cells[1:]])


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]], title: str = "") -> None:
    if title:
        print(title)
    print(format_table(headers, rows))
    print()
