"""What the window knows of the board: the last snapshots it got, and where to draw each
piece between them. No pygame, no I/O: the network loop writes, the frame loop reads."""

from dataclasses import dataclass, field

from pacnet.client.predict import Prediction
from pacnet.protocol.models import Entity, JoinReply
from pacnet.protocol.outcome import Outcome

Point = tuple[float, float]


@dataclass(frozen=True)
class Snapshot:
    """Positions of the moving pieces at one moment (loop time, seconds)."""

    at: float
    pieces: dict[str, Entity]


MISSING_AFTER = 3.0
"""Seconds without a sight of our pac-man after which it is not coming back by itself: twice
the 1.5 s a caught pac-man stays off the board (docs/game.md)."""


@dataclass
class View:
    """The window's picture of the board, fed by the article loop."""

    width: int = 0
    height: int = 0
    me: str | None = None
    food: dict[str, Entity] = field(default_factory=dict)
    previous: Snapshot = field(default_factory=lambda: Snapshot(0.0, {}))
    latest: Snapshot = field(default_factory=lambda: Snapshot(0.0, {}))
    headings: dict[str, str] = field(default_factory=dict)
    """Where each moving piece last went, worked out from its moves (for mouths and eyes)."""
    level: int = 1
    last_lives: int | None = None
    """Our pac-man's lives when last seen on the board."""
    last_seen_at: float | None = None
    """Loop time of the last snapshot that showed our pac-man (None: never seen yet)."""
    rejoin: bool = False
    """Set by the player (Enter after a game over); the network loop joins again and clears it."""
    given_up_at: float | None = None
    """When a call found that the server had given up on us (USER_NOT_FOUND: our keepalive
    expired); the network loop joins again and clears it."""
    rejoins: int = 0
    """Times the loop joined again because the server had given up on us."""
    last_given_up: float | None = None
    """When the server last gave up on us (kept, so the window can say so for a while)."""
    maze: tuple[str, ...] = ()
    """The maze's rows from the join reply (``#`` wall, ``-`` door, space open)."""
    prediction: Prediction | None = None
    """Our own pac-man predicted between replies (None: drawn from the replies alone)."""

    @classmethod
    def joined(cls, reply: JoinReply, *, predict: bool = True) -> "View":
        """The view of a board just joined; ``predict``: predict our own pac-man (when the
        server says how fast it goes)."""
        view = cls(reply.width, reply.height, reply.name, maze=reply.maze)
        if predict and reply.tick_rate and reply.pacman_speed:
            view.prediction = Prediction(reply.maze, reply.tick_rate, reply.pacman_speed)
        return view

    def steered(self, seq: int, direction: str, now: float) -> None:
        """A numbered move is on its way: our pac-man turns at once if we predict it."""
        if self.prediction is not None:
            self.prediction.steer(seq, direction, now)

    def settled(self, seq: int, outcome: Outcome, clock: int | None = None) -> None:
        """The move numbered ``seq`` ended with ``outcome`` (its reply's ``clock``, if any)."""
        if self.prediction is not None:
            self.prediction.settled(seq, outcome, clock)

    def update(self, at: float, pieces: list[Entity], clock: int | None = None) -> None:
        """A new snapshot of the moving pieces arrived at loop time ``at`` (the board's
        ``clock`` then, if known: it places our predicted pac-man in time)."""
        current = {entity.name: entity for entity in pieces}
        for name, entity in current.items():
            before = self.latest.pieces.get(name)
            heading = entity.heading or (_heading(before, entity) if before else None)
            if heading is not None:
                self.headings[name] = heading
        self.previous, self.latest = self.latest, Snapshot(at, current)
        mine = self.mine()
        if mine is not None:
            self.last_seen_at = at
        if mine is not None and mine.lives is not None:
            self.last_lives = mine.lives
        if self.prediction is not None and clock is not None:
            self.prediction.reconcile(mine, clock, at)

    def mine(self) -> Entity | None:
        """Our own pac-man as last seen (None while it is off the board)."""
        return self.latest.pieces.get(self.me) if self.me else None

    @property
    def game_over(self) -> bool:
        """Our pac-man is off the board and was on its last life: only a new join helps."""
        return self.mine() is None and self.last_lives == 1

    def missing(self, now: float) -> bool:
        """Our pac-man has not been seen for longer than a caught one stays away: its game is
        over though we never saw its last life go (the replies that would have shown it were
        lost), or the board lost it. A join settles it either way, and is harmless if it was
        merely caught: the server gives back the same pac-man."""
        return (
            self.mine() is None
            and self.last_seen_at is not None
            and now - self.last_seen_at > MISSING_AFTER
        )

    def positions(self, now: float) -> dict[str, Point]:
        """Where to draw each moving piece at ``now``: between the last two snapshots.

        Rendering one snapshot interval behind the server keeps motion smooth at any frame
        rate; a jump of more than a tile (the tunnel, a respawn) is drawn as a jump. Our own
        pac-man, when predicted, is drawn where the prediction has it now instead.
        """
        previous, latest = self.previous, self.latest
        span = latest.at - previous.at
        alpha = 1.0 if span <= 0 else min(1.0, max(0.0, (now - latest.at) / span))
        out: dict[str, Point] = {}
        for name, entity in latest.pieces.items():
            before = previous.pieces.get(name)
            x1, y1 = float(entity.x_pos), float(entity.y_pos)
            if before is None or abs(before.x_pos - x1) + abs(before.y_pos - y1) > 1:
                out[name] = (x1, y1)
                continue
            x0, y0 = float(before.x_pos), float(before.y_pos)
            out[name] = (x0 + (x1 - x0) * alpha, y0 + (y1 - y0) * alpha)
        if self.me in out and self.prediction is not None:
            predicted = self.prediction.position(now)
            if predicted is not None:
                out[self.me] = predicted
        return out


def _heading(before: Entity, after: Entity) -> str | None:
    dx, dy = after.x_pos - before.x_pos, after.y_pos - before.y_pos
    if abs(dx) > 1 or abs(dy) > 1 or (dx == 0 and dy == 0):
        return None
    if dx:
        return "right" if dx > 0 else "left"
    return "down" if dy > 0 else "up"
