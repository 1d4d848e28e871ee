"""Fault injection: what a fault is (``spec``), when one fires (``engine``), and how
faults are controlled live (``admin``). Each domain injects its own faults: the server in
its request pipeline, the proxy on the network, the client in its transport."""
