"""Thin Faust agents: decode, load state, call the domain, write back, send."""
