"""The ``lightning-causal`` console script and its commands (installed as ``lightning_causal.launch``).

A thin layer: it parses arguments, calls the library and prints; no logic of its own.
"""
