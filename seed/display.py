"""What a seed run shows: progress bars while it works, a table of counts when done."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from seed.dataset import SeedSummary


def progress_bars(console: Console | None, show: bool) -> Progress:
    """Bars on `console` (stderr by default); hidden unless `show`."""
    return Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=console or Console(stderr=True),
        disable=not show,
    )


def summary_table(summary: SeedSummary) -> Table:
    table = Table(title=f"Seeded in {summary.seconds:.1f} s", title_justify="left")
    table.add_column("entity")
    table.add_column("count", justify="right")
    for name, count in summary.counts.items():
        table.add_row(name, f"{count:,}")
    return table
