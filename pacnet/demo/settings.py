"""What ``pacnet demo`` is told: how many turns, how far apart, as whom, with which deadlines."""

from dataclasses import dataclass, field

from pacnet.client.timeouts import Timeouts


@dataclass(frozen=True, kw_only=True)
class DemoSettings:
    iterations: int = 50
    """Turns of the loop; each makes three or four calls."""
    interval: float = 0.1
    """Seconds between turns: a person's joystick, not a benchmark."""
    seed: int | None = None
    """Seed for the joystick (and the embedded server's board)."""
    user_id: str | None = None
    """The user to play as; a random seven-digit id by default, like the article's."""
    timeouts: Timeouts = field(default_factory=Timeouts)
