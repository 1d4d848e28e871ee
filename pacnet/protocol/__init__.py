"""The shared core of pacnet: wire models, error codes, and the five outcomes of a call.

Nothing here does I/O. The server and every client (window, bots, a future browser
client) speak through these models; ``docs/protocol.md`` is checked against them.
"""
