"""How results look in a terminal: one coloured line per call, and the outcome table."""

from rich.table import Table
from rich.text import Text

from pacnet.client.remote import CallResult
from pacnet.client.tally import OutcomeTally
from pacnet.protocol.actions import ARTICLE_CALLS
from pacnet.protocol.models import OkReply
from pacnet.protocol.outcome import Outcome


def outcome_text(outcome: Outcome) -> Text:
    """The outcome's name in its colour."""
    return Text(outcome.value, style=f"bold {outcome.colour}")


def call_line(iteration: int, result: CallResult[OkReply], detail: str = "") -> Text:
    """``  3  move     SUCCESS      0.6 ms  (7, 7)``: one line per remote call."""
    line = Text(f"{iteration:>4}  {result.action:<8} ")
    line.append(f"{result.outcome.value:<12}", style=f"bold {result.outcome.colour}")
    line.append(f"{result.latency * 1000:>8.1f} ms  ")
    if result.ok:
        line.append(detail)
    else:
        code = f"{result.code.value}: " if result.code else ""
        step = f" [step {result.step}]" if result.step else ""
        line.append(f"{code}{result.message}{step}", style="dim")
    return line


def outcome_table(tally: OutcomeTally, title: str = "calls by outcome") -> Table:
    """The four article calls by the five outcomes."""
    table = Table(title=title, title_justify="left")
    table.add_column("call")
    for outcome in Outcome:
        table.add_column(outcome_text(outcome), justify="right")
    table.add_column("total", justify="right")
    for action, row in zip(ARTICLE_CALLS, tally.grid(ARTICLE_CALLS), strict=True):
        cells = [
            Text(str(n), style=outcome.colour if n else "dim")
            for n, outcome in zip(row, Outcome, strict=True)
        ]
        table.add_row(action, *cells, str(sum(row)))
    return table
