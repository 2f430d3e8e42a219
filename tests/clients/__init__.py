"""Gateways' own client libraries, driven as a gateway would drive them, in a process of their own."""
