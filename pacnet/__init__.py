"""pacnet: a networked Pac-Man whose board lives on a remote server, built to make the failure
modes of distributed systems visible, playable and testable.

The packages, from the wire up (``docs/architecture.md`` draws them):

- ``protocol``: the wire models, error codes, the five outcomes, the eight steps, the rules of
  motion. Pure: no I/O.
- ``cmdline``: how every pacnet process behaves: its flags, its logs, its signals.
- ``feeds``: the read-only feeds the server and the proxy both serve, and the reader that
  follows one.
- ``faults``: what a fault is, when one fires, and the ``/admin`` switchboard.
- ``server``: the board server. ``client``: the remote board every client plays through.
- ``proxy``, ``chaos``, ``status``, ``trace``: the network's faults, the facilitator's switch,
  the keepalive view, the truth behind an outcome.
- ``window``, ``bots``, ``demo``: the three ways to play.
- ``main``: the ``pacnet`` command, which wires every subcommand to the package that runs it.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pacnet")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
